"""Frozen entry point of the window (``hms-desktop``); PyInstaller runs it as ``__main__``.

A launcher outside the package, rather than ``hms_desktop/app.py`` itself, because
PyInstaller puts an entry script's folder on the module path, and ``hms_desktop/``
holds modules (``config``, ``errors``, ``db``...) that must never import as top-level names.
"""

import sys

from hms_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
