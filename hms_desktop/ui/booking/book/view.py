"""The appointment book: doctors side by side for a day, or one doctor's week.

Keyboard: arrows move over time and doctors; Enter books free time for the chosen
patient (the one chosen on the Patient tab, see :meth:`BookView.use_patient`; asking with
the finder when none is chosen) or opens a visit; Delete
cancels after confirmation; Ctrl+G goes to the next free time; Alt+Left/Right
change the day; Ctrl+Z undoes the last booking, move or cancel. Mouse: drag a visit
to another time or doctor; right-click for the menu. Every change goes through the
booking service, which owns the rules (:mod:`.acts`).

The day (or week) is read on a worker thread: a newer request makes an older result
stale, and the cell under the cursor stays where it was across reloads (or where the
person moved it while a read or a booking was on its way).
"""

from __future__ import annotations

from datetime import date, time, timedelta

from PySide6.QtCore import QDate, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_service
from hms_desktop.services.people import departments
from hms_desktop.services.scheduling.book import Block, DayBook
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.booking.book.acts import BookActs
from hms_desktop.ui.booking.book.controls import BookControls
from hms_desktop.ui.booking.book.doctor_picker import (
    DoctorPicker,
    choose_for,
    chosen_text,
    remembered_doctors,
)
from hms_desktop.ui.booking.book.hours_dialog import HoursDialog, edit_hours_for
from hms_desktop.ui.booking.book.model import BookModel
from hms_desktop.ui.booking.book.printing import BookPrinting
from hms_desktop.ui.booking.book.request import BookRequest, CellKey, read_books
from hms_desktop.ui.booking.book.table import BookTable
from hms_desktop.ui.booking.confirmations import VisitConfirmations
from hms_desktop.ui.common.confirmation_bar import ConfirmationBar, undo_or_say
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING
from hms_desktop.ui.common.operations import Operations, user_message


class BookView(QWidget):
    """The book. ``own_doctor_id``: a doctor's own book (no department filter)."""

    #: A load finished and the model shows it (also after a failed read).
    loaded = Signal()
    appointment_opened = Signal(int)
    status_message = Signal(str)
    #: The cell under the cursor changed (another visit, or free time).
    current_changed = Signal()
    #: A visit was booked, moved, cancelled or undone here.
    visits_changed = Signal()
    #: Alt+Left/Right while the dates are chosen outside (see :meth:`hide_dates`).
    shift_requested = Signal(int)
    #: A date to show (e.g. the next free time's) while the dates are chosen outside.
    date_chosen = Signal(object)

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
        #: A chosen set of doctors (None: all, or the department chosen).
        self.doctor_ids: list[int] | None = (
            None if own_doctor_id is not None else remembered_doctors(clinic)
        )
        #: The week view's span when the dates are chosen outside: (first, days).
        self.span: tuple[date, int] | None = None
        self._dates_outside = False
        self._generation = 0
        #: Changes arrived while hidden: read again when shown.
        self._stale = False
        self._loading = False
        self._keep: CellKey | None = None
        #: The cell under the cursor when the current read started: a cursor found
        #: elsewhere when it ends was moved by the person meanwhile, and stays there.
        self._cursor_at_load: CellKey | None = None
        #: Where the next load puts the cursor (a date chosen outside comes back as a load).
        self._pending: CellKey | None = None
        self.doctor_picker: DoctorPicker | None = None
        #: Esc while a visit is being moved (enabled only then).
        self.stop_moving_action: QAction
        self.model = BookModel(self)
        self.table = BookTable(self.model, self)
        self.acts = BookActs(self)
        self.printing = BookPrinting(self)
        self._build()
        self.load()

    # --- building -----------------------------------------------------------------------
    def _build(self) -> None:
        depts = (
            None if self.own_doctor_id is not None else departments.list_departments(self.clinic)
        )
        kinds = [(v.name, v.label) for v in clinic_service.list_visit_types(self.clinic)]
        self.controls = BookControls(self.day, depts, kinds, self)
        self.controls.doctors_button.setText(chosen_text(self.doctor_ids))
        if self.own_doctor_id is not None:
            self.controls.hide_booking()
        self.message = QLabel("", self)
        self.message.setObjectName("bookMessage")
        self.message.setWordWrap(True)
        #: What the last booking, move or cancel did, with Undo, until the next action.
        self.confirmation = ConfirmationBar(self)
        # Ctrl+Z: the bar's Undo, or "Nothing to undo." in the status bar (as on the Desk).
        undo_or_say(self, self.confirmation, self.status_message.emit)
        # After Undo (a click moves the focus to the bar) the keyboard is back on the book.
        self.confirmation.undo_started.connect(self.table.setFocus)
        self.confirmations = VisitConfirmations(
            self.confirmation,
            self.clinic,
            self.actor,
            self.ops,
            said=self.status_message.emit,
            changed=self.changed_here,
        )

        layout = QVBoxLayout(self)
        # The Book tab is a page of the window (margins); a doctor's sits in a page.
        margin = PAGE_MARGIN if self.own_doctor_id is None else 0
        layout.setContentsMargins(margin, margin, margin, margin)
        layout.setSpacing(SPACING)
        layout.addWidget(self.controls)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.confirmation)

        c = self.controls
        c.prev_button.clicked.connect(lambda: self.set_date(self.day - timedelta(days=1)))
        c.next_button.clicked.connect(lambda: self.set_date(self.day + timedelta(days=1)))
        c.today_button.clicked.connect(lambda: self.set_date(self.clinic.today()))
        c.date_edit.dateChanged.connect(lambda d: self.set_date(d.toPython()))
        c.department.currentIndexChanged.connect(lambda _i: self.show_other())
        c.doctors_button.clicked.connect(self.choose_doctors)
        c.week.toggled.connect(lambda _on: self.show_other())
        c.patient_button.clicked.connect(lambda: self.acts.ask_patient(None))
        c.next_free_button.clicked.connect(self.acts.find_next_free)
        c.print_button.clicked.connect(lambda: self.acts.print_day(None))
        c.hours_button.clicked.connect(self.edit_hours)
        self.table.cell_activated.connect(self.acts.activate)
        self.table.delete_requested.connect(self.acts.on_delete)
        self.table.block_dropped.connect(self.acts.on_dropped)
        self.table.customContextMenuRequested.connect(self.acts.on_context_menu)
        self.table.selectionModel().currentChanged.connect(
            lambda _new, _old: self.current_changed.emit()
        )
        for keys, slot in (
            ("Ctrl+G", self.acts.find_next_free),
            ("Alt+Left", lambda: self.shift_days(-1)),
            ("Alt+Right", lambda: self.shift_days(1)),
            ("Esc", self.acts.stop_moving),
            ("Ctrl+P", lambda: self.acts.print_day(None)),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            if keys == "Esc":
                # Only while a visit is being moved: Esc must reach a question otherwise.
                self.stop_moving_action = action
                action.setEnabled(False)
        self.setFocusProxy(self.table)

    def focus_first(self) -> None:
        """The keyboard on the grid's current cell (the window calls it when the tab is
        shown, so the arrows move in the book at once)."""
        if not self.table.currentIndex().isValid() and self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(0, 0))
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def use_patient(self, row: PatientRow | None) -> None:
        """The desk's current patient, chosen on another screen (the Patient tab): Enter on
        free time books for them, without asking again; "Change patient…" still changes
        them here."""
        if row is None or self.own_doctor_id is not None:
            return
        if self.acts.patient is not None and self.acts.patient.id == row.id:
            self.acts.patient = row  # the same person, perhaps with newer details
            return
        self.acts.set_patient(row, chosen_on="the Patient tab")

    def hide_dates(self) -> None:
        """The owner chooses the dates (:meth:`show_span`); Alt+Left/Right ask it to."""
        self._dates_outside = True
        self.controls.hide_dates()

    # --- what is shown ------------------------------------------------------------------
    def set_date(self, day: date) -> None:
        """Show ``day`` (the date picker follows); with the dates chosen outside, ask the
        owner to (:attr:`date_chosen`)."""
        if self._dates_outside:
            self.date_chosen.emit(day)
            return
        if day != self.day:
            self.day = day
            self.confirmations.clear()  # another day: the bar spoke of the last one
            self.controls.date_edit.blockSignals(True)
            self.controls.date_edit.setDate(QDate(day.year, day.month, day.day))
            self.controls.date_edit.blockSignals(False)
        self.load()

    def show_span(self, first: date, days: int) -> None:
        """One day (``days`` 1) or one doctor's ``days`` dates from ``first``."""
        if (first, days) != (self.day, self.span[1] if self.span else 1):
            self.confirmations.clear()
        self.day = first
        self.span = (first, days) if days > 1 else None
        self.controls.date_edit.blockSignals(True)
        self.controls.date_edit.setDate(QDate(first.year, first.month, first.day))
        self.controls.date_edit.blockSignals(False)
        self.load()

    def shift_days(self, step: int) -> None:
        """Alt+Left/Right: the day before or after (the owner decides when it chooses)."""
        if self._dates_outside:
            self.shift_requested.emit(step)
        else:
            self.set_date(self.day + timedelta(days=step))

    def set_doctors(self, doctor_ids: list[int] | None) -> None:
        """Show only these doctors (None: every doctor, or the chosen department's)."""
        self.doctor_ids = list(doctor_ids) if doctor_ids else None
        self.controls.doctors_button.setText(chosen_text(self.doctor_ids))
        self.show_other()

    def show_other(self) -> None:
        """Other doctors, department or week: the bar's last change is behind."""
        self.confirmations.clear()
        self.load()

    def next_action(self) -> None:
        """An action in the book starts: a bar without Undo ("Undone: …") is stale."""
        if not self.confirmation.can_undo():
            self.confirmations.clear()

    def choose_doctors(self) -> None:
        """Ask which doctors to show (see :func:`.doctor_picker.choose_for`)."""
        choose_for(self)

    def week_doctor(self) -> int | None:
        if self.own_doctor_id is not None:
            return self.own_doctor_id
        index = self.table.currentIndex()
        if index.isValid() and not self.model.week:
            return self.model.column_doctor(index.column()).doctor_id
        if self.model.columnCount():
            return self.model.column_doctor(0).doctor_id
        return None

    def request(self) -> BookRequest:
        """What the controls ask for now."""
        if self.span is not None:
            first, days = self.span
            return BookRequest(self.day, week_doctor=self.own_doctor_id, first=first, days=days)
        doctor = self.week_doctor() if self.controls.week.isChecked() else None
        if doctor is not None:
            return BookRequest(self.day, week_doctor=doctor)
        own = [self.own_doctor_id] if self.own_doctor_id is not None else self.doctor_ids
        return BookRequest(
            self.day,
            doctor_ids=tuple(own) if own is not None else None,
            department_id=self.controls.department.currentData(),
        )

    # --- loading ------------------------------------------------------------------------
    def is_loading(self) -> bool:
        """True while a read is on its way."""
        return self._loading

    def current_key(self) -> CellKey | None:
        """The cell under the cursor by what it shows, or None."""
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        column = self.model.column_doctor(index.column())
        return (
            column.doctor_id,
            self.model.column_day(index.column()),
            self.model.row_time(index.row()),
        )

    def load(self, *, select: CellKey | None = None) -> None:
        """Read the shown day (or week) again on a worker; then put the cursor on
        ``select``, or keep it on the cell it was on. Only the newest read is shown."""
        target, self._pending = select or self._pending, None
        if not self._loading:  # rapid reloads keep the cell from before the first
            self._cursor_at_load = self.current_key()
        if target is not None:
            self._keep = target
        elif not self._loading:
            self._keep = self._cursor_at_load
        self._generation += 1
        self._loading = True
        generation, request = self._generation, self.request()
        clinic, actor = self.clinic, self.actor
        self.ops.run(
            lambda _ctx: (generation, request, read_books(clinic, actor, request)),
            label="Loading the book",
            on_success=self._on_read,
            on_failure=lambda err: self._on_failed(generation, err),
        )

    def _on_failed(self, generation: int, err: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.say(user_message(err))
        self.loaded.emit()

    def _on_read(self, result: tuple[int, BookRequest, list[DayBook]]) -> None:
        generation, request, books = result
        if generation != self._generation:
            return  # the date (or the doctors) changed again meanwhile: a newer read comes
        self._loading = False
        keep, self._keep = self._keep, None
        moved = self.current_key()
        if moved is not None and moved != self._cursor_at_load:
            keep = moved  # the person moved the cursor while this was read: it stays there
        had_index = self.table.currentIndex()
        fallback = (had_index.row(), had_index.column()) if had_index.isValid() else (-1, 0)
        self.model.set_books(books, week=request.week_doctor is not None)
        # The week's doctor is named where the week was asked for (the headers are dates).
        shown = self.model.column_doctor(0).doctor if self.model.columnCount() else ""
        week_of = shown if self.model.week and self.span is None else "one doctor"
        self.controls.week.setText(f"&Week of {week_of}")
        self.table.apply_spans()
        self.table.fit_columns()
        now = self.clinic.now().replace(tzinfo=None)
        days = {self.model.column_day(c) for c in range(self.model.columnCount())}
        self.table.now = now if now.date() in days else None
        self._restore(keep, fallback, now.time())
        self.table.viewport().update()
        self.loaded.emit()

    def _restore(self, keep: CellKey | None, fallback: tuple[int, int], now: time) -> None:
        rows, columns = self.model.rowCount(), self.model.columnCount()
        if not rows or not columns:
            return
        row, column = fallback
        if keep is not None:
            doctor_id, day, at = keep
            found = self.model.column_for(doctor_id, day)
            if found < 0 and self.model.week:
                found = next(
                    (c for c in range(columns) if self.model.column_doctor(c).doctor_id == doctor_id
                     and self.model.column_day(c).weekday() == day.weekday()),
                    -1,
                )  # fmt: skip
            if found >= 0:
                column = found
            row = self.model.row_for(at)
        if row < 0:
            row = self.model.row_for(now) if self.table.now else 0
        self.table.setCurrentIndex(self.model.index(min(row, rows - 1), min(column, columns - 1)))

    def go_to(self, doctor_id: int, day: date, at: time) -> None:
        """Show ``day`` and put the cursor on the doctor's ``at`` once it is read."""
        self._pending = (doctor_id, day, at)
        if self._dates_outside:
            self.date_chosen.emit(day)
            return
        self.set_date(day)

    def select(self, doctor_id: int, day: date, at: time) -> bool:
        """Put the cursor on a doctor's date and time (False when not shown)."""
        column = self.model.column_for(doctor_id, day)
        if column < 0:
            return False
        self.table.setCurrentIndex(self.model.index(self.model.row_for(at), column))
        self.table.setFocus()
        return True

    def current_block(self) -> Block | None:
        """The visit under the cursor, or None."""
        index: QModelIndex = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.cell(index.row(), index.column()).block

    def changed_here(self) -> None:
        """A visit changed through this view (or its Undo): read again, tell the owner."""
        self.load()
        self.visits_changed.emit()

    def on_changes(self, topics: frozenset[str]) -> None:
        """The clinic's data changed: read again now if shown, else when next shown."""
        if topics & {"appointments", "availability", "doctors", "patients"}:
            if self.isVisible():
                self.load()
            else:
                self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.load()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.status_message.emit(text)

    def edit_hours(self) -> HoursDialog | None:
        """The weekly hours and leave of the chosen doctor (or the doctor's own)."""
        return edit_hours_for(self)
