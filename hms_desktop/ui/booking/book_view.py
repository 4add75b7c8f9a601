"""The appointment book: doctors side by side for a day, or one doctor's week.

Keyboard: arrows move over time and doctors; Enter books free time for the chosen
patient (asking with the finder when none is chosen) or opens a visit; Delete
cancels after confirmation; Ctrl+G goes to the next free time; Alt+Left/Right
change the day. Mouse: drag a visit to another time or doctor; right-click for the
menu. Every change goes through the booking service, which owns the rules: a
refused move leaves the block where it was and the message says why.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_service
from hms_desktop.services.people import departments
from hms_desktop.services.scheduling import book, booking, series
from hms_desktop.services.scheduling.availability import last_bookable_day
from hms_desktop.services.scheduling.book import Block
from hms_desktop.services.views import STATUS_LABELS, VISIT_LABELS, PatientRow
from hms_desktop.ui.booking.book_controls import BookControls
from hms_desktop.ui.booking.book_dialogs import (
    PatientChoice,
    ask_series_cancel,
    day_schedule_html,
    print_html,
    write_pdf,
)
from hms_desktop.ui.booking.book_model import BookModel
from hms_desktop.ui.booking.book_table import BookTable
from hms_desktop.ui.booking.hours_dialog import HoursDialog
from hms_desktop.ui.booking.repeat_dialog import RepeatDialog
from hms_desktop.ui.common.dates import day_text, time_text, when_text
from hms_desktop.ui.common.layout import SPACING
from hms_desktop.ui.common.messages import confirm
from hms_desktop.ui.common.operations import Operations, user_message


class BookView(QWidget):
    """The book. ``own_doctor_id``: a doctor's own book (no department filter)."""

    loaded = Signal()
    appointment_opened = Signal(int)
    status_message = Signal(str)

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        parent: QWidget | None = None,
        *,
        own_doctor_id: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.ops = clinic, actor, ops
        self.own_doctor_id = own_doctor_id
        self.day = clinic.today()
        self.patient: PatientRow | None = None
        #: The visit being rescheduled from the menu (Enter on a cell moves it there).
        self.moving: tuple[Block, int] | None = None
        self.patient_dialog: PatientChoice | None = None
        #: A chosen set of doctors (None: all, or the department chosen).
        self.doctor_ids: list[int] | None = None
        self.model = BookModel(self)
        self.table = BookTable(self.model, self)
        self._build()
        self.load()

    # --- building -----------------------------------------------------------------------
    def _build(self) -> None:
        depts = (
            None if self.own_doctor_id is not None else departments.list_departments(self.clinic)
        )
        kinds = [(v.name, v.label) for v in clinic_service.list_visit_types(self.clinic)]
        self.controls = BookControls(self.day, depts, kinds, self)
        if self.own_doctor_id is not None:
            # A doctor's own book: the front desk books, so no patient or department here.
            for widget in (self.controls.patient_label, self.controls.patient_button,
                           self.controls.scope):  # fmt: skip
                widget.hide()
        self.message = QLabel("", self)
        self.message.setObjectName("bookMessage")
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addWidget(self.controls)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)

        self.controls.prev_button.clicked.connect(
            lambda: self.set_date(self.day - timedelta(days=1))
        )
        self.controls.next_button.clicked.connect(
            lambda: self.set_date(self.day + timedelta(days=1))
        )
        self.controls.today_button.clicked.connect(lambda: self.set_date(self.clinic.today()))
        self.controls.date_edit.dateChanged.connect(lambda d: self.set_date(d.toPython()))
        self.controls.department.currentIndexChanged.connect(lambda _i: self.load())
        self.controls.week.toggled.connect(lambda _on: self.load())
        self.controls.patient_button.clicked.connect(lambda: self.ask_patient(None))
        self.controls.next_free_button.clicked.connect(self.find_next_free)
        self.controls.print_button.clicked.connect(lambda: self.print_day(None))
        self.controls.hours_button.clicked.connect(self.edit_hours)
        self.table.cell_activated.connect(self.activate)
        self.table.delete_requested.connect(self._on_delete)
        self.table.block_dropped.connect(self._on_dropped)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        for keys, slot in (
            ("Ctrl+G", self.find_next_free),
            ("Alt+Left", lambda: self.set_date(self.day - timedelta(days=1))),
            ("Alt+Right", lambda: self.set_date(self.day + timedelta(days=1))),
            ("Esc", self.stop_moving),
            ("Ctrl+P", lambda: self.print_day(None)),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self.setFocusProxy(self.table)

    # --- loading ------------------------------------------------------------------------
    def set_date(self, day: date) -> None:
        """Show ``day`` (the date picker follows)."""
        if day != self.day:
            self.day = day
            self.controls.date_edit.blockSignals(True)
            self.controls.date_edit.setDate(QDate(day.year, day.month, day.day))
            self.controls.date_edit.blockSignals(False)
        self.load()

    def week_doctor(self) -> int | None:
        if self.own_doctor_id is not None:
            return self.own_doctor_id
        index = self.table.currentIndex()
        if index.isValid() and not self.model.week:
            return self.model.column_doctor(index.column()).doctor_id
        if self.model.columnCount():
            return self.model.column_doctor(0).doctor_id
        return None

    def load(self) -> None:
        """Read the shown day (or week) again, keeping the current cell where it was."""
        keep = self.table.currentIndex()
        row, column = (keep.row(), keep.column()) if keep.isValid() else (-1, 0)
        try:
            doctor = self.week_doctor() if self.controls.week.isChecked() else None
            if doctor is not None:
                books = book.week_books(self.clinic, self.actor, doctor, self.day)
                self.model.set_books(books, week=True)
            else:
                own = [self.own_doctor_id] if self.own_doctor_id is not None else self.doctor_ids
                dept = self.controls.department.currentData()
                one = book.day_book(
                    self.clinic, self.actor, self.day, doctor_ids=own, department_id=dept
                )
                self.model.set_books([one])
        except HmsError as err:
            self.say(user_message(err))
            return
        self.table.apply_spans()
        now = self.clinic.now().replace(tzinfo=None)
        days = {self.model.column_day(c) for c in range(self.model.columnCount())}
        self.table.now = now if now.date() in days else None
        if self.model.rowCount() and self.model.columnCount():
            if row < 0:
                row = self.model.row_for(now.time()) if self.table.now else 0
            self.table.setCurrentIndex(
                self.model.index(min(row, self.model.rowCount() - 1),
                                 min(column, self.model.columnCount() - 1))
            )  # fmt: skip
        self.table.viewport().update()
        self.loaded.emit()

    def set_doctors(self, doctor_ids: list[int] | None) -> None:
        """Show only these doctors (None: every doctor, or the chosen department's)."""
        self.doctor_ids = list(doctor_ids) if doctor_ids is not None else None
        self.load()

    def edit_hours(self) -> HoursDialog | None:
        """The weekly hours and leave of the chosen doctor (or the doctor's own)."""
        doctor_id = self.week_doctor()
        if doctor_id is None:
            self.say("No doctor is shown.")
            return None
        names = {self.model.column_doctor(c).doctor_id: self.model.column_doctor(c).doctor
                 for c in range(self.model.columnCount())}  # fmt: skip
        dialog = HoursDialog(self.clinic, self.actor, doctor_id, names.get(doctor_id, ""), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self.load)
        dialog.open()
        return dialog

    def on_changes(self, topics: frozenset[str]) -> None:
        if topics & {"appointments", "availability", "doctors", "patients"}:
            self.load()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.status_message.emit(text)

    def select(self, doctor_id: int, day: date, at: time) -> bool:
        column = self.model.column_for(doctor_id, day)
        if column < 0:
            return False
        self.table.setCurrentIndex(self.model.index(self.model.row_for(at), column))
        self.table.setFocus()
        return True

    # --- acting on a cell ---------------------------------------------------------------
    def activate(self, row: int, column: int) -> None:
        """Enter: move the visit being rescheduled here, open a visit, or book free time."""
        cell = self.model.cell(row, column)
        if self.moving is not None:
            block, _ = self.moving
            self.moving = None
            self.move_block(block, row, column)
        elif cell.block is not None:
            self.open_visit(cell.block)
        elif cell.kind == "free":
            self.book_free(row, column)
        else:
            doctor = self.model.column_doctor(column).doctor
            self.say(f"{doctor} does not see patients at {time_text(self.model.row_time(row))}.")

    def set_patient(self, row: PatientRow | None) -> None:
        self.patient = row
        self.controls.patient_label.setText(
            f"Patient: {row.full_name} ({row.id})" if row else "Patient: none chosen"
        )

    def ask_patient(self, then_book: tuple[int, int] | None) -> None:
        """Ask with the finder; then book the cell ``then_book`` (row, column) if given."""
        dialog = PatientChoice(self.clinic, self.actor, self.ops, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.patient_dialog = dialog

        def done(result: int) -> None:
            self.patient_dialog = None
            if result == QDialog.DialogCode.Accepted and dialog.chosen is not None:
                self.set_patient(dialog.chosen)
                if then_book is not None:
                    self.book_free(*then_book)

        dialog.finished.connect(done)
        dialog.open()

    def book_free(self, row: int, column: int) -> None:
        cell = self.model.cell(row, column)
        if cell.kind != "free" or cell.slot is None:
            self.say("Choose free time to book.")
            return
        if self.patient is None:
            self.ask_patient((row, column))
            return
        doctor, day = self.model.column_doctor(column), self.model.column_day(column)
        try:
            booking.book(
                self.clinic, self.actor, patient_id=self.patient.id, doctor_id=doctor.doctor_id,
                day=day, at=cell.slot, visit_type=self.controls.visit_type.currentData(),
            )  # fmt: skip
        except HmsError as err:
            self.say(user_message(err))
            self.load()
            return
        self.say(
            f"Booked {self.patient.full_name} with {doctor.doctor}, {when_text(day, cell.slot)}."
        )
        self.load()
        self.select(doctor.doctor_id, day, cell.slot)

    def open_visit(self, block: Block) -> None:
        self.appointment_opened.emit(block.appointment_id)
        self.say(
            f"Visit {block.appointment_id}: {time_text(block.start)}-{time_text(block.end)} {block.patient}, "
            f"{VISIT_LABELS.get(block.visit_type, block.visit_type)}, "
            f"{STATUS_LABELS.get(block.status, block.status).lower()}"
            + (f" ({block.reason})" if block.reason else "")
        )

    def _on_delete(self, row: int, column: int) -> None:
        block = self.model.cell(row, column).block
        if block is not None:
            self.cancel_visit(block)

    def cancel_visit(self, block: Block) -> QMessageBox:
        """Ask first; a series asks whether its later visits go too."""
        text = f"Cancel {block.patient}'s visit at {time_text(block.start)}?"
        if block.series_id is None:
            return confirm(self, "Cancel visit", text, lambda: self._cancel(block, and_later=False),
                           yes_text="Cancel visit")  # fmt: skip
        return ask_series_cancel(
            self, text, lambda and_later: self._cancel(block, and_later=and_later)
        )

    def _cancel(self, block: Block, *, and_later: bool) -> None:
        try:
            ids = series.cancel_occurrences(
                self.clinic, self.actor, block.appointment_id, and_later=and_later
            )
        except HmsError as err:
            self.say(user_message(err))
        else:
            self.say(f"Cancelled {len(ids)} visit(s) of {block.patient}.")
        self.load()

    def mark_no_show(self, block: Block) -> None:
        try:
            booking.set_status(self.clinic, self.actor, block.appointment_id, "no_show")
        except HmsError as err:
            self.say(user_message(err))
        else:
            self.say(f"{block.patient} did not come ({time_text(block.start)}).")
        self.load()

    def repeat(self, block: Block, column: int) -> RepeatDialog:
        """Make the visit the first of a weekly or monthly series (conflicts listed first)."""
        dialog = RepeatDialog(self.clinic, self.actor, block, self.model.column_day(column), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def booked(ids: tuple[int, ...]) -> None:
            self.say(f"Booked {len(ids)} more visit(s) of {block.patient}.")
            self.load()

        dialog.booked.connect(booked)
        dialog.open()
        return dialog

    def start_moving(self, block: Block, column: int) -> None:
        self.moving = (block, column)
        self.say(f"Choose the new time for {block.patient} and press Enter (Esc: keep it).")

    def stop_moving(self) -> None:
        if self.moving is not None:
            self.moving = None
            self.say("The visit stays where it was.")

    def move_block(self, block: Block, row: int, column: int) -> bool:
        """Reschedule ``block`` to the cell; a refusal leaves it and says why."""
        cell = self.model.cell(row, column)
        doctor, day = self.model.column_doctor(column), self.model.column_day(column)
        at = cell.slot if cell.kind == "free" and cell.slot else self.model.row_time(row)
        try:
            booking.reschedule(self.clinic, self.actor, block.appointment_id, day=day, at=at,
                               doctor_id=doctor.doctor_id)  # fmt: skip
        except HmsError as err:
            self.say(f"Not moved: {user_message(err)}")
            self.load()
            return False
        self.say(f"Moved {block.patient} to {doctor.doctor}, {when_text(day, at)}.")
        self.load()
        self.select(doctor.doctor_id, day, at)
        return True

    def _on_dropped(self, block: Block, _r: int, _c: int, row: int, column: int) -> None:
        self.move_block(block, row, column)

    # --- next free time -----------------------------------------------------------------
    def find_next_free(self) -> None:
        """Ctrl+G: the first free time from the shown day, for the current doctor or the
        department, the visit type's length and (optionally) a time of day; go there."""
        index = self.table.currentIndex()
        if not self.model.columnCount():
            self.say("No doctor is shown.")
            return
        doctor = self.model.column_doctor(index.column() if index.isValid() else 0)
        by_department = (
            self.controls.scope.currentData() == "department" and self.own_doctor_id is None
        )
        between = None
        if self.controls.between.isChecked():
            between = (
                self.controls.between_from.time().toPython(),
                self.controls.between_to.time().toPython(),
            )
        try:
            found = book.next_free(
                self.clinic,
                doctor_id=None if by_department else doctor.doctor_id,
                department_id=doctor.department_id if by_department else None,
                after=self.day,
                visit_type=self.controls.visit_type.currentData(),
                between=between,  # type: ignore[arg-type]
            )
        except HmsError as err:
            self.say(user_message(err))
            return
        if found is None:
            self.say(f"No free time up to {day_text(last_bookable_day(self.clinic))}.")
            return
        if self.controls.week.isChecked() and self.own_doctor_id is None and by_department:
            self.controls.week.setChecked(False)
        self.set_date(found.date)
        if not self.select(found.doctor_id, found.date, found.time):
            self.controls.department.setCurrentIndex(0)
            self.select(found.doctor_id, found.date, found.time)
        self.say(f"Next free: {when_text(found.date, found.time)}.")

    # --- menu and printing --------------------------------------------------------------
    def context_menu(self, row: int, column: int) -> QMenu:
        """Book, open, reschedule, cancel, no-show and print for the cell."""
        cell = self.model.cell(row, column)
        menu = QMenu(self)
        block = cell.block
        menu.addAction("&Book here…", lambda: self.book_free(row, column)).setEnabled(
            cell.kind == "free"
        )
        if block is not None:
            menu.addAction("&Open", lambda: self.open_visit(block))
            menu.addAction("&Reschedule…", lambda: self.start_moving(block, column))
            menu.addAction("&Cancel…", lambda: self.cancel_visit(block))
            menu.addAction("&No-show", lambda: self.mark_no_show(block))
            menu.addAction("Re&peat…", lambda: self.repeat(block, column))
        menu.addSeparator()
        doctor = self.model.column_doctor(column)
        menu.addAction(f"&Print {doctor.doctor}'s day…", lambda: self.print_day([doctor.doctor_id]))
        menu.addAction("Print the &whole day…", lambda: self.print_day(None))
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.setCurrentIndex(index)
            menu = self.context_menu(index.row(), index.column())
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def schedule_html(self, doctor_ids: list[int] | None) -> str:
        own = [self.own_doctor_id] if self.own_doctor_id is not None else None
        return day_schedule_html(self.clinic, self.actor, self.day, doctor_ids or own)

    def save_pdf(self, path: Path, doctor_ids: list[int] | None = None) -> None:
        """The shown day's schedule as a PDF (one doctor, or every doctor)."""
        write_pdf(self.schedule_html(doctor_ids), path, title=f"Schedule {self.day}")

    def print_day(self, doctor_ids: list[int] | None) -> None:
        """Print (or, with the dialog's printer choice, save as PDF) the day's schedule."""
        try:
            html = self.schedule_html(doctor_ids)
        except HmsError as err:
            self.say(user_message(err))
            return
        if print_html(self, html, f"Print the schedule of {day_text(self.day)}"):
            self.say(f"Printed the schedule of {day_text(self.day)}.")
