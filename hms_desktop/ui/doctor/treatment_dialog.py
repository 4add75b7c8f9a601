"""Record, or correct, the treatment of a completed visit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records import records
from hms_desktop.services.views import AppointmentRow, TreatmentRow
from hms_desktop.ui.common.dates import when_text
from hms_desktop.ui.common.forms import ErrorLabel, with_error
from hms_desktop.ui.common.layout import (
    PAGE_MARGIN,
    SPACING,
    add_key,
    muted_label,
    title_label,
)
from hms_desktop.ui.common.messages import ask_to_discard, field_message
from hms_desktop.ui.common.operations import Operations

#: The longest text ``services.records.record_treatment`` accepts per field (warned while typing).
MAX_FIELD_LENGTH = 8000
FIELD_LABELS = {
    "symptoms": "S&ymptoms:",
    "diagnosis": "&Diagnosis:",
    "treatment_given": "&Treatment given:",
    "prescription": "&Prescription:",
    "notes": "&Notes:",
}
REQUIRED_HINT = "Enter at least the symptoms, the diagnosis or the treatment given."


class TreatmentDialog(QDialog):
    """Loads the visit's treatment (if any), lets the doctor edit it, saves it.

    ``saved`` carries the treatment id; ``loaded`` fires once the form is filled.
    """

    saved = Signal(int)
    loaded = Signal()

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        appointment: AppointmentRow,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._appointment = appointment
        self._busy = True  # until the existing treatment is loaded
        #: The fields as loaded (empty for a new treatment): what "unchanged" means.
        self._loaded: dict[str, str] = dict.fromkeys(FIELD_LABELS, "")
        self._saved = False
        #: The "discard what you typed?" question, while it is open (tests answer it).
        self.discard_question: QMessageBox | None = None
        self.setWindowTitle("Treatment")
        # Fits a 1024x640 screen with its title bar; the text boxes grow when there is room.
        self.setMinimumSize(560, 480)
        self.resize(620, 640)

        self.banner = ErrorLabel(self, banner=True)
        self.hint = muted_label(REQUIRED_HINT, self)
        self.fields: dict[str, QPlainTextEdit] = {}
        self.errors: dict[str, ErrorLabel] = {}
        form = QFormLayout()
        form.setSpacing(SPACING)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        for name, label_text in FIELD_LABELS.items():
            edit = QPlainTextEdit(self)
            edit.setTabChangesFocus(True)
            edit.setAccessibleName(label_text.replace("&", "").rstrip(":"))
            edit.setMinimumHeight(56)
            edit.textChanged.connect(self._validate)
            label = QLabel(label_text, self)
            label.setBuddy(edit)
            error = ErrorLabel(self)
            form.addRow(label, with_error(edit, error, grow=True))
            self.fields[name], self.errors[name] = edit, error

        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setDefault(True)
        # Enter in a text box starts a new line; Ctrl+Enter saves from anywhere, as in
        # mail programs (Qt's shortcut map takes the keypad's Enter for Return).
        add_key(self.save_button, "Ctrl+Return")
        self.save_button.setToolTip("Save the treatment (Alt+S or Ctrl+Enter)")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._on_save)
        self.buttons.rejected.connect(self.reject)

        subtitle = (
            f"{appointment.patient} · {when_text(appointment.date, appointment.time)} · "
            f"{appointment.doctor}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(PAGE_MARGIN * 2, PAGE_MARGIN * 2, PAGE_MARGIN * 2, PAGE_MARGIN)
        layout.setSpacing(SPACING)
        self.title = title_label("Treatment", self, size_delta=3)
        layout.addWidget(self.title)
        layout.addWidget(muted_label(subtitle, self))
        layout.addWidget(self.banner)
        layout.addLayout(form, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self._set_fields_enabled(False)
        self._validate()
        self._load()

    def values(self) -> records.TreatmentForm:
        """What the form holds, as the service's form."""
        return records.TreatmentForm(
            **{name: edit.toPlainText() for name, edit in self.fields.items()}
        )

    # --- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        clinic, actor, appointment_id = self._clinic, self._actor, self._appointment.id
        self._ops.run(
            lambda ctx: records.get_treatment(clinic, actor, appointment_id),
            label="Loading the treatment",
            on_success=self._on_loaded,
            on_failure=self._on_load_failed,
        )

    def _on_loaded(self, row: TreatmentRow | None) -> None:
        if row is not None:
            self.setWindowTitle("Edit treatment")
            self.title.setText("Edit treatment")
            for name, edit in self.fields.items():
                edit.setPlainText(getattr(row, name))
        self._loaded = {name: edit.toPlainText() for name, edit in self.fields.items()}
        self._busy = False
        self._set_fields_enabled(True)
        self.fields["symptoms"].setFocus()
        self._validate()
        self.loaded.emit()

    def _on_load_failed(self, err: BaseException) -> None:
        self.banner.show_message(field_message(err)[1])
        self.loaded.emit()

    def _set_fields_enabled(self, enabled: bool) -> None:
        for edit in self.fields.values():
            edit.setEnabled(enabled)

    # --- validation and saving ------------------------------------------------------------------
    def _validate(self) -> bool:
        ok = True
        for name, edit in self.fields.items():
            length = len(edit.toPlainText().strip())
            too_long = length > MAX_FIELD_LENGTH
            self.errors[name].show_message(
                f"Too long ({length} characters; at most {MAX_FIELD_LENGTH})." if too_long else ""
            )
            ok = ok and not too_long
        filled = any(
            self.fields[name].toPlainText().strip()
            for name in ("symptoms", "diagnosis", "treatment_given")
        )
        self.hint.setVisible(not filled)
        ok = ok and filled
        self.save_button.setEnabled(ok and not self._busy)
        return ok

    def _on_save(self) -> None:
        if self._busy or not self._validate():
            return
        clinic, actor, appointment_id = self._clinic, self._actor, self._appointment.id
        form = self.values()
        self._busy = True
        self.save_button.setText("Saving…")
        self.banner.clear_message()
        self._validate()
        self._ops.run(
            lambda ctx: records.record_treatment(clinic, actor, appointment_id, form),
            label="Saving the treatment",
            on_success=self._on_saved,
            on_failure=self._on_save_failed,
        )

    def is_changed(self) -> bool:
        """True when the fields differ from what was loaded (typed and not saved)."""
        return not self._saved and any(
            edit.toPlainText() != self._loaded[name] for name, edit in self.fields.items()
        )

    def reject(self) -> None:
        """Cancel, Esc or the close button: ask first when typed text would be lost."""
        if not self.is_changed():
            super().reject()
            return
        if self.discard_question is not None:
            return
        self.discard_question = ask_to_discard(
            self,
            "Discard the treatment?",
            "What you typed in this treatment is not saved. Discard it?",
        )
        self.discard_question.finished.connect(self._forget_question)

    def _forget_question(self) -> None:
        self.discard_question = None

    def _on_saved(self, treatment_id: int) -> None:
        self._busy = False
        self._saved = True
        self.saved.emit(treatment_id)
        self.accept()

    def _on_save_failed(self, err: BaseException) -> None:
        self._busy = False
        self.save_button.setText("&Save")
        field, message = field_message(err)
        if field in self.errors:
            self.errors[field].show_message(message)
            self.fields[field].setFocus()
        else:
            self.banner.show_message(message)
        self.save_button.setEnabled(True)
