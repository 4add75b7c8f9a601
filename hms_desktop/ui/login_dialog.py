"""The log-in dialog, with patient self-registration and (on a demo clinic) demo accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop import APP_NAME
from hms_desktop.services import accounts
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.ui.operations import Operations, user_message
from hms_desktop.ui.patient_form import PatientFormDialog


@dataclass(frozen=True)
class DemoAccount:
    """An account of the demo clinic, listed on the log-in screen."""

    username: str
    password: str
    role: str


class LoginDialog(QDialog):
    """Asks for a user name and password; :attr:`logged_in` carries the signed-in actor."""

    logged_in = Signal(object)  # Actor

    def __init__(
        self,
        clinic: Clinic,
        ops: Operations,
        demo_accounts: Sequence[DemoAccount] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._clinic, self._ops = clinic, ops
        self._busy = False
        self.actor: Actor | None = None
        self.setWindowTitle(f"{APP_NAME} — Log in")
        self.setObjectName("loginDialog")
        self.setMinimumWidth(420)

        title = QLabel(APP_NAME, self)
        title.setObjectName("loginTitle")
        location = clinic.db.display_location
        subtitle = QLabel(
            f"Clinic database: {location if '://' in location else Path(location).name}", self
        )
        subtitle.setToolTip(location)
        subtitle.setObjectName("muted")
        subtitle.setWordWrap(True)

        self.username = QLineEdit(self)
        self.username.setPlaceholderText("User name")
        self.password = QLineEdit(self)
        self.password.setPlaceholderText("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)

        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()

        self.login_button = QPushButton("&Log in", self)
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.on_login)
        self.register_button = QPushButton("New patient? &Register…", self)
        self.register_button.setAutoDefault(False)
        self.register_button.clicked.connect(self.on_register)
        buttons = QHBoxLayout()
        buttons.addWidget(self.register_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.error)
        if demo_accounts:
            layout.addWidget(self._demo_box(demo_accounts))
        layout.addLayout(buttons)
        self.username.setFocus()

    def _demo_box(self, demo_accounts: Sequence[DemoAccount]) -> QWidget:
        rows = "".join(
            f'<tr><td><a href="{i}">{a.username}</a></td><td>&nbsp;&nbsp;{a.password}</td>'
            f"<td>&nbsp;&nbsp;{a.role}</td></tr>"
            for i, a in enumerate(demo_accounts)
        )
        box = QLabel(
            "<b>Demo clinic</b> — choose an account to fill in:"
            f"<table style='margin-top:4px'>{rows}</table>",
            self,
        )
        box.setObjectName("demoAccounts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        accounts_list = list(demo_accounts)

        def fill(link: str) -> None:
            account = accounts_list[int(link)]
            self.username.setText(account.username)
            self.password.setText(account.password)
            self.login_button.setFocus()

        box.linkActivated.connect(fill)
        self.demo_label = box
        return box

    @Slot()
    def on_login(self) -> None:
        if self._busy:
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.show_error("Enter your user name and password.")
            (self.username if not username else self.password).setFocus()
            return
        self._busy = True
        self.login_button.setEnabled(False)
        self.error.hide()
        clinic = self._clinic
        self._ops.run(
            lambda _ctx: accounts.login(clinic, username, password),
            label="Log in",
            on_success=self._on_success,
            on_failure=self._on_failure,
        )

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _on_success(self, actor: Actor) -> None:
        self._busy = False
        self.login_button.setEnabled(True)
        self.actor = actor
        self.logged_in.emit(actor)
        self.accept()

    def _on_failure(self, err: BaseException) -> None:
        self._busy = False
        self.login_button.setEnabled(True)
        self.show_error(user_message(err))
        # The user name stays; the password is selected so it can be typed again at once.
        self.password.setFocus()
        self.password.selectAll()

    @Slot()
    def on_register(self) -> PatientFormDialog:
        dialog = PatientFormDialog(self._clinic, None, self._ops, self_register=True, parent=self)
        dialog.saved.connect(lambda _pid: self._on_registered(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_registered(self, dialog: PatientFormDialog) -> None:
        self.username.setText(dialog.username.text().strip().lower())
        self.password.setText(dialog.password.text())
        self.error.hide()
        self.on_login()
