"""Repeat a visit: weekly, every N weeks or monthly, for a count or until a date.

The first press of Book checks every date and books nothing when some cannot be
booked: it lists them, and the button becomes "Book the other N" (or the desk
changes the repeat and checks again). A date taken between the check and the booking
books none of them: the dialog says which, and the next press checks again.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import series
from hms_desktop.services.scheduling.book import Block
from hms_desktop.ui.common.dates import date_edit, day_text, when_text
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING
from hms_desktop.ui.common.operations import user_message


class RepeatDialog(QDialog):
    """``booked`` carries the new visits' ids once the series is booked."""

    booked = Signal(object)

    def __init__(
        self, clinic: Clinic, actor: Actor, block: Block, day: date, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.block = clinic, actor, block
        self.setWindowTitle(f"Repeat {block.patient}'s visit")
        self.setObjectName("repeatDialog")
        self.repeat = QComboBox(self)
        self.repeat.addItem("Weekly", "weekly")
        self.repeat.addItem("Monthly", "monthly")
        self.every = QSpinBox(self)
        self.every.setRange(1, 12)
        self.every.setSuffix(" weeks")
        self.by_count, self.by_until = (
            QRadioButton("&Number of visits (including this one)", self),
            QRadioButton("Repeat &until", self),
        )
        self.by_count.setChecked(True)
        self.count = QSpinBox(self)
        self.count.setRange(2, series.MAX_OCCURRENCES)
        self.count.setValue(4)
        self.until = date_edit(self, day + timedelta(weeks=8))
        form = QFormLayout()
        form.addRow("&Repeat", self.repeat)
        form.addRow("Repeat &every", self.every)
        form.addRow(self.by_count, self.count)
        form.addRow(self.by_until, self.until)
        self.conflicts = QLabel(f"The first visit: {when_text(day, block.start)}.", self)
        self.conflicts.setObjectName("repeatConflicts")
        self.conflicts.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.book_button = self.buttons.addButton("&Book", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.book)
        self.buttons.rejected.connect(self.reject)
        self._book_the_rest = False
        for signal in (self.repeat.currentIndexChanged, self.every.valueChanged,
                       self.count.valueChanged, self.until.dateChanged, self.by_count.toggled):  # fmt: skip
            signal.connect(self._changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        layout.addLayout(form)
        layout.addWidget(self.conflicts)
        layout.addWidget(self.buttons)

    def _changed(self, *_args: object) -> None:
        # Another repeat: its dates are checked afresh before anything is booked.
        self._book_the_rest = False
        self.book_button.setText("&Book")
        self.every.setSuffix(" weeks" if self.repeat.currentData() == "weekly" else " months")

    def book(self) -> None:
        """Check every date; book them all, or (asked again) the ones that are free."""
        until: date = self.until.date().toPython()  # type: ignore[assignment]
        try:
            result = series.repeat_visit(
                self.clinic, self.actor, self.block.appointment_id, self.repeat.currentData(),
                every=self.every.value(),
                count=self.count.value() if self.by_count.isChecked() else None,
                until=None if self.by_count.isChecked() else until,
                book_the_rest=self._book_the_rest,
            )  # fmt: skip
        except HmsError as err:
            self.conflicts.setText(user_message(err))
            self._changed()  # nothing was booked: Book lists the dates afresh
            return
        listed = "\n".join(f"{day_text(c.date)}: {c.reason}" for c in result.conflicts)
        if not result.booked and result.conflicts and not self._book_the_rest:
            self._book_the_rest = True
            self.conflicts.setText(f"These dates cannot be booked:\n{listed}")
            self.book_button.setText("&Book the others")
            return
        self.booked.emit(result.booked)
        self.accept()
