"""The application's one top-level window, from start to quit.

It is shown before the clinic database is open, with the sign-in page, so the
application is on screen at once; after sign-in it holds the signed-in user's
workspace (a :class:`~hms_desktop.ui.shell.main_window.MainWindow`, with its own menus and
status bar), and log-out brings the sign-in page back in the same place. Nothing here
imports database code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from hms_desktop import APP_NAME
from hms_desktop.ui.common.screen_fit import size_window
from hms_desktop.ui.shell.lock_screen import IdleWatcher, LockScreen
from hms_desktop.ui.shell.sign_in import DemoAccount, SignInPage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtGui import QCloseEvent

    from hms_desktop.services.clinic import Clinic
    from hms_desktop.ui.common.operations import Operations
    from hms_desktop.ui.shell.main_window import MainWindow


class AppWindow(QMainWindow):
    """Sign-in page or workspace. Closing it while signed out emits :attr:`quit_requested`;
    while signed in it closes the workspace, which asks to quit itself."""

    quit_requested = Signal()

    def __init__(self, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("appWindow")
        self.setWindowTitle(f"{APP_NAME} — Log in")
        size_window(self, 1280, 800, 1024, 640)  # within a 1024x768 screen, frame and all
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.sign_in = SignInPage(ops, self.stack)
        self.stack.addWidget(self.sign_in)
        self.workspace: MainWindow | None = None
        self.quit_action: QAction | None = None
        self._ops = ops
        # The lock: shown instead of the workspace after the clinic's idle time or Ctrl+L.
        # In the stack only while locked (the stack holds the sign-in page and a workspace).
        self.lock_screen = LockScreen(self)
        self.lock_screen.hide()
        self.lock_screen.unlock_requested.connect(self._on_unlock_requested)
        self.lock_screen.switch_requested.connect(self.switch_user)
        self.locked = False
        self.idle: IdleWatcher | None = None
        #: Windows (dialogs, messages) hidden by the lock, shown again at unlock.
        self._hidden: list[QWidget] = []
        self._notice = ""
        self.lock_action = QAction("&Lock", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setEnabled(False)
        self.lock_action.triggered.connect(self.lock)
        self.addAction(self.lock_action)
        self.statusBar().showMessage("Opening the clinic database…")

    def finish_setup(self) -> None:
        """What can wait until the window is on screen.

        A key sequence makes PySide6 build the Qt namespace's ninety enums (about 20 ms),
        and that is not worth keeping the window off screen for.
        """
        from PySide6.QtCore import Qt

        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if self.quit_action is None:
            # Signed out, Ctrl+Q still quits; the workspace has its own Quit (one key, one
            # action: the window's gives way while the workspace is shown).
            self.quit_action = QAction("Quit", self)
            self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
            self.quit_action.setEnabled(self.workspace is None)
            self.quit_action.triggered.connect(self.close)
            self.addAction(self.quit_action)

    def show_workspace(self, workspace: MainWindow) -> None:
        """Put the signed-in user's window in place of the sign-in page."""
        self.workspace = workspace
        self.stack.addWidget(workspace)
        self.stack.setCurrentWidget(workspace)
        self.statusBar().hide()  # the workspace has its own
        if self.quit_action is not None:
            self.quit_action.setEnabled(False)
        self.setWindowTitle(workspace.windowTitle())
        workspace.windowTitleChanged.connect(self._on_workspace_title)
        workspace.destroyed.connect(self._on_workspace_gone)
        self._start_idle_lock(workspace)
        workspace.setFocus()
        tabs = getattr(workspace, "tabs", None)
        if tabs is not None:
            tabs.setFocus()

    @Slot()
    def _on_workspace_gone(self) -> None:
        self.workspace = None
        self._end_lock()

    @Slot(str)
    def _on_workspace_title(self, title: str) -> None:
        if not self.locked:  # a locked window's title names no one
            self.setWindowTitle(title)

    # --- the lock ---------------------------------------------------------------------------
    def _start_idle_lock(self, workspace: MainWindow) -> None:
        from hms_desktop.services.policy import idle_lock_minutes

        self._end_lock()
        self.idle = IdleWatcher(idle_lock_minutes(workspace.clinic), self)
        self.idle.idle.connect(self.lock)
        self.idle.start()
        self.lock_action.setEnabled(True)

    def _end_lock(self) -> None:
        """No workspace any more: no lock, no idle watch."""
        if self.idle is not None:
            self.idle.close()
            self.idle.deleteLater()
            self.idle = None
        self.locked = False
        self._hidden = []
        self.lock_action.setEnabled(False)
        self._put_lock_screen_away()

    def _put_lock_screen_away(self) -> None:
        if self.stack.indexOf(self.lock_screen) >= 0:
            self.stack.removeWidget(self.lock_screen)
        self.lock_screen.hide()

    def _audit(self, action: str) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        import socket

        from hms_desktop.services.safety import audit

        clinic, actor, host = workspace.clinic, workspace.actor, socket.gethostname()
        self._ops.run(
            lambda _ctx: audit.record_now(clinic, actor, action, "user", actor.user_id, host=host),
            label="Audit",
            on_failure=lambda _err: None,  # a disabled account is signed out at unlock
        )

    @Slot()
    def lock(self) -> None:
        """Hide the workspace, its dialogs and its title behind the lock screen; the unsaved
        input stays where it was."""
        workspace = self.workspace
        if workspace is None or self.locked:
            return
        self.locked = True
        self._hidden = [
            w for w in QApplication.topLevelWidgets() if w is not self and w.isVisible()
        ]
        for window in self._hidden:
            window.hide()
        self.lock_screen.prepare(workspace.actor.username)
        self.stack.addWidget(self.lock_screen)
        self.stack.setCurrentWidget(self.lock_screen)
        self.setWindowTitle(f"{APP_NAME} — Locked")
        if self.idle is not None:
            self.idle.stop()
        self.lock_screen.setFocus()
        self._audit("session.lock")

    @Slot(str)
    def _on_unlock_requested(self, password: str) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        from hms_desktop.services.people import accounts

        clinic, username = workspace.clinic, workspace.actor.username
        self.lock_screen.set_busy(True)
        self._ops.run(
            lambda _ctx: accounts.login(clinic, username, password),
            label="Unlock",
            on_success=self._on_unlocked,
            on_failure=self._on_unlock_failed,
        )

    def _on_unlocked(self, actor: object) -> None:
        workspace = self.workspace
        if workspace is None or not self.locked:
            return
        if getattr(actor, "user_id", None) != workspace.actor.user_id:
            self._on_unlock_failed(RuntimeError("another account"))
            return
        self.locked = False
        self.stack.setCurrentWidget(workspace)
        self._put_lock_screen_away()
        self.setWindowTitle(workspace.windowTitle())
        for window in self._hidden:
            window.show()
        self._hidden = []
        if self.idle is not None:
            self.idle.start()
        workspace.setFocus()
        self._audit("session.unlock")

    def _on_unlock_failed(self, err: BaseException) -> None:
        from hms_desktop.errors import HmsError

        self.lock_screen.set_busy(False)
        message = err.message if isinstance(err, HmsError) else "Wrong password."
        self.lock_screen.show_error(message)

    @Slot()
    def switch_user(self) -> None:
        """Someone else signs in: the locked user's unsaved input is discarded, with a notice."""
        workspace = self.workspace
        if workspace is None:
            return
        # Open dialogs (a form being typed) count as unsaved input too.
        lost = bool(workspace.unsaved_changes() or self._hidden)
        self._notice = f"The locked session of {workspace.actor.username} was closed" + (
            "; their unsaved input was discarded." if lost else "."
        )
        self._audit("session.switch")
        for window in self._hidden:
            window.close()
        self._hidden = []
        workspace.discard_unsaved_changes()
        workspace.log_out()

    def show_status(self, text: str) -> None:
        """What the start-up is doing: on the sign-in page (until the clinic is open) and in
        the status bar."""
        self.sign_in.set_progress(text)
        self.statusBar().showMessage(text)

    def show_sign_in_ready(self, clinic: Clinic, demo_accounts: Sequence[DemoAccount]) -> None:
        """The clinic is open: the sign-in page can sign people in."""
        self.sign_in.set_clinic(clinic, demo_accounts)
        self.statusBar().showMessage("Ready. Log in to start.", 8000)

    def show_sign_in(self) -> None:
        """Back to the sign-in page (after log-out), ready for the next person."""
        workspace, self.workspace = self.workspace, None
        notice, self._notice = self._notice, ""
        if workspace is not None:
            notice = workspace.sign_out_notice or notice
            self.stack.removeWidget(workspace)
        self._end_lock()
        self.stack.setCurrentWidget(self.sign_in)
        self.statusBar().show()
        self.statusBar().clearMessage()
        if self.quit_action is not None:
            self.quit_action.setEnabled(True)
        self.setWindowTitle(f"{APP_NAME} — Log in")
        self.sign_in.reset()
        if notice:
            self.sign_in.show_error(notice)

    def drop_workspace(self) -> None:
        """Forget the workspace (already closed by whoever ends the application)."""
        self.workspace = None

    def closeEvent(self, event: QCloseEvent) -> None:
        workspace = self.workspace
        if workspace is not None:
            # The workspace stops its work and emits its own quit_requested; or it keeps
            # unsaved changes and asks first, and the window stays.
            if not workspace.close():
                event.ignore()
                return
        else:
            self.quit_requested.emit()
        super().closeEvent(event)
