"""The desktop shell: start-up, first run, log-in per role, log-out, settings, quit-after-show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from sqlalchemy import create_engine, text

from hms_desktop import __version__, config
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.people import accounts
from hms_desktop.services.safety import audit
from hms_desktop.ui.shell.first_run import FirstRunDialog
from hms_desktop.ui.shell.main_window import MainWindow
from hms_desktop.ui.shell.sign_in import SignInPage
from hms_desktop.ui.shell.startup import EXIT_FAILED, EXIT_OK, StartOptions, Startup
from tests import factories as f

ADMIN = Actor(user_id=None, username="boss", role="admin")

ROOT = Path(__file__).resolve().parents[2]
#: Generous: the test machine is shared and often busy.
WAIT = 20_000


@pytest.fixture
def startup(qtbot, sqlite_clinic):
    """A start-up on the test clinic; closed (with its windows) at the end."""
    s = Startup(sqlite_clinic.pc, clinic=sqlite_clinic)
    yield s
    s.finish(EXIT_OK)
    qtbot.waitUntil(lambda: not s.ops.busy, timeout=WAIT)


def _sign_in_page(s: Startup) -> SignInPage | None:
    """The sign-in page when it is the window's current, ready page."""
    if s.shell is None or s.shell.stack.currentWidget() is not s.shell.sign_in:
        return None
    page = s.shell.sign_in
    return page if page.is_ready and page.isVisible() else None


def _login(qtbot, s: Startup, username: str, password: str) -> None:
    qtbot.waitUntil(lambda: _sign_in_page(s) is not None, timeout=WAIT)
    dialog = _sign_in_page(s)
    assert dialog is not None
    dialog.username.clear()
    dialog.password.clear()
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, password)
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)


def _make_user(clinic, role: str) -> str:
    accounts.create_first_admin(clinic, "boss", f.PASSWORD)
    if role == "admin":
        return "boss"
    if role == "receptionist":
        accounts.create_user(clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
        return "desk"
    if role == "doctor":
        f.doctor(clinic, f.department(clinic), "Dr. Grace Hopper", username="grace")
        return "grace"
    f.patient(clinic, "Ada Byron", username="ada")
    return "ada"


@pytest.mark.parametrize(
    ("role", "tabs"),
    [
        ("admin", ["Admin", "Book", "Patient", "Desk"]),
        ("receptionist", ["Admin", "Book", "Patient", "Desk"]),
        ("doctor", ["Doctor", "Waiting room"]),
        ("patient", ["Patient"]),
    ],
)
def test_each_role_sees_its_tabs(qtbot, sqlite_clinic, startup, role, tabs) -> None:
    username = _make_user(sqlite_clinic, role)
    startup.start()
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        _login(qtbot, startup, username, f.PASSWORD)
    window = shown.args[0]
    assert isinstance(window, MainWindow)
    assert window.tab_names() == tabs
    assert window.actor.role == role
    assert startup.dialog is None
    # The workspace took the sign-in page's place in the one window.
    assert startup.shell is not None and startup.shell.stack.currentWidget() is window
    assert startup.shell.windowTitle() == window.windowTitle()
    # The staff-only actions exist only for staff.
    assert hasattr(window, "new_patient_action") == (role in ("admin", "receptionist"))
    menus = [a.text() for a in window.menuBar().actions() if a.isVisible()]
    assert menus == MENUS[role]


MENUS = {
    "admin": ["&File", "&Patients", "&View", "&Tools", "&Help"],
    "receptionist": ["&File", "&Patients", "&View", "&Tools", "&Help"],
    "doctor": ["&File", "&View", "V&isits", "&Help"],
    "patient": ["&File", "&View", "Boo&king", "&Help"],
}


def test_wrong_password_says_so_and_keeps_the_user_name(qtbot, sqlite_clinic, startup) -> None:
    _make_user(sqlite_clinic, "admin")
    startup.start()
    _login(qtbot, startup, "boss", "not-the-password")
    dialog = _sign_in_page(startup)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert dialog.error.text() == "Wrong user name or password."
    assert dialog.username.text() == "boss"
    assert dialog.isVisible() and startup.window is None
    # A second try with the right password gets in.
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT):
        _login(qtbot, startup, "boss", f.PASSWORD)


def test_first_run_creates_the_first_admin(qtbot, sqlite_clinic, startup, monkeypatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # this PC's zone
    assert not accounts.has_admin(sqlite_clinic)
    startup.start()
    qtbot.waitUntil(lambda: isinstance(startup.dialog, FirstRunDialog), timeout=WAIT)
    dialog = startup.dialog
    assert isinstance(dialog, FirstRunDialog)
    # The clinic's zone is asked, offering this PC's own (never a silent UTC).
    assert dialog.timezone.currentText() == "America/New_York"
    qtbot.keyClicks(dialog.clinic_name, "Praxis Mitte")
    # Validated as you type: a short password is flagged at once, the input stays.
    qtbot.keyClicks(dialog.password, "short")
    assert "at least 8" in dialog.field_error("password")
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, f.PASSWORD)
    qtbot.keyClicks(dialog.confirm, f.PASSWORD + "x")
    assert dialog.field_error("confirm") == "The two passwords differ."
    dialog.on_save()
    assert dialog.isVisible() and not dialog.saving  # refused before any save
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.confirm, f.PASSWORD)
    dialog.on_save()
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    assert startup.dialog is None and accounts.has_admin(sqlite_clinic)
    stored = sqlite_clinic.reload_settings()
    assert (stored.timezone, stored.clinic_name) == ("America/New_York", "Praxis Mitte")
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        _login(qtbot, startup, "admin", f.PASSWORD)
    assert shown.args[0].tab_names() == ["Admin", "Book", "Patient", "Desk"]


def test_log_out_returns_to_the_sign_in_page(qtbot, sqlite_clinic, startup) -> None:
    _make_user(sqlite_clinic, "admin")
    startup.start()
    shell = startup.shell
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        _login(qtbot, startup, "boss", f.PASSWORD)
    window = shown.args[0]
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    window.logout_action.trigger()
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    assert startup.exit_code is None  # logging out does not end the application
    assert startup.shell is shell and shell.isVisible()  # the same window all along
    # Ready for the next person: nothing of the last one is left in the fields.
    page = _sign_in_page(startup)
    assert page is not None and page.username.text() == "" and page.password.text() == ""
    assert shell.windowTitle().endswith("Log in")
    qtbot.waitUntil(lambda: shell.stack.count() == 1, timeout=WAIT)  # the workspace is gone
    # The next person signs in in the same window.
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT):
        _login(qtbot, startup, "boss", f.PASSWORD)
    assert shell.stack.currentWidget() is startup.window


def test_patient_registers_from_the_sign_in_page(qtbot, sqlite_clinic, startup) -> None:
    _make_user(sqlite_clinic, "admin")
    startup.start()
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    login = _sign_in_page(startup)
    assert login is not None
    form = login.on_register()
    assert form is not None
    qtbot.keyClicks(form.name, "Mary Shelley")
    qtbot.keyClicks(form.email, "not-an-email")
    assert "not an email address" in form.field_error("email")
    form.email.clear()
    qtbot.keyClicks(form.email, "mary@example.com")
    qtbot.keyClicks(form.username, "mary")
    qtbot.keyClicks(form.password, f.PASSWORD)
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        form.on_save()
    window = shown.args[0]
    assert window.actor.role == "patient" and window.actor.display_name == "Mary Shelley"
    assert window.tab_names() == ["Patient"]


def test_the_window_is_up_at_once_and_a_log_in_typed_meanwhile_runs_when_open(
    qtbot, sqlite_url
) -> None:
    from hms_desktop.services.clinic import open_clinic

    settings = config.Settings(database_url=sqlite_url)
    clinic = open_clinic(settings)
    accounts.create_first_admin(clinic, "boss", f.PASSWORD)
    clinic.close()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    s = Startup(settings, StartOptions(database_file=path))
    try:
        s.start()
        # Shown at once, before the clinic is open: the page says it is opening.
        shell = s.shell
        assert shell is not None and shell.isVisible() and s.clinic is None
        page = shell.sign_in
        assert not page.is_ready and "Opening the clinic database" in page.subtitle.text()
        assert not page.register_button.isEnabled()  # registering needs the clinic
        # The receptionist types and presses Enter before the clinic is open...
        qtbot.keyClicks(page.username, "boss")
        qtbot.keyClicks(page.password, f.PASSWORD)
        with qtbot.waitSignal(s.main_window_shown, timeout=WAIT) as shown:
            qtbot.keyClick(page.password, Qt.Key.Key_Return)
            assert s.clinic is None  # still opening: the log-in waits for it
        # ...and is signed in once it is, in the same window.
        assert shown.args[0].actor.username == "boss"
        assert shell.stack.currentWidget() is shown.args[0]
    finally:
        s.finish(EXIT_OK)
        qtbot.waitUntil(lambda: not s.ops.busy, timeout=WAIT)


def test_closing_the_window_at_sign_in_quits(qtbot, sqlite_clinic, startup) -> None:
    _make_user(sqlite_clinic, "admin")
    startup.start()
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    assert startup.shell is not None
    with qtbot.waitSignal(startup.finished, timeout=WAIT) as done:
        startup.shell.close()
    assert done.args == [EXIT_OK]


@pytest.mark.parametrize("signed_in", [False, True])
def test_ctrl_q_quits_signed_out_and_signed_in(qtbot, sqlite_clinic, startup, signed_in) -> None:
    # One window, one Ctrl+Q at a time: the window's own while signed out, the
    # workspace's File > Quit while signed in (two on one key would make Qt run neither).
    _make_user(sqlite_clinic, "admin")
    startup.start()
    shell = startup.shell
    assert shell is not None
    if signed_in:
        with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT):
            _login(qtbot, startup, "boss", f.PASSWORD)
        qtbot.waitUntil(lambda: not startup.window.ops.busy, timeout=WAIT)
    else:
        qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    with qtbot.waitActive(shell):
        shell.activateWindow()
    focus = QApplication.focusWidget() or shell
    with qtbot.waitSignal(startup.finished, timeout=WAIT) as done:
        qtbot.keyClick(focus, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert done.args == [EXIT_OK]


def test_closing_the_window_while_signed_in_quits(qtbot, sqlite_clinic, startup) -> None:
    _make_user(sqlite_clinic, "admin")
    startup.start()
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT):
        _login(qtbot, startup, "boss", f.PASSWORD)
    assert startup.shell is not None
    with qtbot.waitSignal(startup.finished, timeout=WAIT) as done:
        startup.shell.close()  # the window's close button
    assert done.args == [EXIT_OK]


def test_missing_database_asks_before_creating(qtbot, tmp_path) -> None:
    missing = tmp_path / "nowhere" / "clinic.sqlite3"
    settings = config.Settings(database_url=f"sqlite:///{missing}")
    s = Startup(settings, StartOptions(database_file=missing, confirm_create=True))
    s.start()
    qtbot.waitUntil(lambda: isinstance(s.dialog, QMessageBox), timeout=WAIT)
    box = s.dialog
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert str(missing) in box.text() and "does not exist" in box.text()
    with qtbot.waitSignal(s.finished) as done:
        box.button(QMessageBox.StandardButton.No).click()
    assert done.args == [EXIT_FAILED]
    assert not missing.exists()


def test_newer_schema_gives_a_clear_dialog(qtbot, sqlite_url) -> None:
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    s = Startup(config.Settings(database_url=sqlite_url), StartOptions(database_file=path))
    s.start()
    qtbot.waitUntil(lambda: isinstance(s.dialog, QMessageBox), timeout=WAIT)
    box = s.dialog
    assert isinstance(box, QMessageBox)
    assert "newer version of HMS Desktop" in box.text()
    assert "Traceback" not in box.text()
    # The window behind the message says so too, and cannot sign anyone in.
    assert s.shell is not None and not s.shell.sign_in.is_ready
    assert "could not be opened" in s.shell.sign_in.subtitle.text()
    assert "could not be opened" in s.shell.statusBar().currentMessage()
    with qtbot.waitSignal(s.finished) as done:
        box.button(QMessageBox.StandardButton.Close).click()
    assert done.args == [EXIT_FAILED]
    assert s.lock is not None and not s.lock.held


def test_about_settings_and_tools_menu(qtbot, sqlite_clinic, tmp_path) -> None:
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    actor = accounts.login(sqlite_clinic, "boss", f.PASSWORD)
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, actor, stats)
    qtbot.addWidget(window)
    window.show()
    tools = [a.text() for a in window.tools_menu.actions() if not a.isSeparator()]
    assert tools == ["&Export appointments…", "&Back up the database…", "&Restore from a backup…"]
    window.about_action.trigger()
    about = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "aboutBox")
    assert __version__ in about.text() and str(config.log_file()) in about.text()
    assert sqlite_clinic.db.display_location in about.text()
    about.close()

    window.settings_action.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog))
    assert dialog.database.isReadOnly()
    # The administrator's long form scrolls: the dialog fits a 1024x768 screen.
    assert dialog.sizeHint().height() <= 700, dialog.sizeHint()
    dialog.timezone.lineEdit().selectAll()
    qtbot.keyClicks(dialog.timezone.lineEdit(), "Mars/Olympus")
    assert "unknown time zone" in dialog.field_error("timezone")
    dialog.timezone.setCurrentText("Europe/Berlin")
    dialog.cache_ttl.setValue(60)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()
    saved = json.loads((config.config_dir() / config.SETTINGS_FILE_NAME).read_text())
    assert saved["cache_ttl_seconds"] == 60.0
    assert "database_url" not in saved  # the test's database was not written into the file
    assert "smtp_password" not in saved
    assert sqlite_clinic.pc.cache_ttl_seconds == 60.0
    window.close()
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    stats.close()


def test_quit_after_show_opens_the_demo_clinic_and_exits_0(tmp_path) -> None:
    env = {
        **os.environ,
        "HMS_DATA_DIR": str(tmp_path / "data"),
        "HMS_CONFIG_DIR": str(tmp_path / "config"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, "-m", "hms_desktop.app", "--quit-after-show", "--demo"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    log = (tmp_path / "data" / "logs" / "hms-desktop.log").read_text(encoding="utf-8")
    assert "signed in as admin (admin)" in log  # the main window was reached
    assert (tmp_path / "data" / "demo-clinic.sqlite3").exists()
    remembered = json.loads((tmp_path / "data" / "demo-clinic.sqlite3.accounts.json").read_text())
    assert {a["role"] for a in remembered} >= {"admin", "receptionist", "doctor", "patient"}


def test_a_database_in_use_gives_a_clear_dialog(qtbot, sqlite_url) -> None:
    from hms_desktop.services.safety.instance_lock import InstanceLock

    path = Path(sqlite_url.removeprefix("sqlite:///"))
    with InstanceLock(path):  # as if another HMS Desktop had it open
        s = Startup(config.Settings(database_url=sqlite_url), StartOptions(database_file=path))
        s.start()
        qtbot.waitUntil(lambda: isinstance(s.dialog, QMessageBox), timeout=WAIT)
        box = s.dialog
        assert isinstance(box, QMessageBox)
        assert "already using the clinic database" in box.text()
        assert box.button(QMessageBox.StandardButton.Retry) is not None
        # Retry: the page says it is opening again, and the same message comes back.
        box.button(QMessageBox.StandardButton.Retry).click()
        assert s.shell is not None
        assert "Opening the clinic database" in s.shell.sign_in.subtitle.text()
        qtbot.waitUntil(
            lambda: isinstance(s.dialog, QMessageBox) and s.dialog is not box, timeout=WAIT
        )
        box = s.dialog
        assert isinstance(box, QMessageBox)
        assert "already using the clinic database" in box.text()
        with qtbot.waitSignal(s.finished) as done:
            box.button(QMessageBox.StandardButton.Close).click()
    assert done.args == [EXIT_FAILED]


def test_frequent_actions_work_from_the_keyboard(qtbot, sqlite_clinic) -> None:
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.admin.patient_form import PatientFormDialog

    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    actor = accounts.login(sqlite_clinic, "boss", f.PASSWORD)
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, actor, stats)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    admin = window.admin_tab
    admin.nav.setFocus()  # focus inside the Admin tab: no shortcut may be ambiguous there
    qtbot.keyClick(admin.nav, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert admin.current_page == "patients"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert admin.current_page == "dashboard"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert admin.current_page == "patients"
    assert QApplication.focusWidget() is admin.patients.search
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = admin.patients.findChild(PatientFormDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    booking_menu = dict(window._tab_menus)[window.patient_tab]
    assert not booking_menu.menuAction().isVisible()  # its shortcuts are quiet on the Admin tab
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.patient_tab
    assert booking_menu.menuAction().isVisible()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.patient_tab.picker.search  # the tab's own Ctrl+F
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is admin
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is admin.patients.search
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    window.close()
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    stats.close()


def test_settings_without_a_keyring_keep_the_password_out_and_save_nothing(
    qtbot, sqlite_clinic
) -> None:
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.common.operations import Operations
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    ops = Operations()
    stats = StatsService(sqlite_clinic)
    dialog = SettingsDialog(sqlite_clinic, ADMIN, stats, ops)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.smtp_host, "smtp.example.com")
    qtbot.keyClicks(dialog.smtp_user, "clinic")
    qtbot.keyClicks(dialog.smtp_password, "s3cret-password")
    dialog.on_save()  # the test environment has no keyring (the null backend)
    qtbot.waitUntil(lambda: bool(dialog.field_error("smtp_password")), timeout=WAIT)
    assert "no keyring" in dialog.field_error("smtp_password")
    assert dialog.isVisible() and dialog.smtp_host.text() == "smtp.example.com"
    assert not (config.config_dir() / config.SETTINGS_FILE_NAME).exists()  # nothing half-saved
    assert sqlite_clinic.reload_settings().smtp_host == ""
    dialog.smtp_password.clear()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()
    # The mail server is the clinic's (in its database, audited), not this PC's file.
    assert not (config.config_dir() / config.SETTINGS_FILE_NAME).exists()
    assert sqlite_clinic.settings.smtp_host == "smtp.example.com"
    changes = audit.list_entries(sqlite_clinic, ADMIN, action_prefix="clinic_settings.change")
    assert {json.loads(e.details)["key"] for e in changes} == {"smtp_host", "smtp_user"}
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    ops.shutdown()
    stats.close()


def test_tabs_status_messages_reach_the_status_bar(qtbot, sqlite_clinic) -> None:
    from hms_desktop.services.records.stats import StatsService

    f.patient(sqlite_clinic, "Ada Byron", username="ada")
    actor = accounts.login(sqlite_clinic, "ada", f.PASSWORD)
    stats = StatsService(sqlite_clinic)
    window = MainWindow(sqlite_clinic, actor, stats)
    qtbot.addWidget(window)
    window.show()
    window.patient_tab.status_message.emit("Appointment booked.")
    assert window.statusBar().currentMessage() == "Appointment booked."
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    window.close()
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    stats.close()


def test_settings_from_the_environment_are_not_written_into_the_file(
    qtbot, sqlite_clinic, monkeypatch
) -> None:
    import json

    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.common.operations import Operations
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    # This PC takes its time zone and mail server from the operator's environment.
    sqlite_clinic.environ = {
        "HMS_TIMEZONE": "Asia/Tokyo",
        "HMS_SMTP_HOST": "smtp.from-the-environment.test",
    }
    sqlite_clinic.reload_settings()
    ops = Operations()
    stats = StatsService(sqlite_clinic)
    dialog = SettingsDialog(sqlite_clinic, ADMIN, stats, ops)
    qtbot.addWidget(dialog)
    dialog.show()
    # The window says which clinic values this PC overrides.
    assert dialog.overridden.isVisible()
    assert "timezone (by HMS_TIMEZONE)" in dialog.overridden.text()
    dialog.cache_ttl.setValue(90)  # the one change made here
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()
    saved = json.loads((config.config_dir() / config.SETTINGS_FILE_NAME).read_text())
    assert saved.get("cache_ttl_seconds") == 90.0
    assert "timezone" not in saved and "smtp_host" not in saved
    # Nothing from the environment went into the clinic's database either.
    stored = {v.key: v.stored for v in clinic_settings.show(sqlite_clinic, ADMIN)}
    assert (stored["timezone"], stored["smtp_host"]) == ("Europe/Berlin", "")
    assert sqlite_clinic.settings.smtp_host == "smtp.from-the-environment.test"  # still in use


def test_settings_for_a_non_administrator_are_their_own_preferences_only(
    qtbot, sqlite_clinic
) -> None:
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.ui.common.operations import Operations
    from hms_desktop.ui.shell.settings_dialog import SettingsDialog

    ops = Operations()
    stats = StatsService(sqlite_clinic)
    for actor in (f.RECEPTION, f.doctor_actor(1), f.patient_actor(1)):
        dialog = SettingsDialog(sqlite_clinic, actor, stats, ops)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.is_clinic_editable
        assert not hasattr(dialog, "timezone") and not hasattr(dialog, "smtp_host")
        assert dialog.clinic_values() == {}
        dialog.close()
    dialog = SettingsDialog(sqlite_clinic, f.patient_actor(1), stats, ops)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.cache_ttl.setValue(45)
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.on_save()
    assert sqlite_clinic.pc.cache_ttl_seconds == 45.0
    assert audit.list_entries(sqlite_clinic, ADMIN, action_prefix="clinic_settings.change") == []
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    ops.shutdown()
    stats.close()
    qtbot.waitUntil(lambda: not ops.busy, timeout=WAIT)
    ops.shutdown()
    stats.close()


def test_building_the_demo_clinic_shows_progress_in_the_window_and_keeps_the_typing(
    qtbot, tmp_path
) -> None:
    from PySide6.QtWidgets import QProgressDialog

    path = tmp_path / "demo.sqlite3"
    s = Startup(
        config.Settings(database_url=f"sqlite:///{path}"),
        StartOptions(demo=True, database_file=path),
    )
    try:
        s.start()
        shell = s.shell
        assert shell is not None
        page = shell.sign_in
        qtbot.keyClicks(page.username, "adm")
        qtbot.waitUntil(lambda: "Creating the demo clinic" in page.subtitle.text(), timeout=WAIT)
        assert "Creating the demo clinic" in shell.statusBar().currentMessage()
        qtbot.keyClicks(QApplication.focusWidget() or page.username, "in")
        # No window of its own takes the keyboard from the sign-in page meanwhile.
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        assert windows == [shell]
        assert not any(isinstance(w, QProgressDialog) for w in QApplication.topLevelWidgets())
        qtbot.waitUntil(lambda: page.is_ready, timeout=60_000)
        assert page.username.text() == "admin"
        assert s.exit_code is None
    finally:
        s.finish(EXIT_OK)
        qtbot.waitUntil(lambda: not s.ops.busy, timeout=60_000)


def test_the_window_says_when_this_pc_overrides_a_clinic_setting(
    qtbot, sqlite_clinic, startup
) -> None:
    # An operator's override in this PC's environment (open_clinic passes os.environ).
    sqlite_clinic.environ = {"HMS_SLOT_MINUTES": "15"}
    sqlite_clinic.reload_settings()
    user = _make_user(sqlite_clinic, "receptionist")
    startup.start()
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        _login(qtbot, startup, user, f.PASSWORD)
    window = shown.args[0]
    note = window.override_note
    assert not note.isHidden()
    assert note.text() == "This PC overrides clinic settings: slot_minutes (HMS_SLOT_MINUTES)"
    assert startup.clinic.settings.slot_minutes == 15
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
