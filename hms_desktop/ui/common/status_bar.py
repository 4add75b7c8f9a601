"""A status bar whose messages end in "…" when they do not fit.

``QStatusBar`` cuts a long message off at the first permanent widget (who is signed in,
the database), mid-word and with nothing to say that more was there: at 1024x768
"Booked Maria Kowalski (#1234) with Dr. Ada Lovelace, Tomorrow, Tue, 16 Jun at 09:30."
lost its time. Here the message is elided to the room it has, the whole text is the
bar's tooltip while it shows, and a resize fits it again.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QStatusBar, QWidget

#: Between the message and the first permanent widget, and before the message: what
#: QStatusBar leaves itself (its item spacing and frame), rounded up.
_MARGIN_PX = 16


class ElidingStatusBar(QStatusBar):
    """:meth:`say` shows a message that fits, the rest in "…" and the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._shown = ""  # what the bar shows of it
        self._until = 0.0  # monotonic seconds; 0: shown until replaced
        self.messageChanged.connect(self._on_changed)

    def say(self, text: str, timeout_ms: int = 0) -> None:
        """Show ``text`` for ``timeout_ms`` (0: until the next message)."""
        self._full = text
        self._until = time.monotonic() + timeout_ms / 1000 if timeout_ms else 0.0
        self._show(timeout_ms)

    def full_message(self) -> str:
        """The message being shown, whole (``currentMessage()`` is what fits)."""
        return self._full if self._full and self.currentMessage() == self._shown else ""

    def room(self) -> int:
        """Pixels the message may take: up to the leftmost widget shown in the bar."""
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the widgets' places, even before the first paint
        right = self.width()
        for child in self.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if child.isVisible() and child.width() > 0:
                right = min(right, child.geometry().left())
        return max(0, right - 2 * _MARGIN_PX)

    def _show(self, timeout_ms: int) -> None:
        fitted = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.room())
        # An empty elision (no room at all) would read as no message: keep the start.
        shown = fitted or self._full[:1] + "…"
        self._shown = shown
        self.showMessage(shown, timeout_ms)
        self.setToolTip(self._full if shown != self._full else "")

    def _on_changed(self, message: str) -> None:
        if message != self._shown:  # timed out, cleared, or another message in its place
            self._full = self._shown = ""
            self.setToolTip("")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._full or self.currentMessage() != self._shown:
            return
        if self._until:
            left_ms = int((self._until - time.monotonic()) * 1000)
            if left_ms <= 0:
                return
            self._show(left_ms)
        else:
            self._show(0)
