"""Change-to-view latency between two PCs on one PostgreSQL clinic.

``python -m tests.benchmarks.live_latency [--bookings 100]`` makes a clinic in a
fresh schema of the server at ``HMS_TEST_DATABASE_URL``, starts this process's
change listener (as the window does), and lets a second process book one visit at
a time. For each booking it measures the time from the other process's commit (the
server's clock, carried in the notice) to the moment this process hears of it, and
prints the median and the 95th percentile. Both processes run on this machine, so
the server's clock and this one are the same clock.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from multiprocessing.queues import Queue
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from hms_desktop.config import Settings
from hms_desktop.db.changes import ChangeEvent
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import upgrade
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.scheduling import booking
from tests import factories as f

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 6, 15, 7, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def _clinic(url: str) -> Clinic:
    return Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(NOW))


def _other_pc(url: str, jobs: list[tuple[int, int, str, str]], go: Queue[int]) -> None:
    """The second PC: one booking per message on ``go``, as fast as it is told."""
    clinic = _clinic(url)
    try:
        for patient_id, doctor_id, day, at in jobs:
            go.get(timeout=60)
            booking.book(
                clinic, SYSTEM, patient_id=patient_id, doctor_id=doctor_id,
                day=date.fromisoformat(day), at=at,
            )  # fmt: skip
    finally:
        clinic.close()


def measure(url: str, bookings: int) -> list[float]:
    """Seconds from each commit on the other PC to this PC hearing it, one per booking."""
    clinic = _clinic(url)
    try:
        f.set_settings(clinic, timezone="Europe/Berlin", booking_horizon_days=365)
        dept = f.department(clinic, "Live")
        doctors = [f.doctor(clinic, dept, f"Dr. Live {n}") for n in range((bookings // 20) + 1)]
        day = NOW.date() + timedelta(days=1)
        for doctor_id in doctors:
            f.open_day(clinic, doctor_id, day, "08:00", "18:00")
        patients = [f.patient(clinic) for _ in range(bookings)]
        jobs = [
            (
                patients[i],
                doctors[i // 20],
                day.isoformat(),
                f"{8 + (i % 20) // 2:02d}:{30 * (i % 2):02d}",
            )
            for i in range(bookings)
        ]
        heard: list[tuple[float, ChangeEvent]] = []
        arrived = threading.Semaphore(0)

        def hear(events: list[ChangeEvent]) -> None:
            for change in events:
                if change.topic == "appointments" and change.origin != clinic.db.changes.origin:
                    heard.append((time.time(), change))
                    arrived.release()

        clinic.changes.subscribe_events(hear)
        assert clinic.start_listening() and clinic.listener is not None
        assert clinic.listener.listening.wait(10)
        ctx = multiprocessing.get_context("spawn")
        go: Queue[int] = ctx.Queue()
        other = ctx.Process(target=_other_pc, args=(url, jobs, go))
        other.start()
        try:
            for _ in jobs:
                go.put(1)
                if not arrived.acquire(timeout=30):
                    raise RuntimeError("a booking was never heard of")
        finally:
            other.join(60)
        return [at - change.at.timestamp() for at, change in heard]
    finally:
        clinic.close()


def fresh_schema_url(base: str) -> tuple[str, str]:
    schema = f"hms_bench_live_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    import email_validator

    email_validator.TEST_ENVIRONMENT = True  # the factories' addresses end in .test
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100)
    args = parser.parse_args(argv)
    base = os.environ.get("HMS_TEST_DATABASE_URL", DEFAULT_URL)
    url, schema = fresh_schema_url(base)
    try:
        db = Database(url)
        upgrade(db)
        db.dispose()
        samples = sorted(measure(url, args.bookings))
    finally:
        drop_schema(base, schema)
    p50 = statistics.median(samples)
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    print(
        f"change to listener, {len(samples)} bookings by a second process on PostgreSQL: "
        f"p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, max {samples[-1] * 1e3:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
