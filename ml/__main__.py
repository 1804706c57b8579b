"""`python -m ml ...`: see ml/cli.py."""

import sys

from ml.cli import main

sys.exit(main())
