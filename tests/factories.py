"""Small builders for test data, all through the real services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import event

from hms_desktop.config import Settings
from hms_desktop.services.actor import SYSTEM, Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.people import departments, doctors, patients
from hms_desktop.services.scheduling import availability

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)


@dataclass
class World:
    """A small clinic: one department, two doctors with a day of slots, two patients."""

    clinic: Clinic
    department_id: int
    doctor_id: int
    other_doctor_id: int
    patient_id: int
    other_patient_id: int
    day: date  # tomorrow: doctors are available 09:00-12:00


def department(clinic: Clinic, name: str | None = None) -> int:
    return departments.save_department(clinic, SYSTEM, name or f"Department {next(_seq)}")


def doctor(
    clinic: Clinic, department_id: int, name: str | None = None, *, username: str | None = None
) -> int:
    n = next(_seq)
    return doctors.add_doctor(
        clinic,
        SYSTEM,
        doctors.DoctorForm(
            full_name=name or f"Dr. Test {n}",
            department_id=department_id,
            email=f"doc{n}@clinic.test",
        ),
        username=username,
        password=PASSWORD if username else None,
    )


def patient(
    clinic: Clinic, name: str | None = None, *, username: str | None = None, **fields: object
) -> int:
    n = next(_seq)
    values: dict[str, object] = {"email": f"p{n}@mail.test", "phone": f"+49 30 {n:07d}"}
    values.update(fields)
    form = patients.PatientForm(full_name=name or f"Patient {n}", **values)  # type: ignore[arg-type]
    return patients.register_patient(
        clinic, SYSTEM, form, username=username, password=PASSWORD if username else None
    )


def open_day(
    clinic: Clinic, doctor_id: int, day: date, start: str = "09:00", end: str = "12:00"
) -> None:
    availability.set_day(clinic, SYSTEM, doctor_id, day, [(start, end)])


def world(clinic: Clinic) -> World:
    dept = department(clinic, "General Medicine")
    d1 = doctor(clinic, dept, "Dr. Ada Lovelace")
    d2 = doctor(clinic, dept, "Dr. Alan Turing")
    p1 = patient(clinic, "José Núñez")
    p2 = patient(clinic, "Anna Smith")
    tomorrow = clinic.today() + timedelta(days=1)
    open_day(clinic, d1, tomorrow)
    open_day(clinic, d2, tomorrow)
    return World(clinic, dept, d1, d2, p1, p2, tomorrow)


def doctor_actor(doctor_id: int) -> Actor:
    return Actor(user_id=None, username=f"doctor{doctor_id}", role="doctor", doctor_id=doctor_id)


def patient_actor(patient_id: int) -> Actor:
    return Actor(
        user_id=None, username=f"patient{patient_id}", role="patient", patient_id=patient_id
    )


RECEPTION = Actor(user_id=None, username="desk", role="receptionist")
NINE = time(9, 0)


def set_settings(clinic: Clinic, **values: object) -> None:
    """Change settings for a test: this PC's in memory, clinic-wide ones in the database.

    Clinic-wide values are stored the way a new clinic gets its defaults (not audited);
    tests about who may change them and the audit use the service itself.
    """
    pc_names = {f.name for f in fields(Settings)}
    pc = {k: v for k, v in values.items() if k in pc_names}
    if pc:
        clinic.pc = clinic.pc.replace(**pc)
    shared = {k: v for k, v in values.items() if k not in pc_names}
    if shared:
        clinic_settings.seed(clinic, shared)


def write_commits(clinic: Clinic, work: Callable[[], Any]) -> tuple[Any, int]:
    """What ``work`` returns, and how many write transactions it committed (a read
    session on PostgreSQL ends with a COMMIT too; its connection is read-only)."""
    seen: list[object] = []

    def count(conn: Any) -> None:
        if not conn.get_execution_options().get("postgresql_readonly", False):
            seen.append(conn)

    event.listen(clinic.db.engine, "commit", count)
    try:
        return work(), len(seen)
    finally:
        event.remove(clinic.db.engine, "commit", count)
