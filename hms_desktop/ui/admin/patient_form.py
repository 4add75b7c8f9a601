"""The patient form: register (by the desk or by the patient), or edit a profile.

Every field is checked as you type by the same service functions that check it
on save; an error from the save (a taken user name, say) appears under its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts, patients
from hms_desktop.services.people.validation import (
    check_birth_date,
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    clean_username,
    parse_day,
)
from hms_desktop.services.views import PatientRow
from hms_desktop.ui.common.forms import ServiceForm
from hms_desktop.ui.common.messages import ask_to_discard
from hms_desktop.ui.common.operations import OpContext, Operations

GENDER_LABELS = {"": "Not given", "female": "Female", "male": "Male", "other": "Other"}


class PatientFormDialog(ServiceForm):
    """Register a patient (``patient`` None) or edit one.

    ``self_register`` is the log-in screen's "New patient? Register": the account
    fields are then required and the patient signs up themself.
    The saved patient id is in :attr:`result_value`.
    """

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor | None,
        ops: Operations,
        patient: PatientRow | None = None,
        *,
        self_register: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        title = (
            "Register as a new patient"
            if self_register
            else "Register patient"
            if patient is None
            else f"Edit patient {patient.full_name}"
        )
        super().__init__(ops, title, parent)
        self._clinic = clinic
        self._actor = actor
        self._patient = patient
        self._self_register = self_register

        self.name = QLineEdit(self)
        self.name.setPlaceholderText("First and last name")
        self.birth = QLineEdit(self)
        self.birth.setPlaceholderText("YYYY-MM-DD (optional)")
        self.gender = QComboBox(self)
        for key, text in GENDER_LABELS.items():
            self.gender.addItem(text, key)
        self.phone = QLineEdit(self)
        self.phone.setPlaceholderText("+49 30 1234567")
        self.email = QLineEdit(self)
        self.email.setPlaceholderText("name@example.com")
        self.address = QPlainTextEdit(self)
        self.address.setFixedHeight(56)
        self.address.setTabChangesFocus(True)
        self.opt_out = QCheckBox("No appointment reminders by email", self)

        self.add_field("full_name", "&Name", self.name, lambda: clean_name(self.name.text()))
        self.add_field("date_of_birth", "&Date of birth", self.birth, self._check_birth)
        self.add_field("gender", "&Gender", self.gender)
        self.add_field("phone", "&Phone", self.phone, lambda: clean_phone(self.phone.text()))
        self.add_field("email", "&Email", self.email, lambda: clean_email(self.email.text()))
        self.add_field(
            "address",
            "&Address",
            self.address,
            lambda: clean_text(self.address.toPlainText(), "address", max_len=500),
        )
        self.add_field("reminders_opt_out", "", self.opt_out)

        self.username = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        if patient is None:
            optional = "" if self_register else " (optional)"
            self.username.setPlaceholderText(f"for logging in{optional}")
            self.password.setPlaceholderText(
                f"at least {accounts.MIN_PASSWORD_LENGTH} characters{optional}"
            )
            self.add_field("username", "&User name", self.username, self._check_username)
            self.add_field("password", "Pass&word", self.password, self._check_password)
        else:
            # The log-in is not edited here; the fields exist only for the register path.
            self.username.hide()
            self.password.hide()
            if patient.username:
                self.form.addRow("Log-in", QLabel(patient.username, self))
            self._fill(patient)
        #: What the form held when it opened: what "nothing typed" means.
        self._opened_with = self._typed()
        #: The "discard what you typed?" question, while it is open (tests answer it).
        self.discard_question: QMessageBox | None = None
        self.name.setFocus()

    def _fill(self, p: PatientRow) -> None:
        self.name.setText(p.full_name)
        self.birth.setText(p.date_of_birth.isoformat() if p.date_of_birth else "")
        self.gender.setCurrentIndex(max(0, self.gender.findData(p.gender)))
        self.phone.setText(p.phone)
        self.email.setText(p.email)
        self.address.setPlainText(p.address)
        self.opt_out.setChecked(p.reminders_opt_out)

    # --- leaving without saving -----------------------------------------------------------
    def _typed(self) -> tuple[patients.PatientForm, str, str]:
        return self.form_value(), self.username.text(), self.password.text()

    def is_changed(self) -> bool:
        """True when something was typed and not saved."""
        return self.result_value is None and self._typed() != self._opened_with

    def reject(self) -> None:
        """Cancel, Esc or the close button: ask first when typed text would be lost; an
        untouched form closes at once. Enter keeps editing."""
        if not self.is_changed():
            super().reject()
            return
        if self.discard_question is not None:
            return
        if self._patient is None:
            title = "Discard this new patient?"
            text = "What you typed for this new patient is not saved. Discard it?"
        else:
            title = "Discard your changes?"
            text = f"Your changes to {self._patient.full_name} are not saved. Discard them?"
        self.discard_question = ask_to_discard(self, title, text)
        self.discard_question.finished.connect(self._forget_question)

    def _forget_question(self) -> None:
        self.discard_question = None

    # --- checks (the services' own rules) -------------------------------------------------
    def _check_birth(self) -> None:
        text = self.birth.text().strip()
        if text:
            check_birth_date(parse_day(text, "date_of_birth"), self._clinic.today())

    def _wants_account(self) -> bool:
        return self._self_register or bool(self.username.text() or self.password.text())

    def _check_username(self) -> None:
        if self._wants_account():
            clean_username(self.username.text())

    def _check_password(self) -> None:
        if not self._wants_account():
            return
        if not self.password.text() and not self._self_register and not self.password.isModified():
            return
        accounts.check_password_strength(self.password.text())

    # --- save -----------------------------------------------------------------------------
    def form_value(self) -> patients.PatientForm:
        return patients.PatientForm(
            full_name=self.name.text(),
            date_of_birth=self.birth.text().strip() or None,
            gender=str(self.gender.currentData() or ""),
            phone=self.phone.text(),
            email=self.email.text(),
            address=self.address.toPlainText(),
            reminders_opt_out=self.opt_out.isChecked(),
        )

    def submit(self) -> Callable[[OpContext], Any]:
        form = self.form_value()
        clinic, actor = self._clinic, self._actor
        if self._patient is not None:
            assert actor is not None
            patient_id = self._patient.id

            def edit(_ctx: OpContext) -> int:
                patients.edit_patient(clinic, actor, patient_id, form)
                return patient_id

            return edit
        username = self.username.text().strip()
        password = self.password.text()
        if username and not password:
            raise ValidationError("Choose a password for the log-in.", field="password")
        if self._self_register:
            return lambda _ctx: patients.self_register(clinic, form, username, password)
        assert actor is not None
        return lambda _ctx: patients.register_patient(
            clinic, actor, form, username=username or None, password=password or None
        )
