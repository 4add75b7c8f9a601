"""The Settings dialog: this PC's preferences for everyone, clinic settings for admins.

"This PC" (the settings file): the dashboard cache and the export folder; the
database location is shown but chosen on the command line or in the environment.
"Clinic" (the clinic database, the same on every PC): only an administrator sees
or changes it, through :mod:`hms_desktop.services.clinic_settings.service`, which
checks the role again and audits each change. A clinic value this PC overrides in
its environment is shown with a note saying so. The SMTP password goes to this
PC's keyring, never to a file or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from hms_desktop import config
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.values import check_zone
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.common.forms import ServiceForm
from hms_desktop.ui.common.operations import OpContext, Operations

LEADS = {"same_day": "On the morning of the visit", "day_before": "The morning before"}
TLS_MODES = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "None (unencrypted)"}
#: Whole-number clinic settings: label, range, suffix.
NUMBERS = {
    "slot_minutes": ("Appointment &grid", 5, 240, " min"),
    "booking_horizon_days": ("Booking hori&zon", 1, 730, " days"),
    "lockout_threshold": ("Lock after", 1, 100, " failed sign-ins"),
    "lockout_minutes": ("Lock for", 1, 1440, " min"),
    "idle_lock_minutes": ("Lock when idle", 1, 240, " min"),
    "care_window_days": ("Doctor sees a patient for", 1, 3650, " days after a visit"),
    "smtp_port": ("SMTP p&ort", 1, 65535, ""),
    "backup_retention": ("&Keep", 0, 365, " backups"),
}
TIMES = {
    "reminder_time": "&Reminders at",
    "monthly_report_time": "Monthly reports at",
    "backup_time": "Backup at",
}


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


def _combo(choices: dict[str, str], current: str, parent: QWidget) -> QComboBox:
    box = QComboBox(parent)
    for key, label in choices.items():
        box.addItem(label, key)
    box.setCurrentIndex(max(0, box.findData(current)))
    return box


class SettingsDialog(ServiceForm):
    """Edit and save the settings the signed-in user may change.

    :attr:`is_clinic_editable` is true for administrators only; for anyone else the
    clinic widgets are not even built.
    """

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        stats: StatsService,
        ops: Operations,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ops, "Settings", parent)
        self.setMinimumWidth(560)
        self._clinic, self._actor, self._stats = clinic, actor, stats
        self.is_clinic_editable = actor.is_admin
        pc = clinic.pc
        self.database = QLineEdit(clinic.db.display_location, self)
        self.database.setReadOnly(True)
        self.database.setToolTip("Chosen with --database or HMS_DATABASE_URL")
        self.cache_ttl = QSpinBox(self)
        self.cache_ttl.setRange(0, 86_400)
        self.cache_ttl.setSuffix(" s")
        self.cache_ttl.setValue(int(pc.cache_ttl_seconds))
        self.export_dir = _Folder(str(pc.effective_export_dir), self)
        self.export_dir.edit.setText(pc.export_dir)
        self.add_section("This PC")
        self.add_field("database_url", "Database", self.database)
        self.add_field("cache_ttl_seconds", "Dashboard &cache", self.cache_ttl)
        self.add_field("export_dir", "E&xport folder", self.export_dir)
        self.inputs: dict[str, QWidget] = {}
        if self.is_clinic_editable:
            self._build_clinic()
            self._scroll_form()
            self.timezone.setFocus()
        else:
            self.cache_ttl.setFocus()

    def _scroll_form(self) -> None:
        """The clinic part is long: its rows scroll, so the dialog fits a small screen."""
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        index = outer.indexOf(self.form)
        outer.removeItem(self.form)
        rows = QWidget(self)
        rows.setLayout(self.form)
        scroll = QScrollArea(self)
        scroll.setObjectName("settingsScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(rows)
        scroll.setMinimumHeight(min(480, rows.sizeHint().height()))
        outer.insertWidget(index, scroll, 1)

    # --- the clinic part (administrators) ---------------------------------------------

    def _build_clinic(self) -> None:
        s, overrides = self._clinic.settings, self._clinic.overrides
        self.timezone = QComboBox(self)
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(available_timezones()))
        self.timezone.setCurrentText(s.timezone)
        self.clinic_name = QLineEdit(s.clinic_name, self)
        self.clinic_address = QPlainTextEdit(s.clinic_address, self)
        self.clinic_address.setMaximumHeight(60)
        numbers = {}
        for key, (_, low, high, suffix) in NUMBERS.items():
            spin = QSpinBox(self)
            spin.setRange(low, high)
            spin.setSuffix(suffix)
            spin.setValue(int(getattr(s, key)))
            numbers[key] = spin
        numbers["backup_retention"].setSpecialValueText("No scheduled backup")
        times = {}
        for key in TIMES:
            edit = QTimeEdit(self)
            edit.setDisplayFormat("HH:mm")
            hours, minutes = str(getattr(s, key)).split(":")
            edit.setTime(QTime(int(hours), int(minutes)))
            times[key] = edit
        self.reminder_lead = _combo(LEADS, s.reminder_lead, self)
        self.smtp_host = QLineEdit(s.smtp_host, self)
        self.smtp_host.setPlaceholderText("empty: reminders stay in the outbox")
        self.smtp_tls = _combo(TLS_MODES, s.smtp_tls, self)
        self.smtp_user = QLineEdit(s.smtp_user, self)
        self.smtp_from = QLineEdit(s.smtp_from, self)
        self.smtp_from.setPlaceholderText("clinic@example.com")
        self.smtp_password = QLineEdit(self)
        self.smtp_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.smtp_password.setPlaceholderText(
            "unchanged" if s.smtp_password else "kept in this PC's keyring"
        )
        self.send_confirmation = QCheckBox("Email the patient when a visit is booked", self)
        self.send_confirmation.setChecked(s.send_booking_confirmation)
        self.backup_dir = _Folder(str(s.effective_backup_dir), self)
        self.backup_dir.edit.setText(s.backup_dir)
        self.inputs = {
            "timezone": self.timezone, "clinic_name": self.clinic_name,
            "clinic_address": self.clinic_address, **numbers, **times,
            "reminder_lead": self.reminder_lead, "smtp_host": self.smtp_host,
            "smtp_tls": self.smtp_tls, "smtp_user": self.smtp_user, "smtp_from": self.smtp_from,
            "send_booking_confirmation": self.send_confirmation, "backup_dir": self.backup_dir,
        }  # fmt: skip

        self.add_section("Clinic (every PC; administrators only)")
        self.overridden = QLabel(self)
        self.overridden.setObjectName("overrideNote")
        self.overridden.setWordWrap(True)
        notes = [f"{key} (by {var})" for key, var in sorted(overrides.items())]
        self.overridden.setText(
            "This PC overrides " + ", ".join(notes) + " in its environment; other PCs use "
            "the clinic's values shown after a change here."
            if notes
            else ""
        )
        self.overridden.setVisible(bool(notes))
        self.form.addRow(self.overridden)
        self.add_field(
            "timezone", "&Time zone", self.timezone, lambda: check_zone(self.timezone.currentText())
        )
        self.add_field("clinic_name", "Clinic &name", self.clinic_name)
        self.add_field("clinic_address", "Address", self.clinic_address)
        for key in ("slot_minutes", "booking_horizon_days"):
            self.add_field(key, NUMBERS[key][0], numbers[key])
        self.add_section("Sign-in")
        for key in (
            "lockout_threshold",
            "lockout_minutes",
            "idle_lock_minutes",
            "care_window_days",
        ):
            self.add_field(key, NUMBERS[key][0], numbers[key])
        self.add_section("Reminders and email")
        self.add_field("reminder_time", TIMES["reminder_time"], times["reminder_time"])
        self.add_field("reminder_lead", "Reminder &day", self.reminder_lead)
        self.add_field("monthly_report_time", TIMES["monthly_report_time"], times["monthly_report_time"])  # fmt: skip
        self.add_field("smtp_host", "SMTP &host", self.smtp_host)
        self.add_field("smtp_port", NUMBERS["smtp_port"][0], numbers["smtp_port"])
        self.add_field("smtp_tls", "SMTP s&ecurity", self.smtp_tls)
        self.add_field("smtp_user", "SMTP &user", self.smtp_user)
        self.add_field("smtp_password", "SMTP pass&word", self.smtp_password)
        self.add_field("smtp_from", "Sender &address", self.smtp_from)
        self.add_field("send_booking_confirmation", "Confirmations", self.send_confirmation)
        self.add_section("Backups")
        self.add_field("backup_dir", "&Backup folder", self.backup_dir)
        self.add_field("backup_time", TIMES["backup_time"], times["backup_time"])
        self.add_field("backup_retention", NUMBERS["backup_retention"][0], numbers["backup_retention"])  # fmt: skip

    def clinic_values(self) -> dict[str, Any]:
        """The clinic values on screen, by setting name (empty for non-admins)."""
        values: dict[str, Any] = {}
        for key, widget in self.inputs.items():
            if isinstance(widget, QSpinBox):
                values[key] = widget.value()
            elif isinstance(widget, QTimeEdit):
                values[key] = widget.time().toString("HH:mm")
            elif isinstance(widget, QComboBox):
                data = widget.currentData()
                values[key] = widget.currentText().strip() if key == "timezone" else str(data)
            elif isinstance(widget, QCheckBox):
                values[key] = widget.isChecked()
            elif isinstance(widget, QPlainTextEdit):
                values[key] = widget.toPlainText().strip()
            elif isinstance(widget, _Folder):
                values[key] = widget.edit.text().strip()
            elif isinstance(widget, QLineEdit):
                values[key] = widget.text().strip()
        return values

    def changes(self) -> dict[str, Any]:
        """This PC's values on screen, by setting name."""
        return {
            "cache_ttl_seconds": float(self.cache_ttl.value()),
            "export_dir": self.export_dir.edit.text().strip(),
        }

    def submit(self) -> Callable[[OpContext], Any]:
        pc_values = self.changes()
        running = config.validate(self._clinic.pc.replace(**pc_values))
        current = self._clinic.pc
        pc_changed = {k: v for k, v in pc_values.items() if getattr(current, k) != v}
        shown = self._clinic.settings
        # Only what was changed here is sent: a value this PC takes from its environment
        # (shown in the form) must not be written into the clinic's database.
        clinic_changed = {k: v for k, v in self.clinic_values().items() if getattr(shown, k) != v}
        password = self.smtp_password.text() if self.is_clinic_editable else ""
        user = str(clinic_changed.get("smtp_user", shown.smtp_user))
        clinic, actor = self._clinic, self._actor

        def save(_ctx: OpContext) -> config.Settings:
            # The password first: if it cannot be kept, nothing is saved.
            if password and not config.store_smtp_password(user, password):
                raise ValidationError(
                    "This computer has no keyring to keep the SMTP password; clear the field "
                    "and set HMS_SMTP_PASSWORD in the environment instead.",
                    field="smtp_password",
                )
            if clinic_changed:
                clinic_settings.change(clinic, actor, clinic_changed)
            if pc_changed:
                stored = config.load_settings(environ={})
                if stored.database_url == config.default_database_url():
                    stored = stored.replace(database_url="")
                config.save_settings(stored.replace(**pc_changed))
            return running

        return save

    def _on_saved(self, value: object) -> None:
        assert isinstance(value, config.Settings)
        ttl_changed = value.cache_ttl_seconds != self._clinic.pc.cache_ttl_seconds
        self._clinic.pc = value.replace(
            database_url=self._clinic.pc.database_url, smtp_password=self._clinic.pc.smtp_password
        )
        if self.smtp_password.text() if self.is_clinic_editable else False:
            self._clinic.reload_settings(ask_keyring=True)  # the new password
        if ttl_changed:
            self._stats.set_ttl(value.cache_ttl_seconds)
        super()._on_saved(value)
