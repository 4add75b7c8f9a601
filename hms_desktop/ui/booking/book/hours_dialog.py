"""A doctor's weekly hours and leave, edited by the doctor or by the front desk.

Each weekday is one line of windows ("09:00-13:00, 14:00-17:00"). Saving goes
through :mod:`hms_desktop.services.scheduling.hours`, which refuses a change that
would leave a booked visit outside the hours; the message shows here and the typing
stays.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError, ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import hours
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING
from hms_desktop.ui.common.operations import user_message

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_windows(text: str) -> list[tuple[str, str]]:
    """ "09:00-13:00, 14:00-17:00" as (start, end) pairs; blank: none.

    Raises:
        ValidationError: a part without a "-" between two times.
    """
    out = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        start, sep, end = part.partition("-")
        if not sep:
            raise ValidationError(f"Write hours as 09:00-13:00, not {part!r}.", field="hours")
        out.append((start.strip(), end.strip()))
    return out


class HoursDialog(QDialog):
    """Weekly hours (one line per weekday) and leave for one doctor."""

    saved = Signal()

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        doctor_id: int,
        doctor_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.doctor_id = clinic, actor, doctor_id
        self.setWindowTitle(f"Hours of {doctor_name}")
        self.setObjectName("hoursDialog")
        self.days: list[QLineEdit] = []
        form = QFormLayout()
        current: dict[int, list[str]] = {}
        for w in hours.weekly_hours(clinic, doctor_id):
            current.setdefault(w.weekday, []).append(f"{w.start_time:%H:%M}-{w.end_time:%H:%M}")
        for i, name in enumerate(DAY_NAMES):
            edit = QLineEdit(", ".join(current.get(i, [])), self)
            edit.setPlaceholderText("not working (e.g. 09:00-13:00, 14:00-17:00)")
            edit.setAccessibleName(f"{name} hours")
            form.addRow(name, edit)
            self.days.append(edit)
        self._saved_text = [e.text() for e in self.days]
        today = clinic.today()
        self.leave_from, self.leave_to = QDateEdit(self), QDateEdit(self)
        for picker in (self.leave_from, self.leave_to):
            picker.setCalendarPopup(True)
            picker.setDisplayFormat("yyyy-MM-dd")
            picker.setDate(QDate(today.year, today.month, today.day))
        self.leave_reason = QLineEdit(self)
        self.leave_reason.setPlaceholderText("leave, holiday, conference…")
        self.leave_button = QPushButton("Add leave", self)
        self.leave_button.clicked.connect(self.add_leave)
        leave = QHBoxLayout()
        for part in (QLabel("Off from", self), self.leave_from, QLabel("to", self), self.leave_to,
                     self.leave_reason, self.leave_button):  # fmt: skip
            leave.addWidget(part)
        self.upcoming = QLabel(self)
        self.upcoming.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setObjectName("hoursError")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        layout.addWidget(QLabel("Every week:", self))
        layout.addLayout(form)
        layout.addLayout(leave)
        layout.addWidget(self.upcoming)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._show_upcoming()

    def _show_upcoming(self) -> None:
        offs = [e for e in hours.exceptions(self.clinic, self.doctor_id) if e.kind == "off"]
        days = ", ".join(f"{e.date:%a %Y-%m-%d} ({e.reason})" for e in offs[:10])
        more = f" and {len(offs) - 10} more" if len(offs) > 10 else ""
        self.upcoming.setText(f"Days off ahead: {days}{more}" if offs else "No days off ahead.")

    def save(self) -> None:
        """Save the weekdays that changed; stay open with the message on a refusal."""
        try:
            for i, edit in enumerate(self.days):
                if edit.text() != self._saved_text[i]:
                    windows = parse_windows(edit.text())
                    hours.set_weekly(self.clinic, self.actor, self.doctor_id, i, windows)
                    self._saved_text[i] = edit.text()
        except HmsError as err:
            self.error.setText(f"{DAY_NAMES[i]}: {user_message(err)}")
            edit.setFocus()
            return
        self.error.setText("")
        self.saved.emit()
        self.accept()

    def add_leave(self) -> None:
        first: date = self.leave_from.date().toPython()  # type: ignore[assignment]
        last: date = self.leave_to.date().toPython()  # type: ignore[assignment]
        try:
            days = hours.take_leave(
                self.clinic, self.actor, self.doctor_id, first, last, self.leave_reason.text()
            )
        except HmsError as err:
            self.error.setText(user_message(err))
            return
        plural = "day" if days == 1 else "days"
        self.error.setText(f"Off {first:%Y-%m-%d} to {last:%Y-%m-%d} ({days} {plural}).")
        self.leave_from.setDate(self.leave_to.date().addDays(1))
        self.leave_to.setDate(self.leave_from.date())
        self._show_upcoming()
        self.saved.emit()
