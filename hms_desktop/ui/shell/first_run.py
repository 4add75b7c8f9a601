"""First run on an empty clinic database: the clinic's time zone and name, the first admin.

The zone offered is this PC's own (never a silent UTC); it is stored in the clinic
database, so every PC of the clinic uses it from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.values import check_zone
from hms_desktop.services.people import accounts
from hms_desktop.services.people.validation import clean_username
from hms_desktop.ui.common.forms import ServiceForm
from hms_desktop.ui.common.operations import OpContext, Operations


class FirstRunDialog(ServiceForm):
    """Asks for the clinic's zone and name and the first administrator; the user id is the result."""

    def __init__(self, clinic: Clinic, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(ops, "Welcome to HMS Desktop", parent)
        self._clinic = clinic
        intro = QLabel(
            f"This clinic database ({clinic.db.display_location}) is new. Create the first "
            "administrator account; the administrator then adds doctors and front-desk staff.",
            self,
        )
        intro.setWordWrap(True)
        self.form.addRow(intro)
        self.timezone = QComboBox(self)
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(available_timezones()))
        self.timezone.setCurrentText(clinic_settings.suggested_zone())
        self.clinic_name = QLineEdit(clinic.settings.clinic_name, self)
        self.clinic_name.setPlaceholderText("as patients see it in reminders")
        self.add_field(
            "timezone",
            "Clinic &time zone",
            self.timezone,
            lambda: check_zone(self.timezone.currentText()),
        )
        self.add_field("clinic_name", "Clinic &name", self.clinic_name, self._check_name)
        self.username = QLineEdit(self)
        self.username.setText("admin")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(f"at least {accounts.MIN_PASSWORD_LENGTH} characters")
        self.confirm = QLineEdit(self)
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_field(
            "username", "&User name", self.username, lambda: clean_username(self.username.text())
        )
        self.add_field(
            "password",
            "&Password",
            self.password,
            lambda: accounts.check_password_strength(self.password.text()),
        )
        self.add_field("confirm", "&Repeat password", self.confirm, self._check_confirm)
        self.password.textEdited.connect(lambda _t: self._recheck_confirm())
        self.save_button.setText("&Create administrator")
        self.password.setFocus()

    def _check_name(self) -> None:
        if not self.clinic_name.text().strip():
            raise ValidationError("Type the clinic's name.", field="clinic_name")

    def _check_confirm(self) -> None:
        if self.confirm.text() != self.password.text():
            raise ValidationError("The two passwords differ.", field="confirm")

    def _recheck_confirm(self) -> None:
        if self.confirm.text():
            self.validate_field("confirm")

    def validate_field(self, name: str) -> None:
        for field, check in self._checks:
            if field == name:
                self._run_check(field, check)

    def submit(self) -> Callable[[OpContext], Any]:
        clinic, username, password = self._clinic, self.username.text(), self.password.text()
        zone, name = self.timezone.currentText().strip(), self.clinic_name.text().strip()
        check_zone(zone)
        self._check_name()

        def create(_ctx: OpContext) -> int:
            user_id = accounts.create_first_admin(clinic, username, password)
            admin = Actor(user_id=user_id, username=clean_username(username), role="admin")
            clinic_settings.first_run(clinic, admin, timezone=zone, clinic_name=name)
            return user_id

        return create
