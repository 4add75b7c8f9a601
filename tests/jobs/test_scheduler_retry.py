"""The running scheduler retries a failed run with back-off, gives up, and trusts no wrong clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.jobs.runner import JobEvent
from hms_desktop.jobs.scheduler import ClinicScheduler
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import notifications
from hms_desktop.services.safety import job_ledger
from tests import factories
from tests.conftest import CLINIC_TZ, make_clinic
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on, wait_until

DAY = date(2026, 6, 16)
TICK = 0.05


@pytest.fixture
def schedulers() -> Iterator[list[ClinicScheduler]]:
    made: list[ClinicScheduler] = []
    yield made
    for s in made:
        s.shutdown(wait=True)


def _start(clinic: Clinic, made: list[ClinicScheduler], events: list[JobEvent]) -> ClinicScheduler:
    s = ClinicScheduler(
        clinic, tick_seconds=TICK, delivery_seconds=TICK, on_event=events.append, host="desk"
    )
    made.append(s)
    s.start()
    return s


def _failing(times: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the next ``times`` reminder runs meet a transient database error."""
    real: Callable[..., Any] = notifications.queue_reminders
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise DatabaseUnavailableError("The clinic database cannot be reached: reset.")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "queue_reminders", flaky)
    return calls


def _reminders(server: SmtpServer) -> list[str]:
    return [m.subject for m in server.mailbox.messages if m.subject.startswith("Appointment")]


def _reminder_events(events: list[JobEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.trigger) for e in list(events) if e.job_name == "reminders"]


def test_a_reminders_run_that_fails_once_is_retried_and_succeeds_the_same_morning(
    clinic: Clinic,
    clock: FakeClock,
    smtp_server: SmtpServer,
    schedulers: list[ClinicScheduler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_smtp(clinic, smtp_server.port)
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept)
    book_on(clinic, clock, doc, [factories.patient(clinic) for _ in range(2)], DAY, start="11:00")
    calls = _failing(1, monkeypatch)
    clock.set(at(DAY, "07:59"))
    events: list[JobEvent] = []
    _start(clinic, schedulers, events)
    clock.set(at(DAY, "08:00:10"))  # the 08:00 run meets one transient error

    wait_until(lambda: _reminder_events(events) == [("retrying", "schedule")], what="failure")
    row = job_ledger.find(clinic, "reminders", DAY.isoformat())
    assert row is not None and row.status == "failed" and row.retry_at == at(DAY, "08:01:10")
    [failed] = [e for e in events if e.job_name == "reminders"]
    assert failed.message == (
        "Appointment reminders for 2026-06-16 failed: The clinic database cannot be reached: "
        "reset. (attempt 1 of 5; trying again at 08:01)"
    )
    clock.set(at(DAY, "08:01:00"))  # the back-off has not passed: many ticks, no run
    time.sleep(20 * TICK)
    assert len(calls) == 1

    clock.set(at(DAY, "08:01:30"))

    wait_until(lambda: len(_reminder_events(events)) == 2, what="the retry")
    assert _reminder_events(events) == [("retrying", "schedule"), ("finished", "retry")]
    wait_until(lambda: len(_reminders(smtp_server)) == 2, what="two reminders")
    row = job_ledger.find(clinic, "reminders", DAY.isoformat())
    assert row is not None and (row.status, row.trigger, row.host) == ("done", "retry", "desk")
    assert (row.attempts, row.counts["queued"], row.error) == (2, 2, "")
    time.sleep(20 * TICK)  # done is done: no further attempt
    assert len(calls) == 2 and len(job_ledger.recent_runs(clinic, job_name="reminders")) == 1


def test_after_the_last_retry_the_run_stays_failed_and_says_so(
    sqlite_clinic: Clinic,
    clock: FakeClock,
    schedulers: list[ClinicScheduler],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _failing(100, monkeypatch)
    clock.set(at(DAY, "08:00"))
    events: list[JobEvent] = []
    _start(sqlite_clinic, schedulers, events)
    wait_until(lambda: len(calls) == 1, what="the first attempt")
    for attempt, wait in enumerate(job_ledger.RETRY_BACKOFF, start=2):
        done = attempt - 1
        wait_until(lambda n=done: len(_reminder_events(events)) == n, what="its event")
        clock.advance(wait + timedelta(seconds=1))
        wait_until(lambda n=attempt: len(calls) == n, what=f"attempt {attempt}")
    wait_until(lambda: len(_reminder_events(events)) == 5, what="the last event")
    clock.advance(hours=2)
    time.sleep(20 * TICK)

    assert len(calls) == job_ledger.MAX_ATTEMPTS
    kinds = [k for k, _t in _reminder_events(events)]
    assert kinds == ["retrying"] * 4 + ["failed"]
    assert events[-1].message.endswith("(attempt 5; no more automatic retries: use Run now)")
    assert events[-1].is_problem
    row = job_ledger.find(sqlite_clinic, "reminders", DAY.isoformat())
    assert row is not None and row.gave_up and row.trigger == "retry"


def test_a_scheduler_on_a_skewed_pc_claims_nothing_and_warns_once(
    database_url: str, schedulers: list[ClinicScheduler]
) -> None:
    # A day fast against the server's real clock: tomorrow's reminders would be due here.
    pc = make_clinic(
        database_url, FakeClock(datetime.now(CLINIC_TZ) + timedelta(days=1), drives_server=False)
    )
    try:
        events: list[JobEvent] = []
        _start(pc, schedulers, events)
        if pc.db.is_sqlite:  # one PC, one clock: it runs (see test_retry_and_skew)
            wait_until(lambda: any(e.kind == "finished" for e in list(events)), what="a run")
            return
        wait_until(lambda: len(events) >= 1, what="a warning (last month's reports are due)")
        time.sleep(20 * TICK)
        schedulers[-1].shutdown()
        assert job_ledger.recent_runs(pc) == []
        assert {e.kind for e in events} == {"failed"}
        assert len(events) == len({e.job_name for e in events})  # once each, not every tick
        assert all("clock is 1 day ahead of the database server's" in e.message for e in events)
    finally:
        pc.close()
