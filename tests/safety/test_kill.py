"""SIGKILL a process in the middle of its writes: nothing reported as done is lost.

Each test starts a child process (``tests/safety/child.py``) that repeats one kind
of write and prints a line after each one has returned successfully. The parent
lets it run for a random number of operations plus a random fraction of the next
one, kills it with SIGKILL (no cleanup, no atexit, like a power cut for the
process), and then checks the database and files. Each test runs ten times with
different kill points.
"""

from __future__ import annotations

import asyncio
import csv
import random
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from hms_desktop.db.engine import sqlite_path
from hms_desktop.db.models import Appointment, AuditEntry, Doctor, OutboxMessage, Patient
from hms_desktop.jobs.runner import run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.files import exports
from hms_desktop.services.files.atomic_file import TEMP_SUFFIX
from hms_desktop.services.safety.integrity import check_database
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f
from tests.conftest import CLINIC_TZ, START, make_clinic
from tests.jobs.conftest import Mailbox, SmtpServer, free_port
from tests.safety import child as child_script
from tests.safety.child import (
    DAY_WINDOW,
    DEMO_DOCTORS,
    DEMO_PATIENTS,
    SLOT_MINUTES,
    reminder_clinic,
)
from tests.safety.procs import start_child

RUNS = range(10)
pytestmark = pytest.mark.slow


def test_children_use_the_test_clock() -> None:
    assert (child_script.START, child_script.CLINIC_TZ) == (START, CLINIC_TZ)


def _kill_points(run: int, most: int) -> tuple[int, float]:
    """How many reported operations to wait for, and how far into the next one to kill."""
    rng = random.Random(run)
    return rng.randint(1, most), rng.uniform(0.0, 0.03)


def _assert_sqlite_sound(url: str) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _assert_check_ok(clinic: Clinic) -> None:
    report = check_database(clinic.db)
    assert report.ok, report.lines()


@pytest.fixture
def booking_clinic(database_url: str, clock) -> Iterator[Clinic]:
    clinic = make_clinic(database_url, clock, slot_minutes=SLOT_MINUTES)
    yield clinic
    clinic.close()


@pytest.mark.parametrize("run", RUNS)
def test_kill_during_booking_loses_no_confirmed_booking(
    booking_clinic: Clinic, tmp_path: Path, run: int
) -> None:
    clinic = booking_clinic
    dept = f.department(clinic)
    doctor_id = f.doctor(clinic, dept)
    patient_id = f.patient(clinic)
    for offset in range(1, 7):
        availability.set_day(
            clinic, SYSTEM, doctor_id, clinic.today() + timedelta(days=offset), [DAY_WINDOW]
        )
    clinic.db.dispose()
    wait_for, extra = _kill_points(run, 12)

    child = start_child("book", clinic.db.url, doctor_id, patient_id, workdir=tmp_path)
    try:
        child.read_until(wait_for)
        time.sleep(extra)
    finally:
        confirmed = child.kill()

    _assert_sqlite_sound(clinic.db.url)
    with clinic.db.read() as session:
        booked = set(session.scalars(select(Appointment.id).where(Appointment.status == "booked")))
        audited = set(
            session.scalars(
                select(AuditEntry.entity_id).where(AuditEntry.action == "appointment.book")
            )
        )
    assert set(confirmed) <= booked, "a booking the child had confirmed is missing"
    # Booking and its audit entry commit together or not at all.
    assert booked == audited
    assert len(booked) - len(confirmed) <= 1  # at most the one committed just before the kill
    _assert_check_ok(clinic)
    # The database takes new bookings at once: no lock or journal was left behind.
    free = availability.free_slots(clinic, doctor_id, clinic.today() + timedelta(days=6))
    assert booking.book(
        clinic,
        SYSTEM,
        patient_id=patient_id,
        doctor_id=doctor_id,
        day=free[-1].date,
        at=free[-1].time,
        minutes=SLOT_MINUTES,
    )


@pytest.mark.parametrize("run", RUNS)
def test_kill_during_demo_bulk_load_keeps_whole_loads_only(
    sqlite_clinic: Clinic, tmp_path: Path, run: int
) -> None:
    """demo_data.generate writes a whole practice in one transaction, again and again."""
    url = sqlite_clinic.db.url
    sqlite_clinic.db.dispose()
    _, extra = _kill_points(run, 1)
    child = start_child("demo", url, workdir=tmp_path)
    try:
        child.read_until(1)
        time.sleep(extra * 20)  # up to 0.6 s into the next load (one takes about a second)
    finally:
        confirmed = child.kill()

    _assert_sqlite_sound(url)
    with sqlite_clinic.db.read() as session:
        n_patients = session.scalar(select(func.count()).select_from(Patient))
        n_loads = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "demo_data.generate")
        )
        n_doctors = session.scalar(select(func.count()).select_from(Doctor))
    assert confirmed == [DEMO_PATIENTS] * len(confirmed)
    # Every confirmed load is there, whole; at most one more that committed unreported.
    assert n_loads in (len(confirmed), len(confirmed) + 1)
    assert n_patients == n_loads * DEMO_PATIENTS
    assert n_doctors == n_loads * DEMO_DOCTORS
    _assert_check_ok(sqlite_clinic)


@pytest.fixture(scope="module")
def export_source(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[str]:
    """One clinic with a few hundred appointments, shared read-only by the export runs."""
    folder = tmp_path_factory.mktemp("export-source")
    shutil.copyfile(sqlite_template, folder / "clinic.sqlite3")
    url = f"sqlite:///{folder / 'clinic.sqlite3'}"
    clinic = make_clinic(url, FakeClock(START), slot_minutes=SLOT_MINUTES)
    dept = f.department(clinic)
    doctors = [f.doctor(clinic, dept) for _ in range(3)]
    patient_ids = [f.patient(clinic) for _ in range(3)]
    day = clinic.today() + timedelta(days=1)
    for d in doctors:
        availability.set_day(clinic, SYSTEM, d, day, [DAY_WINDOW])
    for d, p in zip(doctors, patient_ids, strict=True):
        for slot in availability.free_slots(clinic, d, day)[:120]:
            booking.book(
                clinic, SYSTEM, patient_id=p, doctor_id=d, day=slot.date, at=slot.time,
                minutes=SLOT_MINUTES,
            )  # fmt: skip
    clinic.close()
    yield url


def _rows_in(path: Path) -> int:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return sum(1 for _ in csv.reader(fh)) - 1
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows()) - 1
    finally:
        book.close()


@pytest.mark.parametrize("run", RUNS)
def test_kill_during_export_leaves_no_partial_file(
    export_source: str, clock, tmp_path: Path, run: int
) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    wait_for, extra = _kill_points(run, 3)
    child = start_child("export", export_source, out, workdir=tmp_path)
    try:
        child.read_until(wait_for)
        time.sleep(extra * 5)
    finally:
        confirmed = child.kill()

    expected_rows = 360
    visible = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    for n in confirmed:
        assert any(p.stem == f"export-{n}" for p in visible), f"confirmed export {n} is missing"
    for path in visible:  # confirmed or not: whatever carries an export's name is complete
        assert _rows_in(path) == expected_rows, f"{path.name} is partial"
    # A dead writer's hidden temporary file is swept by the next export into the folder.
    clinic = make_clinic(export_source, clock, slot_minutes=SLOT_MINUTES)
    try:
        exports.export_appointments(clinic, SYSTEM, booking.AppointmentFilter(), out / "after.csv")
        _assert_check_ok(clinic)
    finally:
        clinic.close()
    assert not [p for p in out.iterdir() if p.name.endswith(TEMP_SUFFIX)]
    _assert_sqlite_sound(export_source)
    with closing(sqlite3.connect(str(sqlite_path(export_source)))) as conn:
        outcomes = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'appointments.export' AND details LIKE "
            "'%completed%' AND details LIKE ?",
            (f"%{out}%",),
        ).fetchone()[0]
    assert outcomes >= len(confirmed) + 1


class SlowMailbox(Mailbox):
    """A mail server that takes a moment per message, so the kill lands mid-delivery."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


REMINDER_APPOINTMENTS = 40


@pytest.fixture(scope="module")
def reminder_template(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Path]:
    """A clinic with 40 booked visits tomorrow, each patient with an email address."""
    folder = tmp_path_factory.mktemp("reminder-source")
    path = folder / "clinic.sqlite3"
    shutil.copyfile(sqlite_template, path)
    clinic = make_clinic(f"sqlite:///{path}", FakeClock(START), slot_minutes=SLOT_MINUTES)
    dept = f.department(clinic)
    doctor_id = f.doctor(clinic, dept)
    patient_ids = [f.patient(clinic) for _ in range(4)]
    day = clinic.today() + timedelta(days=1)
    availability.set_day(clinic, SYSTEM, doctor_id, day, [DAY_WINDOW])
    for n, slot in enumerate(
        availability.free_slots(clinic, doctor_id, day)[:REMINDER_APPOINTMENTS]
    ):
        booking.book(
            clinic,
            SYSTEM,
            patient_id=patient_ids[n % 4],
            doctor_id=doctor_id,
            day=slot.date,
            at=slot.time,
            minutes=SLOT_MINUTES,
        )
    with clinic.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    clinic.close()
    yield path


_OUTBOX_ID = re.compile(r"<outbox-(\d+)\.")


@pytest.mark.parametrize("run", RUNS)
def test_kill_during_reminder_run_then_restart_sends_nothing_twice(
    reminder_template: Path, tmp_path: Path, run: int
) -> None:
    path = tmp_path / "clinic.sqlite3"
    shutil.copyfile(reminder_template, path)
    url = f"sqlite:///{path}"
    server = SmtpServer(free_port())
    server.mailbox = SlowMailbox()
    server.start()
    try:
        wait_for, extra = _kill_points(run, 25)
        child = start_child("reminders", url, server.port, workdir=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while len(server.mailbox.messages) < wait_for:
                assert child.proc.poll() is None, child.stderr_path.read_text()[-2000:]
                assert time.monotonic() < deadline, "the reminder run sent nothing"
                time.sleep(0.005)
            time.sleep(extra / 3)
        finally:
            child.kill()
        before_restart = len(server.mailbox.messages)
        assert 0 < before_restart < REMINDER_APPOINTMENTS, "the kill missed the delivery"
        _assert_sqlite_sound(url)

        # The restart: the dead run's claim goes stale, the next run takes it over.
        clinic = reminder_clinic(url, server.port)
        try:
            clinic.clock.advance(timedelta(minutes=31))  # type: ignore[attr-defined]
            result = run_job(clinic, "reminders", "2026-06-16", trigger="manual")
            assert result.status == "done", result.message
            _assert_check_ok(clinic)
            with clinic.db.read() as session:
                rows = session.execute(
                    select(OutboxMessage.id, OutboxMessage.appointment_id, OutboxMessage.status)
                ).all()
        finally:
            clinic.close()
    finally:
        server.stop()

    status = {r.id: r.status for r in rows}
    appointment_of = {r.id: r.appointment_id for r in rows}
    received = [
        int(_OUTBOX_ID.search(str(m.message["Message-ID"]))[1]) for m in server.mailbox.messages
    ]  # type: ignore[index]
    # One reminder queued per visit, and no visit's reminder arrived twice.
    assert sorted(appointment_of.values()) == sorted(set(appointment_of.values()))
    assert len(rows) == REMINDER_APPOINTMENTS
    assert len(received) == len(set(received)), "a reminder was sent twice"
    # Whatever the server accepted is recorded as sent, except at most the one whose
    # "sent" mark the kill prevented: that one is flagged, never silently resent.
    unsure = [m for m in received if status[m] != "sent"]
    assert len(unsure) <= 1 and all(status[m] == "failed" for m in unsure)
    not_received = [i for i, s in status.items() if i not in received]
    assert all(status[i] == "failed" for i in not_received) and len(not_received) <= 1
    assert sum(1 for s in status.values() if s == "sent") >= REMINDER_APPOINTMENTS - 1
