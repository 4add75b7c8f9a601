"""The desk's day: who is expected, who is waiting, and who asked for an earlier time.

Three lists one above the other, each refreshed by the clinic's change events (another
PC's check-in appears here within a second):

* **Expected today** (Alt+E) — booked visits whose patient has not arrived; Enter
  checks in.
* **Waiting room** (Alt+O) — checked in or with the doctor, since when; patients waiting
  longer than the clinic's threshold are highlighted; Call in, Undo step, Walk-in.
* **Waitlist** (Alt+L) — requests for an earlier time, each with the earliest free time
  that suits it; Enter on one offers that time and Enter again books it.

Each Alt+letter (underlined in the list's title) puts the keyboard on that list.

A doctor sees only the waiting room, with their own patients.

A check-in, a call-in, a walk-in or a booking from the waitlist is said in the
confirmation bar below the lists, naming the patient, with Undo (Ctrl+Z) until the next.
A patient registered over the desk (Ctrl+N) is named there too, and while the bar says
so Walk-in… and Add to waitlist… open with them chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import patient_flow, waitlist
from hms_desktop.services.views import (
    FLOW_LABELS,
    VISIT_LABELS,
    AppointmentRow,
    PatientRow,
    WaitingRow,
)
from hms_desktop.ui.booking.confirmations import VisitConfirmations
from hms_desktop.ui.booking.waitlist_dialogs import WaitlistRequestDialog, WalkInDialog
from hms_desktop.ui.common.confirmation_bar import ConfirmationBar, undo_or_say
from hms_desktop.ui.common.dates import short_day_text, time_text, when_text
from hms_desktop.ui.common.layout import SPACING, EmptyStateTable, title_label
from hms_desktop.ui.common.messages import confirm, show_error
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.patient_text import patient_text
from hms_desktop.ui.common.table_models import Column, RowTableModel

OVERDUE_BACKGROUND = QColor("#fde7e9")

#: What Book offered time and Remove say with no waitlist row highlighted.
CHOOSE_ENTRY = "Choose a waitlist entry first."
#: What Check in, Call in and Undo step say with no row highlighted in their list.
CHOOSE_EXPECTED = "Choose who to check in first."
CHOOSE_WAITING = "Choose who to call in first."
CHOOSE_STEP = "Choose whose step to undo first."

#: A list's row height (px): the style's 30 left room for about three rows a list at
#: 1024x768; 24 still spaces the lines apart and shows more.
ROW_HEIGHT = 24
#: Rows each list shows before any list gets more (expected, waiting room, waitlist): a
#: morning's expected patients are the desk's main list; the waiting room and the
#: waitlist (a few requests a day) keep a row or two in view at 1024x768, bar shown.
LEAST_ROWS = (4, 2, 2)
#: How the height beyond that is shared: most to the expected patients.
SHARES = (4, 2, 1)


class SectionSplitter(QSplitter):
    """The desk's lists one above the other: each gets its :data:`LEAST_ROWS` first and
    the rest goes by :data:`SHARES`, as the window or the confirmation bar changes the
    height; once the desk drags a handle, its choice stays."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setChildrenCollapsible(False)
        #: Each section's title line and table, one pair per section.
        self.parts: list[tuple[QHBoxLayout, EmptyStateTable]] = []
        self.dragged = False
        self.splitterMoved.connect(self._on_dragged)

    def _on_dragged(self, _pos: int, _index: int) -> None:
        self.dragged = True

    def least_height(self, index: int) -> int:
        """Section ``index``'s height with its :data:`LEAST_ROWS` in view.

        Measured from its parts, not as the section's size hint less the table's: those
        two are cached apart, and with the lists loaded while the Desk tab was hidden the
        difference came out negative, so Expected today showed two rows (QA, 1024x768).
        """
        title, table = self.parts[index]
        view = table.view
        header = view.horizontalHeader().sizeHint().height()
        above = title.sizeHint().height() + SPACING // 2  # the section's own spacing
        return above + header + 2 * view.frameWidth() + LEAST_ROWS[index] * ROW_HEIGHT

    def share(self) -> None:
        """Set the sections' heights: the least for each, then the rest by the shares."""
        if self.dragged or self.count() != len(SHARES) or len(self.parts) != self.count():
            return
        room = self.height() - self.handleWidth() * (self.count() - 1)
        least = [self.least_height(i) for i in range(self.count())]
        rest = max(0, room - sum(least))
        self.setSizes([h + rest * s // sum(SHARES) for h, s in zip(least, SHARES, strict=True)])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.share()

    def showEvent(self, event: QShowEvent) -> None:
        # A hidden tab's splitter is sized before its style and fonts settle: share again
        # once on screen.
        super().showEvent(event)
        self.share()


#: What the desk panel refreshes on.
WATCHED = frozenset({"appointments", "patients", "doctors", "availability", "waitlist"})


class WaitingModel(RowTableModel[WaitingRow]):
    """The waiting room; rows past the clinic's threshold read bold on a red tint."""

    def __init__(self, threshold: Callable[[], int], parent: Any = None) -> None:
        super().__init__(
            [
                Column("Time", lambda r: r.time, text=lambda r: time_text(r.time)),
                Column(
                    "Waited",
                    lambda r: r.waited_minutes,
                    text=lambda r: f"{r.waited_minutes} min",
                    align_right=True,
                ),
                Column("Patient", lambda r: r.patient),
                Column("Doctor", lambda r: r.doctor),
                Column(
                    "Status",
                    lambda r: r.status,
                    text=lambda r: FLOW_LABELS[r.status] + (" (extra)" if r.overbooked else ""),
                ),
            ],
            parent,
        )
        self._threshold = threshold

    def overdue(self, row: WaitingRow) -> bool:
        return row.status == "arrived" and row.waited_minutes >= self._threshold()

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is not None and self.overdue(row):
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(OVERDUE_BACKGROUND)
            if role == Qt.ItemDataRole.FontRole:
                bold = QFont()
                bold.setBold(True)
                return bold
        return super().data(index, role)


def late_text(minutes: int) -> str:
    """ "25 min", "1 h 5 min", "6 h": how late, as the desk says it."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _expected_columns(now: Callable[[], datetime], late_after: int) -> list[Column[AppointmentRow]]:
    """Who is expected; a patient past their time by the waiting room's threshold reads
    "09:00 · 25 min late", so a check-in hours late is not an Enter like any other."""

    def when(r: AppointmentRow) -> str:
        late = policy.minutes_since_start(r.date, r.time, now())
        return (
            f"{time_text(r.time)} · {late_text(late)} late"
            if late >= late_after
            else time_text(r.time)
        )

    return [
        Column("Time", lambda r: r.time, text=when),
        Column("Patient", lambda r: r.patient),
        Column("Doctor", lambda r: r.doctor),
        Column("Visit", lambda r: VISIT_LABELS.get(r.visit_type, r.visit_type)),
    ]


def requester(offer: waitlist.Offer) -> str:
    """Who asked, told apart from a namesake: the waitlist holds two Anna Krügers, and the
    row, the question and the confirmation must say which one is booked."""
    r = offer.request
    return patient_text(r.patient, r.patient_id, r.patient_born)


def _offer_columns() -> list[Column[waitlist.Offer]]:
    def wanted(o: waitlist.Offer) -> str:
        r = o.request
        who = r.doctor or f"any doctor of {r.department}"
        when = r.days.replace(",", ", ") if r.days else "any day"
        if r.time_from and r.time_to:
            when += f" {time_text(r.time_from)}-{time_text(r.time_to)}"
        return f"{who}; {when}; {r.minutes} min"

    def offered(o: waitlist.Offer) -> str:
        if o.slot is None:
            return "nothing earlier free yet"
        return f"{when_text(o.slot.date, o.slot.time)}, {o.doctor}"

    return [
        Column("Patient", lambda o: o.request.patient, text=requester),
        Column("Free time that suits", lambda o: o.slot.date if o.slot else None, text=offered),
        Column(
            "Asked on",
            lambda o: o.request.created_at,
            text=lambda o: short_day_text(o.request.created_at.date()),
        ),
        Column("Wants", lambda o: o.request.id, text=wanted),
    ]


class DeskPanel(QWidget):
    """Expected today, the waiting room and the waitlist, for the desk (or a doctor)."""

    #: A short confirmation for the main window's status line.
    status_message = Signal(str)
    #: A patient was called in from here (the appointment's id): a doctor's window puts
    #: the doctor's book on that visit.
    called_in = Signal(int)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.clinic, self.actor, self.ops = clinic, actor, ops
        self.for_doctor = actor.role == "doctor"
        #: The patient just registered over the desk and what the bar said (see
        #: :meth:`patient_registered`).
        self._registered: tuple[PatientRow, str] | None = None
        threshold = patient_flow.wait_threshold_minutes(clinic)

        self.expected_model: RowTableModel[AppointmentRow] = RowTableModel(
            _expected_columns(clinic.now, threshold), self
        )
        self.expected = EmptyStateTable(self.expected_model, "Nobody else is expected today.", self)
        self.expected.view.setAccessibleName("Expected today")
        self.expected.activated.connect(lambda _i: self.on_check_in())
        self.check_in_button = QPushButton("Chec&k in", self)
        self.check_in_button.clicked.connect(self.on_check_in)

        self.waiting_model = WaitingModel(lambda: threshold, self)
        self.waiting = EmptyStateTable(self.waiting_model, "Nobody is waiting.", self)
        self.waiting.view.setAccessibleName("Waiting room")
        self.waiting.activated.connect(lambda _i: self.on_call_in())
        self.call_button = QPushButton("&Call in", self)
        self.call_button.clicked.connect(self.on_call_in)
        self.undo_button = QPushButton("&Undo step", self)
        self.undo_button.clicked.connect(self.on_undo)
        self.walk_in_button = QPushButton("&Walk-in…", self)
        self.walk_in_button.clicked.connect(self.on_walk_in)

        self.offers_model: RowTableModel[waitlist.Offer] = RowTableModel(_offer_columns(), self)
        self.offers = EmptyStateTable(self.offers_model, "Nobody is on the waitlist.", self)
        self.offers.view.setAccessibleName("Waitlist")
        self.offers.activated.connect(lambda _i: self.on_book_offer())
        self.book_offer_button = QPushButton("&Book offered time", self)
        self.book_offer_button.clicked.connect(self.on_book_offer)
        self.add_request_button = QPushButton("&Add to waitlist…", self)
        self.add_request_button.clicked.connect(self.on_add_request)
        self.remove_request_button = QPushButton("&Remove", self)
        self.remove_request_button.clicked.connect(self.on_remove_request)

        for table in (self.expected, self.waiting, self.offers):
            _chosen_follows_keyboard(table)

        #: What the last check-in, call-in, walk-in or booking did, with Undo, until the next.
        self.confirmation = ConfirmationBar(self)
        self.confirmations = VisitConfirmations(
            self.confirmation,
            clinic,
            actor,
            ops,
            said=self.status_message.emit,
            changed=self.refresh,
        )
        # After Undo (a click moves the focus to the bar) the keyboard is back on a list.
        self.confirmation.undo_started.connect(self.focus_first)
        #: Ctrl+Z: the bar's Undo, or "Nothing to undo." in the status bar.
        self.undo_action = undo_or_say(self, self.confirmation, self.status_message.emit)
        self._build_layout(threshold)
        self.refresh()

    def _section(
        self, title: str, tip: str, table: EmptyStateTable, *buttons: QPushButton
    ) -> tuple[QWidget, QHBoxLayout]:
        """A list under one line holding its title and its buttons: a line of its own for
        each took the height of two rows per list, and at 1024x768 with the confirmation
        bar shown the waiting room and the waitlist showed one row each.

        The title's Alt+letter puts the keyboard on the list (:meth:`go_to_list`): the
        waitlist took six Tabs to reach."""
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING // 2)
        row = QHBoxLayout()
        row.setSpacing(SPACING)
        label = title_label(title, box)
        label.setBuddy(table.view)  # shows the letter underlined; the key comes here
        label.installEventFilter(_KeyGoesToList(label, lambda: self.go_to_list(table)))
        keys = QKeySequence.mnemonic(title).toString(QKeySequence.SequenceFormat.NativeText)
        label.setToolTip(f"{tip} ({keys})")
        self.list_titles.append(label)
        row.addWidget(label)
        row.addStretch(1)
        for button in buttons:
            row.addWidget(button)
        layout.addLayout(row)
        table.view.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        layout.addWidget(table, 1)
        return box, row

    def _build_layout(self, threshold: int) -> None:
        #: The lists' titles, whose Alt+letters go to the lists.
        self.list_titles: list[QLabel] = []
        waiting, waiting_title_row = self._section(
            f"Waiting r&oom (highlighted after {threshold} min)",
            "The keyboard on the waiting room: Enter calls in",
            self.waiting,
            self.call_button,
            self.undo_button,
            self.walk_in_button,
        )
        #: The three lists (None for a doctor, who sees only the waiting room).
        self.sections: SectionSplitter | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(SPACING)
        if self.for_doctor:
            for hidden in (
                self.expected,
                self.offers,
                self.check_in_button,
                self.walk_in_button,
                self.book_offer_button,
                self.add_request_button,
                self.remove_request_button,
            ):
                hidden.hide()
            layout.addWidget(waiting, 1)
        else:
            # One above the other, each the window's full width: every name stays whole
            # at 1024 pixels (side by side, the doctors' names were cut).
            sections = SectionSplitter(self)
            expected, expected_title_row = self._section(
                "&Expected today",
                "The keyboard on the expected patients: Enter checks in",
                self.expected,
                self.check_in_button,
            )
            offers, offers_title_row = self._section(
                "Wait&list: asked for an earlier time",
                "The keyboard on the waitlist: Enter offers the free time, Enter again books it",
                self.offers,
                self.book_offer_button,
                self.add_request_button,
                self.remove_request_button,
            )
            for section in (expected, waiting, offers):
                sections.addWidget(section)
            sections.parts = [
                (expected_title_row, self.expected),
                (waiting_title_row, self.waiting),
                (offers_title_row, self.offers),
            ]
            self.sections = sections
            layout.addWidget(sections, 1)
        layout.addWidget(self.confirmation)

    def focus_first(self) -> None:
        """The keyboard on the busiest list's current row (the window calls it when the tab
        is shown, so Enter checks in at once): expected patients, or for a doctor the
        waiting room."""
        table = self.waiting if self.for_doctor else self.expected
        view = table.view
        if not view.currentIndex().isValid() and view.model().rowCount():
            view.setCurrentIndex(view.model().index(0, 0))
        view.setFocus(Qt.FocusReason.OtherFocusReason)

    def go_to_list(self, table: EmptyStateTable) -> None:
        """Alt+E, Alt+O, Alt+L: the keyboard on that list, its current row (else its first)
        highlighted and in view, so Enter acts on the row the desk sees. An empty list
        takes the keyboard too (Enter then does nothing, not the check-in of the list
        left behind) and the status bar says it is empty."""
        view = table.view
        if not view.model().rowCount():
            table.empty_label.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.status_message.emit(table.empty_label.text())
            return
        if not view.currentIndex().isValid():
            table.select_row(0)
        view.setFocus(Qt.FocusReason.ShortcutFocusReason)
        view.scrollTo(view.currentIndex())

    # --- loading ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the lists from the services (in the background)."""
        clinic, actor, for_doctor = self.clinic, self.actor, self.for_doctor

        def load(_ctx: object) -> tuple[list[AppointmentRow], list[WaitingRow], list[Any]]:
            waiting = patient_flow.waiting_room(clinic, actor)
            if for_doctor:
                return [], waiting, []
            return (
                patient_flow.expected_today(clinic, actor),
                waiting,
                waitlist.offers(clinic, actor),
            )

        self.ops.run(load, label="Load the desk's lists", on_success=self._on_loaded)

    def _on_loaded(self, result: tuple[list[AppointmentRow], list[WaitingRow], list[Any]]) -> None:
        expected, waiting, offers = result
        _keep_current(self.expected, self.expected_model, expected, lambda r: r.id)
        _keep_current(self.waiting, self.waiting_model, waiting, lambda r: r.appointment_id)
        _keep_current(self.offers, self.offers_model, offers, lambda o: o.request.id)

    def on_changes(self, topics: frozenset[str]) -> None:
        """Data changed here or on another PC: reload when it concerns the desk."""
        if topics & WATCHED:
            self.refresh()

    # --- actions ------------------------------------------------------------------------
    def _do(self, label: str, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``fn`` off the UI thread; ``done`` says what it did (with Undo or not)."""

        def succeeded(value: Any) -> None:
            done(value)
            self.refresh()

        self.ops.run(
            lambda _ctx: fn(),
            label=label,
            on_success=succeeded,
            on_failure=lambda err: show_error(self, label, err),
        )

    def _say(self, text: str) -> None:
        """A change without Undo (a request added or removed, Undo step)."""
        self.confirmations.done(text)
        self.refresh()

    def on_check_in(self) -> None:
        row = self._chosen(self.expected, self.expected_model, CHOOSE_EXPECTED)
        if row is None:
            return
        clinic, actor = self.clinic, self.actor
        self._do(
            "Check in",
            lambda: patient_flow.check_in(clinic, actor, row.id),
            lambda _v: self.confirmations.checked_in(row.id, row.patient, row.doctor, row.time),
        )

    def on_call_in(self) -> None:
        row = self._chosen(self.waiting, self.waiting_model, CHOOSE_WAITING)
        if row is None:
            return
        if row.status != "arrived":
            self.status_message.emit(f"{row.patient} is already with {row.doctor}.")
            return
        clinic, actor = self.clinic, self.actor

        def said(_v: object) -> None:
            self.confirmations.called_in(row.appointment_id, row.patient, row.doctor)
            self.called_in.emit(row.appointment_id)

        self._do("Call in", lambda: patient_flow.call_in(clinic, actor, row.appointment_id), said)

    def on_undo(self) -> None:
        row = self._chosen(self.waiting, self.waiting_model, CHOOSE_STEP)
        if row is None:
            return
        clinic, actor = self.clinic, self.actor
        self._do(
            "Undo step",
            lambda: patient_flow.undo_step(clinic, actor, row.appointment_id),
            lambda state: self.confirmations.done(
                f"{row.patient}: {FLOW_LABELS[state].lower()} again."
            ),
        )

    def patient_registered(self, patient_id: int) -> None:
        """A patient was just registered over the desk (Ctrl+N; the window calls this): the
        bar names them, and while it does Walk-in… and Add to waitlist… open with them
        chosen, since a walk-in is why the desk registers most patients. Only while the
        bar says so: an older registration is never a silent default."""
        clinic, actor = self.clinic, self.actor
        self.ops.run(
            lambda _ctx: patients.get_patient(clinic, actor, patient_id),
            label="Open patient",
            on_success=self._offer_registered,
        )

    def _offer_registered(self, row: PatientRow) -> None:
        who = patient_text(row.full_name, row.id, row.date_of_birth)
        text = (
            f"{who} is registered. Walk-in… (Alt+W) and Add to waitlist… (Alt+A) open with "
            "them chosen."
        )
        self.confirmations.done(text)
        self._registered = (row, text)

    def registered_patient(self) -> PatientRow | None:
        """The patient just registered, while the bar still says so; else None."""
        if self._registered is not None:
            row, text = self._registered
            if self.confirmation.isVisible() and self.confirmation.text() == text:
                return row
            self._registered = None
        return None

    def _open_desk_dialog(self, dialog: WalkInDialog | WaitlistRequestDialog) -> None:
        row = self.registered_patient()
        if row is not None:
            dialog.choose_patient(row)
        dialog.open()

    def on_walk_in(self) -> None:
        dialog = WalkInDialog(self.clinic, self.actor, self.ops, self)
        dialog.walked_in.connect(self._on_walked_in)
        self._open_desk_dialog(dialog)

    def _on_walked_in(self, made: patient_flow.WalkIn, patient: str, doctor: str) -> None:
        self.confirmations.walked_in(made, patient, doctor)
        self.refresh()

    def on_add_request(self) -> None:
        dialog = WaitlistRequestDialog(self.clinic, self.actor, self.ops, self)
        dialog.saved.connect(lambda text: self._say(text))
        self._open_desk_dialog(dialog)

    def on_remove_request(self) -> None:
        offer = self._chosen(self.offers, self.offers_model, CHOOSE_ENTRY)
        if offer is None:
            return
        clinic, actor, who = self.clinic, self.actor, requester(offer)
        confirm(
            self,
            "Remove from the waitlist",
            f"Take {who} off the waitlist?",
            lambda: self._do(
                "Remove from the waitlist",
                lambda: waitlist.remove(clinic, actor, offer.request.id),
                lambda _v: self.confirmations.done(f"{who} is off the waitlist."),
            ),
            yes_text="Remove",
        )

    def on_book_offer(self) -> None:
        """Enter on a request with an offer: ask once, then book it (two key presses).

        A patient with a later visit in the request's scope has that visit moved, and the
        question says so. Only the highlighted request: with none, the status bar says to
        choose one.
        """
        offer = self._chosen(self.offers, self.offers_model, CHOOSE_ENTRY)
        if offer is None:
            return
        if offer.slot is None:
            self.status_message.emit(f"No earlier time suits {requester(offer)} yet.")
            return
        slot, moves = offer.slot, offer.moves
        clinic, actor, who = self.clinic, self.actor, requester(offer)
        if moves is None:
            question = f"Book {who} with {offer.doctor} on {when_text(slot.date, slot.time)}?"
            yes = "&Book"
        else:
            words = self.confirmations.move_words(moves, offer.doctor, slot.date, slot.time)
            question, yes = f"Move {who}'s {words}?", "&Move"

        def said(taken: waitlist.Taken) -> None:
            if taken.moved_from is None:
                self.confirmations.booked_from_waitlist(
                    offer.request.id, who, offer.doctor, slot.date, slot.time
                )
            else:
                self.confirmations.moved_from_waitlist(
                    offer.request.id, who, taken.moved_from, offer.doctor, slot.date, slot.time
                )

        box = confirm(
            self,
            "Book from the waitlist",
            question,
            lambda: self._do(
                "Book from the waitlist",
                lambda: waitlist.take_offer(
                    clinic,
                    actor,
                    offer.request.id,
                    doctor_id=slot.doctor_id,
                    day=slot.date,
                    at=slot.time,
                ),
                said,
            ),
            yes_text=yes,
            no_text="Not now",
        )
        # Booking is what the desk came for and is undone by Undo: Enter books.
        for button in box.buttons():
            if button.text() == yes and isinstance(button, QPushButton):
                box.setDefaultButton(button)

    def _chosen(self, table: EmptyStateTable, model: RowTableModel[Any], missing: str) -> Any:
        """The row highlighted in ``table``; with none, None after ``missing`` is said in
        the status bar. Never a row the desk cannot see chosen: Alt+B with nothing
        highlighted once booked the waitlist's first request without showing which."""
        row = table.selected_row()
        if row < 0:
            # An empty list has nothing to choose: say so ("Nobody is on the waitlist.").
            self.status_message.emit(missing if model.rowCount() else table.empty_label.text())
            return None
        return model.row_at(row)


class _KeyGoesToList(QObject):
    """A list title's Alt+letter runs ``go`` instead of only focusing the title's buddy:
    an empty list's table is hidden behind its sentence, and focusing a hidden widget
    leaves the keyboard where it was."""

    def __init__(self, parent: QObject, go: Callable[[], None]) -> None:
        super().__init__(parent)
        self._go = go

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Shortcut:
            self._go()
            return True
        return False


class _SelectOnFocus(QObject):
    """Selects the current row of the view it watches when the view gets the focus."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QTableView):
            _select_current(watched)
        return False


def _select_current(view: QTableView) -> None:
    current = view.currentIndex()
    if current.isValid() and not view.selectionModel().isRowSelected(current.row()):
        view.selectRow(current.row())


def _chosen_follows_keyboard(table: EmptyStateTable) -> None:
    """The row with the keyboard's focus frame is the chosen row: Qt gives a list that
    gets the focus a current row without selecting it, and Enter on that frame said
    "Choose who to check in first." Selecting the current row whenever it changes (and
    when the list gets the focus) keeps the frame and the highlight on one row, so what
    Enter or a button acts on is always the row the desk sees."""
    view = table.view
    view.selectionModel().currentChanged.connect(lambda _now, _was: _select_current(view))
    view.installEventFilter(_SelectOnFocus(view))


def _keep_current(
    table: EmptyStateTable, model: RowTableModel[Any], rows: list[Any], key: Callable[[Any], int]
) -> None:
    """Show ``rows`` with the keyboard's row kept: the same entry if it is still listed,
    else the one that took its place (the next patient after a check-in), so Enter,
    Enter checks in two in a row."""
    at = table.current_row()
    was = model.row_at(at) if at >= 0 else None
    on_list = table.view.hasFocus() or table.empty_label.hasFocus()
    model.set_rows(rows)
    if not rows:
        if on_list:  # not on to the next button, where Enter would press it
            table.empty_label.setFocus(Qt.FocusReason.OtherFocusReason)
        return
    if was is None:
        if on_list:  # the keyboard is on the list: Enter acts on its first row
            table.select_row(0)
            table.view.setFocus(Qt.FocusReason.OtherFocusReason)
        return
    keys = [key(r) for r in rows]
    table.select_row(keys.index(key(was)) if key(was) in keys else min(at, len(rows) - 1))
