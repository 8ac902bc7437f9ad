"""`python -m journeyboard`, the same as the `journeyboard` command."""

import sys

from journeyboard.cli import main

sys.exit(main())
