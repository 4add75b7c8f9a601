"""The lead's wiring: the job scheduler, its bridge, the Jobs and Audit log pages, Tools."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from hms_desktop.jobs.runner import JobEvent
from hms_desktop.jobs.scheduler import ClinicScheduler
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.people import accounts
from hms_desktop.services.records.stats import StatsService
from hms_desktop.ui.common.job_bridge import JobBridge
from hms_desktop.ui.shell.main_window import MainWindow
from hms_desktop.ui.shell.startup import EXIT_OK, StartOptions, Startup
from tests import factories as f
from tests.jobs.helpers import scheduler_threads, wait_until

WAIT = 20_000


@pytest.fixture
def jobs(sqlite_clinic):
    """A running scheduler and its bridge, as the start-up makes them."""
    bridge = JobBridge(use_tray=False)
    scheduler = ClinicScheduler(sqlite_clinic, on_event=bridge.post)
    scheduler.start()
    yield scheduler, bridge
    scheduler.shutdown(wait=True)
    bridge.close()
    bridge.deleteLater()
    assert scheduler_threads() == []


def _window(qtbot, clinic, role: str, jobs) -> MainWindow:
    accounts.create_first_admin(clinic, "boss", f.PASSWORD)
    if role == "receptionist":
        accounts.create_user(clinic, SYSTEM, "desk", f.PASSWORD, "receptionist")
    actor = accounts.login(clinic, "boss" if role == "admin" else "desk", f.PASSWORD)
    scheduler, bridge = jobs
    window = MainWindow(clinic, actor, StatsService(clinic), scheduler=scheduler, bridge=bridge)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()  # shortcuts reach only the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    return window


def test_jobs_page_is_built_on_demand_and_hears_the_scheduler(qtbot, sqlite_clinic, jobs) -> None:
    window = _window(qtbot, sqlite_clinic, "admin", jobs)
    admin = window.admin_tab
    assert admin.jobs is None  # not built until opened: the scheduler's code stays out of start-up
    assert admin.TITLES[-3:] == ("Jobs", "Audit log", "Users")
    with qtbot.waitSignal(window.statusBar().messageChanged, timeout=WAIT):
        jobs[1].post(
            JobEvent("finished", "reminders", "2026-06-15", "Appointment reminders", "3 sent")
        )
    assert window.statusBar().currentMessage() == "3 sent"
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.AltModifier)
    assert admin.current_page == "jobs" and admin.jobs is not None
    qtbot.waitUntil(lambda: admin.jobs.snapshot is not None, timeout=WAIT)
    names = [j.name for j in admin.jobs.snapshot.jobs]
    assert "reminders" in names and "monthly-report" in names
    # A job's event now reaches the panel too (it reloads on it).
    with qtbot.waitSignal(admin.jobs.refreshed, timeout=WAIT):
        jobs[1].post(
            JobEvent("finished", "reminders", "2026-06-15", "Appointment reminders", "done")
        )
    with qtbot.waitSignal(admin.jobs.refreshed, timeout=WAIT):
        qtbot.keyClick(window, Qt.Key.Key_F5)  # the window's Refresh reaches the page
    window.close()


def test_audit_page_answers_the_windows_ctrl_f_and_f5(qtbot, sqlite_clinic, jobs) -> None:
    window = _window(qtbot, sqlite_clinic, "admin", jobs)
    admin = window.admin_tab
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.AltModifier)
    assert admin.current_page == "audit" and admin.audit is not None
    qtbot.waitUntil(lambda: admin.audit.model.rowCount() > 0, timeout=WAIT)  # the log-ins
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert admin.audit.search_box.hasFocus()
    with qtbot.waitSignal(admin.audit.loaded, timeout=WAIT):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    # Elsewhere Ctrl+F still finds a patient.
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert admin.current_page == "patients"
    window.close()


def test_the_front_desk_has_jobs_but_no_audit_log(qtbot, sqlite_clinic, jobs) -> None:
    window = _window(qtbot, sqlite_clinic, "receptionist", jobs)
    assert window.admin_tab.PAGES[-1] == "jobs" and window.admin_tab.audit is None
    tools = [a.text() for a in window.tools_menu.actions() if not a.isSeparator()]
    assert tools == ["&Export appointments…"]  # backups hold every record: admins only
    window.close()


def test_the_start_up_runs_the_jobs_and_stops_them_on_quit(qtbot, tmp_path) -> None:
    from hms_desktop.config import Settings

    url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    settings = Settings(database_url=url)
    startup = Startup(settings, StartOptions(database_file=tmp_path / "own.sqlite3"))
    startup.start()
    qtbot.waitUntil(lambda: startup.scheduler is not None, timeout=WAIT)
    assert startup.scheduler.running
    wait_until(lambda: scheduler_threads(), what="the scheduler's thread")
    with qtbot.waitSignal(startup.finished, timeout=WAIT) as done:
        startup.finish(EXIT_OK)
    assert done.args == [EXIT_OK]
    assert startup.scheduler is None and scheduler_threads() == []
    for widget in QApplication.topLevelWidgets():
        widget.close()
