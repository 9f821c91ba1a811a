"""Run max-mcp with `python -m mcp_server`."""

import sys

from mcp_server.cli import main

sys.exit(main())
