"""All appointments, upcoming and past, for the front desk.

The table is a :class:`~hms_desktop.ui.common.table_models.PagedTableModel` over
``booking.list_appointments(offset, limit)``: only the visible pages are read, so
a million appointments open at once. Filters (period, doctor, status, text) and
the date order are applied by the query, never to the loaded rows only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from typing import Any

from PySide6.QtCore import QDate, QItemSelection, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import ValidationError
from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import doctors
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.services.scheduling.booking import STATUS_LABELS, VISIT_LABELS, AppointmentFilter
from hms_desktop.services.views import FLOW_LABELS, AppointmentRow, DoctorRow
from hms_desktop.services.views import Slot as FreeSlot
from hms_desktop.ui.admin.admin_pages import ListPage
from hms_desktop.ui.booking.confirmations import VisitConfirmations
from hms_desktop.ui.common.confirmation_bar import ConfirmationBar, undo_or_say
from hms_desktop.ui.common.dates import date_edit, time_text, when_text
from hms_desktop.ui.common.forms import SearchBox, ServiceForm
from hms_desktop.ui.common.layout import fit_key_columns, show_after
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import OpContext, Operations
from hms_desktop.ui.common.table_models import Column, PagedTableModel

PERIODS = ("Upcoming", "Today", "Past", "All dates", "Date range")

APPOINTMENT_COLUMNS: list[Column[AppointmentRow]] = [
    Column("ID", lambda a: a.id, align_right=True),
    Column("Date", lambda a: a.date),
    Column("Time", lambda a: a.time),
    Column("Patient", lambda a: a.patient, tooltip=lambda a: f"Patient ID {a.patient_id}"),
    Column("Doctor", lambda a: a.doctor),
    Column("Department", lambda a: a.department),
    Column("Visit", lambda a: VISIT_LABELS.get(a.visit_type, a.visit_type)),
    Column("Status", lambda a: FLOW_LABELS.get(a.status, a.status)),
    Column("Reason", lambda a: " ".join(a.reason.split()), tooltip=lambda a: a.reason),
]
DATE_COLUMNS = (1, 2)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class AppointmentsPage(ListPage):
    """Every appointment with filters; cancel or reschedule the selected one."""

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(clinic, actor, ops, "Appointments", parent)
        self.model: PagedTableModel[AppointmentRow] = PagedTableModel(
            APPOINTMENT_COLUMNS,
            self._fetch,
            page_size=200,
            parent=self,
            muted=lambda a: a.status == "cancelled",
            # Pages are read on a worker: a slow filter must never freeze the window.
            ops=ops,
        )
        self._counting = False
        self._count_again = False
        self.model.fetch_failed.connect(lambda err: show_error(self, "Load appointments", err))
        self.table.setModel(self.model)
        # Department and visit type share what the key columns leave; Reason takes the rest.
        for column, width in enumerate((52, 92, 52, 150, 165, 115, 96, 84)):
            self.table.setColumnWidth(column, width)
        fit_key_columns(self.table)
        show_after(self.table, 7, 2)  # Status after the time: on screen in a 1024-pixel window
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(True)
        header.setSortIndicator(DATE_COLUMNS[0], Qt.SortOrder.AscendingOrder)
        header.sectionClicked.connect(self._on_header_clicked)
        self._filter = AppointmentFilter()

        self.cancel_button = self.add_button("&Cancel appointment", self.on_cancel)
        self.reschedule_button = self.add_button("Re&schedule…", self.on_activate)
        self.bar.addStretch(1)
        #: What the last cancel or move did, with Undo, until the next action.
        self.confirmation = ConfirmationBar(self)
        # Ctrl+Z: the bar's Undo, or "Nothing to undo." in the status bar (as on the Desk).
        undo_or_say(self, self.confirmation, self.status_message.emit)
        self.layout_.addWidget(self.confirmation)
        self.confirmations = VisitConfirmations(
            self.confirmation,
            clinic,
            actor,
            ops,
            said=self.status_message.emit,
            changed=self.refresh,
        )

        today = clinic.today()
        self.period = QComboBox(self)
        self.period.addItems(PERIODS)
        self.period.setToolTip("Which appointments to list")
        self.date_from = date_edit(self, today)
        self.date_to = date_edit(self, today + timedelta(days=7))
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)
        self.doctor = QComboBox(self)
        self.doctor.addItem("All doctors", None)
        self.doctor.setMinimumWidth(180)
        self.status = QComboBox(self)
        self.status.addItem("Any status", None)
        for key, label in STATUS_LABELS.items():
            self.status.addItem(label, key)
        self.newest_first = QCheckBox("Ne&west first", self)
        self.text = SearchBox("Patient, doctor or ID", self, delay_ms=250)
        # A long doctor's name must not push the row past a 1024-pixel window: the box
        # shows about 24 characters and its list shows the whole names.
        self.doctor.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.doctor.setMinimumContentsLength(24)
        for edit in (self.date_from, self.date_to):
            edit.setMinimumWidth(edit.sizeHint().width())
        period_row = QHBoxLayout()
        period_row.setSpacing(8)
        period_label = QLabel("Sh&ow", self)
        period_label.setBuddy(self.period)
        period_row.addWidget(period_label)
        period_row.addWidget(self.period)
        period_row.addWidget(self.date_from)
        period_row.addWidget(QLabel("to", self))
        period_row.addWidget(self.date_to)
        period_row.addSpacing(16)
        period_row.addWidget(self.newest_first)
        period_row.addStretch(1)
        # Who and what on a second row: one row of everything overlapped at 1024 pixels.
        who_row = QHBoxLayout()
        who_row.setSpacing(8)
        doctor_label = QLabel("Docto&r", self)
        doctor_label.setBuddy(self.doctor)
        status_label = QLabel("Stat&us", self)
        status_label.setBuddy(self.status)
        for widget in (doctor_label, self.doctor, status_label, self.status):
            who_row.addWidget(widget)
        who_row.addStretch(1)
        filters = QVBoxLayout()
        filters.setSpacing(8)
        filters.addLayout(period_row)
        filters.addLayout(who_row)
        # The text search sits on the action row, where it has room (as on the Patients page).
        self.text.setPlaceholderText("Find by patient, doctor or appointment ID")
        self.bar.addWidget(self.text, 2)
        self.layout_.insertLayout(2, filters)

        self.period.currentIndexChanged.connect(self._on_period)
        for combo in (self.doctor, self.status):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(lambda _d: self.refresh())
        self.newest_first.toggled.connect(self._on_order)
        self.text.search.connect(lambda _t: self.refresh())
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self._doctors: list[DoctorRow] = []
        self._on_selection()

    # --- filters --------------------------------------------------------------------------
    def current_filter(self) -> AppointmentFilter:
        """The filter the controls describe (dates in the clinic's calendar)."""
        today = self.clinic.today()
        period = self.period.currentText()
        date_from: date | None = None
        date_to: date | None = None
        if period == "Upcoming":
            date_from = today
        elif period == "Today":
            date_from = date_to = today
        elif period == "Past":
            date_to = today - timedelta(days=1)
        elif period == "Date range":
            date_from, date_to = _pydate(self.date_from.date()), _pydate(self.date_to.date())
        status = self.status.currentData()
        return AppointmentFilter(
            date_from=date_from,
            date_to=date_to,
            doctor_id=self.doctor.currentData(),
            statuses=(status,) if status else (),
            text=self.text.text(),
            newest_first=self.newest_first.isChecked(),
        )

    @Slot(int)
    def _on_period(self, _index: int) -> None:
        custom = self.period.currentText() == "Date range"
        self.date_from.setEnabled(custom)
        self.date_to.setEnabled(custom)
        # Past visits read best newest first; upcoming ones soonest first.
        self.newest_first.blockSignals(True)
        self.newest_first.setChecked(self.period.currentText() == "Past")
        self.newest_first.blockSignals(False)
        self.refresh()

    @Slot(bool)
    def _on_order(self, newest: bool) -> None:
        order = Qt.SortOrder.DescendingOrder if newest else Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(DATE_COLUMNS[0], order)
        self.refresh()

    @Slot(int)
    def _on_header_clicked(self, section: int) -> None:
        # Only date order is sorted by the database (indexed); other columns keep it.
        if section in DATE_COLUMNS:
            self.newest_first.toggle()
        else:
            self._on_order(self.newest_first.isChecked())

    def _fetch(self, offset: int, limit: int) -> list[AppointmentRow]:
        return booking.list_appointments(
            self.clinic, self.actor, self._filter, offset=offset, limit=limit
        )

    def refresh(self) -> None:
        try:
            self._filter = self.current_filter()
        except ValidationError as err:
            show_error(self, "Filter", err)
            return
        flt = self._filter
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            # No rows of an earlier range may stay on screen to be cancelled by mistake.
            self.model.clear()
            self._on_selection()
            self.count_label.setText("The range ends before it starts. Change From or To.")
            return
        self.model.reload()
        self.loaded_once = True
        self._count()
        clinic = self.clinic
        # Every time: a doctor added or renamed elsewhere must reach the filter (the
        # list is a few hundred rows at most).
        self.ops.run(
            lambda _ctx: doctors.list_doctors(clinic),
            label="Load doctors",
            on_success=self._on_doctors,
        )
        self._on_selection()

    def _count(self) -> None:
        """Count the matches off the UI thread, one count at a time (the newest filter wins)."""
        self.count_label.setText("Counting…")
        if self._counting:
            self._count_again = True
            return
        self._counting = True
        flt, clinic, actor = self._filter, self.clinic, self.actor
        self.ops.run(
            lambda _ctx: booking.count_appointments(clinic, actor, flt),
            label="Count appointments",
            on_success=functools.partial(self._on_counted, flt),
            on_failure=lambda _err: self._on_counted(flt, None),
        )

    def _on_counted(self, flt: AppointmentFilter, n: int | None) -> None:
        self._counting = False
        if self._count_again:
            self._count_again = False
            self._count()
        elif flt == self._filter:  # an older count must not overwrite a newer filter's
            self.count_label.setText("" if n is None else f"{n:,} appointments")

    def _on_doctors(self, rows: list[DoctorRow]) -> None:
        self._doctors = rows
        current = self.doctor.currentData()
        self.doctor.blockSignals(True)
        self.doctor.clear()
        self.doctor.addItem("All doctors", None)
        for row in rows:
            self.doctor.addItem(row.full_name, row.id)
        self.doctor.setCurrentIndex(max(0, self.doctor.findData(current)))
        self.doctor.blockSignals(False)

    # --- actions --------------------------------------------------------------------------
    @Slot()
    def _on_selection(self, *_args: QItemSelection) -> None:
        row: AppointmentRow | None = self.selected()
        allowed = policy.row_actions(self.actor, row, self.clinic.now())
        self.cancel_button.setEnabled("cancel" in allowed)
        self.reschedule_button.setEnabled("reschedule" in allowed)

    def on_cancel(self, *, confirm: bool = True) -> None:
        row: AppointmentRow | None = self.selected()
        if row is None or row.status != "booked":
            return
        if confirm:
            answer = QMessageBox.question(
                self,
                "Cancel appointment",
                f"Cancel {row.patient}'s appointment with {row.doctor} on "
                f"{when_text(row.date, row.time)}? The slot becomes free again.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        clinic, actor = self.clinic, self.actor
        self.confirmations.clear()  # the next action: the last one's Undo is over
        self.run(
            "Cancel appointment",
            lambda: booking.cancel(clinic, actor, row.id),
            lambda _r: self.confirmations.cancelled(row),
        )

    def on_activate(self) -> None:
        row: AppointmentRow | None = self.selected()
        if row is None or row.status != "booked":
            return
        self.confirmations.clear()
        dialog = RescheduleDialog(self.clinic, self.actor, self.ops, row, self._doctors, self)
        dialog.saved.connect(lambda moved: self._moved(row, moved))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _moved(self, row: AppointmentRow, moved: tuple[str, date, time]) -> None:
        doctor, day, at = moved
        self.confirmations.moved(row, row.patient, doctor, day, at)


class RescheduleDialog(ServiceForm):
    """Move a booked appointment to another free slot (of the same or another doctor)."""

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        appointment: AppointmentRow,
        doctor_rows: Sequence[DoctorRow],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ops, f"Reschedule appointment {appointment.id}", parent)
        self._clinic, self._actor, self._appt = clinic, actor, appointment
        summary = QLabel(
            f"{appointment.patient} with {appointment.doctor}, now on "
            f"{when_text(appointment.date, appointment.time)}.",
            self,
        )
        summary.setWordWrap(True)
        self.form.addRow(summary)
        self.doctor = QComboBox(self)
        for row in doctor_rows or []:
            if not row.blacklisted or row.id == appointment.doctor_id:
                self.doctor.addItem(f"{row.full_name} ({row.department})", row.id)
        if self.doctor.findData(appointment.doctor_id) < 0:
            self.doctor.addItem(appointment.doctor, appointment.doctor_id)
        self.doctor.setCurrentIndex(self.doctor.findData(appointment.doctor_id))
        self.day = date_edit(self)
        days = availability.horizon(clinic)
        self.day.setDateRange(_qdate(days[0]), _qdate(days[-1]))
        self.day.setDate(_qdate(max(days[0], min(appointment.date, days[-1]))))
        self.time = QComboBox(self)
        self.add_field("doctor_id", "&Doctor", self.doctor)
        self.add_field("date", "D&ay", self.day)
        self.add_field("time", "&Free slot", self.time, self._check_time)
        self.doctor.currentIndexChanged.connect(lambda _i: self.load_slots())
        self.day.dateChanged.connect(lambda _d: self.load_slots())
        self.load_slots()

    def _check_time(self) -> None:
        if self.time.currentData() is None:
            raise ValidationError(
                "Choose a free slot; if there is none, pick another day or doctor.", field="time"
            )

    def load_slots(self) -> None:
        """Fill the slot list with the chosen doctor's free slots on the chosen day."""
        clinic, doctor_id, day = self._clinic, self.doctor.currentData(), _pydate(self.day.date())
        self.time.clear()
        self.time.addItem("Loading free slots…", None)
        self._ops.run(
            lambda _ctx: availability.free_slots(clinic, doctor_id, day),
            label="Load free slots",
            on_success=functools.partial(self._on_slots, (doctor_id, day)),
            on_failure=self.show_error,
        )

    def _on_slots(self, key: tuple[Any, date], slots: list[FreeSlot]) -> None:
        if key != (self.doctor.currentData(), _pydate(self.day.date())):
            return  # the user changed the day or doctor meanwhile
        self.time.clear()
        if not slots:
            self.time.addItem("No free slots that day", None)
        for slot in slots:
            self.time.addItem(
                f"{time_text(slot.time)}–{time_text(slot.end_time)}", f"{slot.time:%H:%M}"
            )
        self.set_field_error("time", "")

    def submit(self) -> Callable[[OpContext], Any]:
        """The move; its result (doctor's name, day, time) says where the visit went."""
        clinic, actor, appt_id = self._clinic, self._actor, self._appt.id
        doctor_id, day, at = (
            self.doctor.currentData(),
            _pydate(self.day.date()),
            self.time.currentData(),
        )
        doctor = self.doctor.currentText().split(" (")[0]

        def work(_ctx: OpContext) -> tuple[str, date, time]:
            booking.reschedule(clinic, actor, appt_id, day=day, at=at, doctor_id=doctor_id)
            return doctor, day, time.fromisoformat(at)

        return work
