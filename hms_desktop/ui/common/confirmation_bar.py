"""What the last change did, in words, with Undo: it stays until the next action.

A status-bar line disappears after a few seconds and names nothing; after booking,
moving, cancelling or closing a visit the desk sees here who, with whom, which day
and time, and can take it back at once (Undo, or Ctrl+Z outside a text field).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from hms_desktop.ui.common.layout import SPACING

#: What Ctrl+Z says (in the status bar) when the bar offers no Undo.
NOTHING_TO_UNDO = "Nothing to undo."


class ConfirmationBar(QFrame):
    """A line of text with an Undo button; hidden while there is nothing to say."""

    #: Undo was pressed (after the bar's own callback started).
    undo_started = Signal()

    def __init__(self, parent: QWidget | None = None, *, undo_keys: str = "Ctrl+Z") -> None:
        super().__init__(parent)
        self.setObjectName("confirmationBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._undo: Callable[[], None] | None = None
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Last change")
        # No Alt+letter: every letter of "Undo" is taken on one page or another (Alt+N is
        # "Mark no-show" beside it on the Doctor tab); Ctrl+Z is its key.
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setToolTip(f"Take the last change back ({undo_keys})")
        self.undo_button.clicked.connect(self.undo)
        self.dismiss_button = QPushButton("OK", self)
        self.dismiss_button.setToolTip("Hide this message")
        self.dismiss_button.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(SPACING, SPACING // 2, SPACING, SPACING // 2)
        layout.setSpacing(SPACING)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def show_done(self, text: str, undo: Callable[[], None] | None = None) -> None:
        """Say what was done; with ``undo``, offer to take it back (once)."""
        self._undo = undo
        self.label.setText(text)
        self.undo_button.setVisible(undo is not None)
        self.undo_button.setEnabled(undo is not None)
        self.show()

    def clear(self) -> None:
        """Hide the message (the next action starts)."""
        self._undo = None
        self.label.clear()
        self.hide()

    def can_undo(self) -> bool:
        """True while Undo would do something."""
        return self._undo is not None and self.isVisible()

    def text(self) -> str:
        """What the bar says."""
        return self.label.text()

    def undo(self) -> None:
        """Run the undo once; the owner says how it went with :meth:`show_done`."""
        undo, self._undo = self._undo, None
        if undo is None or not self.isVisible():
            return
        self.undo_button.setEnabled(False)
        self.label.setText(f"{self.label.text()} Undoing…")
        undo()
        self.undo_started.emit()


def undo_or_say(
    owner: QWidget, bar: ConfirmationBar, say: Callable[[str], None], keys: str = "Ctrl+Z"
) -> QAction:
    """Ctrl+Z on ``owner``: the bar's Undo, or :data:`NOTHING_TO_UNDO` through ``say``.

    Every page with a bar takes its key this way (the bar has no key of its own): an
    action that is off while there is nothing to take back would leave a second Ctrl+Z
    after the only Undo saying nothing at all. A text field with the focus keeps its own
    Ctrl+Z (the shortcut's context is ``owner`` and its children, and a line edit takes
    the key first).
    """
    action = QAction("Undo the last change", owner)
    action.setShortcut(QKeySequence(keys))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def undo_last() -> None:
        if bar.can_undo():
            bar.undo()
        else:
            say(NOTHING_TO_UNDO)

    action.triggered.connect(undo_last)
    owner.addAction(action)
    return action
