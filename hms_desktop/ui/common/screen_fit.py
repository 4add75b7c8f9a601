"""Windows that fit the screen they open on, frame included (a 1024x768 screen as well)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


def fit_to_screen(widget: QWidget, width: int, height: int) -> QSize:
    """``width`` x ``height``, or less where the screen (minus its panels and the window's
    frame) is smaller."""
    screen = (widget.parentWidget() or widget).screen() or QGuiApplication.primaryScreen()
    # Offscreen (checks, PDF rendering) the "screen" is a nominal 800x600 nobody looks at.
    if screen is None or QGuiApplication.platformName() == "offscreen":
        return QSize(width, height)
    room = screen.availableGeometry()
    # The window manager's frame is not known before the window is shown: leave room for
    # a title bar and borders.
    return QSize(min(width, room.width() - 16), min(height, room.height() - 48))


def size_window(window: QWidget, width: int, height: int, min_width: int, min_height: int) -> None:
    """Open ``window`` at ``width`` x ``height`` and no smaller than the minimum, both within
    the screen: a 1024x768 screen gets the whole window, frame included."""
    window.setMinimumSize(fit_to_screen(window, min_width, min_height))
    window.resize(fit_to_screen(window, width, height))
