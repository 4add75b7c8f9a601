"""The Jobs panel and the job bridge, as real widgets offscreen."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hms_desktop.jobs.runner import JobEvent, deliver, run_job
from hms_desktop.jobs.scheduler import ClinicScheduler
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging.outbox import MAX_ATTEMPTS, backoff
from hms_desktop.services.people import patients
from hms_desktop.ui.admin.jobs_panel import JobsPanel
from hms_desktop.ui.common.job_bridge import JobBridge
from hms_desktop.ui.common.operations import Operations
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on

DAY = date(2026, 6, 16)


@pytest.fixture
def ops() -> Iterator[Operations]:
    o = Operations()
    yield o
    assert o.shutdown()
    o.deleteLater()


def _failed_and_addressless(clinic: Clinic, clock: FakeClock, server: SmtpServer) -> None:
    use_smtp(clinic, server.port)
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept, "Dr. Panel")
    people = [factories.patient(clinic, "Ann Failed"), factories.patient(clinic, "Bo Noemail")]
    row = patients.get_patient(clinic, SYSTEM, people[1])
    patients.edit_patient(clinic, SYSTEM, people[1], patients.PatientForm(full_name=row.full_name))
    book_on(clinic, clock, doc, people, DAY)
    clock.set(at(DAY, "08:00"))
    run_job(clinic, "reminders", trigger="schedule")  # the server is down
    for attempt in range(1, MAX_ATTEMPTS):
        clock.advance(backoff(attempt) + timedelta(seconds=1))
        deliver(clinic)


def test_the_panel_shows_jobs_runs_and_failures_and_retries_from_the_keyboard(
    sqlite_clinic: Clinic,
    clock: FakeClock,
    smtp_down: SmtpServer,
    qtbot: QtBot,
    ops: Operations,
    tmp_path: Path,
) -> None:
    _failed_and_addressless(sqlite_clinic, clock, smtp_down)
    panel = JobsPanel(sqlite_clinic, SYSTEM, ops)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed, timeout=10_000):
        panel.resize(1100, 800)
        panel.show()

    jobs = panel.jobs_model.rows
    assert [j.name for j in jobs] == ["reminders", "monthly-report", "outbox"]
    assert jobs[0].schedule == "Daily at 08:00, for the same day's appointments"
    assert (
        panel.jobs_model.index(0, 2).data() == "Wed, 17 Jun 2026 08:00"
    )  # clinic time, the one date style
    assert jobs[0].last_run is not None and jobs[0].last_run.status == "done"
    [run] = panel.runs_model.rows
    assert (run.job_name, run.period_key, run.trigger) == ("reminders", "2026-06-16", "schedule")
    assert run.counts_text == "queued 1, no email 1, waiting 1"
    shown = {(m.recipient or "-", m.status) for m in panel.outbox_model.rows}
    assert len(shown) == 2
    assert {s for _r, s in shown} == {"failed", "undeliverable"}
    assert panel.outbox_model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is not None
    panel.grab().save(str(Path(os.environ.get("SCREENSHOT_DIR", tmp_path)) / "jobs_panel.png"))

    smtp_down.start()
    panel.outbox_table.setFocus()
    qtbot.keyClick(panel.outbox_table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(panel.action_finished, timeout=10_000) as done:
        qtbot.keyClick(panel, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)  # Retr&y
    assert done.args == ["1 queued again. Email: 1 sent, 0 to retry, 0 failed."]
    assert len(smtp_down.mailbox.messages) == 1
    qtbot.waitSignal(panel.refreshed, timeout=10_000).wait()
    # Only the address-less one still needs attention, and it stays visible.
    assert [m.status for m in panel.outbox_model.rows] == ["undeliverable"]


def test_run_now_runs_the_selected_job_once(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot, ops: Operations
) -> None:
    factories.doctor(sqlite_clinic, factories.department(sqlite_clinic), "Dr. Now")
    panel = JobsPanel(sqlite_clinic, SYSTEM, ops)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed, timeout=10_000):
        panel.show()
    panel.jobs_table.selectRow(1)  # monthly reports

    with qtbot.waitSignal(panel.action_finished, timeout=10_000) as first:
        qtbot.keyClick(panel, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitSignal(panel.refreshed, timeout=10_000).wait()
    with qtbot.waitSignal(panel.action_finished, timeout=10_000) as second:
        panel.run_button.click()
    qtbot.waitSignal(panel.refreshed, timeout=10_000).wait()

    assert first.args == ["Monthly reports for May 2026: 1 generated, 1 waiting to send"]
    assert "already done" in second.args[0]
    assert [(r.job_name, r.period_key, r.trigger) for r in panel.runs_model.rows] == [
        ("monthly-report", "2026-05", "manual")
    ]


def test_the_bridge_delivers_scheduler_events_on_the_ui_thread(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot
) -> None:
    bridge = JobBridge(use_tray=False)
    seen: list[tuple[JobEvent, bool]] = []
    app_thread = QApplication.instance().thread()  # type: ignore[union-attr]
    bridge.event_received.connect(
        lambda e: seen.append(
            (e, QThread.currentThread() is app_thread or QThread.currentThread() == app_thread)
        )
    )
    factories.doctor(sqlite_clinic, factories.department(sqlite_clinic), "Dr. Bridge")
    scheduler = ClinicScheduler(sqlite_clinic, on_event=bridge.post, tick_seconds=0.05)
    try:
        with qtbot.waitSignal(bridge.status_message, timeout=15_000) as shown:
            scheduler.start()  # the start-up catch-up makes May's report
    finally:
        scheduler.shutdown()
    assert shown.args == ["Monthly reports for May 2026: 1 generated, 1 waiting to send"]
    [(event, on_ui_thread)] = seen
    assert event.kind == "finished" and event.job_name == "monthly-report"
    assert on_ui_thread
    assert threading.current_thread() is threading.main_thread()
    bridge.close()
    bridge.deleteLater()


def test_a_skipped_run_is_not_announced(qtbot: QtBot) -> None:
    bridge = JobBridge(use_tray=False)
    messages: list[str] = []
    bridge.status_message.connect(messages.append)
    with qtbot.waitSignal(bridge.event_received, timeout=5_000):
        threading.Thread(
            target=bridge.post,
            args=(JobEvent("skipped", "reminders", "2026-06-15", "Reminders", "already done"),),
        ).start()
    assert messages == []
    bridge.deleteLater()


def test_the_panel_drives_a_running_scheduler(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot, ops: Operations
) -> None:
    clock.set(at(DAY, "07:00"))  # before 08:00: nothing due for today's reminders yet
    scheduler = ClinicScheduler(sqlite_clinic, tick_seconds=0.05)
    scheduler.start()
    try:
        panel = JobsPanel(sqlite_clinic, SYSTEM, ops, scheduler)
        qtbot.addWidget(panel)
        with qtbot.waitSignal(panel.refreshed, timeout=10_000):
            panel.show()
        outbox_job = panel.jobs_model.rows[2]
        assert outbox_job.name == "outbox" and outbox_job.next_run is not None
        # Today's reminders are not due before 08:00 (running them early would leave later
        # bookings without one); last month's reports are due, so Run now runs them.
        panel.jobs_table.selectRow(1)
        with qtbot.waitSignal(panel.action_finished, timeout=10_000) as done:
            panel.run_button.click()
        qtbot.waitSignal(panel.refreshed, timeout=10_000).wait()
    finally:
        scheduler.shutdown()
    # The scheduler's start-up catch-up made May's reports already: Run now says so.
    assert "2026-05: already done" in done.args[0]
    assert [
        (r.job_name, r.trigger) for r in panel.runs_model.rows if r.job_name == "monthly-report"
    ] == [("monthly-report", "catch-up")]


def test_a_run_now_that_is_refused_says_why_under_the_tables(
    sqlite_clinic: Clinic, clock: FakeClock, qtbot: QtBot, ops: Operations
) -> None:
    from datetime import datetime

    from PySide6.QtWidgets import QApplication, QMessageBox

    clock.set(datetime(2026, 6, 15, 7, 0, tzinfo=sqlite_clinic.settings.tz))  # before 08:00
    panel = JobsPanel(sqlite_clinic, SYSTEM, ops)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed, timeout=10_000):
        panel.show()
    panel.jobs_table.selectRow(0)  # reminders, not due until 08:00
    panel.run_button.click()
    qtbot.waitUntil(lambda: not ops.busy, timeout=10_000)
    assert "Running" not in panel.message.text()  # it is not running any more
    assert "not due" in panel.message.text()
    for box in QApplication.topLevelWidgets():
        if isinstance(box, QMessageBox) and box.isVisible():
            box.close()


def test_a_job_out_of_retries_shows_failed_on_the_jobs_page_and_in_the_status_bar(
    sqlite_clinic: Clinic,
    clock: FakeClock,
    qtbot: QtBot,
    ops: Operations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hms_desktop.errors import DatabaseUnavailableError
    from hms_desktop.services.messaging import notifications
    from hms_desktop.services.people import accounts
    from hms_desktop.services.records.stats import StatsService
    from hms_desktop.services.safety import job_ledger
    from hms_desktop.ui.shell.main_window import MainWindow

    def broken(*_args: object, **_kwargs: object) -> object:
        raise DatabaseUnavailableError("The clinic database cannot be reached: reset.")

    monkeypatch.setattr(notifications, "queue_reminders", broken)
    accounts.create_first_admin(sqlite_clinic, "boss", factories.PASSWORD)
    actor = accounts.login(sqlite_clinic, "boss", factories.PASSWORD)
    clock.set(at(DAY, "08:00"))
    bridge = JobBridge(use_tray=False)
    scheduler = ClinicScheduler(sqlite_clinic, on_event=bridge.post, tick_seconds=0.05)
    window = MainWindow(sqlite_clinic, actor, StatsService(sqlite_clinic), bridge=bridge)
    qtbot.addWidget(window)
    window.show()
    label = window.jobs_label
    try:
        scheduler.start()
        for attempt, wait in enumerate(job_ledger.RETRY_BACKOFF, start=1):

            def failed_times(n: int = attempt) -> bool:
                row = job_ledger.find(sqlite_clinic, "reminders", DAY.isoformat())
                return row is not None and row.status == "failed" and row.attempts == n

            qtbot.waitUntil(failed_times, timeout=15_000)
            assert label.text() == ""  # still retrying: not a lasting problem yet
            clock.advance(wait + timedelta(seconds=1))
        with qtbot.waitSignal(bridge.problems_changed, timeout=15_000) as shown:
            pass
    finally:
        scheduler.shutdown()
    assert shown.args == ["Appointment reminders failed (2026-06-16)"]
    assert label.text() == "Appointment reminders failed (2026-06-16)" and label.isVisible()
    panel = JobsPanel(sqlite_clinic, actor, ops)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.refreshed, timeout=10_000):
        panel.show()
    [reminders] = [j for j in panel.jobs_model.rows if j.name == "reminders"]
    status = panel.jobs_model.index(panel.jobs_model.rows.index(reminders), 4)
    assert status.data() == "failed after 5 attempts: use Run now"
    assert status.data(Qt.ItemDataRole.ForegroundRole) is not None  # drawn in red
    window.close()
    bridge.close()
    bridge.deleteLater()
