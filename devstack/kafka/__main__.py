"""Runs the command line: `python -m devstack.kafka start|stop|status`."""

import sys

from devstack.kafka.cli import main

sys.exit(main())
