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
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from hms_desktop import APP_NAME
from hms_desktop.ui.common.screen_fit import size_window
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
        workspace.windowTitleChanged.connect(self.setWindowTitle)
        workspace.destroyed.connect(self._on_workspace_gone)
        workspace.setFocus()
        tabs = getattr(workspace, "tabs", None)
        if tabs is not None:
            tabs.setFocus()

    @Slot()
    def _on_workspace_gone(self) -> None:
        self.workspace = None

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
        if workspace is not None:
            self.stack.removeWidget(workspace)
        self.stack.setCurrentWidget(self.sign_in)
        self.statusBar().show()
        self.statusBar().clearMessage()
        if self.quit_action is not None:
            self.quit_action.setEnabled(True)
        self.setWindowTitle(f"{APP_NAME} — Log in")
        self.sign_in.reset()

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
