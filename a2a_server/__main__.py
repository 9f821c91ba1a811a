"""`python -m a2a_server` is `max-a2a`."""

import sys

from a2a_server.cli import main

sys.exit(main())
