"""Where the packaging files live, for the packaging tests."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
SPEC = PACKAGING / "hms-desktop.spec"
ICONS = ROOT / "resources" / "icons"
DESKTOP_FILE = LINUX / "hms-desktop.desktop"
METAINFO = LINUX / "io.github.hmsdesktop.HMSDesktop.metainfo.xml"
#: PyInstaller's one-folder output (COLLECT name in the spec).
DIST = ROOT / "dist" / "hms-desktop"
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)
