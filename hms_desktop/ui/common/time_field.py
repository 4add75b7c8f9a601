"""A time field that takes a whole typed time ("22:30") wherever the click put the cursor."""

from __future__ import annotations

from PySide6.QtCore import QTime
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QDateTimeEdit, QTimeEdit, QWidget


class TimeField(QTimeEdit):
    """``HH:mm``; the first digit typed after the field gets the focus starts at the hours.

    A plain QTimeEdit types into the section under the cursor: clicked on the minutes,
    "22:30" became 09:30 (22 rejected as minutes, then 30). Arrows and later typing
    still edit the section the cursor is in.
    """

    def __init__(self, value: QTime, parent: QWidget | None = None) -> None:
        super().__init__(value, parent)
        self.setDisplayFormat("HH:mm")
        self._fresh = True

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._fresh = True
        super().focusInEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._fresh and event.text().isdigit():
            # A new time is being typed: start it at the hours, over the old value.
            self.setCurrentSection(QDateTimeEdit.Section.HourSection)
            self.lineEdit().setSelection(0, 2)
        if event.text() or event.key():
            self._fresh = False
        super().keyPressEvent(event)
