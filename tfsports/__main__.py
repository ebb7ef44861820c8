"""`python -m tfsports ...` is the `tfsports` command."""

import sys

from tfsports import cli

sys.exit(cli.main())
