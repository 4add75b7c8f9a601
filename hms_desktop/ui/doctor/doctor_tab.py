"""The Doctor tab: the doctor's own book (a day or seven days, any date), closing visits,
treatments, history, availability.

The book takes the place of the lists of today's and the week's visits: Today,
Tomorrow, the next 7 days and the date picker choose what it shows, Alt+Left/Right
step on. What the doctor does to the visit under the book's cursor (Mark completed,
no-show, cancel, record the treatment, open the history) is on the buttons, the
shortcuts and the book's context menu. Everything that reads or writes the database
goes through ``Operations`` and comes back by signal; the tab only arranges widgets
and reacts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import doctors
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from hms_desktop.services.views import FLOW_LABELS, VISIT_LABELS, AppointmentRow, DoctorRow
from hms_desktop.ui.booking.book.view import BookView
from hms_desktop.ui.common.dates import day_text, time_text, when_text
from hms_desktop.ui.common.forms import ErrorLabel
from hms_desktop.ui.common.layout import (
    PAGE_MARGIN,
    SPACING,
    action_button,
    make_action,
    muted_label,
    padded_page,
    title_label,
)
from hms_desktop.ui.common.messages import confirm, field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.doctor.availability_editor import AvailabilityEditor
from hms_desktop.ui.doctor.day_range import NEXT_7_DAYS, TODAY, TOMORROW, DayRange
from hms_desktop.ui.doctor.my_reports import MyReportsWidget
from hms_desktop.ui.doctor.treatment_dialog import TreatmentDialog
from hms_desktop.ui.records.history_view import HistoryView

#: The summary's order: who is here first, then the rest of the day.
FLOW_ORDER = ("in_consultation", "arrived", "booked", "completed", "no_show", "cancelled")


def next_to_close(rows: list[AppointmentRow]) -> AppointmentRow | None:
    """The visit the doctor most likely closes next: the patient with them, else the
    first who is waiting, else the first booked (in time order, as ``rows`` are)."""
    for status in ("in_consultation", "arrived", "booked"):
        found = next((r for r in rows if r.status == status), None)
        if found is not None:
            return found
    return None


class DoctorTab(QWidget):
    """A doctor's working view. ``refresh()`` reloads; ``actions()`` lists the shortcuts."""

    #: The visits of the shown days and the book finished loading.
    appointments_loaded = Signal()
    #: A visit changed status or got a treatment (the shell may refresh other views).
    appointment_changed = Signal(int)
    #: A short message for the status bar.
    status_message = Signal(str)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._doctor_id = actor.doctor_id
        self._generation = 0
        #: The dialog or confirmation currently open (tests drive it; one at a time).
        self.active_dialog: QWidget | None = None

        self.title = title_label(actor.label or "Doctor", self, size_delta=6, page=True)
        self.subtitle = muted_label("", self)
        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        #: The visits of the shown days (every status), for the actions and the summary.
        self.rows: list[AppointmentRow] = []
        self._rows_ready = self._book_ready = False
        #: The range was just chosen: the cursor goes to the first visit to close.
        self._fresh_range = True
        #: A visit the cursor goes to once shown (a patient just called in).
        self._follow: int | None = None
        self.history = HistoryView(clinic, actor, ops, self)
        self.error = ErrorLabel(self)
        #: The visit the shown error is about (it goes when another is selected).
        self._error_for: AppointmentRow | None = None
        #: The description of the visit under the cursor last put under the book.
        self._described = ""
        #: The book just opened a visit: its next sentence is replaced by the description.
        self._opened = False
        self.summary = muted_label("", self)
        self.summary.setObjectName("emptyState")
        self._build_actions()

        if self._doctor_id is None:
            # Only a doctor's account has a schedule; say so instead of an empty screen.
            self.availability: AvailabilityEditor | None = None
            layout = QVBoxLayout(self)
            layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
            layout.addWidget(muted_label("This tab is for doctors' accounts.", self))
            self._update_actions()
            return
        self.availability = AvailabilityEditor(clinic, actor, ops, self._doctor_id, self)
        self.reports = MyReportsWidget(clinic, actor, ops, self)
        self.pages.addTab(self._appointments_page(), "&Appointments")
        self.pages.addTab(padded_page(self.history, self), "Patient histor&y")
        self.pages.addTab(padded_page(self.availability, self), "Availa&bility")
        self.pages.addTab(padded_page(self.reports, self), "My re&ports")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.pages, 1)
        # Keyboard order after the page tabs: the book, its actions left to right, the range.
        # Set once everything is laid out: re-parenting into pages reorders the chain.
        for first, second in itertools.pairwise(self._focus_chain):
            QWidget.setTabOrder(first, second)
        self._update_actions()
        # The clock decides some actions (no-show from the visit's start on): look again
        # every half minute, not only when the cursor moves.
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)
        self._tick.timeout.connect(self._update_actions)
        self._tick.start()
        self._set_range(TODAY)
        self.refresh()

    # --- building ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def make(text: str, keys: str, slot: Callable[[], object], tip: str) -> QAction:
            return make_action(self, text, keys, slot, tip)

        self.today_action = make(
            "Show &today", "Ctrl+Shift+D", lambda: self._set_range(TODAY), "Today's appointments"
        )
        self.tomorrow_action = make(
            "Show to&morrow",
            "Ctrl+Shift+M",
            lambda: self._set_range(TOMORROW),
            "Tomorrow's appointments",
        )
        self.week_action = make(
            "Show the ne&xt 7 days",
            "Ctrl+Shift+W",
            lambda: self._set_range(NEXT_7_DAYS),
            "The appointments of today and the next 6 days",
        )
        self.complete_action = make(
            "Mark &completed", "Ctrl+Shift+C", self.mark_completed, "The visit took place"
        )
        self.no_show_action = make(
            "Mark &no-show", "Ctrl+Shift+N", self.mark_no_show, "The patient did not come"
        )
        self.cancel_action = make(
            "Cance&l appointment…",
            "Ctrl+Shift+X",
            self.cancel_appointment,
            "Cancel the visit and free the slot",
        )
        self.treatment_action = make(
            "Rec&ord treatment…",
            "Ctrl+T",
            self.record_treatment,
            "Record or edit the treatment of a completed visit",
        )
        self.history_action = make(
            "&Patient history", "Ctrl+H", self.show_history, "The selected patient's full history"
        )

    def _appointments_page(self) -> QWidget:
        page = QWidget(self)
        # The doctor's own book (a day or seven days, any date; prints the day).
        self.book = BookView(self._clinic, self._actor, self._ops, page,
                             own_doctor_id=self._doctor_id)  # fmt: skip
        self.book.hide_dates()
        # Weekly hours and leave: the doctor's own (the Availability page edits the next
        # seven days' windows one by one). The button sits with Print (below).
        self.book.controls.hours_button.setToolTip("Your weekly hours and leave (Alt+S)")
        self.book.controls.print_button.setText("Print th&e day…")  # Alt+R is Tomorrow here
        self.book.status_message.connect(self._on_book_said)
        self.book.current_changed.connect(self._on_current_changed)
        self.book.appointment_opened.connect(self._on_opened)
        self.book.visits_changed.connect(self._load_appointments)
        self.book.table.delete_requested.connect(lambda _r, _c: self.cancel_appointment())
        self.book.loaded.connect(self._on_book_loaded)
        self.book.acts.extra_actions = [
            self.complete_action,
            self.no_show_action,
            self.cancel_action,
            self.treatment_action,
            self.history_action,
        ]
        #: What the last Mark completed or cancel did, with Undo (the book's own bar).
        self.confirmation = self.book.confirmation
        self.confirmations = self.book.confirmations
        self.days = DayRange(self._clinic.today, page)
        self.days.changed.connect(self._on_range_changed)
        self.book.shift_requested.connect(self.days.shift)
        self.book.date_chosen.connect(self.days.show_day)
        self.today_button, self.week_button = self.days.today_button, self.days.week_button
        # The shared style sheet has no "checked" look; the range toggle needs one.
        page.setStyleSheet(
            "QPushButton:checked { background: #e8eefc; color: #1d4ed8; border-color: #2563eb; }"
        )
        self.range_title = title_label("", page, size_delta=2)
        top = QHBoxLayout()
        top.setSpacing(SPACING)
        top.addWidget(self.range_title)
        top.addStretch(1)
        top.addWidget(self.days)

        buttons = QHBoxLayout()
        buttons.setSpacing(SPACING)
        chain: list[QWidget] = [self.book.table]
        for action in self.actions():
            if action in (self.today_action, self.tomorrow_action, self.week_action):
                continue  # reached by the buttons above the book
            if action is self.treatment_action:
                buttons.addStretch(1)
            chain.append(action_button(action, page))
            buttons.addWidget(chain[-1])
        self._focus_chain = [
            *chain,
            self.today_button,
            self.days.tomorrow_button,
            self.week_button,
            self.days.date_edit,
            self.book.controls.hours_button,
            self.book.controls.print_button,
        ]

        # Hours and printing sit with the other buttons: the book's own row would hold
        # them alone.
        buttons.addWidget(self.book.controls.hours_button)
        buttons.addWidget(self.book.controls.print_button)
        self.book.controls.hide()

        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, PAGE_MARGIN, 0, 0)
        layout.setSpacing(SPACING)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.book, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        return page

    # --- public API --------------------------------------------------------------------------
    def actions(self) -> list[QAction]:
        """The tab's frequent actions, with shortcuts, for the main window's menus."""
        return [
            self.today_action,
            self.tomorrow_action,
            self.week_action,
            self.complete_action,
            self.no_show_action,
            self.cancel_action,
            self.treatment_action,
            self.history_action,
        ]

    def focus_first(self) -> None:
        """On the Appointments page, the keyboard on the book's current cell (the window
        calls it when the tab is shown)."""
        if self.pages.currentIndex() == 0:
            self.book.focus_first()

    def refresh(self) -> None:
        """Reload the appointments, the availability (unless being edited) and the history."""
        if self._doctor_id is None:
            return
        self._load_appointments()
        if self.availability is not None and not self.availability.is_dirty():
            self.availability.refresh()
        self.history.refresh()
        reports_refresh = getattr(self.reports, "refresh", None)
        if callable(reports_refresh):
            reports_refresh()

    def on_changes(self, topics: frozenset[str]) -> None:
        """Data changed (the main window relays the clinic's change events): reload what shows it.

        Drafts in the availability editor are never thrown away by someone else's write.
        """
        if self._doctor_id is None:
            return
        if topics & {"appointments", "treatments", "patients", "availability"}:
            self._load_appointments()
        if topics & {"treatments", "patients"}:
            self.history.refresh()
        if "availability" in topics and self.availability and not self.availability.is_dirty():
            self.availability.refresh()

    def selected_appointment(self) -> AppointmentRow | None:
        """The visit under the book's cursor, or None (free time, or not read yet)."""
        if self._doctor_id is None:
            return None
        block = self.book.current_block()
        if block is None:
            return None
        return next((r for r in self.rows if r.id == block.appointment_id), None)

    def select_appointment(self, appointment_id: int) -> bool:
        """Put the book's cursor on a visit (False when it is not shown)."""
        row = next((r for r in self.rows if r.id == appointment_id), None)
        return row is not None and self.book.select(row.doctor_id, row.date, row.time)

    def follow_visit(self, appointment_id: int) -> None:
        """The doctor called this patient in (from the waiting room): the book's cursor goes
        to the visit once the book shows it again, so the keys act on the patient who came
        in, not on the visit the cursor was on."""
        self._follow = appointment_id
        if self._rows_ready and self._book_ready:
            self._load_appointments()  # the call-in changed the visit: read it again

    def showing_today(self) -> bool:
        """True while today is shown."""
        return self.days.mode == TODAY

    def show_day(self, day: date) -> None:
        """Show the visits of ``day`` (as picking it in the date picker does)."""
        self.days.show_day(day)

    # --- loading -------------------------------------------------------------------------------
    def _set_range(self, mode: str) -> None:
        if self._doctor_id is None:
            return
        self._follow = None  # the doctor chose where to look
        self.days.set_mode(mode)  # -> _on_range_changed

    def _on_range_changed(self) -> None:
        self.error.clear_message()
        self._error_for = None
        self.pages.setCurrentIndex(0)
        self._fresh_range = True
        first, last = self.days.span()
        self.book.show_span(first, (last - first).days + 1)
        self._load_rows()

    def _load_appointments(self) -> None:
        """Read the shown days' visits and the book again (the cursor stays on its cell)."""
        self.book.load()
        self._load_rows()

    def _load_rows(self) -> None:
        clinic, actor, doctor_id = self._clinic, self._actor, self._doctor_id
        start, end = self.days.span()
        self.range_title.setText(self.days.title())
        self._generation += 1
        generation = self._generation
        self._rows_ready = self._book_ready = False
        flt = AppointmentFilter(date_from=start, date_to=end, doctor_id=doctor_id)

        def work(_ctx: object) -> tuple[int, DoctorRow | None, list[AppointmentRow]]:
            me = doctors.get_doctor(clinic, doctor_id) if doctor_id is not None else None
            return generation, me, booking.list_appointments(clinic, actor, flt)

        self._ops.run(
            work,
            label="Loading appointments",
            on_success=self._on_appointments,
            on_failure=self._on_failed,
        )

    def _on_book_loaded(self) -> None:
        if self.book.is_loading():
            return  # a newer read of the book is on its way
        self._book_ready = True
        self._finish_load()

    def _on_appointments(self, result: tuple[int, DoctorRow | None, list[AppointmentRow]]) -> None:
        generation, me, rows = result
        if generation != self._generation:
            return  # a newer load (other range) is on its way
        today = self._clinic.today()
        if me is not None:
            self.title.setText(me.full_name)
            self.subtitle.setText(f"{me.department} · {day_text(today)}")
        self.rows = rows
        counts = {s: sum(r.status == s for r in rows) for s in FLOW_ORDER}
        parts = [f"{n} {FLOW_LABELS[s].lower()}" for s, n in counts.items() if n]
        self.summary.setText(
            f"{len(rows)} appointment{'s' if len(rows) != 1 else ''}"
            + (": " + ", ".join(parts) if parts else "")
            if rows
            else self.days.empty_text()
        )
        self._rows_ready = True
        self._finish_load()

    def _finish_load(self) -> None:
        if not (self._rows_ready and self._book_ready):
            return
        if self._follow is not None and self.select_appointment(self._follow):
            self._follow = None
            self._fresh_range = False
        if self._fresh_range:
            # A range just chosen starts at the next visit to close, so the keyboard
            # shortcuts act on something sensible at once.
            self._fresh_range = False
            first = next_to_close(self.rows)
            if first is not None:
                self.book.select(first.doctor_id, first.date, first.time)
        self._update_actions()
        # The line under the book says what the visit is now (e.g. completed after Mark
        # completed), unless it holds something else the book said.
        if self.book.message.text() in ("", self._described):
            self._describe_current()
        self.appointments_loaded.emit()

    # --- the line under the book: the visit under the cursor --------------------------------
    def describe(self, row: AppointmentRow) -> str:
        """The visit as a doctor reads it: time, patient, type, status (no internal id)."""
        span = time_text(row.time) + (f"–{time_text(row.end_time)}" if row.end_time else "")
        text = (
            f"{day_text(row.date, self._clinic.today())}, {span}: {row.patient}, "
            f"{VISIT_LABELS.get(row.visit_type, row.visit_type)}, "
            f"{FLOW_LABELS.get(row.status, row.status).lower()}"
        )
        return text + (f" ({row.reason})" if row.reason else "")

    def _describe_current(self) -> None:
        row = self.selected_appointment()
        self._described = self.describe(row) if row is not None else ""
        self.book.message.setText(self._described)

    def _on_current_changed(self) -> None:
        self._update_actions()
        self._describe_current()  # moving on: what the line said was about another cell

    def _on_opened(self, _appointment_id: int) -> None:
        # The book says which visit was opened next (with its internal id): the tab says
        # it in its own words instead.
        self._opened = True
        self._on_activated()
        QTimer.singleShot(0, self._forget_opened)  # only what it says at once is about it

    def _forget_opened(self) -> None:
        self._opened = False

    def _on_book_said(self, text: str) -> None:
        if self._opened:
            self._opened = False
            self._describe_current()
            text = self._described
        self.status_message.emit(text)

    def _on_failed(self, err: BaseException) -> None:
        self.error.show_message(field_message(err)[1])
        self.appointments_loaded.emit()

    def _on_status_failed(self, err: BaseException) -> None:
        # Usually the visit changed elsewhere (another PC): say so, and show it as it is now.
        self.error.show_message(field_message(err)[1])
        self._error_for = self.selected_appointment()
        self._load_appointments()

    # --- actions --------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        row = self.selected_appointment()
        # A message about one visit goes once the doctor moves on to another.
        about = self._error_for
        # (Free time under the cursor keeps it: a visit cancelled elsewhere leaves the book.)
        if about is not None and row is not None and row.id != about.id:
            self._error_for = None
            self.error.clear_message()
        allowed = policy.row_actions(self._actor, row, self._clinic.now())
        self.complete_action.setEnabled("complete" in allowed)
        self.no_show_action.setEnabled("no_show" in allowed)
        self.cancel_action.setEnabled("cancel" in allowed)
        completed = row is not None and row.status == "completed"
        self.treatment_action.setEnabled(completed)
        self.treatment_action.setText(
            "Edit tr&eatment…" if row is not None and row.has_treatment else "Rec&ord treatment…"
        )
        self.history_action.setEnabled(row is not None)

    def _on_activated(self) -> None:
        row = self.selected_appointment()
        if row is None:
            return
        if row.status == "completed":
            self.record_treatment()
        elif self.complete_action.isEnabled():  # booked, the patient here or not yet
            self.mark_completed()  # it asks first: Enter is easily pressed by mistake

    def unsaved_changes(self) -> list[str]:
        """What this tab holds that is not saved (asked before log-out and quit)."""
        if self.availability is not None and self.availability.is_dirty():
            return ["availability changes"]
        return []

    def mark_completed(self) -> None:
        """Ask, then close the selected booked visit as completed.

        Before the visit's start the question is whether to close it early (the service
        refuses otherwise); afterwards it can be undone until a treatment is recorded.
        """
        row = self.selected_appointment()
        if row is None or not self.complete_action.isEnabled():
            return
        when = when_text(row.date, row.time, self._clinic.today())
        # Called in: the patient was seen, so no question of closing early (as the service).
        seen = row.status == "in_consultation"
        if seen or booking.visit_has_begun(self._clinic, row.date, row.time):
            self.active_dialog = confirm(
                self,
                "Mark as completed",
                f"Mark {row.patient}'s visit, {when}, as completed?",
                lambda: self._set_status(row, "completed"),
                yes_text="Mark completed",
                yes_is_default=True,  # it can be undone until a treatment is recorded
            )
            return
        self.active_dialog = confirm(
            self,
            "Close the visit early",
            f"{row.patient}'s visit, {when}, has not begun yet. Close it early as completed "
            "(only if the patient was seen)?",
            lambda: self._set_status(row, "completed", early_close=True),
            yes_text="Close early",
        )

    def mark_no_show(self) -> None:
        """Ask, then mark the selected booked visit as a no-show."""
        self._update_actions()  # the clock moves on while the cursor stays
        row = self.selected_appointment()
        if row is None or not self.no_show_action.isEnabled():
            return
        when = when_text(row.date, row.time, self._clinic.today())
        self.active_dialog = confirm(
            self,
            "Mark as no-show",
            f"Mark {row.patient}'s visit with {row.doctor}, {when}, as a no-show? Undo stays "
            "offered until your next action.",
            lambda: self._set_status(row, "no_show"),
            yes_text="Mark no-show",
        )

    def cancel_appointment(self) -> None:
        """Ask, then cancel the selected booked visit and free its slot."""
        row = self.selected_appointment()
        if row is None or not self.cancel_action.isEnabled():
            return
        self.active_dialog = confirm(
            self,
            "Cancel appointment",
            f"Cancel {row.patient}'s visit with {row.doctor}, "
            f"{when_text(row.date, row.time, self._clinic.today())}? The slot becomes free for "
            "others.",
            lambda: self._set_status(row, "cancelled"),
            yes_text="Cancel appointment",
        )

    def _set_status(self, row: AppointmentRow, status: str, *, early_close: bool = False) -> None:
        clinic, actor = self._clinic, self._actor
        self.error.clear_message()
        self.confirmations.clear()  # the next action: the last one's Undo is over

        def work(_ctx: object) -> AppointmentRow:
            booking.set_status(clinic, actor, row.id, status, early_close=early_close)
            return row

        self._ops.run(
            work,
            label="Updating the appointment",
            on_success=lambda done: self._on_status_set(done, status),
            on_failure=self._on_status_failed,
        )

    def _on_status_set(self, row: AppointmentRow, status: str) -> None:
        if status == "completed":
            self.confirmations.completed(row)
        elif status == "cancelled":
            self.confirmations.cancelled(row)
        else:
            self.confirmations.no_show(row)
        self.appointment_changed.emit(row.id)
        self._load_appointments()

    def record_treatment(self) -> None:
        """Open the treatment form of the selected completed visit."""
        row = self.selected_appointment()
        if row is None or not self.treatment_action.isEnabled():
            return
        dialog = TreatmentDialog(self._clinic, self._actor, self._ops, row, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda _tid: self._on_treatment_saved(row))
        self.active_dialog = dialog
        dialog.open()

    def _on_treatment_saved(self, row: AppointmentRow) -> None:
        # The next action ends the last one's Undo; and with a treatment recorded the
        # visit stays completed, so an Undo of Mark completed would only be refused.
        when = when_text(row.date, row.time, self._clinic.today())
        self.confirmations.done(f"Treatment saved for {row.patient}'s visit, {when}.")
        self.appointment_changed.emit(row.id)
        self._load_appointments()
        if self.history.patient_id == row.patient_id:
            self.history.refresh()

    def show_history(self) -> None:
        """Show the selected visit's patient's full history."""
        row = self.selected_appointment()
        if row is None:
            return
        self.history.show_patient(row.patient_id, row.patient)
        self.pages.setCurrentIndex(1)
        self.history.table.view.setFocus()

    # Shortcuts of a hidden tab must not fire (or clash with another tab's) from menus.
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        for action in self.actions():
            action.setVisible(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        for action in self.actions():
            action.setVisible(False)
