"""The sign-in page, shown in the main window before anyone is signed in.

The window appears before the clinic database is open (opening it loads SQLAlchemy
and may migrate or build the demo clinic), so the page starts "opening": the user can
already type, and a log-in asked for meanwhile runs as soon as the clinic is open.
This module imports no database code; the log-in itself is imported when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop import APP_NAME

if TYPE_CHECKING:
    from hms_desktop.services.actor import Actor
    from hms_desktop.services.clinic import Clinic
    from hms_desktop.ui.admin.patient_form import PatientFormDialog
    from hms_desktop.ui.common.operations import Operations


@dataclass(frozen=True)
class DemoAccount:
    """An account of the demo clinic, listed on the sign-in page."""

    username: str
    password: str
    role: str


def short_location(location: str) -> str:
    """A database file by its name (a server URL as it is)."""
    return location if "://" in location else Path(location).name


class SignInPage(QWidget):
    """User name and password; :attr:`logged_in` carries the signed-in actor."""

    logged_in = Signal(object)  # Actor

    def __init__(self, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInPage")
        self._ops = ops
        self._clinic: Clinic | None = None
        self._busy = False
        #: A log-in asked for before the clinic was open: run once it is.
        self._pending = False
        self.actor: Actor | None = None
        self.demo_label: QLabel | None = None

        card = QFrame(self)
        card.setObjectName("signInCard")
        card.setFixedWidth(460)
        title = QLabel(APP_NAME, card)
        title.setObjectName("loginTitle")
        self.subtitle = QLabel("Opening the clinic database…", card)
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)

        self.username = QLineEdit(card)
        self.username.setPlaceholderText("User name")
        self.password = QLineEdit(card)
        self.password.setPlaceholderText("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)
        self.username.returnPressed.connect(self.on_login)
        self.password.returnPressed.connect(self.on_login)

        self.error = QLabel(card)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()

        self.login_button = QPushButton("&Log in", card)
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.on_login)
        self.register_button = QPushButton("New patient? &Register…", card)
        self.register_button.setEnabled(False)  # registering needs the open clinic
        self.register_button.clicked.connect(self.on_register)
        buttons = QHBoxLayout()
        buttons.addWidget(self.register_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)

        self._card_layout = QVBoxLayout(card)
        self._card_layout.setContentsMargins(28, 24, 28, 20)
        self._card_layout.setSpacing(12)
        self._card_layout.addWidget(title)
        self._card_layout.addWidget(self.subtitle)
        self._card_layout.addSpacing(6)
        self._card_layout.addLayout(form)
        self._card_layout.addWidget(self.error)
        self._card_layout.addLayout(buttons)

        # The card's top stays put when the demo log-ins are added below the fields.
        outer = QVBoxLayout(self)
        outer.addSpacing(120)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        self.setFocusProxy(self.username)

    # --- the clinic arrives -------------------------------------------------------------
    @property
    def is_ready(self) -> bool:
        return self._clinic is not None

    def set_clinic(self, clinic: Clinic, demo_accounts: Sequence[DemoAccount] = ()) -> None:
        """The clinic is open: name it, list the demo log-ins, run a waiting log-in."""
        self._clinic = clinic
        location = clinic.db.display_location
        self.subtitle.setText(f"Clinic database: {short_location(location)}")
        self.subtitle.setToolTip(location)
        self.register_button.setEnabled(True)
        if demo_accounts and self.demo_label is None:
            self.demo_label = self._demo_box(demo_accounts)
            self._card_layout.insertWidget(self._card_layout.count() - 1, self.demo_label)
        if self._pending:
            self._pending = False
            self.on_login()

    def set_progress(self, text: str) -> None:
        if self._clinic is None:
            self.subtitle.setText(text)

    def reset(self) -> None:
        """Ready for the next person: both fields empty, the cursor in the user name."""
        self.username.clear()
        self.password.clear()
        self.error.hide()
        self.actor = None
        self.username.setFocus()

    def _demo_box(self, demo_accounts: Sequence[DemoAccount]) -> QLabel:
        # Not imported with the module: PySide6 builds the Qt namespace's enums on first
        # import (about 12 ms), and this page is on screen before that may be spent.
        from PySide6.QtCore import Qt

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
        return box

    # --- log in -------------------------------------------------------------------------
    @Slot()
    def on_login(self) -> None:
        if self._busy:
            return
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.show_error("Enter your user name and password.")
            (self.username if not username else self.password).setFocus()
            return
        self.error.hide()
        if self._clinic is None:
            self._pending = True
            self.subtitle.setText("Opening the clinic database… you are signed in once it is open.")
            return
        from hms_desktop.services.people import accounts

        self._busy = True
        self.login_button.setEnabled(False)
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
        self.password.clear()
        self.logged_in.emit(actor)

    def _on_failure(self, err: BaseException) -> None:
        from hms_desktop.ui.common.operations import user_message

        self._busy = False
        self.login_button.setEnabled(True)
        self.show_error(user_message(err))
        # The user name stays; the password is selected so it can be typed again at once.
        self.password.setFocus()
        self.password.selectAll()

    @Slot()
    def on_register(self) -> PatientFormDialog | None:
        if self._clinic is None:
            return None
        from hms_desktop.ui.admin.patient_form import PatientFormDialog

        dialog = PatientFormDialog(self._clinic, None, self._ops, self_register=True, parent=self)
        dialog.saved.connect(lambda _pid: self._on_registered(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_registered(self, dialog: Any) -> None:
        self.username.setText(dialog.username.text().strip().lower())
        self.password.setText(dialog.password.text())
        self.error.hide()
        self.on_login()
