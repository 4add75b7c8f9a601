"""The counts the database keeps per day and status (migration 0014) stay equal to a real
COUNT after every kind of write: the desk's, raw SQL, bulk inserts, a restore, a migration."""

from __future__ import annotations

import shlex
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import downgrade, upgrade
from hms_desktop.db.models import Appointment, AppointmentCount, Patient, Treatment
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.records.stats import compute_stats
from hms_desktop.services.safety.backup import backup_database
from hms_desktop.services.safety.restore import pg_restore_command, restore_database
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.conftest import make_clinic

Counts = dict[tuple[date, str], int]


def _kept(db: Database) -> Counts:
    with db.read() as session:
        return {
            (day, status): n
            for day, status, n in session.execute(
                select(AppointmentCount.day, AppointmentCount.status, AppointmentCount.n)
            )
            if n  # a day whose last visit moved away keeps a row of 0
        }


def _counted(db: Database) -> Counts:
    with db.read() as session:
        return {
            (day, status): int(n)
            for day, status, n in session.execute(
                select(Appointment.day, Appointment.status, func.count()).group_by(
                    Appointment.day, Appointment.status
                )
            )
        }


def _assert_true(clinic: Clinic) -> Counts:
    counted = _counted(clinic.db)
    assert _kept(clinic.db) == counted
    stats = compute_stats(clinic)
    with clinic.db.read() as session:  # the kept number of patients
        assert stats.patients == session.scalar(select(func.count()).select_from(Patient))
    for status in stats.by_status:
        assert stats.by_status[status] == sum(
            n for (_day, s), n in counted.items() if s == status
        ), status
    return counted


def test_counts_follow_book_cancel_move_complete_and_delete(
    clinic: Clinic, world: f.World, clock: FakeClock
) -> None:
    today, later = clinic.today(), world.day + timedelta(days=1)
    f.open_day(clinic, world.doctor_id, today, "10:00", "12:00")
    f.open_day(clinic, world.doctor_id, later)
    ids = [
        booking.book(clinic, f.RECEPTION, patient_id=p, doctor_id=d, day=day, at=t)
        for p, d, day, t in (
            (world.patient_id, world.doctor_id, today, "10:00"),
            (world.other_patient_id, world.doctor_id, today, "10:30"),
            (world.patient_id, world.doctor_id, world.day, "09:00"),
            (world.other_patient_id, world.other_doctor_id, world.day, "11:00"),
        )
    ]
    assert _assert_true(clinic) == {(today, "booked"): 2, (world.day, "booked"): 2}
    booking.cancel(clinic, f.RECEPTION, ids[2])
    booking.complete(clinic, f.RECEPTION, ids[0], early_close=True)
    booking.reschedule(
        clinic, f.RECEPTION, ids[3], day=later, at="10:00", doctor_id=world.doctor_id
    )
    assert _assert_true(clinic) == {
        (today, "booked"): 1,
        (today, "completed"): 1,
        (world.day, "cancelled"): 1,
        (later, "booked"): 1,
    }
    clock.advance(days=2, hours=2)  # the visit of "later" has begun: a no-show
    booking.set_status(clinic, f.RECEPTION, ids[3], "no_show")
    _assert_true(clinic)
    # Writes outside the services: the ORM, then bulk statements.
    with clinic.db.write() as session:
        session.delete(session.get(Appointment, ids[1]))
    assert (today, "booked") not in _assert_true(clinic)
    with clinic.db.write() as session:
        session.execute(update(Appointment).values(status="cancelled"))
    assert _assert_true(clinic) == {(today, "cancelled"): 1, (world.day, "cancelled"): 1} | {
        (later, "cancelled"): 1
    }
    with clinic.db.write() as session:
        session.execute(update(Appointment).values(day=later))
    assert _assert_true(clinic) == {(later, "cancelled"): 3}
    with clinic.db.write() as session:
        session.execute(delete(Treatment))
        session.execute(delete(Appointment))
    assert _assert_true(clinic) == {}
    with clinic.db.write() as session:  # patients gone in bulk are uncounted too
        session.execute(delete(Patient).where(Patient.id == world.other_patient_id))
    assert compute_stats(clinic).patients == 1


def test_counts_after_demo_generation_and_an_append(database_url: str, clock: FakeClock) -> None:
    clinic = make_clinic(database_url, clock)
    try:
        demo_data.generate(clinic, seed=3, doctors=5, patients=150, days_back=20)
        first = _assert_true(clinic)
        assert sum(first.values()) > 100
        demo_data.generate(clinic, seed=4, doctors=2, patients=40, days_back=5, append=True)
        assert sum(_assert_true(clinic).values()) > sum(first.values())
    finally:
        clinic.close()


def test_counts_after_restoring_a_sqlite_backup(
    sqlite_clinic: Clinic, tmp_path: Path, clock: FakeClock
) -> None:
    world = f.world(sqlite_clinic)
    booking.book(
        sqlite_clinic, f.RECEPTION, patient_id=world.patient_id, doctor_id=world.doctor_id,
        day=world.day, at="09:00",
    )  # fmt: skip
    saved = _assert_true(sqlite_clinic)
    backup = backup_database(sqlite_clinic.db, tmp_path / "backup.sqlite3")
    booking.book(
        sqlite_clinic, f.RECEPTION, patient_id=world.other_patient_id,
        doctor_id=world.doctor_id, day=world.day, at="10:00",
    )  # fmt: skip
    assert _assert_true(sqlite_clinic) != saved
    sqlite_clinic.db.dispose()
    restore_database(sqlite_clinic.db.url, backup)
    assert _assert_true(sqlite_clinic) == saved


def test_counts_after_restoring_a_postgresql_backup(
    pg_clinic: Clinic, tmp_path: Path, clock: FakeClock
) -> None:
    """The documented pg_restore (schema, data, then the triggers) keeps the counts true."""
    demo_data.generate(pg_clinic, seed=5, doctors=3, patients=60, days_back=10)
    saved = _assert_true(pg_clinic)
    dump = backup_database(pg_clinic.db, tmp_path / "clinic.dump")
    with pg_clinic.db.write() as session:
        session.execute(update(Appointment).values(status="cancelled"))
    assert _assert_true(pg_clinic) != saved
    pg_clinic.db.dispose()
    subprocess.run(
        shlex.split(pg_restore_command(pg_clinic.db.url, dump)),
        check=True,
        capture_output=True,
    )
    assert _assert_true(pg_clinic) == saved
    # The restored triggers work: a bulk write afterwards is counted too.
    with pg_clinic.db.write() as session:
        session.execute(delete(Appointment).where(Appointment.status == "booked"))
    _assert_true(pg_clinic)


def test_upgrading_to_0014_counts_the_visits_already_there(
    sqlite_clinic: Clinic, tmp_path: Path
) -> None:
    """A clinic from before the counts (a restored old backup, an old install) gets them
    from its appointments when it is upgraded, and the downgrade drops them cleanly."""
    demo_data.generate(sqlite_clinic, seed=6, doctors=3, patients=60, days_back=10)
    saved = _assert_true(sqlite_clinic)
    db = sqlite_clinic.db
    downgrade(db, "0013")
    with db.engine.begin() as conn:
        assert "appointment_counts" not in {
            r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))
        }
        # Written by a version without the counts: no trigger counts this one.
        conn.execute(text("UPDATE appointments SET status = 'cancelled' WHERE id = 1"))
    upgrade(db)
    counted = _assert_true(sqlite_clinic)
    assert counted != saved and sum(counted.values()) == sum(saved.values())


@pytest.mark.parametrize("rows", [1, 3])
def test_one_statement_counts_each_day_once(clinic: Clinic, world: f.World, rows: int) -> None:
    """A statement touching several visits of one day (PostgreSQL counts per statement)."""
    f.open_day(clinic, world.doctor_id, world.day, "08:00", "12:00")
    for n in range(rows):
        booking.book(
            clinic, f.RECEPTION, patient_id=world.patient_id if n % 2 else world.other_patient_id,
            doctor_id=world.doctor_id, day=world.day, at=f"{8 + n}:00",
        )  # fmt: skip
    with clinic.db.write() as session:
        session.execute(update(Appointment).values(reason="moved"))  # neither day nor status
    assert _assert_true(clinic) == {(world.day, "booked"): rows}
