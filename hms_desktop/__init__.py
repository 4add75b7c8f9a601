"""HMS Desktop: clinic front-desk management."""

from importlib import metadata

try:
    __version__ = metadata.version("hms-desktop")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

APP_NAME = "HMS Desktop"
APP_ID = "hms-desktop"
