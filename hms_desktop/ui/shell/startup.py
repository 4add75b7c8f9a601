"""From start to the signed-in window: show the window, open the database, first run, log in.

The application's one window (:class:`~hms_desktop.ui.shell.app_window.AppWindow`) is shown
first, with the sign-in page, before any database code is imported: the clinic opens
on a worker meanwhile (SQLAlchemy alone takes longer to import than a bare Qt window
takes to appear), and a log-in typed before it is open runs as soon as it is.

:class:`Startup` walks the steps without a nested event loop (each dialog is opened
and its signal moves on), so nothing blocks and every step can be driven by a test.
Problems a person can fix (missing, locked or too new database) end in a dialog that
says so, never in a traceback.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from hms_desktop import APP_NAME
from hms_desktop.config import Settings
from hms_desktop.errors import HmsError
from hms_desktop.services.safety.instance_lock import InstanceLock
from hms_desktop.ui.common.operations import Operations, user_message
from hms_desktop.ui.shell.app_window import AppWindow
from hms_desktop.ui.shell.sign_in import DemoAccount

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "SHOWN_MESSAGE",
    "WINDOW_MESSAGE",
    "StartOptions",
    "Startup",
]

if TYPE_CHECKING:
    from hms_desktop.services.actor import Actor
    from hms_desktop.services.clinic import Clinic
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.main_window import MainWindow
    from hms_desktop.ui.shell.startup_open import Opened

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1


def _preload_screens() -> None:
    # Imported here, not at the top, so that the worker opening the database starts first
    # and this import work overlaps its waiting on the disk and on argon2.
    # Not the first-run dialog: a clinic without an administrator is the rare case.
    pass


def _delete_on_close() -> Any:
    # PySide6 builds the Qt namespace's hundred enums on first import (about 20 ms): not
    # before the window is shown.
    from PySide6.QtCore import Qt

    return Qt.WidgetAttribute.WA_DeleteOnClose


@dataclass(frozen=True)
class StartOptions:
    """What the command line asked for."""

    demo: bool = False
    quit_after_show: bool = False
    #: The SQLite file behind the URL (None for PostgreSQL), to lock and to check it exists.
    database_file: Path | None = None
    #: Ask before creating a missing database file (false for the default and demo files).
    confirm_create: bool = False
    #: Run the background jobs (reminders, reports, backups) while the application runs.
    run_jobs: bool = True


#: Printed on standard output by the start check once the window (sign-in page) is shown.
WINDOW_MESSAGE = "hms-desktop: window shown"
#: Printed by the start check once a user is signed in and the workspace is shown.
SHOWN_MESSAGE = "hms-desktop: signed in, workspace shown"


def _report(message: str) -> None:
    print(message, flush=True)  # print does nothing without a console (windowed build)


class Startup(QObject):
    """Drives the start-up; emits :attr:`finished` with the exit code when the app should end."""

    finished = Signal(int)
    main_window_shown = Signal(object)

    def __init__(
        self,
        settings: Settings,
        options: StartOptions | None = None,
        *,
        clinic: Clinic | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.options = options or StartOptions()
        self.clinic: Clinic | None = clinic
        self._owns_clinic = clinic is None
        self.ops = Operations(self)
        self.stats: StatsService | None = None
        self.demo_accounts: list[DemoAccount] = []
        #: Signed in by the worker (the start-up check's demo log-in); used once.
        self._auto_actor: Actor | None = None
        self.lock = (
            InstanceLock(self.options.database_file)
            if self.options.database_file is not None and clinic is None
            else None
        )
        #: The application's window (sign-in page, then the workspace); built by start().
        self.shell: AppWindow | None = None
        #: A message box or the first-run dialog on top of the window, if one is open.
        self.dialog: QWidget | None = None
        #: The new-password question after a reset, while it is open (tests answer it).
        self.new_password_dialog: QWidget | None = None
        #: The signed-in user's workspace inside the window.
        self.window: MainWindow | None = None
        #: The background jobs run while the application runs, whoever is signed in.
        self.scheduler: Any = None
        self.bridge: Any = None
        #: Every main window's operation helper, so no worker outlives the application.
        self._window_ops: list[Operations] = []
        self.exit_code: int | None = None

    # --- step 0: the window ---------------------------------------------------------------
    def start(self) -> None:
        """Show the window with the sign-in page, then open the clinic behind it."""
        shell = AppWindow(self.ops)
        shell.quit_requested.connect(lambda: self.finish(EXIT_OK))
        shell.sign_in.logged_in.connect(self.show_main_window)
        self.shell = shell
        if self.options.quit_after_show:
            # After one pass of the event loop, as the bare window's probe does.
            QTimer.singleShot(0, lambda: _report(WINDOW_MESSAGE))
        shell.show()
        shell.raise_()
        shell.activateWindow()
        shell.sign_in.username.setFocus()
        from hms_desktop.services.views import use_day_text
        from hms_desktop.ui.common.dates import day_text

        use_day_text(day_text)  # messages from the services say days as the screens do
        # Queued after the show: the database work starts once the window is up.
        QTimer.singleShot(0, self._begin)

    # --- step 1: open -------------------------------------------------------------------
    def _begin(self) -> None:
        if self.exit_code is not None:
            return
        if self.shell is not None:
            self.shell.finish_setup()
        if self.clinic is not None:
            self._check_admin()
            return
        file = self.options.database_file
        if file is not None and not file.exists() and self.options.confirm_create:
            if self.options.quit_after_show:
                self._fatal(f"The database file {file} does not exist.")
                return
            self._ask(
                "No clinic database",
                f"The database file {file} does not exist.\n\nCreate a new, empty clinic "
                "database there?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                lambda answer: (
                    self._open()
                    if answer == QMessageBox.StandardButton.Yes
                    else self.finish(EXIT_FAILED)
                ),
            )
            return
        self._open()

    def _open(self) -> None:
        from hms_desktop.ui.shell.startup_open import open_for_start

        settings, options, lock = self.settings, self.options, self.lock
        if self.shell is not None:  # again after a Retry
            self.shell.show_status("Opening the clinic database…")
        # Closing the window stops it (the start-up's finish cancels every worker).
        self.ops.run(
            lambda ctx: open_for_start(settings, options, lock, ctx),
            label="Open the clinic database",
            on_success=self._on_opened,
            on_failure=self._on_open_failed,
            on_cancelled=lambda: self.finish(EXIT_FAILED),
            on_progress=self._on_progress,
        )
        # While the worker waits on the disk and on argon2 (both release the GIL), load the
        # screens' code, so the workspace appears sooner after log-in.
        QTimer.singleShot(0, _preload_screens)

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, text: str) -> None:
        # In the window itself, not in a progress window: one that pops up takes the
        # keyboard from someone already typing their log-in (and Enter pressed Cancel).
        if self.shell is not None:
            shown = f"{text} {min(done, total) * 100 // total}%" if total else text
            self.shell.show_status(shown)

    def _on_opened(self, value: Opened) -> None:
        self.clinic = value.clinic
        self.demo_accounts = [DemoAccount(*login) for login in value.demo_logins]
        self._auto_actor = value.actor
        self._after_admin_check(value.has_admin)

    def _on_open_failed(self, err: BaseException) -> None:
        if self.lock is not None:
            self.lock.release()
        if not isinstance(err, HmsError):
            log.error("opening the database failed", exc_info=err)
        if self.shell is not None:
            self.shell.show_status("The clinic database could not be opened.")
        if self.options.quit_after_show:
            self._fatal(user_message(err))
            return
        self._ask(
            "Cannot open the clinic database",
            user_message(err),
            QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close,
            lambda answer: (
                self._open()
                if answer == QMessageBox.StandardButton.Retry
                else self.finish(EXIT_FAILED)
            ),
            icon=QMessageBox.Icon.Critical,
        )

    # --- step 2: the first administrator ------------------------------------------------
    def _check_admin(self) -> None:
        from hms_desktop.services.people import accounts

        clinic = self.clinic
        assert clinic is not None
        self.ops.run(
            lambda _ctx: accounts.has_admin(clinic),
            label="Open the clinic database",
            on_success=self._after_admin_check,
            on_failure=self._on_open_failed,
        )

    def _after_admin_check(self, has_admin: bool) -> None:
        from hms_desktop.services.records.stats import StatsService

        assert self.clinic is not None and self.shell is not None
        self.stats = self.stats or StatsService(self.clinic)
        if self._owns_clinic and not self.options.quit_after_show:
            # Other PCs' changes reach the open views without F5 (PostgreSQL only).
            self.clinic.start_listening()
        self._start_jobs()
        if has_admin:
            self.show_login()
            return
        from hms_desktop.ui.shell.first_run import FirstRunDialog

        self.shell.show_status("A new clinic: create the first administrator first.")
        dialog = FirstRunDialog(self.clinic, self.ops, self.shell)
        dialog.saved.connect(lambda _uid: QTimer.singleShot(0, self.show_login))
        dialog.rejected.connect(lambda: self.finish(EXIT_OK))
        self._show_dialog(dialog)

    def _start_jobs(self) -> None:
        """Start the scheduler for a clinic this start-up opened (not for a window check)."""
        if self.scheduler is not None or not self.options.run_jobs:
            return
        if not self._owns_clinic or self.options.quit_after_show:
            return
        from hms_desktop.jobs.scheduler import ClinicScheduler
        from hms_desktop.ui.common.job_bridge import JobBridge

        assert self.clinic is not None
        self.bridge = JobBridge(self)
        self.scheduler = ClinicScheduler(self.clinic, on_event=self.bridge.post)
        try:
            self.scheduler.start()  # catches up periods missed while the app was closed
        except Exception:  # the desk can still work; the Jobs page shows nothing ran
            log.exception("the job scheduler did not start")
            self.scheduler = None

    def _stop_jobs(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.bridge is not None:
            self.bridge.close()
            self.bridge = None

    # --- step 3: log in -----------------------------------------------------------------
    def show_login(self) -> None:
        """The sign-in page, ready: the clinic is named, demo log-ins listed."""
        assert self.clinic is not None and self.shell is not None
        self._drop_dialog()
        self.shell.show_sign_in_ready(self.clinic, self.demo_accounts)
        if self.options.quit_after_show:
            actor, self._auto_actor = self._auto_actor, None
            if actor is not None:  # the worker already signed in
                self.show_main_window(actor)
            elif self.demo_accounts:
                self._auto_login()
            else:  # no demo log-in to use: showing the window is all that was asked
                QTimer.singleShot(0, lambda: self.finish(EXIT_OK))

    def _auto_login(self) -> None:
        from hms_desktop.services.people import accounts
        from hms_desktop.ui.shell.startup_open import auto_login_account

        clinic = self.clinic
        assert clinic is not None
        username, password, _role = auto_login_account(
            [(a.username, a.password, a.role) for a in self.demo_accounts]
        )
        self.ops.run(
            lambda _ctx: accounts.login(clinic, username, password),
            label="Log in",
            on_success=self.show_main_window,
            on_failure=lambda err: self._fatal(user_message(err)),
        )

    def _show_dialog(self, dialog: QWidget) -> None:
        self._drop_dialog()
        self.dialog = dialog
        dialog.setAttribute(_delete_on_close())
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        if self.options.quit_after_show:
            # No demo log-in to use: showing the first window is all that was asked.
            QTimer.singleShot(0, lambda: self.finish(EXIT_OK))

    def _drop_dialog(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and shiboken6.isValid(dialog):
            # Closing must not count as "cancel" (which ends the app).
            dialog.blockSignals(True)
            dialog.close()

    # --- step 4: the workspace ------------------------------------------------------------
    @Slot(object)
    def show_main_window(self, actor: Any) -> None:
        assert self.clinic is not None and self.stats is not None and self.shell is not None
        from hms_desktop.services.people import users
        from hms_desktop.ui.shell.main_window import MainWindow

        self._drop_dialog()
        if actor.must_change_password and self._ask_new_password(actor):
            return  # the workspace opens once the new password is saved
        # Each of the window's service calls checks that the account is still enabled; the
        # first that finds it disabled signs the window out (from whichever thread).
        opened: list[MainWindow] = []

        def signed_out() -> None:
            if opened and shiboken6.isValid(opened[0]):
                opened[0].ops.signed_out.emit(users.SIGNED_OUT)

        window = MainWindow(
            users.signed_in_clinic(self.clinic, actor, on_signed_out=signed_out),
            actor,
            self.stats,
            scheduler=self.scheduler,
            bridge=self.bridge,
        )
        opened.append(window)
        window.setAttribute(_delete_on_close())
        window.logged_out.connect(self._on_logged_out)
        window.quit_requested.connect(lambda: self.finish(EXIT_OK))
        self.window = window
        self._window_ops.append(window.ops)
        if self.options.quit_after_show:
            # Queued before the show, so they run before the loads the workspace queues on
            # showing: after one pass of the event loop, say that it is up (a start check
            # can time the start without the exit), then close it.
            QTimer.singleShot(0, lambda: _report(SHOWN_MESSAGE))
            QTimer.singleShot(0, window.close)
        self.shell.show_workspace(window)
        log.info("signed in as %s (%s)", actor.username, actor.role)
        if actor.is_admin:
            self._import_legacy_settings(actor, window)
        self.main_window_shown.emit(window)

    def _import_legacy_settings(self, actor: Any, window: Any) -> None:
        """The first administrator start moves this PC's old clinic values into the database."""
        from hms_desktop.config import legacy_clinic_values
        from hms_desktop.services.clinic_settings import service as clinic_settings
        from hms_desktop.services.clinic_settings.values import KEYS

        clinic = self.clinic
        assert clinic is not None

        def move(_ctx: Any) -> dict[str, Any]:
            legacy = legacy_clinic_values(frozenset(KEYS))
            return clinic_settings.import_legacy(clinic, actor, legacy, source="settings file")

        def moved(taken: dict[str, Any]) -> None:
            if taken:
                window.show_message(
                    "Clinic settings moved from this PC's settings file into the clinic "
                    f"database: {', '.join(sorted(taken))}."
                )

        window.ops.run(
            move,
            label="Move clinic settings",
            on_success=moved,
            on_failure=lambda err: log.warning("clinic settings not moved: %s", err),
        )

    def _ask_new_password(self, actor: Any) -> bool:
        """After an administrator's reset: a new password before any work (False when there
        is no window to ask in)."""
        import dataclasses

        from hms_desktop.services.people import accounts
        from hms_desktop.ui.common.password_dialog import PasswordDialog

        if self.shell is None or self.clinic is None:
            return False
        clinic = self.clinic
        dialog = PasswordDialog(
            self.shell,
            self.ops,
            "Choose a new password",
            "An administrator reset your password. Choose your own before you go on.",
            lambda current, new: accounts.change_password(clinic, actor, current, new),
        )
        dialog.setObjectName("newPasswordDialog")
        changed = dataclasses.replace(actor, must_change_password=False)
        dialog.saved.connect(lambda: self.show_main_window(changed))
        dialog.rejected.connect(self.shell.show_sign_in)
        dialog.finished.connect(dialog.deleteLater)
        self.new_password_dialog = dialog
        dialog.open()
        return True

    def _on_logged_out(self) -> None:
        self.window = None
        if self.shell is not None:
            self.shell.show_sign_in()

    # --- the end ----------------------------------------------------------------------------
    def _ask(
        self,
        title: str,
        text: str,
        buttons: QMessageBox.StandardButton,
        then: Any,
        icon: QMessageBox.Icon = QMessageBox.Icon.Question,
    ) -> None:
        box = QMessageBox(icon, title, text, buttons, self.shell)
        box.setObjectName("startupMessage")
        box.setAttribute(_delete_on_close())

        def answered(_result: int) -> None:
            button = box.clickedButton()
            answer = box.standardButton(button) if button is not None else None
            if self.dialog is box:  # answered: it closes (and is deleted) now
                self.dialog = None
            then(answer)

        box.finished.connect(answered)
        self._show_dialog_plain(box)

    def _show_dialog_plain(self, box: QWidget) -> None:
        self._drop_dialog()
        self.dialog = box
        box.show()

    def _fatal(self, message: str) -> None:
        log.error("start-up failed: %s", message)
        print(f"{APP_NAME}: {message}", file=sys.stderr)
        self.finish(EXIT_FAILED)

    def stop_workers(self, timeout_ms: int = 10_000) -> None:
        """Cancel and wait for every background operation (call again after the event loop)."""
        self.ops.shutdown(timeout_ms)
        for ops in self._window_ops:
            try:
                ops.shutdown(timeout_ms)
            except RuntimeError:  # its window, and with it the helper, is already deleted
                continue

    def finish(self, code: int) -> None:
        """Close everything this start-up opened and report the exit code once."""
        if self.exit_code is not None:
            return
        self.exit_code = code
        self._drop_dialog()
        if self.window is not None:
            window, self.window = self.window, None
            window.discard_unsaved_changes()  # it was asked already, or cannot be now
            window.blockSignals(True)
            window.close()
        if self.shell is not None:
            shell, self.shell = self.shell, None
            shell.drop_workspace()
            shell.blockSignals(True)
            shell.close()
        self.stop_workers()
        self._stop_jobs()  # before the database closes: a run in progress finishes first
        if self.stats is not None:
            self.stats.close()
        if self._owns_clinic and self.clinic is not None:
            self.clinic.close()
        if self.lock is not None:
            self.lock.release()
        self.finished.emit(code)
