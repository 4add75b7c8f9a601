"""What a person does on a cell of the book: book, open, move, cancel, no-show, repeat.

Every change goes through the booking service, which owns the rules: a refused move
leaves the block where it was and the message says why. What went through is said on
the view's confirmation bar (patient, doctor, day and time) with Undo, until the next
action; a refused booking or cancel clears it, so the bar never speaks of something
that did not happen. A refused move keeps the bar (the last change's Undo still
stands) and says why on the message line. A visit of a series can be moved or
cancelled alone or with all its later visits; the later ones' conflicts are listed
before anything changes.

The service calls run on workers (``view.ops``), on values read from the widgets
beforehand: a slow or unreachable server must not freeze the window. One change at a
time: while one is on its way the message line says so ("Booking…"), and another
Enter, drop or answer starts nothing (the status bar says "Not yet"), so Enter
pressed twice books once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenu, QMessageBox

from hms_desktop.errors import HmsError
from hms_desktop.services.people import doctors
from hms_desktop.services.scheduling import book, booking, series
from hms_desktop.services.scheduling.availability import last_bookable_day
from hms_desktop.services.scheduling.book import Block
from hms_desktop.services.scheduling.listing import AppointmentFilter
from hms_desktop.services.views import STATUS_LABELS, VISIT_LABELS, AppointmentRow, PatientRow
from hms_desktop.ui.booking.book import menu
from hms_desktop.ui.booking.book.dialogs import (
    PatientChoice,
    ask_series_cancel,
    show_conflicts,
    visit_details,
)
from hms_desktop.ui.booking.book.repeat_dialog import RepeatDialog
from hms_desktop.ui.common.dates import day_text, time_text, when_text
from hms_desktop.ui.common.messages import confirm
from hms_desktop.ui.common.operations import user_message
from hms_desktop.ui.common.patient_text import patient_text

if TYPE_CHECKING:
    from pathlib import Path

    from hms_desktop.ui.booking.book.request import CellKey
    from hms_desktop.ui.booking.book.view import BookView

#: What a second change says while the first is on its way (Enter pressed twice).
NOT_YET = "Not yet: the last change is still being saved."


@dataclass(frozen=True)
class _Wanted:
    """A booking as asked for: the cell's values, read on the UI thread."""

    row: int
    column: int
    patient: PatientRow
    doctor_id: int
    doctor: str
    day: date
    at: time
    visit_type: str
    #: The cell under the cursor when the booking was asked for (see :meth:`BookActs._booked`).
    origin: CellKey | None = None


class BookActs:
    """The book's actions on cells; owned by a :class:`~.view.BookView`."""

    def __init__(self, view: BookView) -> None:
        self.view = view
        self.patient: PatientRow | None = None
        #: The visit being moved from the menu (Enter on a cell moves it there), and
        #: whether its later visits in the series go along.
        self.moving: tuple[Block, bool] | None = None
        self.patient_dialog: PatientChoice | None = None
        #: The question or list shown last (tests answer it; one at a time).
        self.active_dialog: QDialog | None = None
        #: Actions of the owner listed first in the menu (the Doctor tab's).
        self.extra_actions: list[QAction] = []
        #: A change is on its way to the database (see :meth:`_run`).
        self.saving = False

    # --- Enter on a cell ----------------------------------------------------------------
    def activate(self, row: int, column: int) -> None:
        """Enter: move the visit being moved here, open a visit, or book free time."""
        view = self.view
        view.next_action()
        cell = view.model.cell(row, column)
        if self.moving is not None and self.still_saving():
            return
        if self.moving is not None:
            block, and_later = self.moving
            self.moving = None
            view.stop_moving_action.setEnabled(False)
            self.move_block(block, row, column, and_later=and_later)
        elif cell.block is not None:
            self.open_visit(cell.block, column)
        elif cell.kind == "free" and view.own_doctor_id is None:
            self.book_free(row, column)
        elif cell.kind == "free":
            view.say("Free time: the front desk books it.")
        else:
            doctor = view.model.column_doctor(column).doctor
            view.say(f"{doctor} does not see patients at {time_text(view.model.row_time(row))}.")

    def set_patient(self, row: PatientRow | None, *, chosen_on: str = "") -> None:
        """Book for ``row`` from now on (None: ask at the next booking). ``chosen_on``
        names where the desk chose them when that was not here ("the Patient tab"); the
        tooltip says so (the line itself has room for the name only at 1024 px)."""
        self.patient = row
        controls = self.view.controls
        if row is None:
            controls.patient_label.setText("Patient: none chosen")
        else:
            controls.patient_label.setText(
                f"Patient: {patient_text(row.full_name, row.id, row.date_of_birth)}"
            )
        controls.patient_label.setToolTip(
            f"Chosen on {chosen_on}: Enter on free time books for them"
            if row is not None and chosen_on
            else ""
        )
        controls.show_patient_chosen(row is not None)

    def ask_patient(self, then_book: tuple[int, int] | None) -> None:
        """Ask with the finder; then book the cell ``then_book`` (row, column) if given."""
        view = self.view
        dialog = PatientChoice(view.clinic, view.actor, view.ops, view)
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

    # --- booking and opening ------------------------------------------------------------
    def book_free(self, row: int, column: int, *, same_day_ok: bool = False) -> None:
        """Book the free cell for the chosen patient (asking for one with the finder).

        A patient who already has a visit that day is asked about first: the patient
        stays chosen after a booking, so a second Enter would book them twice. The
        question's read and the booking run on a worker (a slow server must not freeze
        the window); while they do, another booking is not started, so Enter pressed
        twice books once.
        """
        view = self.view
        if self.still_saving():
            return
        cell = view.model.cell(row, column)
        if cell.kind != "free" or cell.slot is None:
            view.say("Choose free time to book.")
            return
        if self.patient is None:
            self.ask_patient((row, column))
            return
        # Everything the worker needs, read from the widgets here on the UI thread.
        wanted = _Wanted(
            row, column, self.patient, view.model.column_doctor(column).doctor_id,
            view.model.column_doctor(column).doctor, view.model.column_day(column), cell.slot,
            view.controls.visit_type.currentData(), view.current_key(),
        )  # fmt: skip
        if same_day_ok:
            self._book(wanted)
            return
        clinic, actor = view.clinic, view.actor
        self._run(
            "Booking",
            lambda: booking.list_appointments(
                clinic,
                actor,
                AppointmentFilter(
                    date_from=wanted.day,
                    date_to=wanted.day,
                    patient_id=wanted.patient.id,
                    statuses=("booked", "completed"),
                ),
            ),
            lambda that_day: self._ask_same_day(wanted, that_day),
            reload=False,
        )

    def _book(self, wanted: _Wanted) -> None:
        view = self.view
        view.confirmations.clear()  # the next action: the last one's Undo is over
        clinic, actor, w = view.clinic, view.actor, wanted
        self._run(
            "Booking",
            lambda: booking.book(
                clinic,
                actor,
                patient_id=w.patient.id,
                doctor_id=w.doctor_id,
                day=w.day,
                at=w.at,
                visit_type=w.visit_type,
            ),
            lambda new_id: self._booked(w, new_id),
        )

    def _booked(self, w: _Wanted, new_id: int) -> None:
        view = self.view
        view.message.clear()
        who = patient_text(w.patient.full_name, w.patient.id, w.patient.date_of_birth)
        view.confirmations.booked(new_id, who, w.doctor, w.day, w.at)
        # The cursor goes to the new visit only if it is still where the booking was asked
        # for: a person who moved on while a slow write ran keeps the cell they moved to.
        moved = view.current_key() != w.origin
        view.load(select=None if moved else (w.doctor_id, w.day, w.at))
        view.visits_changed.emit()

    def _ask_same_day(self, w: _Wanted, that_day: list[AppointmentRow]) -> None:
        """Book, or first ask when the patient has a visit that day already."""
        view = self.view
        if not that_day:
            self._book(w)
            return
        view.message.clear()  # no longer "Booking…": the question is up to the desk
        who = patient_text(w.patient.full_name, w.patient.id, w.patient.date_of_birth)
        clash = next((r for r in that_day if r.time <= w.at < (r.end_time or r.time)), None)
        if clash is not None:
            # Not a question: a second visit at a time they are busy cannot be booked
            # (the database refuses it), so the desk hears that at once.
            span = time_text(clash.time) + (
                f"–{time_text(clash.end_time)}" if clash.end_time else ""
            )
            view.say(
                f"{who} already has a visit then: {span} with {clash.doctor}. Choose another time."
            )
            return
        first = that_day[0]
        text = (
            f"{who} already has a visit that day ({day_text(w.day, view.clinic.today())}): "
            f"{time_text(first.time)} with {first.doctor}"
            + (f" (and {len(that_day) - 1} more)" if len(that_day) > 1 else "")
            + f".\n\nBook another at {time_text(w.at)} with {w.doctor}?"
        )
        self.active_dialog = confirm(
            view, "Second visit that day", text,
            lambda: self.book_free(w.row, w.column, same_day_ok=True),
            yes_text="Book another", no_text="Don't book",
        )  # fmt: skip

    def still_saving(self) -> bool:
        """True while a change is on its way: another is not started, and the status
        bar says why nothing happened (a drop or an answer must not vanish unsaid)."""
        if self.saving:
            self.view.status_message.emit(NOT_YET)
        return self.saving

    def _run(
        self,
        label: str,
        work: Callable[[], Any],
        done: Callable[[Any], object],
        *,
        said: Callable[[str], str] = lambda message: message,
        reload: bool = True,
    ) -> None:
        """Run ``work`` (service calls on values read beforehand) on a worker; then
        ``done(result)`` on the UI thread. A refusal or a failure is said on the message
        line (through ``said``) and, with ``reload``, the book is read again, as it may
        have changed meanwhile. Meanwhile the message line says ``label…`` and
        :attr:`saving` holds, so a second change is not started before the first is
        answered."""
        view = self.view
        self.saving = True
        view.message.setText(f"{label}…")

        def succeeded(result: object) -> None:
            self.saving = False
            done(result)

        def failed(err: BaseException) -> None:
            self.saving = False
            view.say(said(user_message(err)))
            if reload:
                view.load()

        view.ops.run(lambda _ctx: work(), label=label, on_success=succeeded, on_failure=failed)

    def open_visit(self, block: Block, column: int | None = None) -> None:
        """Say the visit's details: on the front desk's book in a small read-only box
        (patient, doctor, day and time, type, status, reason), on a doctor's in the line."""
        view = self.view
        view.appointment_opened.emit(block.appointment_id)
        index = view.table.currentIndex()
        column = column if column is not None else max(index.column(), 0)
        doctor = view.model.column_doctor(column).doctor if view.model.columnCount() else ""
        day = view.model.column_day(column) if view.model.columnCount() else view.day
        kind = VISIT_LABELS.get(block.visit_type, block.visit_type)
        status = STATUS_LABELS.get(block.status, block.status)
        when = (
            f"{day_text(day, view.clinic.today())}, {time_text(block.start)}-{time_text(block.end)}"
        )
        view.say(f"{block.patient} with {doctor}, {when}: {kind}, {status.lower()}"
                 + (f" ({block.reason})" if block.reason else ""))  # fmt: skip
        if view.own_doctor_id is not None:
            return
        self.active_dialog = visit_details(
            view, [("Patient", block.patient), ("Doctor", doctor), ("When", when),
                   ("Visit type", kind), ("Status", status), ("Reason", block.reason or "—")],
        )  # fmt: skip

    # --- cancelling ---------------------------------------------------------------------
    def on_delete(self, row: int, column: int) -> None:
        block = self.view.model.cell(row, column).block
        if block is not None and self.view.own_doctor_id is None:
            self.cancel_visit(block)

    def cancel_visit(self, block: Block) -> QMessageBox:
        """Ask first; a series asks whether its later visits go too."""
        view = self.view
        # Who, with whom and when: a cancel asked of the wrong row must be seen as such.
        place = view.model.place_of(block)
        at = (
            f"with {place[1].doctor}, {when_text(place[0], block.start, view.clinic.today())}"
            if place is not None
            else f"at {time_text(block.start)}"
        )
        text = f"Cancel {block.patient}'s visit {at}?"
        if block.series_id is None:
            box = confirm(view, "Cancel visit", text, lambda: self.cancel(block, and_later=False),
                          yes_text="Cancel visit")  # fmt: skip
        else:
            box = ask_series_cancel(
                view, text, lambda and_later: self.cancel(block, and_later=and_later)
            )
        self.active_dialog = box
        return box

    def cancel_later(self, block: Block) -> None:
        """Cancel this visit and the later ones of its series: they are listed first
        (read on a worker; the question comes when they are)."""
        if self.still_saving():
            return
        view, appointment_id = self.view, block.appointment_id
        clinic, actor = view.clinic, view.actor

        def read() -> list[AppointmentRow]:
            return [
                booking.get_appointment(clinic, actor, i)
                for i in series.later_occurrences(clinic, appointment_id)
            ]

        self._run("Cancelling", read, lambda rows: self._ask_later(block, rows), reload=False)

    def _ask_later(self, block: Block, rows: list[AppointmentRow]) -> None:
        view = self.view
        view.message.clear()  # no longer "Cancelling…": the question is up to the desk
        listed = "\n".join(when_text(r.date, r.time) for r in rows)
        self.active_dialog = confirm(
            view,
            "Cancel visits",
            f"Cancel these {len(rows)} visits of {block.patient}?\n{listed}",
            lambda: self.cancel(block, and_later=True),
            yes_text=f"Cancel {len(rows)} visits",
        )

    def cancel(self, block: Block, *, and_later: bool) -> None:
        """Cancel the visit (with ``and_later`` its series' later ones) on a worker."""
        if self.still_saving():
            return
        view, appointment_id = self.view, block.appointment_id
        clinic, actor = view.clinic, view.actor
        view.confirmations.clear()

        def work() -> tuple[AppointmentRow, list[int]]:
            before = booking.get_appointment(clinic, actor, appointment_id)
            ids = series.cancel_occurrences(clinic, actor, appointment_id, and_later=and_later)
            return before, ids

        self._run("Cancelling", work, lambda result: self._cancelled(block, *result))

    def _cancelled(self, block: Block, before: AppointmentRow, ids: list[int]) -> None:
        view = self.view
        view.message.clear()
        if len(ids) == 1:
            view.confirmations.cancelled(before, block.patient)
        else:
            view.confirmations.done(
                f"Cancelled {len(ids)} visits of {block.patient} with {before.doctor}, "
                f"from {when_text(before.date, before.time, view.clinic.today())}."
            )
        view.changed_here()

    def mark_no_show(self, block: Block) -> None:
        """The patient did not come (on a worker)."""
        if self.still_saving():
            return
        view, appointment_id = self.view, block.appointment_id
        clinic, actor = view.clinic, view.actor
        view.confirmations.clear()

        def mark() -> AppointmentRow:
            booking.set_status(clinic, actor, appointment_id, "no_show")
            return booking.get_appointment(clinic, actor, appointment_id)

        def done(row: AppointmentRow) -> None:
            view.message.clear()
            view.confirmations.no_show(row)  # with Undo: the patient came after all
            view.changed_here()

        self._run("Saving the no-show", mark, done)

    def repeat(self, block: Block, column: int) -> RepeatDialog:
        """Make the visit the first of a weekly or monthly series (conflicts listed first)."""
        view = self.view
        view.confirmations.clear()
        dialog = RepeatDialog(view.clinic, view.actor, block, view.model.column_day(column), view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        clinic, actor = view.clinic, view.actor

        def said(ids: tuple[int, ...], rows: list[AppointmentRow]) -> None:
            if rows:
                view.confirmations.series_booked(
                    ids, [r.date for r in rows], block.patient, rows[0].doctor, block.start
                )
            view.changed_here()

        def booked(ids: tuple[int, ...]) -> None:
            # The repeats are booked (by the dialog); their dates for the bar are read
            # on a worker. Failing that, the bar says nothing and the message line why.
            def failed(err: BaseException) -> None:
                view.say(user_message(err))
                said(ids, [])

            view.ops.run(
                lambda _ctx: [booking.get_appointment(clinic, actor, i) for i in ids],
                label="Reading the repeats",
                on_success=lambda rows: said(ids, rows),
                on_failure=failed,
            )

        dialog.booked.connect(booked)
        dialog.open()
        return dialog

    # --- moving -------------------------------------------------------------------------
    def start_moving(self, block: Block, *, and_later: bool = False) -> None:
        self.moving = (block, and_later)
        self.view.stop_moving_action.setEnabled(True)
        which = "and its later visits " if and_later else ""
        self.view.say(
            f"Choose the new time for {block.patient}'s visit {which}and press Enter "
            "(Esc: keep it)."
        )

    def stop_moving(self) -> None:
        self.view.stop_moving_action.setEnabled(False)
        if self.moving is not None:
            self.moving = None
            self.view.say("The visit stays where it was.")

    def move_block(self, block: Block, row: int, column: int, *, and_later: bool = False) -> None:
        """Move ``block`` (and with ``and_later`` its series' later visits by the same
        shift) to the cell, on a worker; a refusal leaves everything where it was and
        says why. A series stays with its doctor."""
        if self.still_saving():
            return  # the block stays where it is drawn
        view = self.view
        cell = view.model.cell(row, column)
        doctor, day = view.model.column_doctor(column), view.model.column_day(column)
        at = cell.slot if cell.kind == "free" and cell.slot else view.model.row_time(row)
        clinic, actor = view.clinic, view.actor
        appointment_id, target = block.appointment_id, doctor.doctor_id

        def work() -> tuple[AppointmentRow, list[series.Conflict] | None]:
            """The visit as it was, and the series' conflicts (None: another doctor)."""
            before = booking.get_appointment(clinic, actor, appointment_id)
            if not and_later:
                booking.reschedule(clinic, actor, appointment_id, day=day, at=at, doctor_id=target)
                return before, []
            if target != before.doctor_id:
                return before, None
            return before, series.move_occurrences(
                clinic, actor, appointment_id, day=day, at=at, and_later=True
            )

        def done(result: tuple[AppointmentRow, list[series.Conflict] | None]) -> None:
            before, conflicts = result
            if and_later:
                self._moved_later(block, before, conflicts, day, at)
                return
            view.message.clear()
            view.confirmations.moved(before, block.patient, doctor.doctor, day, at)
            view.load(select=(target, day, at))
            view.visits_changed.emit()

        def said(message: str) -> str:
            # A series' refusal names the visit that held the others and says none moved.
            return message if and_later else f"Not moved: {message}"

        self._run("Moving", work, done, said=said)

    def _moved_later(
        self,
        block: Block,
        before: AppointmentRow,
        conflicts: list[series.Conflict] | None,
        day: date,
        at: time,
    ) -> None:
        view = self.view
        if conflicts is None:
            view.say("Not moved: a series stays with its doctor; choose a time in their column.")
            return
        if conflicts:
            self.active_dialog = show_conflicts(
                view,
                f"Nothing was moved: these visits of {block.patient} cannot go to {time_text(at)}.",
                [(when_text(c.date, c.time), c.reason) for c in conflicts],
            )
            view.say(f"Not moved: {len(conflicts)} of the visits cannot go there.")
            view.load()
            return
        view.message.clear()
        today = view.clinic.today()
        shift = (day - before.date).days
        later = (
            f"at {time_text(at)} too"
            if shift == 0
            else f"{abs(shift)} day{'s' if abs(shift) != 1 else ''} "
            f"{'later' if shift > 0 else 'earlier'}, at {time_text(at)}"
        )
        view.confirmations.done(
            f"Moved {block.patient}'s visit with {before.doctor} from "
            f"{when_text(before.date, before.time, today)} to {when_text(day, at, today)}; "
            f"the later ones of the series are {later}."
        )
        view.load(select=(before.doctor_id, day, at))
        view.visits_changed.emit()

    def on_dropped(self, block: Block, _r: int, _c: int, row: int, column: int) -> None:
        self.move_block(block, row, column)

    # --- next free time -----------------------------------------------------------------
    def find_next_free(self) -> None:
        """Ctrl+G: the first free time from the shown day, for the current doctor or the
        department, the visit type's length and (optionally) a time of day; go there."""
        view, controls = self.view, self.view.controls
        index = view.table.currentIndex()
        if not view.model.columnCount():
            view.say("No doctor is shown.")
            return
        doctor = view.model.column_doctor(index.column() if index.isValid() else 0)
        by_department = controls.scope.currentData() == "department" and view.own_doctor_id is None
        between = None
        if controls.between.isChecked():
            between = (
                controls.between_from.time().toPython(),
                controls.between_to.time().toPython(),
            )
        try:
            found = book.next_free(
                view.clinic,
                doctor_id=None if by_department else doctor.doctor_id,
                department_id=doctor.department_id if by_department else None,
                after=view.day,
                visit_type=controls.visit_type.currentData(),
                between=between,  # type: ignore[arg-type]
            )
        except HmsError as err:
            view.say(user_message(err))
            return
        if found is None:
            view.say(f"No free time up to {day_text(last_bookable_day(view.clinic))}.")
            return
        if controls.week.isChecked() and view.own_doctor_id is None and by_department:
            controls.week.blockSignals(True)
            controls.week.setChecked(False)
            controls.week.blockSignals(False)
        try:
            who = doctors.get_doctor(view.clinic, found.doctor_id).full_name
        except HmsError:
            who = ""
        with_whom = f" with {who}" if who else ""
        view.say(f"Next free{with_whom}: {when_text(found.date, found.time)}.")
        view.go_to(found.doctor_id, found.date, found.time)
        view.table.setFocus()

    # --- menu and printing --------------------------------------------------------------
    def context_menu(self, row: int, column: int) -> QMenu:
        """The cell's menu (see :func:`.menu.context_menu`)."""
        return menu.context_menu(self, row, column)

    def on_context_menu(self, pos: QPoint) -> None:
        menu.on_context_menu(self, pos)

    def save_pdf(self, path: Path, doctor_ids: list[int] | None = None) -> None:
        """The printed day's schedule as a PDF (see :class:`~.printing.BookPrinting`)."""
        self.view.printing.save_pdf(path, doctor_ids)

    def print_day(self, doctor_ids: list[int] | None) -> None:
        self.view.printing.print_day(doctor_ids)
