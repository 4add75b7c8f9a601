"""The in-process scheduler with a fake clock: on time, catch-up, two PCs, clean shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from hms_desktop.jobs.runner import JobEvent
from hms_desktop.jobs.scheduler import ClinicScheduler
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.records import reports
from hms_desktop.services.safety import job_ledger
from tests import factories
from tests.conftest import make_clinic
from tests.factories import set_settings
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on, scheduler_threads, wait_until

DAY = date(2026, 6, 16)
TICK = 0.05


@pytest.fixture
def schedulers() -> Iterator[list[ClinicScheduler]]:
    """Schedulers a test starts; all shut down at the end even when the test fails."""
    made: list[ClinicScheduler] = []
    yield made
    for s in made:
        s.shutdown(wait=True)


def _scheduler(
    clinic: Clinic, made: list[ClinicScheduler], events: list[JobEvent] | None = None
) -> ClinicScheduler:
    s = ClinicScheduler(
        clinic,
        tick_seconds=TICK,
        delivery_seconds=TICK,
        on_event=None if events is None else events.append,
        host=f"pc-{len(made) + 1}",
    )
    made.append(s)
    return s


def _reminder_day(
    clinic: Clinic, clock: FakeClock, n: int = 2, *, start: str = "11:00"
) -> list[int]:
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept)
    people = [factories.patient(clinic) for _ in range(n)]
    return book_on(clinic, clock, doc, people, DAY, start=start)


def _reminders(server: SmtpServer) -> list[str]:
    return [m.subject for m in server.mailbox.messages if m.subject.startswith("Appointment")]


def _ran(clinic: Clinic, job: str, period: str) -> bool:
    row = job_ledger.find(clinic, job, period)
    return row is not None and row.status == "done"


def test_the_reminder_job_fires_at_the_configured_time(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    use_smtp(clinic, smtp_server.port, reminder_time="07:30")
    _reminder_day(clinic, clock)
    clock.set(at(DAY, "07:29"))
    events: list[JobEvent] = []
    s = _scheduler(clinic, schedulers, events)
    s.start()
    wait_until(lambda: _ran(clinic, "monthly-report", "2026-05"), what="start-up catch-up")
    time.sleep(20 * TICK)  # many ticks before 07:30: nothing may fire
    assert job_ledger.find(clinic, "reminders", "2026-06-16") is None
    assert _reminders(smtp_server) == []

    clock.set(at(DAY, "07:30"))

    wait_until(lambda: any(e.job_name == "reminders" for e in events), what="the run's event")
    assert len(_reminders(smtp_server)) == 2
    row = job_ledger.find(clinic, "reminders", "2026-06-16")
    assert row is not None and (row.status, row.trigger, row.host) == ("done", "schedule", "pc-1")
    assert row.started_at == at(DAY, "07:30")
    [finished] = [e for e in events if e.kind == "finished" and e.job_name == "reminders"]
    assert finished.message == "Reminders for 2026-06-16: 2 queued, 2 sent"
    [info] = [j for j in s.jobs() if j.name == "reminders"]
    assert info.next_run == at(date(2026, 6, 17), "07:30")
    assert info.schedule == "Daily at 07:30, for the same day's appointments"


def test_a_start_after_the_missed_time_sends_todays_reminders_once(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    use_smtp(clinic, smtp_server.port)
    _reminder_day(clinic, clock, start="09:30")  # 09:30 has begun by 10:00; 10:00 too
    _reminder_day(clinic, clock)  # 11:00 and 11:30 get their reminders
    clock.set(at(DAY, "10:00"))  # the app was closed at 08:00

    first = _scheduler(clinic, schedulers)
    first.start()
    wait_until(lambda: _ran(clinic, "reminders", "2026-06-16"), what="catch-up run")
    wait_until(lambda: len(_reminders(smtp_server)) == 2)
    first.shutdown()
    second = _scheduler(clinic, schedulers)  # the desk restarts the app
    second.start()
    time.sleep(20 * TICK)
    second.shutdown()

    row = job_ledger.find(clinic, "reminders", "2026-06-16")
    assert row is not None and row.trigger == "catch-up"
    assert (row.counts["queued"], row.counts["already_started"]) == (2, 2)
    assert len(job_ledger.recent_runs(clinic, job_name="reminders")) == 1
    assert len(_reminders(smtp_server)) == 2


def test_a_start_before_the_time_sends_nothing_yet(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    use_smtp(clinic, smtp_server.port)
    _reminder_day(clinic, clock)
    clock.set(at(DAY, "07:00"))  # yesterday's reminders are of no use any more
    s = _scheduler(clinic, schedulers)
    s.start()
    wait_until(lambda: _ran(clinic, "monthly-report", "2026-05"))
    time.sleep(10 * TICK)
    assert job_ledger.recent_runs(clinic, job_name="reminders") == []
    assert _reminders(smtp_server) == []


def test_a_start_on_the_3rd_generates_last_months_reports_once(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    use_smtp(clinic, smtp_server.port)
    dept = factories.department(clinic)
    docs = [factories.doctor(clinic, dept, f"Dr. {n}") for n in ("Ada", "Bob")]
    book_on(clinic, clock, docs[0], [factories.patient(clinic)], date(2026, 6, 20))
    clock.set(at(date(2026, 7, 3), "09:00"))  # closed on the 1st and 2nd

    for _ in range(2):  # start, close, start again
        s = _scheduler(clinic, schedulers)
        s.start()
        wait_until(lambda: _ran(clinic, "monthly-report", "2026-06"), what="reports catch-up")
        wait_until(lambda: len(smtp_server.mailbox.messages) >= 2)
        time.sleep(10 * TICK)
        s.shutdown()

    stored = reports.list_reports(clinic, SYSTEM)
    assert sorted((r.doctor, r.month, r.total) for r in stored) == [
        ("Dr. Ada", "2026-06", 1),
        ("Dr. Bob", "2026-06", 0),
    ]
    assert len(smtp_server.mailbox.messages) == 2
    assert {m.subject for m in smtp_server.mailbox.messages} == {
        "Monthly report June 2026: Dr. Ada",
        "Monthly report June 2026: Dr. Bob",
    }
    assert len(job_ledger.recent_runs(clinic, job_name="monthly-report")) == 1


def test_midnight_on_the_1st_in_the_clinic_zone_reports_the_month_just_ended(
    clinic: Clinic, clock: FakeClock, schedulers: list[ClinicScheduler]
) -> None:
    # 00:00 in Berlin on 1 December is still 30 November in UTC: the report must be
    # November's, and it must fire at Berlin midnight, not UTC midnight.
    clock.set(at(date(2026, 11, 30), "23:59"))
    s = _scheduler(clinic, schedulers)
    s.start()
    wait_until(lambda: _ran(clinic, "monthly-report", "2026-10"), what="catch-up of October")
    time.sleep(10 * TICK)
    assert job_ledger.find(clinic, "monthly-report", "2026-11") is None

    clock.set(at(date(2026, 12, 1), "00:00"))

    wait_until(lambda: _ran(clinic, "monthly-report", "2026-11"), what="November's reports")
    row = job_ledger.find(clinic, "monthly-report", "2026-11")
    assert row is not None and row.trigger == "schedule"
    assert job_ledger.find(clinic, "monthly-report", "2026-12") is None


def test_two_pcs_on_one_database_run_a_period_once_without_duplicate_email(
    database_url: str, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    pcs = [make_clinic(database_url, clock) for _ in range(2)]
    try:
        for pc in pcs:
            use_smtp(pc, smtp_server.port)
        _reminder_day(pcs[0], clock, n=4)
        clock.set(at(DAY, "10:00"))
        started = [_scheduler(pc, schedulers) for pc in pcs]
        gate = threading.Barrier(2)

        def start(s: ClinicScheduler) -> None:
            gate.wait()
            s.start()

        threads = [threading.Thread(target=start, args=(s,)) for s in started]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(lambda: _ran(pcs[1], "reminders", "2026-06-16"))
        wait_until(lambda: len(_reminders(smtp_server)) >= 4)
        time.sleep(20 * TICK)  # both PCs keep ticking and delivering
        for s in started:
            s.shutdown()

        assert len(job_ledger.recent_runs(pcs[0], job_name="reminders")) == 1
        assert len(job_ledger.recent_runs(pcs[0], job_name="monthly-report")) == 1
        assert len(_reminders(smtp_server)) == 4
        recipients = smtp_server.mailbox.recipients[:0] + [
            r
            for m in smtp_server.mailbox.messages
            if m.subject.startswith("Appointment")
            for r in m.rcpt_tos
        ]
        assert len(recipients) == 4 and len(set(recipients)) == 4
    finally:
        for pc in pcs:
            pc.close()


def test_no_scheduler_thread_is_left_after_shutdown(
    clinic: Clinic, clock: FakeClock, smtp_down: SmtpServer
) -> None:
    use_smtp(clinic, smtp_down.port)
    _reminder_day(clinic, clock)
    clock.set(at(DAY, "10:00"))
    before = set(threading.enumerate())
    s = ClinicScheduler(clinic, tick_seconds=TICK, delivery_seconds=TICK)
    s.start()
    wait_until(lambda: _ran(clinic, "reminders", "2026-06-16"))
    assert "APScheduler" in scheduler_threads()

    s.shutdown(wait=True)
    s.shutdown(wait=True)  # twice is harmless

    assert not s.running
    assert scheduler_threads() == []
    assert set(threading.enumerate()) <= before


def test_an_unreachable_database_is_announced_once_and_retried(
    clock: FakeClock, schedulers: list[ClinicScheduler]
) -> None:
    # Nothing listens on port 9: every claim fails to connect.
    dead = make_clinic("postgresql+psycopg://postgres@127.0.0.1:9/none", clock)
    events: list[JobEvent] = []
    s = _scheduler(dead, schedulers, events)
    try:
        s.start()
        wait_until(lambda: len(events) >= 2, what="a failure event per job")
        time.sleep(20 * TICK)  # many more ticks, each trying again
        s.shutdown()
    finally:
        dead.close()
    # 09:00 on 15 June: May's reports and today's reminders are both due, both fail once.
    assert sorted((e.kind, e.job_name, e.period_key) for e in events) == [
        ("failed", "monthly-report", "2026-05"),
        ("failed", "reminders", "2026-06-15"),
    ]
    assert all("cannot be reached" in e.message for e in events)
    assert scheduler_threads() == []


def test_a_run_that_fails_is_recorded_and_a_later_run_takes_it_over(
    clinic: Clinic, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hms_desktop.jobs.runner import run_job

    factories.doctor(clinic, factories.department(clinic), "Dr. Broken")
    # A broken install: the report template's folder is missing.
    monkeypatch.setattr(reports, "resources_dir", lambda: tmp_path / "missing")

    failed = run_job(clinic, "monthly-report", "2026-05", trigger="schedule")

    assert failed.status == "failed"
    row = job_ledger.find(clinic, "monthly-report", "2026-05")
    assert row is not None and row.status == "failed" and "FileNotFoundError" in row.error
    assert reports.list_reports(clinic, SYSTEM) == []  # nothing half-written is kept

    monkeypatch.undo()
    again = run_job(clinic, "monthly-report", "2026-05", trigger="manual")

    assert again.status == "done" and again.run_id == failed.run_id
    assert [r.doctor for r in reports.list_reports(clinic, SYSTEM)] == ["Dr. Broken"]


def test_a_crashed_run_is_taken_over_by_a_later_tick_once_its_claim_is_stale(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, schedulers: list[ClinicScheduler]
) -> None:
    use_smtp(clinic, smtp_server.port)
    _reminder_day(clinic, clock, start="14:00")
    clock.set(at(DAY, "08:00"))
    # The 08:00 run claimed the day, and the PC died before it finished.
    assert job_ledger.claim(clinic, "reminders", "2026-06-16", trigger="schedule", host="pc-0")
    clock.set(at(DAY, "08:10"))  # restarted ten minutes later: the claim is still fresh
    s = _scheduler(clinic, schedulers)
    s.start()
    time.sleep(20 * TICK)
    assert not _ran(clinic, "reminders", "2026-06-16") and _reminders(smtp_server) == []
    clock.set(at(DAY, "08:45"))  # the claim is stale now: the running app takes it over
    wait_until(lambda: _ran(clinic, "reminders", "2026-06-16"), what="the take-over")
    wait_until(lambda: len(_reminders(smtp_server)) == 2)
    s.shutdown()
    assert len(_reminders(smtp_server)) == 2


def test_switching_scheduled_backups_on_and_off_takes_effect_without_a_restart(
    sqlite_url: str, clock: FakeClock, tmp_path: Path, schedulers: list[ClinicScheduler]
) -> None:
    from hms_desktop.services.safety import backup

    folder = tmp_path / "backups"
    clinic = make_clinic(sqlite_url, clock, backup_dir=str(folder), backup_retention=0)
    try:
        folder.mkdir()
        older = [
            folder / backup.scheduled_name(at(DAY - timedelta(days=d), "22:00")) for d in (1, 2, 3)
        ]
        for path in older:
            path.write_bytes(b"an older backup")
        clock.set(at(DAY, "23:00"))  # after the daily backup time
        s = _scheduler(clinic, schedulers)
        s.start()
        time.sleep(20 * TICK)
        # Off: nothing is made and, above all, nothing is deleted.
        assert sorted(folder.iterdir()) == sorted(older)
        set_settings(clinic, backup_retention=7)  # the settings dialog
        wait_until(lambda: len(list(folder.iterdir())) == 4, what="today's backup")
        s.shutdown()
        assert all(path.exists() for path in older)
    finally:
        clinic.close()
