"""Change-to-view latency between two PCs on one PostgreSQL clinic.

``python -m tests.benchmarks.live_latency [--bookings 100] [--clinic 1m]`` makes a
clinic in a fresh schema of the server at ``HMS_TEST_DATABASE_URL`` (or, with
``--clinic``, uses the benchmark clinic of that size, loaded as ``python -m
tests.benchmarks --database postgresql`` loads it, and books free times of its own
doctors and patients two weeks ahead, deleted again afterwards), starts this process's
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


def _clinic(url: str, now: datetime = NOW) -> Clinic:
    return Clinic(db=Database(url), pc=Settings(database_url=url), clock=FakeClock(now))


def _other_pc(
    url: str, jobs: list[tuple[int, int, str, str]], go: Queue[int], now: datetime = NOW
) -> None:
    """The second PC: one booking per message on ``go``, as fast as it is told."""
    clinic = _clinic(url, now)
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
        return _listen_while_booked(clinic, url, jobs, NOW)
    finally:
        clinic.close()


def measure_on_clinic(url: str, bookings: int, now: datetime) -> list[float]:
    """As :func:`measure`, on a loaded clinic: its own doctors' free times two weeks
    ahead (the demo books one week ahead), distinct patients; the visits are deleted
    afterwards, so the cached clinic stays as it was (their audit entries stay)."""
    from sqlalchemy import delete, select

    from hms_desktop.db.models import Appointment, Availability, Patient, WeeklyHours

    clinic = _clinic(url, now)
    booked: list[int] = []
    try:
        day = now.date() + timedelta(days=14)
        step = clinic.settings.slot_minutes
        with clinic.db.read() as session:
            windows = session.execute(
                select(WeeklyHours.doctor_id, WeeklyHours.start_time, WeeklyHours.end_time)
                .where(
                    WeeklyHours.weekday == day.weekday(),
                    # Not a doctor with dated changes that day (the next-free benchmark's leave).
                    WeeklyHours.doctor_id.not_in(
                        select(Availability.doctor_id).where(Availability.day == day)
                    ),
                )
                .order_by(WeeklyHours.doctor_id, WeeklyHours.start_time)
            ).all()
            patients = list(
                session.scalars(select(Patient.id).order_by(Patient.id).limit(bookings))
            )
        slots = [
            (doctor_id, f"{m // 60:02d}:{m % 60:02d}")
            for doctor_id, start, end in windows
            for m in range(start.hour * 60 + start.minute, end.hour * 60 + end.minute - 29, step)
        ]
        # Spread over many doctors, as desks booking for a whole clinic do.
        slots = slots[:: max(1, len(slots) // bookings)][:bookings]
        jobs = [
            (patient, doctor_id, day.isoformat(), at)
            for patient, (doctor_id, at) in zip(patients, slots, strict=False)
        ]
        with clinic.db.read() as session:
            before = set(session.scalars(select(Appointment.id).where(Appointment.day == day)))
        try:
            return _listen_while_booked(clinic, url, jobs, now)
        finally:
            with clinic.db.write() as session:
                booked = [
                    i
                    for i in session.scalars(select(Appointment.id).where(Appointment.day == day))
                    if i not in before
                ]
                session.execute(delete(Appointment).where(Appointment.id.in_(booked)))
    finally:
        clinic.close()


def _listen_while_booked(
    clinic: Clinic, url: str, jobs: list[tuple[int, int, str, str]], now: datetime
) -> list[float]:
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
    other = ctx.Process(target=_other_pc, args=(url, jobs, go, now))
    other.start()
    try:
        for _ in jobs:
            go.put(1)
            if not arrived.acquire(timeout=30):
                raise RuntimeError("a booking was never heard of")
    finally:
        other.join(60)
    return [at - change.at.timestamp() for at, change in heard]


def fresh_schema_url(base: str, kind: str = "live") -> tuple[str, str]:
    """A new schema ``hms_bench_<kind>_...`` on the server: (its URL, its name)."""
    schema = f"hms_bench_{kind}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
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
    parser.add_argument(
        "--clinic", choices=("1m", "5m"), help="measure on the loaded benchmark clinic of this size"
    )
    args = parser.parse_args(argv)
    base = os.environ.get("HMS_TEST_DATABASE_URL", DEFAULT_URL)
    if args.clinic:
        from tests.benchmarks import clinic_builder
        from tests.benchmarks.pg_clinic import load

        scale = clinic_builder.SIZES[args.clinic]
        url = load(scale, clinic_builder.build(scale), base)
        samples = sorted(measure_on_clinic(url, args.bookings, clinic_builder.NOW))
        where = f"the {args.clinic.upper()} clinic"
    else:
        url, schema = fresh_schema_url(base)
        try:
            db = Database(url)
            upgrade(db)
            db.dispose()
            samples = sorted(measure(url, args.bookings))
        finally:
            drop_schema(base, schema)
        where = "a small clinic"
    p50 = statistics.median(samples)
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    print(
        f"change to listener, {len(samples)} bookings by a second process on PostgreSQL "
        f"({where}): p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, "
        f"max {samples[-1] * 1e3:.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
