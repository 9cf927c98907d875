"""What storage keeps, one module per kind of record, in SQL both backends run.

Every method that touches tenant data takes the tenant id and puts it in the
WHERE clause of every statement: no method returns another tenant's rows,
whatever other ids it is given.
"""
