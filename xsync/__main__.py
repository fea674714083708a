"""`python -m xsync` runs the command line, as the `xsync` script does."""

import sys

from xsync.cli.main import main

sys.exit(main())
