"""The gRPC face of storage: each servicer checks its requests and hands them to a table."""
