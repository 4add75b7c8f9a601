"""Frozen entry point of the command-line tool (``hms``); see hms-desktop.py for why."""

import sys

from hms_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
