"""Failed periods back off (1, 5, 15, 60 min) and give up; a PC off the server's clock claims nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.safety import job_ledger
from hms_desktop.services.safety.job_ledger import ClockSkewError
from tests.conftest import CLINIC_TZ, make_clinic

PERIOD = "2026-06-15"


def _fail(clinic: Clinic, claim: job_ledger.Claim | None) -> None:
    assert claim is not None
    job_ledger.fail(clinic, claim.run_id, "OperationalError: connection reset")


def test_the_schedule_retries_a_failed_period_after_1_5_15_and_60_minutes_then_stops(
    clinic: Clinic, clock: FakeClock
) -> None:
    _fail(clinic, job_ledger.claim(clinic, "reminders", PERIOD, trigger="schedule"))
    for attempt, wait in enumerate(job_ledger.RETRY_BACKOFF, start=2):
        clock.advance(wait - timedelta(seconds=1))
        assert job_ledger.retry_state(clinic, "reminders", PERIOD) == "wait"
        assert job_ledger.claim(clinic, "reminders", PERIOD, trigger="retry") is None
        clock.advance(seconds=1)
        assert job_ledger.retry_state(clinic, "reminders", PERIOD) == "due"
        claim = job_ledger.claim(clinic, "reminders", PERIOD, trigger="retry", host="pc-2")
        assert claim is not None and claim.attempt == attempt
        assert job_ledger.retry_state(clinic, "reminders", PERIOD) == "wait"  # it runs
        _fail(clinic, claim)

    row = job_ledger.find(clinic, "reminders", PERIOD)
    assert row is not None and row.attempts == job_ledger.MAX_ATTEMPTS == 5
    assert row.gave_up and row.retry_at is None and row.counts_text == "attempts 5"
    clock.advance(days=1)
    assert job_ledger.retry_state(clinic, "reminders", PERIOD) == "over"
    assert job_ledger.claim(clinic, "reminders", PERIOD, trigger="schedule") is None
    # A person still may: Run now takes the period over at once.
    manual = job_ledger.claim(clinic, "reminders", PERIOD, trigger="manual")
    assert manual is not None and manual.attempt == 6


def test_a_person_reruns_a_failed_period_without_waiting_for_the_back_off(
    clinic: Clinic, clock: FakeClock
) -> None:
    _fail(clinic, job_ledger.claim(clinic, "reminders", PERIOD, trigger="schedule"))
    assert job_ledger.claim(clinic, "reminders", PERIOD, trigger="catch-up") is None
    claim = job_ledger.claim(clinic, "reminders", PERIOD, trigger="cli")
    assert claim is not None and claim.attempt == 2
    job_ledger.finish(clinic, claim.run_id, {"queued": 2})
    assert job_ledger.retry_state(clinic, "reminders", PERIOD) == "over"


@pytest.mark.parametrize("offset", [timedelta(days=1), timedelta(minutes=-3)])
def test_a_pc_whose_clock_is_off_the_servers_claims_nothing(
    database_url: str, offset: timedelta
) -> None:
    # This PC's clock is the server's real clock plus an offset (a day fast, 3 min slow).
    pc = make_clinic(database_url, FakeClock(datetime.now(CLINIC_TZ) + offset, drives_server=False))
    try:
        if pc.db.is_sqlite:
            # SQLite has no server: the file is on this PC and its clock is the only one,
            # so there is nothing to disagree with (network shares are refused).
            claim = job_ledger.claim(pc, "reminders", PERIOD, trigger="schedule", host="pc")
            assert claim is not None
            return
        with pytest.raises(ClockSkewError) as refused:
            job_ledger.claim(pc, "reminders", PERIOD, trigger="schedule", host="skewed-pc")
        assert job_ledger.find(pc, "reminders", PERIOD) is None
        side = "ahead of" if offset > timedelta(0) else "behind"
        span = "1 day" if offset > timedelta(0) else "3 min"
        assert str(refused.value) == (
            f"This PC's clock is {span} {side} the database server's, so it runs no scheduled "
            "jobs; set the PC's date and time right (within 2 minutes)."
        )
    finally:
        pc.close()


def test_ledger_times_on_postgresql_are_the_servers_not_the_pcs(database_url: str) -> None:
    pc_offset = timedelta(seconds=90)  # off, but within the 2 minutes allowed
    pc = make_clinic(
        database_url, FakeClock(datetime.now(CLINIC_TZ) + pc_offset, drives_server=False)
    )
    try:
        claim = job_ledger.claim(pc, "reminders", PERIOD, trigger="schedule", host="pc")
        assert claim is not None
        job_ledger.finish(pc, claim.run_id, {})
        row = job_ledger.find(pc, "reminders", PERIOD)
        assert row is not None and row.finished_at is not None
        real_now = datetime.now(CLINIC_TZ)
        if pc.db.is_sqlite:  # one PC, one clock: the PC's
            assert row.started_at == pc.now()
        else:
            assert abs(row.started_at - real_now) < timedelta(seconds=30)
            assert abs(row.finished_at - real_now) < timedelta(seconds=30)
            assert pc.now() - row.started_at > timedelta(seconds=60)
    finally:
        pc.close()
