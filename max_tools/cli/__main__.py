"""Run the command line with `python -m max_tools.cli`."""

import sys

from max_tools.cli._main import main

sys.exit(main())
