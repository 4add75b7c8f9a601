"""One booking alone: its CPU time, its statements and how long it holds the write lock.

``python -m tests.benchmarks.booking_alone [--database sqlite|postgresql] [--bookings 600]
[--profile]`` builds the eight-desks demo clinic (:mod:`tests.benchmarks.desks`), lists
the free times as the screen does, then books them one after another with
:func:`booking.book` in one process and reports per booking:

* the wall time of the call (one process, nothing else writing: the booking's own cost)
  and its CPU time;
* the statements it sends to the database through SQLAlchemy (the long way's; the quick
  way, :mod:`hms_desktop.services.scheduling.quick_book`, runs on the raw driver and is
  not counted);
* the time it holds what every other desk waits for: on SQLite the write transaction
  (from ``BEGIN IMMEDIATE`` to the end of ``COMMIT``), on PostgreSQL the audit chain's
  advisory lock (from taking it to the end of ``COMMIT``).

``--profile`` prints the cProfile of the bookings (cumulative time, top 30).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from hms_desktop.services.actor import Actor
from tests.benchmarks import desks


class Meter:
    """Counts statements and times the serialized part of each write transaction."""

    def __init__(self, engine: Any, *, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.statements = 0
        self.held: list[float] = []
        self._since: float | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(Session, "after_commit", self._committed)
        event.listen(Session, "after_rollback", self._committed)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        if self._since is None and (
            statement.startswith("BEGIN IMMEDIATE")
            if self.sqlite
            else "pg_advisory_xact_lock" in statement
        ):
            self._since = time.perf_counter()

    def _committed(self, _session: Session) -> None:
        if self._since is not None:
            self.held.append(time.perf_counter() - self._since)
            self._since = None

    def close(self, engine: Any) -> None:
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(Session, "after_commit", self._committed)
        event.remove(Session, "after_rollback", self._committed)


def measure(url: str, bookings: int, *, profile: bool) -> dict[str, float]:
    plan = desks.plan_of(url)
    clinic = desks.open_desk_clinic(url)
    try:
        slots = desks.free_times(clinic, plan)
        actor = Actor(user_id=None, username="desk1", role="receptionist")
        patients = plan.patient_ids
        warm = 30
        assert len(slots) >= bookings + warm, "not enough free times"
        for i, slot in enumerate(slots[:warm]):  # compiled statements and caches, as a desk
            desks.book_slot(clinic, actor, slot, patients[i])
        meter = Meter(clinic.db.engine, sqlite=clinic.db.is_sqlite)
        took: list[float] = []
        cpu: list[float] = []
        failed = 0
        prof = cProfile.Profile() if profile else None
        for i, slot in enumerate(slots[warm : warm + bookings]):
            t0, c0 = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            try:
                desks.book_slot(clinic, actor, slot, patients[(warm + i * 7) % len(patients)])
            except Exception as err:
                failed += 1
                if failed == 1:
                    print("first failure:", desks.classify(err), file=sys.stderr)
            finally:
                if prof:
                    prof.disable()
            took.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        meter.close(clinic.db.engine)
    finally:
        clinic.close()
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    took.sort()
    return {
        "bookings": len(took),
        "failed": failed,
        "ms_mean": statistics.fmean(took) * 1e3,
        "ms_p50": took[len(took) // 2] * 1e3,
        "ms_p95": took[int(len(took) * 0.95)] * 1e3,
        "cpu_ms_p50": sorted(cpu)[len(cpu) // 2] * 1e3,
        "statements": meter.statements / len(took),
        "held_ms_mean": statistics.fmean(meter.held) * 1e3 if meter.held else float("nan"),
        "held_ms_p50": sorted(meter.held)[len(meter.held) // 2] * 1e3 if meter.held else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--bookings", type=int, default=600)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hms-alone-") as folder:
            url = f"sqlite:///{Path(folder) / 'clinic.sqlite3'}"
            desks.build_clinic(url, desks.FULL)
            found = measure(url, args.bookings, profile=args.profile)
    else:
        base = os.environ.get("HMS_TEST_DATABASE_URL", desks.DEFAULT_PG_URL)
        url, schema = desks.pg_schema(base)
        try:
            desks.build_clinic(url, desks.FULL)
            found = measure(url, args.bookings, profile=args.profile)
        finally:
            desks.drop_pg_schema(base, schema)
    print(
        f"{args.database}: {found['bookings']:.0f} bookings ({found['failed']:.0f} failed), "
        f"{found['ms_mean']:.2f} ms mean, p50 {found['ms_p50']:.2f} ms, "
        f"p95 {found['ms_p95']:.2f} ms, CPU p50 {found['cpu_ms_p50']:.2f} ms; "
        + (
            f"{found['statements']:.1f} statements each; lock held "
            f"{found['held_ms_mean']:.2f} ms mean (p50 {found['held_ms_p50']:.2f} ms); "
            if found["statements"]
            else "the quick way's statements run on the raw driver, not counted here; "
        )
        + f"load {load:.1f}->{os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
