"""`python -m services.cli`: the `keel` command without installing it."""

import sys

from services.cli.main import main

sys.exit(main())
