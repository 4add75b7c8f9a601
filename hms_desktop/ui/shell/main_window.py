"""The main window: role-based tabs, menus, shortcuts and the status bar.

It only builds and wires components (after qutebrowser's main window): the tabs
do the work, and the window reaches them through a few optional methods
(``refresh``, ``new_patient``, ``find_patient``, ``book_appointment``,
``patient_registered``).
The Tools menu is where the lead wires exports, jobs, the audit log and backups.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QTabWidget, QWidget

from hms_desktop import APP_NAME, __version__, config
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.common.change_relay import ChangeRelay
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.common.operations import Operations
from hms_desktop.ui.common.screen_fit import size_window
from hms_desktop.ui.common.status_bar import ElidingStatusBar

log = logging.getLogger(__name__)

ROLE_LABELS = {
    "admin": "Administrator",
    "receptionist": "Front desk",
    "doctor": "Doctor",
    "patient": "Patient",
}


def tabs_for_role(role: str) -> tuple[str, ...]:
    """The tabs a role sees, in order."""
    if role in ("admin", "receptionist"):
        return ("Admin", "Book", "Patient", "Desk")
    if role == "doctor":
        return ("Doctor", "Waiting room")
    return ("Patient",)


class MainWindow(QMainWindow):
    """One signed-in user's window. Emits :attr:`logged_out` or :attr:`quit_requested`."""

    logged_out = Signal()
    quit_requested = Signal()

    def __init__(
        self,
        clinic: Clinic,
        actor: Actor,
        stats: StatsService,
        parent: QWidget | None = None,
        *,
        scheduler: Any = None,
        bridge: Any = None,
    ) -> None:
        """``scheduler`` and ``bridge`` are the application's job scheduler and its bridge
        to the UI thread (both outlive this window; None where no jobs run)."""
        super().__init__(parent)
        self.clinic, self.actor, self.stats = clinic, actor, stats
        self.scheduler, self.bridge = scheduler, bridge
        self.ops = Operations(self)
        self.ops.unhandled_error.connect(self._on_unhandled_error)
        #: Why the user was signed out without asking (shown on the sign-in page).
        self.sign_out_notice = ""
        self.ops.signed_out.connect(self.sign_out_now)
        self.relay = ChangeRelay(clinic, self)
        self._leaving = False
        #: Close without asking about unsaved changes (after "Discard", or when the
        #: application ends for another reason).
        self._discard = False
        #: The "discard unsaved changes?" question while it is open (tests answer it).
        self.leave_question: QMessageBox | None = None
        self.setWindowTitle(
            f"{APP_NAME} — {actor.label} ({ROLE_LABELS.get(actor.role, actor.role)})"
        )
        size_window(self, 1280, 800, 1024, 640)  # within a 1024x768 screen, frame and all

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.setObjectName("mainTabs")
        self.setCentralWidget(self.tabs)
        self.admin_tab: Any = None
        self.doctor_tab: Any = None
        self.patient_tab: Any = None
        self.desk_tab: Any = None
        self.book_tab: Any = None
        for name in tabs_for_role(actor.role):
            widget = self._build_tab(name)
            self.tabs.addTab(widget, name)
        self.relay.changed.connect(self._on_changes)
        if self.patient_tab is not None and self.book_tab is not None:
            # One current patient at the desk: chosen on the Patient tab, the book books
            # for them too (the tabs never import each other; they meet here).
            self.patient_tab.patient_changed.connect(self.book_tab.use_patient)
        if self.doctor_tab is not None and self.desk_tab is not None:
            # A doctor calls a patient in from the waiting room: their book goes to that visit.
            self.desk_tab.called_in.connect(self.doctor_tab.follow_visit)

        self._build_menus()
        self._add_tools()
        self._build_status_bar()
        if bridge is not None:
            bridge.status_message.connect(self.show_message)
            bridge.problems_changed.connect(self.jobs_label.setText)
            self.jobs_label.setText(bridge.problems)
            if self.admin_tab is not None:
                bridge.event_received.connect(self.admin_tab.on_job_event)
        self.tabs.currentChanged.connect(self._sync_shortcuts)
        self.tabs.currentChanged.connect(self._focus_shown_tab)
        self._sync_shortcuts()
        self.ops.busy_changed.connect(self._on_busy)

    # --- tabs -----------------------------------------------------------------------------
    def _build_tab(self, name: str) -> QWidget:
        if name == "Admin":
            from hms_desktop.ui.admin.admin_tab import AdminTab

            self.admin_tab = AdminTab(
                self.clinic, self.actor, self.ops, self.stats, self, scheduler=self.scheduler
            )
            self.admin_tab.status_message.connect(self.show_message)
            return self.admin_tab
        if name == "Book":
            from hms_desktop.ui.booking.book.view import BookView

            self.book_tab = BookView(self.clinic, self.actor, self.ops, self)
            self.book_tab.status_message.connect(self.show_message)
            return self.book_tab
        if name == "Doctor":
            from hms_desktop.ui.doctor.doctor_tab import DoctorTab

            self.doctor_tab = DoctorTab(self.clinic, self.actor, self.ops, self)
            self.doctor_tab.status_message.connect(self.show_message)
            return self.doctor_tab
        if name in ("Desk", "Waiting room"):
            from hms_desktop.ui.booking.desk_panel import DeskPanel

            self.desk_tab = DeskPanel(self.clinic, self.actor, self.ops, self)
            self.desk_tab.status_message.connect(self.show_message)
            return self.desk_tab
        from hms_desktop.ui.patient.patient_tab import PatientTab

        self.patient_tab = PatientTab(self.clinic, self.actor, self.ops, self)
        self.patient_tab.status_message.connect(self.show_message)
        return self.patient_tab

    @Slot()
    def _sync_shortcuts(self) -> None:
        # The Patient tab has its own Ctrl+F and Ctrl+B while it is shown; two actions on one
        # key would make Qt run neither, so the window's actions give way there.
        on_patient_tab = (
            self.patient_tab is not None and self.tabs.currentWidget() is self.patient_tab
        )
        for action, keys in self._tab_sensitive:
            action.setShortcut(QKeySequence() if on_patient_tab else QKeySequence(keys))
        bar = self.menuBar()
        for tab, menu in self._tab_menus:
            shown = self.tabs.currentWidget() is tab
            action = menu.menuAction()
            action.setVisible(shown)
            # Out of the bar while hidden: Qt keeps a hidden menu's Alt+letter live, and
            # the Patient tab's "Boo&king" made the Desk's Alt+K (Check in) only move the
            # focus. Back in its place (before Tools and Help) when its tab is shown.
            if shown and action not in bar.actions():
                bar.insertAction(self._menus_after_tabs(), action)
            elif not shown and action in bar.actions():
                bar.removeAction(action)

    def _menus_after_tabs(self) -> QAction:
        """The menu bar's entry the tabs' own menus go before: Tools if shown, else Help."""
        tools = self.tools_menu.menuAction()
        return tools if tools in self.menuBar().actions() else self.help_menu.menuAction()

    @Slot()
    def _focus_shown_tab(self) -> None:
        # A tab shown by its shortcut or a click gets the keyboard where it works
        # (the book: its grid's current cell), not the tab bar.
        focus_first = getattr(self.tabs.currentWidget(), "focus_first", None)
        if callable(focus_first):
            focus_first()

    def tab_names(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    def _call_tab(self, tab: Any, method: str) -> bool:
        fn = getattr(tab, method, None)
        if tab is None or not callable(fn):
            return False
        self.tabs.setCurrentWidget(tab)
        fn()
        return True

    @Slot(object)
    def _on_changes(self, topics: frozenset[str]) -> None:
        for tab in (
            self.admin_tab,
            self.book_tab,
            self.doctor_tab,
            self.patient_tab,
            self.desk_tab,
        ):
            handler = getattr(tab, "on_changes", None)
            if callable(handler):
                handler(topics)

    # --- menus ----------------------------------------------------------------------------
    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Any,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.settings_action = self._action(
            file_menu, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences
        )
        if not self.settings_action.shortcut().toString():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.password_action = self._action(file_menu, "Change &password…", self.change_password)
        file_menu.addSeparator()
        self.logout_action = self._action(file_menu, "&Log out", self.log_out, "Ctrl+Shift+L")
        self.quit_action = self._action(file_menu, "&Quit", self.quit, "Ctrl+Q")

        staff = self.actor.is_staff
        self._tab_sensitive: list[tuple[QAction, str]] = []
        # A patient books from the Patient tab's own Booking menu; staff get these too.
        if staff:
            patients_menu = bar.addMenu("&Patients")
            self.new_patient_action = self._action(
                patients_menu, "&New patient…", self.new_patient, "Ctrl+N"
            )
            self.find_patient_action = self._action(
                patients_menu, "&Find patient…", self.find_patient, "Ctrl+F"
            )
            self.book_action = self._action(
                patients_menu, "&Book appointment…", self.book_appointment, "Ctrl+B"
            )
            self._tab_sensitive.append((self.book_action, "Ctrl+B"))
            self._tab_sensitive.append((self.find_patient_action, "Ctrl+F"))

        view_menu = bar.addMenu("&View")
        self.refresh_action = self._action(view_menu, "&Refresh", self.refresh, "F5")
        view_menu.addSeparator()
        for index in range(self.tabs.count()):
            self._action(
                view_menu,
                f"{self.tabs.tabText(index)} tab",
                lambda _c=False, i=index: self.tabs.setCurrentIndex(i),
                f"Ctrl+{index + 1}",
            )
        if self.admin_tab is not None:
            view_menu.addSeparator()
            for number, (page, title) in enumerate(
                zip(self.admin_tab.PAGES, self.admin_tab.TITLES, strict=True), 1
            ):
                self._action(
                    view_menu,
                    f"Admin: {title}",
                    lambda _c=False, p=page: self._show_admin_page(p),
                    f"Alt+{number}",
                )

        # The Doctor and Patient tabs' own actions, in a menu shown only while the tab is:
        # a shown menu keeps its shortcuts live, and the Patient tab's Ctrl+F must not
        # compete with the Admin tab's.
        self._tab_menus: list[tuple[QWidget, QMenu]] = []
        for tab, title in ((self.doctor_tab, "V&isits"), (self.patient_tab, "Boo&king")):
            tab_actions = getattr(tab, "actions", None)
            if tab is None or not callable(tab_actions):
                continue
            menu = bar.addMenu(title)
            for action in tab_actions():
                menu.addAction(action)
            self._tab_menus.append((tab, menu))

        #: Exports, background jobs, the audit log and backups are added here by their owners.
        # Not in the bar until it has an action (see add_tool_action): a hidden menu's
        # Alt+T would stay live and take turns with the Doctor tab's "&Today".
        self.tools_menu = QMenu("&Tools", self)
        self.tools_menu.menuAction().setVisible(False)

        self.help_menu = help_menu = bar.addMenu("&Help")
        self.about_action = self._action(help_menu, f"&About {APP_NAME}", self.show_about, "F1")

    def _add_tools(self) -> None:
        """Exports and backups: what the front desk and the administrator do now and then."""
        if self.actor.is_staff:
            self.add_tool_action(
                self._tool("&Export appointments…", self.export_appointments, "Ctrl+Shift+A")
            )
        if self.actor.is_admin:
            self.tools_menu.addSeparator()
            self.add_tool_action(self._tool("&Back up the database…", self.back_up, ""))
            self.add_tool_action(self._tool("&Restore from a backup…", self.restore, ""))

    def _tool(self, text: str, slot: Any, keys: str) -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    @Slot()
    def export_appointments(self) -> None:
        from hms_desktop.ui.exports.export_dialog import export_appointments

        export_appointments(self, self.clinic, self.actor, self.ops)

    @Slot()
    def back_up(self) -> None:
        from hms_desktop.ui.admin.backup_actions import backup_now

        backup_now(self, self.clinic, self.actor, self.ops)

    @Slot()
    def restore(self) -> None:
        from hms_desktop.ui.admin.backup_actions import restore_from

        restore_from(self, self.clinic, self.actor, self.ops)

    def add_tool_action(self, action: QAction) -> None:
        """Add an action to the Tools menu (shown once it has one)."""
        self.tools_menu.addAction(action)
        tools = self.tools_menu.menuAction()
        tools.setVisible(True)
        if tools not in self.menuBar().actions():
            self.menuBar().insertAction(self.help_menu.menuAction(), tools)

    def _build_status_bar(self) -> None:
        #: Messages end in "…" where they do not fit (the whole text in its tooltip).
        self.status = status = ElidingStatusBar(self)
        self.setStatusBar(status)
        self.busy_label = QLabel("", self)
        self.busy_label.setObjectName("muted")
        # Room for the word from the start: the bar does not shift each time work starts,
        # and the word is never shown squeezed before the bar's layout catches up.
        self.busy_label.setMinimumWidth(
            self.busy_label.fontMetrics().horizontalAdvance("Working…") + 8
        )
        # A job that failed for good stays in view until it runs again (Admin > Jobs).
        self.jobs_label = QLabel("", self)
        self.jobs_label.setObjectName("jobProblems")
        self.jobs_label.setStyleSheet("color: #b42318;")
        self.jobs_label.setToolTip("Background jobs that failed: see Admin > Jobs")
        who = QLabel(f"{self.actor.label} · {ROLE_LABELS.get(self.actor.role, self.actor.role)}")
        location = self.clinic.db.display_location
        # A file shows by name (the full path is in the tooltip and in Help > About).
        where = QLabel(location if "://" in location else Path(location).name, self)
        where.setObjectName("muted")
        where.setToolTip(f"The clinic database: {location}")
        status.addPermanentWidget(self.jobs_label)
        status.addPermanentWidget(self.busy_label)
        # Said for as long as the window is open: this PC does not follow the clinic here.
        overrides = self.clinic.overrides
        self.override_note = QLabel(
            "This PC overrides clinic settings: "
            + ", ".join(f"{key} ({var})" for key, var in sorted(overrides.items())),
            self,
        )
        self.override_note.setObjectName("overrideNote")
        self.override_note.setToolTip(
            "Set in this PC's environment by an operator; other PCs use the clinic's values."
        )
        self.override_note.setVisible(bool(overrides))
        status.addPermanentWidget(self.override_note)
        status.addPermanentWidget(who)
        status.addPermanentWidget(where)
        self.show_message(f"Welcome, {self.actor.label}.")

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.status.say(text, 8000)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.busy_label.setText("Working…" if busy else "")

    @Slot(str, object)
    def _on_unhandled_error(self, label: str, err: BaseException) -> None:
        show_error(self, label or APP_NAME, err)

    # --- actions --------------------------------------------------------------------------
    def _show_admin_page(self, page: str) -> None:
        self.tabs.setCurrentWidget(self.admin_tab)
        self.admin_tab.show_page(page)

    @Slot()
    def new_patient(self) -> Any:
        """Ctrl+N: the new-patient form over the screen in use, which stays where it was
        (a receptionist registering a walk-in at the Desk was taken to Admin > Patients).

        On Admin > Patients the page's own Register patient… opens it, and the list then
        shows the new patient. Anywhere else the tab on screen is told the new patient's
        id (its optional ``patient_registered``): the Desk offers them for the walk-in.
        Returns the form (None without an Admin tab: only the desk and administrators
        register patients).
        """
        admin = self.admin_tab
        if admin is None:
            return None
        tab = self.tabs.currentWidget()
        on_admin = self.tabs.currentIndex() == self.tabs.indexOf(admin)
        if on_admin and admin.current_page == "patients":
            return admin.new_patient()
        from hms_desktop.ui.admin.patient_form import PatientFormDialog

        dialog = PatientFormDialog(self.clinic, self.actor, self.ops, None, parent=self)
        dialog.saved.connect(lambda patient_id: self._on_patient_registered(tab, patient_id))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_patient_registered(self, tab: QWidget, patient_id: int) -> None:
        self.show_message(f"Patient {patient_id} registered.")
        registered = getattr(tab, "patient_registered", None)
        if callable(registered):
            registered(patient_id)

    @Slot()
    def find_patient(self) -> None:
        self._call_tab(self.admin_tab, "find_patient")

    @Slot()
    def book_appointment(self) -> None:
        """Go to the Patient tab's Book page, the cursor in the finder (its text selected)."""
        self._call_tab(self.patient_tab, "start_booking")

    @Slot()
    def refresh(self) -> None:
        tab = self.tabs.currentWidget()
        fn = getattr(tab, "refresh", None)
        if callable(fn):
            fn()
            self.show_message("Refreshed.")

    @Slot()
    def open_settings(self) -> None:
        from hms_desktop.ui.shell.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.clinic, self.actor, self.stats, self.ops, self)
        dialog.saved.connect(lambda _s: self.show_message("Settings saved."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    @Slot()
    def show_about(self) -> None:
        from PySide6 import __version__ as qt_version

        text = (
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Clinic front-desk management: patients, appointments, treatments.</p>"
            f"<p><b>Database:</b> {self.clinic.db.display_location}<br>"
            f"<b>Log file:</b> {config.log_file()}<br>"
            f"<b>Settings:</b> {config.config_dir() / config.SETTINGS_FILE_NAME}<br>"
            f"<b>Qt for Python:</b> {qt_version}</p>"
        )
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}", text, parent=self)
        box.setObjectName("aboutBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def unsaved_changes(self) -> list[str]:
        """What the tabs hold that is not saved yet, one phrase each."""
        found: list[str] = []
        for tab in (self.admin_tab, self.doctor_tab, self.patient_tab):
            fn = getattr(tab, "unsaved_changes", None)
            if callable(fn):
                found.extend(fn())
        return found

    def discard_unsaved_changes(self) -> None:
        """Let the next close go ahead without asking (the application is ending)."""
        self._discard = True

    def _ask_to_leave(self, verb: str, then: Any) -> bool:
        """True to go ahead now; else ask (once) and run ``then`` after "Discard"."""
        changes = [] if self._discard else self.unsaved_changes()
        if not changes:
            return True
        if self.leave_question is None:
            from hms_desktop.ui.common.messages import confirm

            def discard() -> None:
                self._discard = True
                then()

            self.leave_question = confirm(
                self,
                "Unsaved changes",
                f"Not saved yet: {'; '.join(changes)}.\n\nDiscard them and {verb}?",
                discard,
                yes_text=f"Discard and {verb}",
                no_text="Keep editing",
            )
            self.leave_question.finished.connect(self._forget_leave_question)
        return False

    def _forget_leave_question(self) -> None:
        self.leave_question = None

    @Slot()
    def change_password(self) -> Any:
        """The signed-in user chooses a new password (the service checks the current one)."""
        from hms_desktop.services.people import accounts
        from hms_desktop.ui.common.password_dialog import PasswordDialog

        clinic, actor = self.clinic, self.actor
        dialog = PasswordDialog(
            self,
            self.ops,
            "Change your password",
            f"A new password for {actor.username}: at least {accounts.MIN_PASSWORD_LENGTH} "
            "characters.",
            lambda current, new: accounts.change_password(clinic, actor, current, new),
        )
        dialog.saved.connect(lambda: self.show_message("Password changed."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    @Slot(str)
    def sign_out_now(self, notice: str) -> None:
        """Sign out at once, unsaved input discarded (the account was disabled).

        Deferred to the event loop: the call may come from inside a list's loading."""
        if self._leaving or self.sign_out_notice:
            return
        self.sign_out_notice = notice
        self._discard = True
        QTimer.singleShot(0, self, self.log_out)

    @Slot()
    def log_out(self) -> None:
        if not self._ask_to_leave("log out", self.log_out):
            return
        self._leaving = True
        self.close()
        self.logged_out.emit()

    @Slot()
    def quit(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._ask_to_leave("quit", self.close):
            event.ignore()
            return
        self.relay.close()
        if self.bridge is not None:  # the bridge lives on; this window does not
            self.bridge.status_message.disconnect(self.show_message)
            self.bridge.problems_changed.disconnect(self.jobs_label.setText)
            if self.admin_tab is not None:
                self.bridge.event_received.disconnect(self.admin_tab.on_job_event)
            self.bridge = None
        for tab in (self.admin_tab, self.doctor_tab, self.patient_tab):
            closer = getattr(tab, "shutdown", None)
            if callable(closer):
                closer()
        if not self.ops.shutdown():
            log.warning("background work did not stop in time")
        super().closeEvent(event)
        if not self._leaving:
            self.quit_requested.emit()
