"""Which days the Doctor tab's book shows: today, tomorrow, the next 7 days, or any
picked date (and, stepping on from a week, any 7 days).

"This week" was Monday to Sunday: on a Sunday it showed the past week and never
tomorrow's visits. The next 7 days always start today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget

from hms_desktop.ui.common.dates import date_edit, day_text, qdate
from hms_desktop.ui.common.layout import SPACING

TODAY, TOMORROW, NEXT_7_DAYS, PICKED = "today", "tomorrow", "next_7_days", "picked"
#: Seven days from a date reached by stepping on from a week (Alt+Left/Right in the book).
PICKED_WEEK = "picked_week"
#: How many days "the next 7 days" covers (today included).
WEEK_DAYS = 7


class DayRange(QWidget):
    """Three toggles and a date picker; ``changed`` fires when the span changes."""

    changed = Signal()

    def __init__(self, today: Callable[[], date], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self._mode = TODAY
        self._week_from = today()
        self.today_button = QPushButton("&Today", self)
        self.tomorrow_button = QPushButton("Tomo&rrow", self)
        self.week_button = QPushButton("Ne&xt 7 days", self)
        self._group = QButtonGroup(self)
        for mode, button in self._buttons().items():
            button.setCheckable(True)
            self._group.addButton(button)
            button.clicked.connect(lambda _c=False, m=mode: self.set_mode(m))
        self.date_edit = date_edit(self, today())
        self.date_edit.setAccessibleName("Show the day")
        self.date_edit.dateChanged.connect(lambda _d: self.set_mode(PICKED))
        day_label = QLabel("&Day:", self)
        day_label.setBuddy(self.date_edit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        for button in self._buttons().values():
            layout.addWidget(button)
        layout.addSpacing(SPACING)
        layout.addWidget(day_label)
        layout.addWidget(self.date_edit)
        self._sync_buttons()

    def _buttons(self) -> dict[str, QPushButton]:
        return {
            TODAY: self.today_button,
            TOMORROW: self.tomorrow_button,
            NEXT_7_DAYS: self.week_button,
        }

    @property
    def mode(self) -> str:
        """One of TODAY, TOMORROW, NEXT_7_DAYS, PICKED, PICKED_WEEK."""
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Show ``mode``'s days (PICKED: the date picker's day)."""
        self._mode = mode
        if mode != PICKED:
            first, _last = self.span()
            self.date_edit.blockSignals(True)
            self.date_edit.setDate(qdate(first))
            self.date_edit.blockSignals(False)
        self._sync_buttons()
        self.changed.emit()

    def show_day(self, day: date) -> None:
        """Show one day chosen by date (as the picker does)."""
        self.date_edit.setDate(qdate(day))  # emits dateChanged -> PICKED
        if self._mode != PICKED:
            self.set_mode(PICKED)

    def shift(self, step: int) -> None:
        """A day (or, while a week is shown, seven days) earlier or later."""
        first, last = self.span()
        if first == last:
            self.show_day(first + timedelta(days=step))
            return
        self._week_from = first + timedelta(days=step * WEEK_DAYS)
        self._mode = PICKED_WEEK
        self.date_edit.blockSignals(True)
        self.date_edit.setDate(qdate(self._week_from))
        self.date_edit.blockSignals(False)
        self._sync_buttons()
        self.changed.emit()

    def _sync_buttons(self) -> None:
        # No toggle is checked for a picked day: exclusivity would keep one on.
        self._group.setExclusive(False)
        for mode, button in self._buttons().items():
            button.setChecked(mode == self._mode)
        self._group.setExclusive(True)

    def span(self) -> tuple[date, date]:
        """The first and last day shown (both included)."""
        today = self._today()
        if self._mode == TOMORROW:
            return today + timedelta(days=1), today + timedelta(days=1)
        if self._mode == NEXT_7_DAYS:
            return today, today + timedelta(days=WEEK_DAYS - 1)
        if self._mode == PICKED_WEEK:
            return self._week_from, self._week_from + timedelta(days=WEEK_DAYS - 1)
        if self._mode == PICKED:
            picked = self.date_edit.date().toPython()
            assert isinstance(picked, date)
            return picked, picked
        return today, today

    def single_day(self) -> bool:
        """True when one day is shown (the date column can go)."""
        first, last = self.span()
        return first == last

    def title(self) -> str:
        """ "Today, Mon 15 Jun", "Next 7 days: Mon 15 Jun – Sun 21 Jun", ..."""
        first, last = self.span()
        if first != last and self._mode == NEXT_7_DAYS:
            return f"Next 7 days: {day_text(first)} – {day_text(last)}"
        if first != last:
            return f"{day_text(first)} – {day_text(last)}"
        return day_text(first, self._today())

    def empty_text(self) -> str:
        """What the list says when it is empty."""
        first, last = self.span()
        if first != last and self._mode == NEXT_7_DAYS:
            return "No appointments in the next 7 days."
        if first != last:
            return f"No appointments from {day_text(first)} to {day_text(last)}."
        today = self._today()
        if first == today:
            return "No appointments today."
        if first == today + timedelta(days=1):
            return "No appointments tomorrow."
        return f"No appointments on {day_text(first)}."
