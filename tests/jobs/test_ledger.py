"""The run ledger: one claim per period, stale and failed claims taken over once."""

from __future__ import annotations

import threading
from datetime import timedelta

from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.safety import job_ledger
from tests.conftest import make_clinic


def test_a_period_is_claimed_once(clinic: Clinic) -> None:
    first = job_ledger.claim(clinic, "reminders", "2026-12-01", trigger="schedule", host="pc-1")
    second = job_ledger.claim(clinic, "reminders", "2026-12-01", trigger="schedule", host="pc-2")
    other = job_ledger.claim(clinic, "reminders", "2026-12-02", trigger="schedule", host="pc-2")

    assert first is not None and other is not None
    assert second is None
    row = job_ledger.find(clinic, "reminders", "2026-12-01")
    assert row is not None and (row.status, row.host) == ("running", "pc-1")


def test_concurrent_claims_from_two_connections_give_one_winner(
    database_url: str, clock: FakeClock
) -> None:
    pcs = [make_clinic(database_url, clock) for _ in range(4)]
    wins: list[object] = []
    barrier = threading.Barrier(len(pcs))

    def race(c: Clinic, n: int) -> None:
        barrier.wait()
        wins.append(
            job_ledger.claim(c, "monthly-report", "2026-11", trigger="schedule", host=f"pc-{n}")
        )

    threads = [threading.Thread(target=race, args=(c, n)) for n, c in enumerate(pcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in pcs:
        c.close()
    assert len([w for w in wins if w is not None]) == 1


def test_a_stale_running_claim_is_taken_over_once(clinic: Clinic, clock: FakeClock) -> None:
    crashed = job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="schedule", host="dead")
    assert crashed is not None
    clock.advance(job_ledger.STALE_AFTER - timedelta(minutes=1))
    assert job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="catch-up") is None

    clock.advance(minutes=2)
    taken = job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="catch-up", host="alive")
    again = job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="catch-up", host="third")

    assert taken is not None and taken.run_id == crashed.run_id
    assert taken.taken_over_from == "dead"
    assert again is None


def test_failed_runs_may_be_rerun_done_ones_not(clinic: Clinic) -> None:
    run = job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="schedule")
    assert run is not None
    job_ledger.fail(clinic, run.run_id, "boom")
    retry = job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="manual")
    assert retry is not None
    job_ledger.finish(clinic, retry.run_id, {"queued": 3})

    assert job_ledger.claim(clinic, "reminders", "2026-06-15", trigger="manual") is None
    row = job_ledger.find(clinic, "reminders", "2026-06-15")
    assert row is not None
    assert (row.status, row.trigger, row.error) == ("done", "manual", "")
    assert row.counts == {"queued": 3, "attempts": 2}  # the second attempt succeeded
    assert row.duration_s == 0.0
