"""HMS Desktop: clinic front-desk management."""

from __future__ import annotations

APP_NAME = "HMS Desktop"
APP_ID = "hms-desktop"

_version: str | None = None


def __getattr__(name: str) -> str:
    # ``__version__`` is read from the installed package's metadata on first use, not on
    # import: importlib.metadata costs tens of milliseconds, and the window comes first.
    global _version
    if name != "__version__":
        raise AttributeError(f"module 'hms_desktop' has no attribute {name!r}")
    if _version is None:
        from importlib import metadata

        try:
            _version = metadata.version("hms-desktop")
        except metadata.PackageNotFoundError:  # a source tree that was never installed
            _version = "0.0.0+source"
    return _version
