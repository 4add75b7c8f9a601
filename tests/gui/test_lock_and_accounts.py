"""The shell's account safety: the idle lock, a disabled account signed out, a forced
password change, and the administrator's Users page."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QTextEdit,
    QWidget,
)

from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.people import accounts, users
from hms_desktop.services.safety import audit
from hms_desktop.ui.shell.startup import Startup
from tests import factories as f
from tests.gui.test_shell import WAIT, _login, _sign_in_page, startup  # noqa: F401 - fixture

PATIENT = "Zelda Quistgaard"
TYPED = "Yorick Unsaved-Input"


def _visible_texts() -> list[str]:
    """Every text a person could read on screen now: window titles, labels, fields,
    buttons, and the cells of visible tables."""
    texts: list[str] = []
    for widget in QApplication.allWidgets():
        if not widget.isVisible():
            continue
        if widget.isWindow():
            texts.append(widget.windowTitle())
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        elif isinstance(widget, QTextEdit):
            texts.append(widget.toPlainText())
        elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                for column in range(model.columnCount()):
                    texts.append(str(model.index(row, column).data() or ""))
    return texts


def _shows(name: str) -> bool:
    return any(name in text for text in _visible_texts())


def _sign_in(qtbot, startup: Startup, username: str) -> QWidget:  # noqa: F811
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT) as shown:
        _login(qtbot, startup, username, f.PASSWORD)
    window = shown.args[0]
    qtbot.waitUntil(lambda: not window.ops.busy, timeout=WAIT)
    return window


def _desk_with_a_patient_and_a_typed_form(qtbot, sqlite_clinic, startup):  # noqa: F811
    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    accounts.create_user(sqlite_clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
    f.patient(sqlite_clinic, PATIENT)
    startup.start()
    window = _sign_in(qtbot, startup, "desk")
    window.admin_tab.show_page("patients")
    qtbot.waitUntil(lambda: _shows(PATIENT), timeout=WAIT)  # the list names the patient
    dialog = window.admin_tab.patients.on_register()
    qtbot.waitUntil(lambda: dialog.isVisible(), timeout=WAIT)
    qtbot.keyClicks(dialog.name, TYPED)
    dialog.setWindowTitle(f"Register {PATIENT}")  # a title naming a patient must hide too
    return window, dialog


def test_the_idle_lock_hides_patient_data_and_unlock_restores_the_input(
    qtbot,
    sqlite_clinic,
    startup,  # noqa: F811
) -> None:
    window, dialog = _desk_with_a_patient_and_a_typed_form(qtbot, sqlite_clinic, startup)
    shell = startup.shell
    assert shell is not None and shell.idle is not None
    # The clinic's idle time (5 minutes by default) is the timer's interval.
    assert shell.idle.timer.interval() == 5 * 60_000 and shell.idle.timer.isActive()
    assert _shows(PATIENT) and _shows(TYPED)
    shell.idle.timer.setInterval(30)  # the fake idle time: no key pressed for 30 ms
    shell.idle.timer.start()
    qtbot.waitUntil(lambda: shell.locked, timeout=WAIT)
    shell.idle.timer.setInterval(5 * 60_000)  # back to the clinic's time for what follows
    assert not shell.idle.timer.isActive()  # no second lock while locked
    assert shell.stack.currentWidget() is shell.lock_screen
    assert not _shows(PATIENT) and not _shows(TYPED)
    assert PATIENT not in shell.windowTitle() and "desk" not in shell.windowTitle()
    assert not dialog.isVisible()
    # A wrong password keeps it locked.
    qtbot.keyClicks(shell.lock_screen.password, "not-my-password")
    qtbot.mouseClick(shell.lock_screen.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shell.lock_screen.error.isVisible(), timeout=WAIT)
    assert shell.locked and not _shows(PATIENT)
    shell.lock_screen.password.clear()
    qtbot.keyClicks(shell.lock_screen.password, f.PASSWORD)
    qtbot.mouseClick(shell.lock_screen.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shell.locked, timeout=WAIT)
    # Everything as it was: the dialog with the typed name, the list, the title.
    assert dialog.isVisible() and dialog.name.text() == TYPED
    assert shell.stack.currentWidget() is window
    assert shell.windowTitle() == window.windowTitle()
    assert shell.idle.timer.isActive()
    qtbot.waitUntil(lambda: not startup.ops.busy, timeout=WAIT)
    actions = [
        e.action for e in audit.list_entries(sqlite_clinic, SYSTEM, action_prefix="session.")
    ]
    assert sorted(actions) == ["session.lock", "session.unlock"]
    dialog.reject()


def test_ctrl_l_locks_and_someone_else_signs_in_after_a_notice(
    qtbot,
    sqlite_clinic,
    startup,  # noqa: F811
) -> None:
    _desk_with_a_patient_and_a_typed_form(qtbot, sqlite_clinic, startup)
    shell = startup.shell
    assert shell is not None
    shell.lock_action.trigger()  # Ctrl+L
    assert shell.locked and not _shows(TYPED)
    qtbot.mouseClick(shell.lock_screen.switch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    page = _sign_in_page(startup)
    assert page is not None and page.error.isVisible()
    assert "desk was closed; their unsaved input was discarded" in page.error.text()
    assert not shell.locked and shell.idle is None
    # The next person works in the same window; nothing of the form is left.
    other = _sign_in(qtbot, startup, "boss")
    assert not _shows(TYPED)
    assert other is startup.window


def test_a_disabled_account_is_signed_out_at_its_next_action(
    qtbot,
    sqlite_clinic,
    startup,  # noqa: F811
) -> None:
    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    desk_id = accounts.create_user(sqlite_clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
    startup.start()
    window = _sign_in(qtbot, startup, "desk")
    users.set_active(sqlite_clinic, SYSTEM, desk_id, False)  # by an administrator elsewhere
    window.admin_tab.show_page("patients")  # the next action reads the patient list
    qtbot.waitUntil(lambda: _sign_in_page(startup) is not None, timeout=WAIT)
    page = _sign_in_page(startup)
    assert page is not None and "disabled" in page.error.text()


def test_a_reset_password_is_changed_before_the_workspace_opens(
    qtbot,
    sqlite_clinic,
    startup,  # noqa: F811
) -> None:
    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    desk_id = accounts.create_user(sqlite_clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
    users.reset_password(sqlite_clinic, SYSTEM, desk_id, "temporary-pw-1")
    startup.start()
    _login(qtbot, startup, "desk", "temporary-pw-1")
    qtbot.waitUntil(lambda: startup.new_password_dialog is not None, timeout=WAIT)
    dialog = startup.new_password_dialog
    assert startup.window is None  # no workspace before the new password
    dialog.current.setText("temporary-pw-1")
    dialog.new.setText("my-own-password-1")
    dialog.repeat.setText("my-own-password-1")
    with qtbot.waitSignal(startup.main_window_shown, timeout=WAIT):
        dialog.buttons.accepted.emit()
    assert not accounts.login(sqlite_clinic, "desk", "my-own-password-1").must_change_password


def test_the_users_page_lists_disables_enables_and_unlocks(
    qtbot,
    sqlite_clinic,
    startup,  # noqa: F811
) -> None:
    accounts.create_first_admin(sqlite_clinic, "boss", f.PASSWORD)
    accounts.create_user(sqlite_clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
    startup.start()
    window = _sign_in(qtbot, startup, "boss")
    tab = window.admin_tab
    tab.show_page("users")
    page = tab.users
    qtbot.waitUntil(lambda: page is not None and page.model.rowCount() == 2, timeout=WAIT)
    rows = {r.username: r for r in page.model.rows}
    assert rows["boss"].last_login_at is not None and rows["desk"].state == "active"
    page.table.view.selectRow([r.username for r in page.model.rows].index("desk"))
    assert page.disable_button.isEnabled() and not page.enable_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.disable_button.click()
    assert page.selected() is not None and page.selected().state == "disabled"
    assert page.enable_button.isEnabled()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.enable_button.click()
    assert page.selected().state == "active"
    dialog = page.on_add()
    dialog.username.setText("nurse")
    dialog.password.setText("long-enough-pw")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        dialog.buttons.accepted.emit()
    assert "nurse" in [r.username for r in page.model.rows]
