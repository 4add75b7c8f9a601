"""The Patient tab: find a free slot and book it, move or cancel visits, past visits, profile.

A patient sees only themself. The front desk (admin or receptionist) gets a
patient finder on the left and acts for whoever is chosen there. All reads and
writes go through ``Operations``; results come back by signal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services import policy
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import booking
from hms_desktop.services.scheduling.booking import AppointmentFilter
from hms_desktop.services.views import AppointmentRow, DoctorRow, PatientRow, Slot
from hms_desktop.ui.booking.booking_dialog import BookingDialog, BookingTarget
from hms_desktop.ui.booking.confirmations import VisitConfirmations
from hms_desktop.ui.booking.slot_browser import SlotBrowser
from hms_desktop.ui.common.appointment_columns import is_past, past_columns, upcoming_columns
from hms_desktop.ui.common.confirmation_bar import ConfirmationBar, undo_or_say
from hms_desktop.ui.common.dates import birth_text, when_text
from hms_desktop.ui.common.forms import ErrorLabel
from hms_desktop.ui.common.layout import (
    PAGE_MARGIN,
    SPACING,
    EmptyStateTable,
    action_button,
    make_action,
    muted_label,
    padded_page,
    title_label,
)
from hms_desktop.ui.common.messages import confirm, field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.patient_picker import PatientPicker
from hms_desktop.ui.common.table_models import RowTableModel
from hms_desktop.ui.patient.patient_profile import ProfileForm
from hms_desktop.ui.records.history_view import start_history_export

PAGE_BOOK, PAGE_UPCOMING, PAGE_PAST, PAGE_PROFILE = range(4)

#: The right pane while no patient is chosen yet, and while a new search is listed.
CHOOSE_FIRST = "Find a patient on the left to book or see their visits."
CHOOSE_AGAIN = (
    "Choose the patient in the list on the left: Enter takes the first one, "
    "or click one. Nothing is booked for anyone until then."
)


class PatientTab(QWidget):
    """Book and manage one patient's visits. ``refresh()`` reloads; ``actions()`` for menus."""

    #: The current patient's appointments finished loading.
    appointments_loaded = Signal()
    #: An appointment was booked (its id).
    booked = Signal(int)
    #: A visit was booked, moved or cancelled (the shell may refresh other views).
    appointments_changed = Signal()
    #: The patient the tab acts for changed (PatientRow).
    patient_changed = Signal(object)
    status_message = Signal(str)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._patient: PatientRow | None = None
        #: Visits whose cancellation is running (a second Cancel on one does nothing).
        self._cancelling: set[int] = set()
        self._generation = 0
        self._shown = False
        #: The finder's search was edited after a patient was chosen: the pages are put
        #: away (and nothing acts for that patient) until one is chosen again.
        self._suspended = False
        #: This patient was chosen in the finder: offer their doctor's slots once their
        #: visits are loaded (``_visits``, from load ``_shown_generation``).
        self._slots_for: int | None = None
        #: (patient id, doctor id): that doctor's department is loading for that patient.
        self._usual_doctor: tuple[int, int] | None = None
        self._visits: list[AppointmentRow] = []
        #: A booking went through from this slot: once the slots are read again, the one
        #: that took its place is selected (see _on_browser_slots).
        self._booked_from: Slot | None = None
        self._shown_generation = 0
        #: The dialog or confirmation currently open (one at a time).
        self.active_dialog: QWidget | None = None
        self._build_actions()

        self.title = title_label("", self, size_delta=6, page=True)
        self.subtitle = muted_label("", self)
        self.info = muted_label("", self)
        self.error = ErrorLabel(self)
        self.browser = SlotBrowser(clinic, ops, self.book_action, self)
        self.browser.slot_picker.selection_changed.connect(lambda _s: self._update_actions())
        self.browser.slots_loaded.connect(self._on_browser_slots)
        self.upcoming_model: RowTableModel[AppointmentRow] = RowTableModel(upcoming_columns(), self)
        self.upcoming = EmptyStateTable(
            self.upcoming_model, "No upcoming appointments.", self, sortable=True
        )
        self.upcoming.view.setAccessibleName("Upcoming appointments")
        self.upcoming.set_column_widths({0: 150, 1: 70, 2: 180, 3: 110, 4: 130, 5: 100})
        self.upcoming.view.selectionModel().selectionChanged.connect(self._update_actions)
        self.past_model: RowTableModel[AppointmentRow] = RowTableModel(past_columns(), self)
        self.past = EmptyStateTable(self.past_model, "No past visits yet.", self, sortable=True)
        self.past.view.setAccessibleName("Past visits")
        self.past.set_column_widths({0: 110, 1: 160, 2: 110, 3: 150, 4: 230})
        self.profile = ProfileForm(clinic, actor, ops, self)
        self.profile.saved.connect(self._on_profile_saved)
        self.profile.loaded.connect(self._show_header)

        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        self.pages.addTab(padded_page(self.browser, self), "&Book a visit")
        self.pages.addTab(
            padded_page(self.upcoming, self, self.reschedule_action, self.cancel_action),
            "&Upcoming",
        )
        self.pages.addTab(padded_page(self.past, self), "P&ast visits")
        self.pages.addTab(padded_page(self.profile, self), "Pr&ofile")
        self.pages.currentChanged.connect(lambda _i: self._update_actions())

        export_button = action_button(self.export_action, self)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        header.addWidget(export_button, 0, Qt.AlignmentFlag.AlignBottom)
        content = QWidget(self)
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(SPACING)
        content_layout.addLayout(header)
        content_layout.addWidget(self.info)
        content_layout.addWidget(self.pages, 1)
        content_layout.addWidget(self.error)

        self.picker: PatientPicker | None = None
        self.stack = QStackedWidget(self)
        self.confirmation = ConfirmationBar(self)
        # Ctrl+Z: the bar's Undo, or "Nothing to undo." in the status bar (as on the Desk).
        undo_or_say(self, self.confirmation, self.status_message.emit)
        self.confirmations = VisitConfirmations(
            self.confirmation,
            clinic,
            actor,
            ops,
            said=self.status_message.emit,
            changed=self._after_change,
        )
        self.placeholder = muted_label(CHOOSE_FIRST, self)
        self.placeholder.setObjectName("emptyState")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        if actor.is_staff:
            self.picker = PatientPicker(clinic, actor, ops, self)
            self.picker.patient_chosen.connect(self._on_chosen)
            self.picker.choice_dropped.connect(self._suspend)
            splitter = QSplitter(Qt.Orientation.Horizontal, self)
            splitter.addWidget(self.picker)
            # Never narrower than its rows: name, year of birth, phone and ID stay whole
            # beside the patient's pages (which give way, see SlotBrowser).
            self.picker.results.grow_to_contents()
            splitter.addWidget(self.stack)
            splitter.setSizes([440, 840])  # room for name, year of birth, phone and ID
            splitter.setStretchFactor(1, 1)
            splitter.setChildrenCollapsible(False)
            layout.addWidget(splitter, 1)
            self.picker.run_search()
        else:
            layout.addWidget(self.stack, 1)
        layout.addWidget(self.confirmation)
        # Keyboard order: finder, its results, the header's export, the page tabs, the page.
        chain: list[QWidget] = (
            [self.picker.search, self.picker.results.view] if self.picker is not None else []
        )
        # The tab widget moves as a whole (its tab bar first, then the pages' widgets).
        chain += [export_button, self.pages]
        for widgets in (chain, self.browser.focus_chain()):
            for first, second in itertools.pairwise(widgets):
                QWidget.setTabOrder(first, second)
        self.browser.refresh()
        if actor.role == "patient" and actor.patient_id is not None:
            self.set_patient_id(actor.patient_id, actor.label)
        self._update_actions()

    # --- building ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def make(text: str, keys: str, slot: Callable[[], object], tip: str) -> QAction:
            return make_action(self, text, keys, slot, tip)

        self.find_action = make(
            "F&ind patient", "Ctrl+F", self.focus_search, "Search patients by name, ID or phone"
        )
        # Ctrl+B starts a booking: the finder for the desk (its text selected, so typing
        # replaces it), the free slots for a patient. Enter on a slot then books it.
        self.start_booking_action = make(
            "Find patient to &book" if self._actor.is_staff else "&Book a visit",
            "Ctrl+B",
            self.start_booking,
            "Start a booking: find the patient, then Enter on a free slot",
        )
        self.book_action = make(
            "Book selected &slot…", "", self.book_selected, "Book the selected free slot (Enter)"
        )
        self.reschedule_action = make(
            "&Reschedule…",
            "Ctrl+R",
            self.reschedule_selected,
            "Move the selected appointment to another slot",
        )
        self.cancel_action = make(
            "&Cancel appointment…",
            "Ctrl+Shift+X",
            self.cancel_selected,
            "Cancel the selected appointment",
        )
        self.export_action = make(
            "&Export Full History…",
            "Ctrl+Shift+E",
            self.export_history,
            "Export the full medical history to CSV, Excel, FHIR (JSON) or a printable PDF",
        )
        self.profile_action = make(
            "Edit &profile",
            "Ctrl+Shift+P",
            lambda: self.pages.setCurrentIndex(PAGE_PROFILE),
            "Edit contact details and reminders",
        )

    # --- public API --------------------------------------------------------------------------
    def actions(self) -> list[QAction]:
        """The tab's frequent actions, with shortcuts, for the main window's menus."""
        found = [self.find_action] if self._actor.is_staff else []
        return [
            *found,
            self.start_booking_action,
            self.book_action,
            self.reschedule_action,
            self.cancel_action,
            self.export_action,
            self.profile_action,
        ]

    @property
    def patient(self) -> PatientRow | None:
        """The patient the tab acts for, or None (staff, before choosing)."""
        return self._patient

    def refresh(self) -> None:
        """Reload departments and slots, the patient's visits and profile, and the finder."""
        self.browser.refresh()
        if self.picker is not None:
            self.picker.run_search()
        if self._patient is not None:
            self._load_appointments()
            self.profile.load(self._patient.id)

    def on_changes(self, topics: frozenset[str]) -> None:
        """Data changed (the main window relays the clinic's change events): reload what shows it.

        The profile form is not reloaded, so someone else's write never wipes what is typed.
        """
        if topics & {"appointments", "treatments"}:
            self._load_appointments()
        if topics & {"departments", "doctors"}:
            self.browser.refresh()
        elif topics & {"appointments", "availability"}:
            self.browser.reload_slots()
        if "patients" in topics and self.picker is not None:
            self.picker.run_search()

    def _on_chosen(self, row: PatientRow, _from_search_field: bool) -> None:
        # However chosen (Enter in the finder or on any row, a click): on to the free
        # slots of the doctor they saw last, the first one selected, so the next Enter
        # books it for them. Their visits say who that is; until they are in, nothing
        # is selected (set_patient) and the keyboard stays in the finder.
        self.set_patient(row)
        self._slots_for = row.id
        if self._generation == self._shown_generation:
            self._offer_usual_doctor(self._visits)

    def _offer_usual_doctor(self, visits: list[AppointmentRow]) -> None:
        """Show the last-seen doctor's free slots, the first one selected (see _show_doctor)."""
        if self._patient is None or self._slots_for != self._patient.id or self._suspended:
            return
        self._slots_for = None
        seen = [v for v in visits if v.status == "completed"]
        last = max(seen, key=lambda v: (v.date, v.time)) if seen else None
        if last is None:
            self._show_no_doctor()
            return
        current = self.browser.current_department()
        self._usual_doctor = (self._patient.id, last.doctor_id)
        if current is not None and current.name == last.department:
            if self.browser.is_loading():
                return  # its doctors are not listed yet; _on_browser_slots goes on
        elif self.browser.select_department(last.department):
            return  # the department's slots load; _on_browser_slots goes on from there
        self._usual_doctor = None
        self._show_doctor(last.doctor_id)

    def _on_browser_slots(self) -> None:
        booked_from, self._booked_from = self._booked_from, None
        # (Not when another department was chosen meanwhile: nothing there is near it.)
        if booked_from is not None and not self._suspended and self.browser.doctor_of(booked_from):
            self._select_near(booked_from)
        usual, self._usual_doctor = self._usual_doctor, None
        if usual is None or self._suspended:
            return
        patient_id, doctor_id = usual
        if self._patient is not None and self._patient.id == patient_id:
            self._show_doctor(doctor_id)

    def _show_doctor(self, doctor_id: int) -> None:
        """That doctor's free slots, the first selected, and (on the Book page) the keyboard
        on them; with the doctor no longer listed, no doctor at all (_show_no_doctor)."""
        if not self.browser.select_doctor(doctor_id):
            self._show_no_doctor()
            return
        self.browser.slot_picker.select_first()
        if self.pages.currentIndex() == PAGE_BOOK:
            self.browser.slot_picker.table.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _select_near(self, slot: Slot) -> None:
        """After a booking: the slot that took ``slot``'s place selected and, on the Book
        page, the keyboard on it, so Enter books on and the arrows move from there (the
        booked slot left the list, and with it the selection)."""
        picker = self.browser.slot_picker
        if not picker.select_near(slot) or self.pages.currentIndex() != PAGE_BOOK:
            return
        # Only from where the dialog gives it back (the slots, the Book button): a person
        # who went on to the finder meanwhile keeps the keyboard there. The window's own
        # focus child, as the window may not be active again yet.
        focus = self.window().focusWidget()
        if focus is None or self.browser.isAncestorOf(focus):
            picker.table.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_no_doctor(self) -> None:
        """All doctors and no slot selected: a patient without a last doctor is booked with
        the one the desk picks, never with whoever the previous patient saw. The keyboard
        goes to the departments (Enter there books nothing)."""
        self._clear_doctor()
        if self.pages.currentIndex() == PAGE_BOOK:
            self.browser.departments.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _clear_doctor(self) -> None:
        self._usual_doctor = None
        self.browser.select_doctor(None)  # keeps the slot selected if listed: clear after
        self.browser.slot_picker.clear_selection()

    def set_patient(self, row: PatientRow) -> None:
        """Act for ``row`` (staff only choose; a patient is always themself)."""
        self._suspended = False
        self.placeholder.setText(CHOOSE_FIRST)
        if self._patient is not None and row.id == self._patient.id:
            # Chosen again (a new search showing them, or a click on the same row): keep
            # the pages as they are; reloading would wipe a profile being edited.
            self._patient = row
            self._show_header(row)
            self.stack.setCurrentIndex(1)
            self._update_actions()
            self.patient_changed.emit(row)
            return
        self._patient = row
        # Nothing the previous patient had selected stays bookable while theirs load.
        self._slots_for = None
        self._clear_doctor()
        # Their "Booked …" line is not about this patient; its Undo (the bar's, also
        # Ctrl+Z) ends with it, as at any next action, so Ctrl+Z here never silently
        # takes back someone no longer on screen.
        self.confirmations.clear()
        self._show_header(row)
        self.stack.setCurrentIndex(1)
        self.error.clear_message()
        self._load_appointments()
        self.profile.load(row.id)
        self._update_actions()
        self.patient_changed.emit(row)

    def set_patient_id(self, patient_id: int, name: str) -> None:
        """Act for a patient known only by id and name (the profile fills in the rest)."""
        self.set_patient(PatientRow(patient_id, name, None, "", "", "", "", False, False))

    def _show_header(self, row: PatientRow) -> None:
        """Name, birth date and contact details over the pages (the birth date tells
        namesakes apart); the loaded profile keeps them current."""
        if self._patient is None or row.id != self._patient.id:
            return  # a late answer about the patient shown before
        self._patient = row
        self.title.setText(row.full_name)
        born = f"born {birth_text(row.date_of_birth)}" if row.date_of_birth else ""
        details = [f"Patient #{row.id}", born, row.phone, row.email]
        if row.blacklisted:
            details.append("Blacklisted: cannot book")
        self.subtitle.setText(" · ".join(d for d in details if d))

    def _suspend(self) -> None:
        """A new search is being typed: put the chosen patient's pages away until Enter or
        a click chooses again, so no booking control acts for someone no longer on screen."""
        if self._patient is None or self._suspended:
            return
        self._suspended = True
        self.placeholder.setText(CHOOSE_AGAIN)
        self.stack.setCurrentIndex(0)
        self._update_actions()

    def is_suspended(self) -> bool:
        """True while a new search is listed and no patient is chosen from it."""
        return self._suspended

    def focus_search(self) -> None:
        """Put the keyboard in the patient finder, its text selected (staff only)."""
        if self.picker is not None:
            self.picker.focus_search()

    def start_booking(self) -> None:
        """Ctrl+B: the Book page, and the keyboard in the finder (desk) or on the slots."""
        self.pages.setCurrentIndex(PAGE_BOOK)
        if self.picker is not None:
            self.picker.focus_search()
        elif self._patient is not None:
            self.browser.slot_picker.focus_first()

    # --- appointments ----------------------------------------------------------------------------
    def _load_appointments(self) -> None:
        if self._patient is None:
            return
        self._generation += 1
        generation, clinic, actor = self._generation, self._clinic, self._actor
        flt = AppointmentFilter(patient_id=self._patient.id)
        self._ops.run(
            lambda ctx: (
                generation,
                # Diagnoses are for the patient and their doctors, not the front desk.
                booking.list_appointments(clinic, actor, flt, include_records=not actor.is_staff),
            ),
            label="Loading appointments",
            on_success=self._on_appointments,
            on_failure=self._on_failed,
        )

    def _on_appointments(self, result: tuple[int, list[AppointmentRow]]) -> None:
        generation, rows = result
        if generation != self._generation:
            return  # another patient was chosen meanwhile
        today = self._clinic.today()
        upcoming = [r for r in rows if not is_past(r, today)]
        past = sorted(
            (r for r in rows if is_past(r, today)), key=lambda r: (r.date, r.time), reverse=True
        )
        keep = self.selected_upcoming()
        self.upcoming_model.set_rows(upcoming)
        self.past_model.set_rows(past)
        if keep is not None:
            for i, row in enumerate(upcoming):
                if row.id == keep.id:
                    self.upcoming.select_row(i)
        booked = sum(r.status == "booked" for r in upcoming)
        self.info.setText(
            f"{booked} upcoming appointment{'s' if booked != 1 else ''} · "
            f"{sum(r.status == 'completed' for r in past)} past visit"
            f"{'s' if sum(r.status == 'completed' for r in past) != 1 else ''}"
        )
        self._update_actions()
        self._visits, self._shown_generation = rows, generation
        self._offer_usual_doctor(rows)
        self.appointments_loaded.emit()

    def _on_failed(self, err: BaseException) -> None:
        self.error.show_message(field_message(err)[1])
        self._visits, self._shown_generation = [], self._generation
        self._offer_usual_doctor([])  # no doctor rather than nothing at all
        self.appointments_loaded.emit()

    def selected_upcoming(self) -> AppointmentRow | None:
        """The selected upcoming visit, or None."""
        return self.upcoming_model.row_at(self.upcoming.selected_row())

    def _update_actions(self) -> None:
        has_patient = self._patient is not None and not self._suspended
        page = self.pages.currentIndex()
        row = self.selected_upcoming() if page == PAGE_UPCOMING and has_patient else None
        self.book_action.setEnabled(
            has_patient and page == PAGE_BOOK and self.browser.current_slot() is not None
        )
        allowed = policy.row_actions(self._actor, row, self._clinic.now())
        self.reschedule_action.setEnabled("reschedule" in allowed)
        self.cancel_action.setEnabled("cancel" in allowed)
        self.export_action.setEnabled(has_patient)
        self.profile_action.setEnabled(has_patient)

    # --- booking, moving, cancelling -------------------------------------------------------------
    def book_selected(self) -> None:
        """Open the booking dialog for the selected free slot."""
        slot = self.browser.current_slot()
        doctor = self.browser.doctor_of(slot) if slot else None
        if self._patient is None or self._suspended or slot is None or doctor is None:
            return
        self._open_booking(doctor, slot, None)

    def reschedule_selected(self) -> None:
        """Open the dialog that moves the selected booked visit."""
        row = self.selected_upcoming()
        if self._patient is None or self._suspended or row is None or row.status != "booked":
            return
        doctor = DoctorRow(row.doctor_id, row.doctor, 0, row.department, "", "", "", False)
        self._open_booking(doctor, None, row)

    def _open_booking(
        self, doctor: DoctorRow, slot: Slot | None, row: AppointmentRow | None
    ) -> None:
        assert self._patient is not None
        target = BookingTarget(
            self._patient.id,
            self._patient.full_name,
            doctor.id,
            doctor.full_name,
            doctor.department,
            patient_born=self._patient.date_of_birth,
        )
        self.confirmations.clear()  # the next action: the last one's Undo is over
        dialog = BookingDialog(
            self._clinic, self._actor, self._ops, target, slot=slot, appointment=row, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if row is None:
            # Where the person's cursor was in the list (the dialog may book another slot).
            was = slot

            def booked(appointment_id: int) -> None:
                self._booked_from = was or dialog.booked_slot
                self._on_booked(appointment_id, target, dialog.booked_slot)

            dialog.saved.connect(booked)
        else:
            dialog.saved.connect(lambda _i: self._on_rescheduled(row, target, dialog.booked_slot))
        # However it ends: the dialog may have found the chosen slot gone (another PC, or
        # the time passed), and the list behind it must not keep offering it.
        dialog.finished.connect(lambda _result: self.browser.reload_slots())
        self.active_dialog = dialog
        dialog.open()

    def _on_booked(self, appointment_id: int, target: BookingTarget, slot: Slot | None) -> None:
        if slot is not None:
            self.confirmations.booked(
                appointment_id, target.patient_text, target.doctor_name, slot.date, slot.time
            )
        self._after_change()
        self.booked.emit(appointment_id)

    def _on_rescheduled(
        self, row: AppointmentRow, target: BookingTarget, slot: Slot | None
    ) -> None:
        if slot is not None:
            doctor = self.browser.doctor_of(slot)
            self.confirmations.moved(
                row,
                target.patient_text,
                doctor.full_name if doctor else row.doctor,
                slot.date,
                slot.time,
            )
        self._after_change()

    def cancel_selected(self) -> None:
        """Ask, then cancel the selected booked visit."""
        row = self.selected_upcoming()
        if self._suspended or row is None or row.status != "booked" or row.id in self._cancelling:
            return
        clinic, actor = self._clinic, self._actor
        self.confirmations.clear()

        def cancel() -> None:
            self._cancelling.add(row.id)  # a second Cancel while this runs does nothing

            def done(_result: object) -> None:
                self._cancelling.discard(row.id)
                self._on_cancelled(row)

            def failed(err: BaseException) -> None:
                self._cancelling.discard(row.id)
                self._on_failed(err)

            self._ops.run(
                lambda ctx: booking.cancel(clinic, actor, row.id),
                label="Cancelling",
                on_success=done,
                on_failure=failed,
            )

        self.active_dialog = confirm(
            self,
            "Cancel appointment",
            f"Cancel {row.patient}'s visit with {row.doctor}, "
            f"{when_text(row.date, row.time, clinic.today())}?"
            " The slot becomes free for others.",
            cancel,
            yes_text="Cancel appointment",
        )

    def _on_cancelled(self, row: AppointmentRow) -> None:
        self.confirmations.cancelled(row)
        self._after_change()

    def _after_change(self) -> None:
        self.error.clear_message()
        self._load_appointments()
        self.browser.reload_slots()
        self.appointments_changed.emit()

    # --- other actions ---------------------------------------------------------------------------
    def export_history(self) -> None:
        """Open the export dialog for the patient's full history."""
        if self._patient is not None and not self._suspended:
            start_history_export(self, self._clinic, self._actor, self._ops, self._patient.id)

    def _on_profile_saved(self, _row: PatientRow) -> None:
        # The header follows by the profile's ``loaded``; the finder shows the new name.
        if self.picker is not None:
            self.picker.run_search()
        self.status_message.emit("Profile saved.")

    # Shortcuts of a hidden tab must not fire (or clash with another tab's) from menus.
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        for action in self.actions():
            action.setVisible(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        for action in self.actions():
            action.setVisible(False)
