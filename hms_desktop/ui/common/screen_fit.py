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


def grow_to_fit(window: QWidget) -> None:
    """Make a shown ``window`` as tall as its layout wants at its width, so wrapped text
    that just appeared (an error under a field) shows every line, within the screen;
    moved up when its foot would leave the screen. It never shrinks.

    A layout's minimum height leaves out text that wraps, so without this a message
    that needs three lines got one or two and squashed the fields around it.
    """
    if not window.isVisible():
        return  # a window not shown yet opens at its size hint, text wrapped
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    need = window.heightForWidth(window.width()) if layout.hasHeightForWidth() else -1
    need = max(need, layout.totalSizeHint().height())
    frame = window.frameGeometry()
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        room = screen.availableGeometry()
        need = min(need, room.height() - (frame.height() - window.height()))
    if need <= window.height():
        return
    window.resize(window.width(), need)
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        room = screen.availableGeometry()
        overflow = window.frameGeometry().bottom() - room.bottom()
        if overflow > 0:
            window.move(window.x(), max(room.top(), window.y() - overflow))
