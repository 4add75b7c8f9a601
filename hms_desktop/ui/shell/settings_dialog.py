"""The Settings dialog: what :class:`hms_desktop.config.Settings` holds, saved to the file.

The database location is shown but not editable here (it is chosen on the command
line or in the environment). The SMTP password goes to the system keyring, never
to the settings file. Values given on the command line or in the environment for
this run stay in force for this run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from hms_desktop import config
from hms_desktop.config import Settings
from hms_desktop.errors import ValidationError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import SystemClock
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.common.forms import ServiceForm
from hms_desktop.ui.common.operations import OpContext, Operations

LEADS = {"same_day": "On the morning of the visit", "day_before": "The morning before"}
TLS_MODES = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "None (unencrypted)"}


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone {name!r}; use a name like Europe/Berlin.", field="timezone"
        ) from None


class _Folder(QWidget):
    """A folder path with a Browse… button."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…", self)
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        self.setFocusProxy(self.edit)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", self.edit.text())
        if chosen:
            self.edit.setText(chosen)


class SettingsDialog(ServiceForm):
    """Edit and save the settings; the new :class:`Settings` is the result."""

    def __init__(
        self, clinic: Clinic, stats: StatsService, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(ops, "Settings", parent)
        self.setMinimumWidth(560)
        self._clinic, self._stats = clinic, stats
        s = clinic.settings
        self.database = QLineEdit(clinic.db.display_location, self)
        self.database.setReadOnly(True)
        self.database.setToolTip("Chosen with --database or HMS_DATABASE_URL")
        self.timezone = QComboBox(self)
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(available_timezones()))
        self.timezone.setCurrentText(s.timezone)
        self.cache_ttl = QSpinBox(self)
        self.cache_ttl.setRange(0, 86_400)
        self.cache_ttl.setSuffix(" s")
        self.cache_ttl.setValue(int(s.cache_ttl_seconds))
        self.reminder_time = QTimeEdit(self)
        self.reminder_time.setDisplayFormat("HH:mm")
        at = s.reminder_clock
        self.reminder_time.setTime(QTime(at.hour, at.minute))
        self.reminder_lead = QComboBox(self)
        for key, label in LEADS.items():
            self.reminder_lead.addItem(label, key)
        self.reminder_lead.setCurrentIndex(max(0, self.reminder_lead.findData(s.reminder_lead)))
        self.clinic_name = QLineEdit(s.clinic_name, self)
        self.clinic_name.setPlaceholderText("shown in calendar invitations and printed histories")
        self.clinic_address = QLineEdit(s.clinic_address, self)
        self.clinic_address.setPlaceholderText("street, postcode and town")
        self.booking_confirmation = QCheckBox(
            "Email a confirmation with a calendar entry when a visit is booked", self
        )
        self.booking_confirmation.setChecked(s.booking_confirmation)
        self.smtp_host = QLineEdit(s.smtp_host, self)
        self.smtp_host.setPlaceholderText("empty: reminders stay in the outbox")
        self.smtp_port = QSpinBox(self)
        self.smtp_port.setRange(1, 65_535)
        self.smtp_port.setValue(s.smtp_port)
        self.smtp_tls = QComboBox(self)
        for key, label in TLS_MODES.items():
            self.smtp_tls.addItem(label, key)
        self.smtp_tls.setCurrentIndex(max(0, self.smtp_tls.findData(s.smtp_tls)))
        self.smtp_user = QLineEdit(s.smtp_user, self)
        self.smtp_from = QLineEdit(s.smtp_from, self)
        self.smtp_from.setPlaceholderText("clinic@example.com")
        self.smtp_password = QLineEdit(self)
        self.smtp_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.smtp_password.setPlaceholderText(
            "unchanged" if s.smtp_password else "stored in the system keyring"
        )
        self.export_dir = _Folder(str(s.effective_export_dir), self)
        self.export_dir.edit.setText(s.export_dir)
        self.backup_dir = _Folder(str(s.effective_backup_dir), self)
        self.backup_dir.edit.setText(s.backup_dir)
        self.backup_retention = QSpinBox(self)
        self.backup_retention.setRange(0, 365)
        self.backup_retention.setSpecialValueText("No scheduled backup")
        self.backup_retention.setSuffix(" backups")
        self.backup_retention.setValue(s.backup_retention)

        self.add_section("Clinic")
        self.add_field("database_url", "Database", self.database)
        self.add_field(
            "timezone",
            "&Time zone",
            self.timezone,
            lambda: _check_zone(self.timezone.currentText()),
        )
        self.add_field("cache_ttl_seconds", "Dashboard &cache", self.cache_ttl)
        self.add_field("clinic_name", "Clinic &name", self.clinic_name)
        self.add_field("clinic_address", "Clinic addre&ss", self.clinic_address)
        self.add_section("Reminders and email")
        self.add_field("reminder_time", "&Reminders at", self.reminder_time)
        self.add_field("reminder_lead", "Reminder &day", self.reminder_lead)
        self.add_field("booking_confirmation", "", self.booking_confirmation)
        self.add_field("smtp_host", "SMTP &host", self.smtp_host)
        self.add_field("smtp_port", "SMTP p&ort", self.smtp_port)
        self.add_field("smtp_tls", "SMTP s&ecurity", self.smtp_tls)
        self.add_field("smtp_user", "SMTP &user", self.smtp_user)
        self.add_field("smtp_password", "SMTP pass&word", self.smtp_password)
        self.add_field("smtp_from", "Sender &address", self.smtp_from)
        self.add_section("Folders")
        self.add_field("export_dir", "E&xport folder", self.export_dir)
        self.add_field("backup_dir", "&Backup folder", self.backup_dir)
        self.add_field("backup_retention", "&Keep", self.backup_retention)
        self.timezone.setFocus()

    def changes(self) -> dict[str, Any]:
        """The values on screen, by setting name (the password only when typed)."""
        values: dict[str, Any] = {
            "timezone": self.timezone.currentText().strip(),
            "cache_ttl_seconds": float(self.cache_ttl.value()),
            "reminder_time": self.reminder_time.time().toString("HH:mm"),
            "reminder_lead": str(self.reminder_lead.currentData()),
            "clinic_name": self.clinic_name.text().strip(),
            "clinic_address": self.clinic_address.text().strip(),
            "booking_confirmation": self.booking_confirmation.isChecked(),
            "smtp_host": self.smtp_host.text().strip(),
            "smtp_port": self.smtp_port.value(),
            "smtp_tls": str(self.smtp_tls.currentData()),
            "smtp_user": self.smtp_user.text().strip(),
            "smtp_from": self.smtp_from.text().strip(),
            "export_dir": self.export_dir.edit.text().strip(),
            "backup_dir": self.backup_dir.edit.text().strip(),
            "backup_retention": self.backup_retention.value(),
        }
        if self.smtp_password.text():
            values["smtp_password"] = self.smtp_password.text()
        return values

    def submit(self) -> Callable[[OpContext], Any]:
        values = self.changes()
        running = config.validate(self._clinic.settings.replace(**values))
        password = values.pop("smtp_password", None)
        user = values["smtp_user"]
        # Only what was changed here goes into the file: a value this run took from the
        # environment or the command line (shown in the form too) must not be written.
        current = self._clinic.settings
        changed = {name: value for name, value in values.items() if getattr(current, name) != value}

        def save(_ctx: OpContext) -> Settings:
            # The password first: if it cannot be kept, nothing is saved.
            if password is not None and not config.store_smtp_password(user, password):
                raise ValidationError(
                    "This computer has no keyring to keep the SMTP password; clear the field "
                    "and set HMS_SMTP_PASSWORD in the environment instead.",
                    field="smtp_password",
                )
            # Start from the file alone, so command-line and environment values of this run
            # are not written into it.
            stored = config.load_settings(environ={})
            if stored.database_url == config.default_database_url():
                stored = stored.replace(database_url="")
            config.save_settings(stored.replace(**changed))
            return running

        return save

    def _on_saved(self, value: object) -> None:
        assert isinstance(value, Settings)
        ttl_changed = value.cache_ttl_seconds != self._clinic.settings.cache_ttl_seconds
        self._clinic.settings = value
        if isinstance(self._clinic.clock, SystemClock):
            # "Now" and "today" follow the new zone at once, like the schedules do.
            self._clinic.clock.tz = value.tz
        if ttl_changed:
            self._stats.set_ttl(value.cache_ttl_seconds)
        super()._on_saved(value)
