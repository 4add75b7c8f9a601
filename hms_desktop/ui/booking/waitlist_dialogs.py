"""Dialogs of the desk panel: a walk-in, and a request for an earlier time (the waitlist).

Both choose the patient with the shared finder (Enter on a result or a click, never
type-ahead; Enter in the search field only moves to the first result) and a doctor (or
a department) from lists loaded in the background, with nothing chosen until the person
chooses. Enter inside the finder never saves the dialog. The service checks every
field; its message shows in the dialog and the input is kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import departments, doctors
from hms_desktop.services.scheduling import patient_flow, waitlist
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.dates import date_edit
from hms_desktop.ui.common.layout import muted_label
from hms_desktop.ui.common.operations import Operations, user_message
from hms_desktop.ui.common.patient_picker import ChosenPatientLabel, PatientPicker
from hms_desktop.ui.common.patient_text import patient_text

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class _DeskDialog(QDialog):
    """A patient finder, a form below it, an error line and OK/Cancel."""

    #: What was done, in a sentence for the desk's confirmation line.
    saved = Signal(str)

    def __init__(
        self, title: str, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.clinic, self.actor, self.ops = clinic, actor, ops
        self.patient: PatientRow | None = None
        #: The doctors' names by id, for the desk's confirmation line.
        self.doctor_names: dict[int, str] = {}
        self.picker = PatientPicker(clinic, actor, ops, self, enter_takes_first=False)
        self.picker.patient_chosen.connect(self._on_patient)
        self.picker.choice_dropped.connect(self._on_patient_dropped)
        # Says whom the dialog will act for, as the Book tab's finder does.
        self.chosen_label = ChosenPatientLabel(self)
        self.form = QFormLayout()
        self.error = QLabel(self)
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.on_save)
        self.buttons.rejected.connect(self.reject)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.ok.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.chosen_label)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(560, 560)
        self.doctor = QComboBox(self)
        self.doctor.setAccessibleName("Doctor")
        # No silent default: the first doctor of the list is nobody's choice.
        self.doctor.setPlaceholderText("Choose a doctor…")
        self.doctor.currentIndexChanged.connect(self._update_ok)
        self._load_doctors()
        self.picker.setFocus()

    def _load_doctors(self) -> None:
        clinic = self.clinic
        self.ops.run(
            lambda _ctx: (doctors.list_doctors(clinic), departments.list_departments(clinic)),
            label="Load doctors",
            on_success=self._on_doctors,
        )

    def _on_doctors(self, result: tuple[list[Any], list[Any]]) -> None:
        doctor_rows, _ = result
        for d in doctor_rows:
            if not d.blacklisted:
                self.doctor_names[d.id] = d.full_name
                self.doctor.addItem(f"{d.full_name} ({d.department})", ("doctor", d.id))
        self.doctor.setCurrentIndex(-1)

    def _on_patient(self, patient: PatientRow, _from_search_field: bool = False) -> None:
        self.patient = patient
        self.chosen_label.show_patient(patient)
        self._update_ok()
        # On to the next thing to choose.
        self.doctor.setFocus(Qt.FocusReason.OtherFocusReason)

    def choose_patient(self, patient: PatientRow) -> None:
        """Open with ``patient`` chosen (just registered at the desk): the finder shows them
        by number and the keyboard starts on the doctor; typing a name chooses again."""
        self.picker.search.setText(str(patient.id))
        self.picker.run_search()
        self._on_patient(patient)

    def _on_patient_dropped(self) -> None:
        self.patient = None
        self.chosen_label.show_patient(None)
        self._update_ok()

    def _update_ok(self) -> None:
        self.ok.setEnabled(self.patient is not None and self.doctor.currentData() is not None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter in the finder searches or chooses a patient; it never saves the dialog
        # (QDialog would press the default button with whatever is filled in).
        focus = self.focusWidget()
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and focus is not None
            and self.picker.isAncestorOf(focus)
        ):
            event.accept()
            return
        super().keyPressEvent(event)

    def on_save(self) -> None:
        raise NotImplementedError

    def missing(self) -> str:
        """What is still to choose, in one line."""
        if self.patient is None:
            return "Choose the patient: type a name, then Enter or a click on a result."
        return "Choose a doctor (or a department) in the list."

    def _run(self, label: str, fn: Any, said: Any) -> None:
        """Run ``fn`` off the UI thread; on success ``said(value)`` (which emits what was
        done) and the dialog closes; a refusal shows in the dialog, the input kept."""
        self.ok.setEnabled(False)
        self.error.clear()

        def failed(err: BaseException) -> None:
            self.error.setText(user_message(err))
            self._update_ok()

        def done(value: Any) -> None:
            said(value)
            self.accept()

        self.ops.run(lambda _ctx: fn(), label=label, on_success=done, on_failure=failed)


class WalkInDialog(_DeskDialog):
    """A patient here now without an appointment: seen in free time, or as an extra visit.

    ``walked_in`` (not ``saved``) tells what was made, so the desk can offer its Undo.
    """

    #: (patient_flow.WalkIn, the patient as named on screen, the doctor's name).
    walked_in = Signal(object, str, str)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__("Walk-in", clinic, actor, ops, parent)
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText("Needed when the doctor has no free time now")
        self.form.addRow("&Doctor", self.doctor)
        self.form.addRow("&Reason", self.reason)

    def on_save(self) -> None:
        data = self.doctor.currentData()
        if self.patient is None or data is None:
            self.error.setText(self.missing())
            return
        clinic, actor, patient = self.clinic, self.actor, self.patient
        doctor_id, reason = data[1], self.reason.text()
        who = patient_text(patient.full_name, patient.id, patient.date_of_birth)
        doctor = self.doctor_names.get(doctor_id, self.doctor.currentText())

        def said(made: patient_flow.WalkIn) -> None:
            self.walked_in.emit(made, who, doctor)

        self._run(
            "Walk-in",
            lambda: patient_flow.walk_in(
                clinic, actor, patient_id=patient.id, doctor_id=doctor_id, reason=reason
            ),
            said,
        )


class WaitlistRequestDialog(_DeskDialog):
    """A patient asks for an earlier time: with whom, which days and times suit, until when."""

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__("Add to the waitlist", clinic, actor, ops, parent)
        self.doctor.setPlaceholderText("Choose a doctor or a department…")
        # The days that suit, ticked; none ticked means any day (said under them, so
        # nobody ticks all seven to mean "any").
        self.days_field = QWidget(self)
        self.days = [QCheckBox(name, self.days_field) for name in DAY_NAMES]
        # Alt+Y (the row's label) puts the keyboard on Monday without ticking it: the
        # label's buddy is the row, which takes focus for Monday (Tab still goes box by box).
        self.days_field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.days_field.setFocusProxy(self.days[0])
        self.days_hint = muted_label("Leave all unticked for any day.", self.days_field)
        days_row = QHBoxLayout()
        for box in self.days:
            days_row.addWidget(box)
        days_row.addStretch(1)
        days_layout = QVBoxLayout(self.days_field)
        days_layout.setContentsMargins(0, 0, 0, 0)
        days_layout.addLayout(days_row)
        days_layout.addWidget(self.days_hint)
        self.between = QLineEdit(self)
        self.between.setPlaceholderText("e.g. 09:00-12:00 (empty: any time)")
        # A month from the clinic's today (not this PC's calendar date).
        self.until = date_edit(self, clinic.today() + timedelta(days=30))
        self.minutes = QSpinBox(self)
        self.minutes.setRange(5, 480)
        self.minutes.setSingleStep(5)
        self.minutes.setValue(30)
        self.minutes.setSuffix(" min")
        self.note = QLineEdit(self)
        self.form.addRow("&Doctor", self.doctor)
        self.form.addRow("Da&ys that suit", self.days_field)
        self.form.addRow("&Between", self.between)
        self.form.addRow("&Until", self.until)
        self.form.addRow("&Length", self.minutes)
        self.form.addRow("&Note", self.note)

    def _on_doctors(self, result: tuple[list[Any], list[Any]]) -> None:
        super()._on_doctors(result)
        for dept in result[1]:
            self.doctor.addItem(f"Any doctor of {dept.name}", ("department", dept.id))
        self.doctor.setCurrentIndex(-1)

    def on_save(self) -> None:
        data = self.doctor.currentData()
        if self.patient is None or data is None:
            self.error.setText(self.missing())
            return
        clinic, actor, patient = self.clinic, self.actor, self.patient
        kind, target = data
        days = ",".join(
            n.lower() for n, box in zip(DAY_NAMES, self.days, strict=True) if box.isChecked()
        )
        doctor_id = target if kind == "doctor" else None
        department_id = target if kind == "department" else None
        between, note, minutes = self.between.text(), self.note.text(), self.minutes.value()
        until = self.until.date().toString("yyyy-MM-dd")
        who = patient_text(patient.full_name, patient.id, patient.date_of_birth)
        self._run(
            "Add to the waitlist",
            lambda: waitlist.add(
                clinic,
                actor,
                patient_id=patient.id,
                doctor_id=doctor_id,
                department_id=department_id,
                days=days,
                between=between,
                until=until,
                minutes=minutes,
                note=note,
            ),
            lambda _id: self.saved.emit(f"{who} is on the waitlist."),
        )
