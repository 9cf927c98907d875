"""`python -m services.cli`: the `keel` command without installing it."""

from services.cli.main import run

run()
