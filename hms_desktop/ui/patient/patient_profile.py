"""A patient's profile form: contact details and the reminders opt-out.

Each field is checked as it is typed with the same cleaning functions the
service uses (``services.validation``), and again by ``edit_patient`` on save;
either way the message appears under the field and the typed text stays.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import patients
from hms_desktop.services.people.validation import (
    check_birth_date,
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    parse_day,
)
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.forms import ErrorLabel, with_error
from hms_desktop.ui.common.layout import SPACING, muted_label
from hms_desktop.ui.common.messages import field_message
from hms_desktop.ui.common.operations import Operations

GENDER_LABELS = {"": "Not given", "female": "Female", "male": "Male", "other": "Other"}


class ProfileForm(QWidget):
    """Edit one patient's profile. ``load(patient_id)`` fills it; Save writes it."""

    loaded = Signal(object)  # PatientRow
    saved = Signal(object)  # PatientRow, as reloaded after the save

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self._patient_id: int | None = None
        self._busy = False
        self.full_name = QLineEdit(self)
        self.date_of_birth = QLineEdit(self)
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD")
        self.gender = QComboBox(self)
        for key, gender_text in GENDER_LABELS.items():
            self.gender.addItem(gender_text, key)
        self.phone = QLineEdit(self)
        self.email = QLineEdit(self)
        self.address = QPlainTextEdit(self)
        self.address.setTabChangesFocus(True)
        self.address.setFixedHeight(64)
        self.reminders_opt_out = QCheckBox("Do not send appointment reminders", self)
        self.username = QLabel(self)
        self.banner = ErrorLabel(self, banner=True)
        self.status = muted_label("", self)
        self.save_button = QPushButton("Save profi&le", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("&Revert", self)
        self.revert_button.clicked.connect(self._reload)

        self.errors: dict[str, ErrorLabel] = {}
        form = QFormLayout()
        form.setSpacing(SPACING)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        rows: list[tuple[str, str, QWidget]] = [
            ("full_name", "Full &name:", self.full_name),
            ("date_of_birth", "&Date of birth:", self.date_of_birth),
            ("gender", "&Gender:", self.gender),
            ("phone", "Phon&e:", self.phone),
            ("email", "E&mail:", self.email),
            ("address", "Addre&ss:", self.address),
        ]
        for name, text, widget in rows:
            label = QLabel(text, self)
            label.setBuddy(widget)
            widget.setAccessibleName(text.replace("&", "").rstrip(":"))
            self.errors[name] = ErrorLabel(self)
            form.addRow(label, with_error(widget, self.errors[name]))
        form.addRow("Reminders:", self.reminders_opt_out)
        form.addRow("Log-in name:", self.username)
        for edit in (self.full_name, self.date_of_birth, self.phone, self.email):
            edit.textChanged.connect(self._validate)
        self.address.textChanged.connect(self._validate)

        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setMaximumWidth(720)
        self._set_enabled(False)

    # --- loading --------------------------------------------------------------------------------
    def load(self, patient_id: int) -> None:
        """Fill the form with ``patient_id``'s profile (in the background)."""
        self._patient_id = patient_id
        self._set_enabled(False)
        self._reload()

    def _reload(self) -> None:
        if self._patient_id is None:
            return
        clinic, actor, patient_id = self._clinic, self._actor, self._patient_id
        self._ops.run(
            lambda ctx: patients.get_patient(clinic, actor, patient_id),
            label="Loading the profile",
            on_success=self._on_loaded,
            on_failure=self._on_failed,
        )

    def _on_loaded(self, row: PatientRow) -> None:
        if row.id != self._patient_id:
            return  # another patient was chosen meanwhile
        self.full_name.setText(row.full_name)
        self.date_of_birth.setText(row.date_of_birth.isoformat() if row.date_of_birth else "")
        self.gender.setCurrentIndex(max(0, self.gender.findData(row.gender)))
        self.phone.setText(row.phone)
        self.email.setText(row.email)
        self.address.setPlainText(row.address)
        self.reminders_opt_out.setChecked(row.reminders_opt_out)
        self.username.setText(row.username or "No log-in (the desk books for this patient)")
        self.banner.clear_message()
        self._set_enabled(True)
        self._validate()
        self.loaded.emit(row)

    def _on_failed(self, err: BaseException) -> None:
        self.banner.show_message(field_message(err)[1])

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.full_name,
            self.date_of_birth,
            self.gender,
            self.phone,
            self.email,
            self.address,
            self.reminders_opt_out,
            self.revert_button,
        ):
            widget.setEnabled(enabled)
        self.save_button.setEnabled(enabled and not self._busy)

    # --- validation and saving -----------------------------------------------------------------
    def _checks(self) -> dict[str, Callable[[], object]]:
        today = self._clinic.today()
        dob = self.date_of_birth.text().strip()
        return {
            "full_name": lambda: clean_name(self.full_name.text()),
            "date_of_birth": lambda: (
                check_birth_date(parse_day(dob, "date_of_birth"), today) if dob else None
            ),
            "phone": lambda: clean_phone(self.phone.text()),
            "email": lambda: clean_email(self.email.text()),
            "address": lambda: clean_text(self.address.toPlainText(), "address", max_len=500),
        }

    def _validate(self) -> bool:
        ok = True
        for name, check in self._checks().items():
            try:
                check()
            except HmsError as err:
                self.errors[name].show_message(err.message)
                ok = False
            else:
                self.errors[name].clear_message()
        self.save_button.setEnabled(ok and not self._busy and self._patient_id is not None)
        return ok

    def form(self) -> patients.PatientForm:
        """What the form holds, as the service's form."""
        return patients.PatientForm(
            full_name=self.full_name.text(),
            date_of_birth=self.date_of_birth.text().strip() or None,
            gender=str(self.gender.currentData()),
            phone=self.phone.text(),
            email=self.email.text(),
            address=self.address.toPlainText(),
            reminders_opt_out=self.reminders_opt_out.isChecked(),
        )

    def save(self) -> None:
        """Check the form and save it; errors appear under their fields."""
        if self._patient_id is None or self._busy or not self._validate():
            return
        clinic, actor, patient_id, form = self._clinic, self._actor, self._patient_id, self.form()

        def work(_ctx: object) -> PatientRow:
            patients.edit_patient(clinic, actor, patient_id, form)
            return patients.get_patient(clinic, actor, patient_id)

        self._busy = True
        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        self._ops.run(
            work,
            label="Saving the profile",
            on_success=self._on_saved,
            on_failure=self._on_save_failed,
        )

    def _on_saved(self, row: PatientRow) -> None:
        self._busy = False
        self.status.setText("Profile saved.")
        self._on_loaded(row)
        self.saved.emit(row)

    def _on_save_failed(self, err: BaseException) -> None:
        self._busy = False
        self.status.setText("Not saved.")
        field, message = field_message(err)
        if field in self.errors:
            self.errors[field].show_message(message)
        else:
            self.banner.show_message(message)
        self.save_button.setEnabled(True)
