"""Book a free slot, or move a booked appointment to another one.

The dialog stays open when the service refuses (a slot taken meanwhile, a
blacklisted doctor, a time now in the past): the message appears next to the
field it is about, the visit type and reason stay as typed, and the free slots
are reloaded so the person can pick another one at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_service
from hms_desktop.services.scheduling import availability, booking
from hms_desktop.services.views import AppointmentRow, Slot
from hms_desktop.ui.booking.slot_picker import SlotPicker
from hms_desktop.ui.common.dates import when_text
from hms_desktop.ui.common.forms import ErrorLabel, with_error
from hms_desktop.ui.common.layout import PAGE_MARGIN, SPACING, title_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.patient_text import patient_text

#: The longest reason ``services.booking.book`` accepts; checked here only to warn while typing.
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class BookingTarget:
    """Who is booked with whom: plain names for the dialog's header."""

    patient_id: int
    patient_name: str
    doctor_id: int
    doctor_name: str
    department: str = ""
    #: The patient's date of birth (None when not known), to tell two of one name apart.
    patient_born: date | None = None

    @property
    def patient_text(self) -> str:
        """ "Anna Hoffmann (born 1987, #42)": who exactly is booked."""
        return patient_text(self.patient_name, self.patient_id, self.patient_born)


class BookingDialog(QDialog):
    """Choose a slot, visit type and reason; ``saved`` carries the appointment id."""

    saved = Signal(int)
    #: The free slots finished (re)loading.
    slots_loaded = Signal()

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        target: BookingTarget,
        *,
        slot: Slot | None = None,
        appointment: AppointmentRow | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._target = target
        self._wanted = slot
        self._appointment = appointment
        self._busy = False
        #: The slot the appointment was booked into or moved to (set when ``saved`` fires).
        self.booked_slot: Slot | None = None
        #: Put the keyboard on the slot list once the slots are in (Enter then confirms).
        self._focus_slots = True
        #: The slot the service refused, so its message stays until another slot is chosen.
        self._refused: Slot | None = None
        rescheduling = appointment is not None
        # The title and the confirm button name the patient: nobody confirms a booking
        # without seeing for whom it is.
        self.setWindowTitle(
            f"Move the visit of {target.patient_text}"
            if rescheduling
            else f"Book an appointment for {target.patient_text}"
        )
        self.setMinimumSize(560, 600)

        self.banner = ErrorLabel(self, banner=True)
        self.patient_label = QLabel(target.patient_text, self)
        doctor_text = target.doctor_name + (f" · {target.department}" if target.department else "")
        self.doctor_label = QLabel(doctor_text, self)
        self.current_label = QLabel(self)
        if appointment is not None:
            self.current_label.setText(
                f"{when_text(appointment.date, appointment.time, clinic.today())} (booked)"
            )

        self.slot_picker = SlotPicker(self, show_doctor=False)
        self.slot_picker.set_empty_text("Loading free slots…")
        self.slot_picker.table.view.setAccessibleName("Free slots")
        self.slot_picker.selection_changed.connect(self._validate)
        self.slot_picker.slot_chosen.connect(lambda _slot: self._on_save())
        self.slot_error = ErrorLabel(self)

        self.visit_type = QComboBox(self)
        # The clinic's own list (an administrator may add types with their lengths).
        for kind in clinic_service.list_visit_types(clinic):
            self.visit_type.addItem(kind.label or kind.name, kind.name)
        self.visit_type.setCurrentIndex(max(0, self.visit_type.findData("consultation")))
        self.visit_type_error = ErrorLabel(self)
        self.reason = QPlainTextEdit(self)
        self.reason.setPlaceholderText("What is the visit about? (optional)")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(80)
        self.reason_error = ErrorLabel(self)
        if appointment is not None:
            # Moving a visit keeps what it is about; only the time changes.
            self.visit_type.setCurrentIndex(
                max(0, self.visit_type.findData(appointment.visit_type))
            )
            self.reason.setPlainText(appointment.reason)
            self.visit_type.setEnabled(False)
            self.reason.setReadOnly(True)
        self.reason.textChanged.connect(self._validate)

        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton(
            self._save_text(), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._on_save)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.setSpacing(SPACING)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Patient:", self.patient_label)
        form.addRow("Doctor:", self.doctor_label)
        if rescheduling:
            form.addRow("Now:", self.current_label)
        slot_label = QLabel("Free &slot:", self)
        slot_label.setBuddy(self.slot_picker.table.view)
        form.addRow(slot_label, with_error(self.slot_picker, self.slot_error, grow=True))
        type_label = QLabel("&Visit type:", self)
        type_label.setBuddy(self.visit_type)
        form.addRow(type_label, with_error(self.visit_type, self.visit_type_error))
        reason_label = QLabel("&Reason:", self)
        reason_label.setBuddy(self.reason)
        form.addRow(reason_label, with_error(self.reason, self.reason_error))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN * 2, PAGE_MARGIN * 2, PAGE_MARGIN * 2, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        heading = title_label(self.windowTitle(), self, size_delta=3)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(self.banner)
        layout.addLayout(form, 1)
        layout.addWidget(self.buttons)

        self.setTabOrder(self.slot_picker.day_filter, self.slot_picker.table.view)
        self.setTabOrder(self.slot_picker.table.view, self.visit_type)
        self.setTabOrder(self.visit_type, self.reason)
        self.setTabOrder(self.reason, self.save_button)
        self._validate()
        self.reload_slots()

    # --- data ----------------------------------------------------------------------------
    def reload_slots(self) -> None:
        """Fetch the doctor's free slots up to the booking horizon (off the UI thread)."""
        clinic, doctor_id = self._clinic, self._target.doctor_id
        self._ops.run(
            lambda ctx: availability.free_slots(clinic, doctor_id),
            label="Loading free slots",
            on_success=self._on_slots,
            on_failure=self._on_slots_failed,
        )

    def _on_slots(self, slots: list[Slot]) -> None:
        self.slot_picker.set_empty_text(
            f"{self._target.doctor_name} has no free slots up to the booking horizon. "
            "Cancel and choose another doctor."
        )
        self.slot_picker.set_slots(
            slots, {self._target.doctor_id: self._target.doctor_name}, self._clinic.today()
        )
        if self._wanted is not None:
            if not self.slot_picker.select_slot(self._wanted):
                self.slot_error.show_message(
                    f"{when_text(self._wanted.date, self._wanted.time)} is no longer free. "
                    "Choose another slot."
                )
            self._wanted = None
        self._validate()
        if self._focus_slots and self.slot_picker.current_slot() is not None:
            # Only on the slot asked for: a slot that was not asked for is never preselected.
            self._focus_slots = False
            self.slot_picker.focus_first()
        self.slots_loaded.emit()

    def _on_slots_failed(self, err: BaseException) -> None:
        self.slot_picker.set_empty_text("The free slots could not be loaded.")
        self.banner.show_message(field_message(err)[1])
        self.slots_loaded.emit()

    # --- validation and saving ----------------------------------------------------------------
    def _validate(self) -> bool:
        """Check what can be checked without the database; enable Save accordingly."""
        too_long = len(self.reason.toPlainText().strip()) > MAX_REASON_LENGTH
        self.reason_error.show_message(
            f"The reason is too long ({len(self.reason.toPlainText().strip())} characters; "
            f"at most {MAX_REASON_LENGTH})."
            if too_long
            else ""
        )
        slot = self.slot_picker.current_slot()
        if slot is not None and slot != self._refused:
            self.slot_error.clear_message()
        ok = slot is not None and not too_long
        self.save_button.setEnabled(ok and not self._busy)
        return ok

    def _on_save(self) -> None:
        if self._busy or not self._validate():
            return
        slot = self.slot_picker.current_slot()
        assert slot is not None
        clinic, actor, target = self._clinic, self._actor, self._target
        visit_type = str(self.visit_type.currentData())
        reason = self.reason.toPlainText()
        appointment = self._appointment
        self._set_busy(True)
        self.banner.clear_message()
        if appointment is None:

            def work(_ctx: object) -> int:
                return booking.book(
                    clinic,
                    actor,
                    patient_id=target.patient_id,
                    doctor_id=slot.doctor_id,
                    day=slot.date,
                    at=slot.time,
                    visit_type=visit_type,
                    reason=reason,
                )

        else:
            appointment_id = appointment.id

            def work(_ctx: object) -> int:
                booking.reschedule(
                    clinic,
                    actor,
                    appointment_id,
                    day=slot.date,
                    at=slot.time,
                    doctor_id=slot.doctor_id,
                )
                return appointment_id

        self._ops.run(
            work,
            label="Booking" if appointment is None else "Rescheduling",
            on_success=self._on_saved,
            on_failure=self._on_save_failed,
        )

    def _on_saved(self, appointment_id: int) -> None:
        self._set_busy(False)
        self.booked_slot = self.slot_picker.current_slot()
        self.saved.emit(appointment_id)
        self.accept()

    def _on_save_failed(self, err: BaseException) -> None:
        self._set_busy(False)
        field, message = field_message(err)
        if field in ("time", "date"):
            self._refused = self.slot_picker.current_slot()
            self.slot_error.show_message(message)
            # The slot may be gone: show what is free now, keeping everything typed.
            self.reload_slots()
            self.slot_picker.table.view.setFocus()
        elif field == "visit_type":
            self.visit_type_error.show_message(message)
            self.visit_type.setFocus()
        elif field == "reason":
            self.reason_error.show_message(message)
            self.reason.setFocus()
        else:
            self.banner.show_message(message)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.save_button.setText("Saving…" if busy else self._save_text())
        self._validate()

    def _save_text(self) -> str:
        who = self._target.patient_text
        return f"&Move {who} here" if self._appointment is not None else f"&Book {who}"
