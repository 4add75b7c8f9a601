"""The lock screen and the idle watcher: an unattended desk shows no patient data.

:class:`IdleWatcher` watches the application's input (an event filter) and fires
:attr:`IdleWatcher.idle` when a :class:`QTimer` runs out without any; tests drive the
timer directly. :class:`LockScreen` is what the window shows while locked: who locked
it, a password field to unlock, and a way for someone else to sign in instead.
No database code here: the window passes the calls in.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hms_desktop import APP_NAME

#: Input that counts as "someone is at the desk".
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class IdleWatcher(QObject):
    """Emits :attr:`idle` after ``minutes`` without keyboard or mouse input."""

    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        #: Public so a test can shorten it or fire it: the idle time's only clock.
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(max(1, minutes) * 60_000)
        self.timer.timeout.connect(self.idle)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self.timer.isActive():
            self.timer.start()  # restarts the countdown
        return False

    def close(self) -> None:
        """Stop watching (the workspace is gone)."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockScreen(QWidget):
    """ "Locked by NAME": the password unlocks; another person may sign in instead."""

    unlock_requested = Signal(str)  # the password
    switch_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        card = QFrame(self)
        card.setObjectName("signInCard")
        card.setFixedWidth(460)
        title = QLabel(f"{APP_NAME} is locked", card)
        title.setObjectName("loginTitle")
        self.who = QLabel(card)
        self.who.setWordWrap(True)
        self.password = QLineEdit(card)
        self.password.setPlaceholderText("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self._on_unlock)
        self.error = QLabel(card)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.unlock_button = QPushButton("&Unlock", card)
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self._on_unlock)
        self.switch_button = QPushButton("Sign in as &someone else…", card)
        self.switch_button.clicked.connect(self.switch_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.switch_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 20)
        inner.addWidget(title)
        inner.addWidget(self.who)
        inner.addWidget(self.password)
        inner.addWidget(self.error)
        inner.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.addSpacing(120)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        self.setFocusProxy(self.password)

    def prepare(self, user_label: str) -> None:
        """Empty, for the user who locked it (named by their user name, not a patient's)."""
        self.who.setText(
            f"Locked for {user_label}. Type your password to go on where you left off."
        )
        self.password.clear()
        self.error.hide()
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        self.unlock_button.setEnabled(not busy)
        self.switch_button.setEnabled(not busy)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.password.selectAll()
        self.password.setFocus()

    def _on_unlock(self) -> None:
        if self.unlock_button.isEnabled() and self.password.text():
            self.unlock_requested.emit(self.password.text())
