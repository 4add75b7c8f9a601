"""The Users page (administrators): accounts with role, state and last sign-in; add,
disable and enable, unlock, reset a password; and the emergency openings of records.

Every change goes through :mod:`hms_desktop.services.people.users`, which checks the
role and audits it.
"""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts, users
from hms_desktop.services.records import records
from hms_desktop.ui.common.layout import EmptyStateTable, title_label
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import Operations, user_message
from hms_desktop.ui.common.password_dialog import PasswordDialog
from hms_desktop.ui.common.table_models import Column, RowTableModel


def _when(value: object, tz: tzinfo) -> str:
    from datetime import datetime

    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


class UsersPage(QWidget):
    """Accounts and their actions; the administrator's review of emergency access."""

    status_message = Signal(str)
    loaded = Signal(int)

    def __init__(
        self, clinic: Clinic, actor: Actor, ops: Operations, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("usersPage")
        self._clinic, self._actor, self._ops = clinic, actor, ops
        tz = clinic.tz
        self.model: RowTableModel[users.UserRow] = RowTableModel(
            [
                Column("User name", lambda r: r.username),
                Column("Name", lambda r: r.name),
                Column("Role", lambda r: r.role),
                Column("State", lambda r: r.state),
                Column("Last sign-in", lambda r: _when(r.last_login_at, tz)),
            ],
            self,
            muted=lambda r: not r.is_active,
        )
        self.table = EmptyStateTable(self.model, "No accounts yet.", self)
        self.table.view.selectionModel().currentRowChanged.connect(self._sync_buttons)
        self.add_button = QPushButton("&Add…", self)
        self.disable_button = QPushButton("&Disable", self)
        self.enable_button = QPushButton("&Enable", self)
        self.unlock_button = QPushButton("&Unlock", self)
        self.reset_button = QPushButton("&Reset password…", self)
        self.add_button.clicked.connect(self.on_add)
        self.disable_button.clicked.connect(lambda: self._change("disable"))
        self.enable_button.clicked.connect(lambda: self._change("enable"))
        self.unlock_button.clicked.connect(lambda: self._change("unlock"))
        self.reset_button.clicked.connect(self.on_reset)
        buttons = QHBoxLayout()
        for button in (
            self.add_button,
            self.disable_button,
            self.enable_button,
            self.unlock_button,
            self.reset_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.emergency_model: RowTableModel[records.EmergencyAccessRow] = RowTableModel(
            [
                Column("When", lambda r: _when(r.at, tz)),
                Column("Doctor", lambda r: r.doctor),
                Column("Patient", lambda r: f"P{r.patient_id}" if r.patient_id else ""),
                Column("Reason", lambda r: r.reason, tooltip=lambda r: r.reason),
            ],
            self,
        )
        self.emergency = EmptyStateTable(self.emergency_model, "No emergency access.", self)
        layout = QVBoxLayout(self)
        layout.addWidget(title_label("Users", self))
        layout.addLayout(buttons)
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel("Emergency access to records (newest first):", self))
        layout.addWidget(self.emergency, 1)
        self._sync_buttons()

    def selected(self) -> users.UserRow | None:
        index = self.table.view.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def _sync_buttons(self, *_args: object) -> None:
        row = self.selected()
        self.disable_button.setEnabled(row is not None and row.is_active)
        self.enable_button.setEnabled(row is not None and not row.is_active)
        self.unlock_button.setEnabled(row is not None and row.locked)
        self.reset_button.setEnabled(row is not None)

    def refresh(self) -> None:
        """Load the accounts and the emergency accesses off the UI thread."""
        clinic, actor = self._clinic, self._actor
        self._ops.run(
            lambda _ctx: (
                users.list_users(clinic, actor),
                records.emergency_accesses(clinic, actor),
            ),
            label="Load users",
            on_success=self._on_loaded,
            on_failure=lambda err: show_error(self, "Users", err),
        )

    def _on_loaded(
        self, result: tuple[list[users.UserRow], list[records.EmergencyAccessRow]]
    ) -> None:
        keep = self.selected()
        rows, emergencies = result
        self.model.set_rows(rows)
        self.emergency_model.set_rows(emergencies)
        for number, row in enumerate(rows):
            if keep is not None and row.id == keep.id:
                self.table.view.selectRow(number)
        self._sync_buttons()
        self.loaded.emit(len(rows))

    def _change(self, what: str) -> None:
        row = self.selected()
        if row is None:
            return
        clinic, actor, user_id = self._clinic, self._actor, row.id
        calls = {
            "disable": lambda: users.set_active(clinic, actor, user_id, False),
            "enable": lambda: users.set_active(clinic, actor, user_id, True),
            "unlock": lambda: users.unlock(clinic, actor, user_id),
        }
        call = calls[what]
        done = {"disable": "disabled", "enable": "enabled", "unlock": "unlocked"}[what]
        self._ops.run(
            lambda _ctx: call(),
            label=f"{what.capitalize()} {row.username}",
            on_success=lambda _r: self._after(f"{row.username} {done}."),
            on_failure=lambda err: show_error(self, "Users", err),
        )

    def _after(self, message: str) -> None:
        self.status_message.emit(message)
        self.refresh()

    def on_reset(self) -> PasswordDialog | None:
        row = self.selected()
        if row is None:
            return None
        clinic, actor, user_id = self._clinic, self._actor, row.id
        dialog = PasswordDialog(
            self,
            self._ops,
            f"Reset the password of {row.username}",
            "A temporary password: the user must choose a new one at their next sign-in.",
            lambda _current, new: users.reset_password(clinic, actor, user_id, new),
            ask_current=False,
        )
        dialog.saved.connect(lambda: self._after(f"Password of {row.username} reset."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def on_add(self) -> AddUserDialog:
        dialog = AddUserDialog(self, self._clinic, self._actor, self._ops)
        dialog.saved.connect(lambda name: self._after(f"Account {name} added."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog


class AddUserDialog(QDialog):
    """A new account: user name, role and a first password."""

    saved = Signal(str)

    def __init__(self, parent: QWidget, clinic: Clinic, actor: Actor, ops: Operations) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a user")
        self._clinic, self._actor, self._ops = clinic, actor, ops
        self.username = QLineEdit(self)
        self.role = QComboBox(self)
        for role in users.ROLES:
            self.role.addItem(role, role)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        form = QFormLayout()
        form.addRow("&User name:", self.username)
        form.addRow("&Role:", self.role)
        form.addRow("&Password:", self.password)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.on_ok)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def on_ok(self) -> None:
        clinic, actor = self._clinic, self._actor
        name, role, password = (
            self.username.text(),
            str(self.role.currentData()),
            self.password.text(),
        )
        self.buttons.setEnabled(False)
        self._ops.run(
            lambda _ctx: accounts.create_user(clinic, actor, name, password, role),
            label="Add a user",
            on_success=lambda _id: self._done(name),
            on_failure=self._failed,
        )

    def _done(self, name: str) -> None:
        self.buttons.setEnabled(True)
        self.saved.emit(name.strip().lower())
        self.accept()

    def _failed(self, err: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(user_message(err))
        self.error.show()
