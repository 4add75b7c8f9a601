"""Forms for doctors (with their log-in account) and departments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts, departments, doctors
from hms_desktop.services.people.validation import (
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    clean_username,
)
from hms_desktop.services.views import DepartmentRow, DoctorRow
from hms_desktop.ui.common.forms import ServiceForm
from hms_desktop.ui.common.operations import OpContext, Operations


class DoctorFormDialog(ServiceForm):
    """Add a doctor (with a log-in account) or edit one. The doctor id is the result."""

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        department_rows: Sequence[DepartmentRow],
        doctor: DoctorRow | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ops, "Add doctor" if doctor is None else f"Edit {doctor.full_name}", parent
        )
        self._clinic, self._actor, self._doctor = clinic, actor, doctor
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("Dr. First Last")
        self.department = QComboBox(self)
        self.department.addItem("Choose a department…", None)
        for dept in department_rows:
            self.department.addItem(dept.name, dept.id)
        self.qualification = QLineEdit(self)
        self.qualification.setPlaceholderText("e.g. MD, Cardiology")
        self.email = QLineEdit(self)
        self.phone = QLineEdit(self)
        self.add_field("full_name", "&Name", self.name, lambda: clean_name(self.name.text()))
        self.add_field("department_id", "&Department", self.department, self._check_department)
        self.add_field(
            "qualification",
            "&Qualification",
            self.qualification,
            lambda: clean_text(
                self.qualification.text(), "qualification", max_len=200, multiline=False
            ),
        )
        self.add_field("email", "&Email", self.email, lambda: clean_email(self.email.text()))
        self.add_field("phone", "&Phone", self.phone, lambda: clean_phone(self.phone.text()))
        self.username = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        if doctor is None:
            self.username.setPlaceholderText("the doctor's log-in")
            self.password.setPlaceholderText(f"at least {accounts.MIN_PASSWORD_LENGTH} characters")
            self.add_field(
                "username",
                "&User name",
                self.username,
                lambda: clean_username(self.username.text()),
            )
            self.add_field(
                "password",
                "Pass&word",
                self.password,
                lambda: accounts.check_password_strength(self.password.text()),
            )
        else:
            # The log-in is not edited here; the fields exist only for the add path.
            self.username.hide()
            self.password.hide()
            if doctor.username:
                self.form.addRow("Log-in", QLabel(doctor.username, self))
            self.name.setText(doctor.full_name)
            self.department.setCurrentIndex(max(0, self.department.findData(doctor.department_id)))
            self.qualification.setText(doctor.qualification)
            self.email.setText(doctor.email)
            self.phone.setText(doctor.phone)
        self.name.setFocus()

    def _check_department(self) -> None:
        if self.department.currentData() is None:
            raise ValidationError("Choose a department.", field="department_id")

    def form_value(self) -> doctors.DoctorForm:
        return doctors.DoctorForm(
            full_name=self.name.text(),
            department_id=int(self.department.currentData() or 0),
            qualification=self.qualification.text(),
            email=self.email.text(),
            phone=self.phone.text(),
        )

    def submit(self) -> Callable[[OpContext], Any]:
        form = self.form_value()
        clinic, actor = self._clinic, self._actor
        if self._doctor is not None:
            doctor_id = self._doctor.id

            def edit(_ctx: OpContext) -> int:
                doctors.edit_doctor(clinic, actor, doctor_id, form)
                return doctor_id

            return edit
        username, password = self.username.text().strip(), self.password.text()
        return lambda _ctx: doctors.add_doctor(
            clinic, actor, form, username=username, password=password
        )


class DepartmentDialog(ServiceForm):
    """Add a department or rename one. The department id is the result."""

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        ops: Operations,
        department: DepartmentRow | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ops, "Add department" if department is None else f"Rename {department.name}", parent
        )
        self._clinic, self._actor, self._department = clinic, actor, department
        self.name = QLineEdit(self)
        self.description = QPlainTextEdit(self)
        self.description.setFixedHeight(70)
        self.description.setTabChangesFocus(True)
        self.add_field(
            "name", "&Name", self.name, lambda: clean_name(self.name.text(), "name", max_len=100)
        )
        self.add_field(
            "description",
            "&Description",
            self.description,
            lambda: clean_text(self.description.toPlainText(), "description", max_len=2000),
        )
        if department is not None:
            self.name.setText(department.name)
            self.description.setPlainText(department.description)
        self.name.setFocus()

    def submit(self) -> Callable[[OpContext], Any]:
        clinic, actor = self._clinic, self._actor
        name, description = self.name.text(), self.description.toPlainText()
        dept_id = self._department.id if self._department else None
        return lambda _ctx: departments.save_department(
            clinic, actor, name, description, department_id=dept_id
        )
