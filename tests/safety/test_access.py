"""Access: argon2id-only passwords, an append-only audit log the admin can filter."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from hms_desktop.db.engine import sqlite_path
from hms_desktop.db.models import AuditEntry
from hms_desktop.errors import AuthenticationError, PermissionDeniedError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files import exports
from hms_desktop.services.people import accounts, doctors, patients, users
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import booking
from tests import factories as f

SECRET = "Tr0ub4dor&3-secret"


_ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def test_passwords_are_stored_only_as_argon2id_hashes(clinic: Clinic) -> None:
    passwords = {
        "boss": "first-admin-pass-1",
        "desk": "desk-password-22",
        "drwho": "doctor-password-333",
        "patient1": "patient-password-4444",
    }
    accounts.create_first_admin(clinic, "boss", passwords["boss"])
    accounts.create_user(clinic, SYSTEM, "desk", passwords["desk"], "receptionist")
    dept = f.department(clinic)
    doctors.add_doctor(
        clinic,
        SYSTEM,
        doctors.DoctorForm("Dr. Who", dept),
        username="drwho",
        password=passwords["drwho"],
    )
    patients.self_register(
        clinic, patients.PatientForm("Pat One"), "patient1", passwords["patient1"]
    )
    actor = accounts.login(clinic, "desk", passwords["desk"])
    accounts.change_password(clinic, actor, passwords["desk"], "a-new-desk-password")
    passwords["desk-new"] = "a-new-desk-password"

    with clinic.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT username, password_hash FROM users")).all()
    assert {r[0] for r in rows} == {"boss", "desk", "drwho", "patient1"}
    for username, stored in rows:
        assert _ARGON2ID.match(stored), f"{username}: {stored[:20]}... is not an argon2id hash"
        assert all(p not in stored for p in passwords.values())
    path = sqlite_path(clinic.db.url)
    if path is not None:  # no plain password anywhere in the file, the audit log included
        with clinic.db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        data = path.read_bytes()
        assert all(p.encode() not in data for p in passwords.values())


def _logged(entries: list[audit.AuditRow]) -> list[audit.AuditRow]:
    """The entries, without those that record reading the log (each listing adds one)."""
    return [e for e in entries if e.action != "audit.read"]


def test_the_database_refuses_to_change_or_delete_audit_entries(clinic: Clinic) -> None:
    f.patient(clinic, "Audited Person")
    entries = audit.list_entries(clinic, SYSTEM)
    assert entries
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), clinic.db.engine.begin() as conn:
            conn.execute(text(statement))
    assert _logged(audit.list_entries(clinic, SYSTEM)) == _logged(entries)


def test_no_service_changes_the_audit_log(clinic: Clinic, clock, tmp_path: Path) -> None:
    """Every statement a day's work sends: INSERTs into the audit log only."""
    statements: list[str] = []

    def spy(_conn, _cursor, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(clinic.db.engine, "before_cursor_execute", spy)
    try:
        w = f.world(clinic)
        accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
        with pytest.raises(AuthenticationError):
            accounts.login(clinic, "desk", "wrong")
        desk = accounts.login(clinic, "desk", SECRET)
        appt = booking.book(
            clinic, desk, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
        )
        booking.reschedule(clinic, desk, appt, day=w.day, at="09:30")
        other = booking.book(
            clinic,
            desk,
            patient_id=w.other_patient_id,
            doctor_id=w.doctor_id,
            day=w.day,
            at="10:00",
        )
        booking.cancel(clinic, desk, other)
        clock.advance(timedelta(days=1, hours=2))
        doctor = f.doctor_actor(w.doctor_id)
        booking.complete(clinic, doctor, appt)
        records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="flu"))
        records.record_treatment(clinic, doctor, appt, TreatmentForm(diagnosis="flu, better"))
        records.patient_history(clinic, doctor, w.patient_id)
        patients.edit_patient(clinic, desk, w.patient_id, patients.PatientForm("José Núñez Jr"))
        patients.set_blacklisted(clinic, desk, w.other_patient_id, True)
        exports.export_history(
            clinic,
            desk,
            w.patient_id,
            tmp_path / "history.csv",
            patient_request="asked at the desk",
        )
        users.unlock(clinic, SYSTEM, desk.user_id or 0)
        audit.list_entries(clinic, SYSTEM, text="flu")
    finally:
        event.remove(clinic.db.engine, "before_cursor_execute", spy)
    # PostgreSQL appends through migration 0017's function (its own INSERT, nothing else).
    touching = [s for s in statements if "audit_log" in s.lower() or "hms_audit_append(" in s]
    assert any(
        s.lstrip().upper().startswith("INSERT") or "hms_audit_append(" in s for s in touching
    )
    changes = [s for s in touching if re.match(r"\s*(UPDATE|DELETE|DROP|ALTER)", s, re.I)]
    assert changes == []


def test_no_module_contains_a_statement_that_changes_the_audit_log() -> None:
    """The source check behind the runtime one: no UPDATE/DELETE of audit rows anywhere."""
    root = Path(__file__).resolve().parents[2] / "hms_desktop"
    forbidden = re.compile(
        r"(update|delete)\(\s*AuditEntry|(UPDATE|DELETE\s+FROM)\s+audit_log|"
        r"session\.delete\(\s*(entry|audit)",
        re.IGNORECASE,
    )
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "migrations" not in path.parts and forbidden.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert any(root.rglob("audit.py")), "the scan must see the audit module"


def test_only_an_admin_reads_and_filters_the_audit_log(clinic: Clinic, clock) -> None:
    w = f.world(clinic)
    with pytest.raises(PermissionDeniedError):
        audit.list_entries(clinic, f.RECEPTION)
    with pytest.raises(PermissionDeniedError):
        audit.list_entries(clinic, f.doctor_actor(w.doctor_id))
    booking.book(
        clinic, f.RECEPTION, patient_id=w.patient_id, doctor_id=w.doctor_id, day=w.day, at="09:00"
    )
    everything = _logged(audit.list_entries(clinic, SYSTEM))
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
    booked = audit.list_entries(clinic, SYSTEM, action_prefix="appointment.")
    assert [e.action for e in booked] == ["appointment.book"]
    assert audit.list_entries(clinic, SYSTEM, actor_name="desk") == booked
    assert audit.list_entries(clinic, SYSTEM, text="LOVELACE")  # the doctor's name in details
    assert {e.action for e in audit.list_entries(clinic, SYSTEM, text="PATIENT.reg")} == {
        "patient.register"
    }
    # Entries are stamped with the real time (UTC); the filter takes clinic-local days.
    today = everything[0].at.astimezone(clinic.settings.tz).date()
    assert _logged(audit.list_entries(clinic, SYSTEM, date_from=today, date_to=today)) == everything
    assert audit.list_entries(clinic, SYSTEM, date_to=today - timedelta(days=1)) == []
    assert audit.list_entries(clinic, SYSTEM, date_from=today + timedelta(days=1)) == []
    assert len(audit.list_entries(clinic, SYSTEM, limit=2, offset=1)) == 2
    assert audit.list_entries(clinic, SYSTEM, text="\x00%_") == []


@pytest.mark.parametrize(
    "nasty", ["\x00", "a\x00b", "%", "_", "\\", "²", "\U0010ffff", "'; DROP TABLE users;--"]
)
def test_search_and_login_take_any_text_on_both_backends(clinic: Clinic, nasty: str) -> None:
    """PostgreSQL refuses NUL in any parameter: typed text must never reach it raw."""
    f.world(clinic)
    assert isinstance(patients.search_patients(clinic, SYSTEM, nasty), list)
    assert isinstance(doctors.list_doctors(clinic, text=nasty), list)
    assert isinstance(
        booking.list_appointments(clinic, SYSTEM, booking.AppointmentFilter(text=nasty)), list
    )
    assert isinstance(audit.list_entries(clinic, SYSTEM, text=nasty), list)
    with pytest.raises(AuthenticationError):
        accounts.login(clinic, nasty, nasty)
    with clinic.db.read() as session:
        assert session.scalar(select(AuditEntry.id).limit(1)) is not None
