"""Find the ``resources/`` folder (templates, style sheets, icons) wherever the app runs.

From a source or editable checkout it is the repository's top-level ``resources/``
next to the ``hms_desktop`` package. In the PyInstaller build it is bundled as
``resources/`` inside the application's data folder, which PyInstaller names in
``sys._MEIPASS``. No Qt here, so services (report templates) may use it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCES_DIR_NAME = "resources"


def bundled_dir(name: str) -> Path:
    """The absolute path of a top-level project folder shipped with the app.

    ``resources`` (templates, styles, icons) and ``data`` (the demo clinic's inputs).

    Raises:
        FileNotFoundError: the folder is missing, which means a broken install (for
            example a non-editable ``pip install .``, which does not carry it); the
            message names the place that was searched.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:  # frozen by PyInstaller: data files sit beside the bundled modules
        candidate = Path(bundle) / name
    else:  # source or editable checkout: hms_desktop/ and the folder share a parent
        candidate = Path(__file__).resolve().parent.parent / name
    if not candidate.is_dir():
        raise FileNotFoundError(
            f"HMS Desktop's {name} folder is missing at {candidate}; reinstall the "
            "application or run it from a source checkout (pip install -e .)."
        )
    return candidate


def resources_dir() -> Path:
    """The absolute path of the ``resources/`` folder.

    Use it as ``resources_dir() / "icons" / "hms-desktop.svg"``.

    Raises:
        FileNotFoundError: the folder is missing (see :func:`bundled_dir`).
    """
    return bundled_dir(RESOURCES_DIR_NAME)
