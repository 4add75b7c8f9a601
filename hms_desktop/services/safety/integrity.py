"""``hms check``: is the clinic database sound?

Checks, in order: the file's integrity (SQLite ``PRAGMA integrity_check`` and
``foreign_key_check``; PostgreSQL checks its own pages), the schema version, row
counts, and orphans: rows the rules forbid but that a damaged file, a manual edit
or an old bug could have left (appointments without their doctor or patient,
treatments without their appointment or on a visit that is not completed, two
live appointments in one slot), and the audit log's hash chain (``hms audit verify``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import HEAD_REVISION, check_schema, current_revision
from hms_desktop.db.models import (
    Appointment,
    AuditEntry,
    Availability,
    Department,
    Doctor,
    JobRun,
    Patient,
    Treatment,
    User,
    WeeklyHours,
)
from hms_desktop.errors import HmsError
from hms_desktop.services.safety import audit_chain

COUNTED = (
    User,
    Department,
    Doctor,
    Patient,
    Availability,
    WeeklyHours,
    Appointment,
    Treatment,
    AuditEntry,
    JobRun,
)
#: How many ids an orphan line lists before "and N more".
_SHOW_IDS = 10


@dataclass
class CheckReport:
    """What ``hms check`` found. ``ok`` is False when anything needs attention."""

    location: str
    integrity: list[str] = field(default_factory=list)
    schema_current: str | None = None
    schema_head: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    #: Orphan kind -> offending row ids (empty lists are not kept).
    orphans: dict[str, list[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The audit chain's verdict ("ok, N entries", "row N changed"; "" when not checked).
    audit: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "ok": self.ok,
            "integrity": self.integrity,
            "schema": {"current": self.schema_current, "head": self.schema_head},
            "counts": self.counts,
            "orphans": self.orphans,
            "audit": self.audit,
            "problems": self.problems,
        }

    def lines(self) -> list[str]:
        """The report as text lines for a terminal."""
        out = [
            f"database: {self.location}",
            f"integrity: {', '.join(self.integrity) or 'not checked'}",
            f"schema: {self.schema_current or 'none'} "
            f"(this version expects {self.schema_head or HEAD_REVISION})",
        ]
        out += [f"rows {name}: {n}" for name, n in self.counts.items()]
        if self.audit:
            out.append(f"audit log: {self.audit}")
        for kind, ids in self.orphans.items():
            shown = ", ".join(str(i) for i in ids[:_SHOW_IDS])
            more = f" and {len(ids) - _SHOW_IDS} more" if len(ids) > _SHOW_IDS else ""
            out.append(f"orphans {kind}: {len(ids)} (ids {shown}{more})")
        out += [f"PROBLEM: {p}" for p in self.problems]
        out.append("result: ok" if self.ok else f"result: {len(self.problems)} problem(s)")
        return out


ORPHAN_LABELS = {
    "appointments_without_doctor": "appointments whose doctor does not exist",
    "appointments_without_patient": "appointments whose patient does not exist",
    "treatments_without_appointment": "treatments whose appointment does not exist",
    "treatments_on_open_visits": "treatments on appointments that are not completed",
    "double_booked_doctor_slots": "appointments sharing a doctor's slot with another live one",
    "double_booked_patient_slots": "appointments at the same time as the patient's other live one",
}


def _integrity(db: Database, report: CheckReport) -> None:
    if not db.is_sqlite:
        report.integrity = ["not applicable (PostgreSQL checks its own pages; see pg_amcheck)"]
        return
    with db.engine.connect() as conn:
        rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        report.integrity = rows
        if rows != ["ok"]:
            report.problems.append(f"integrity check failed: {rows[0]}")
        fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if fk:
            report.problems.append(
                f"{len(fk)} row(s) point at missing rows (first: table {fk[0][0]}, "
                f"row {fk[0][1]}, missing {fk[0][2]})"
            )


def _ids(session: Session, stmt: Any) -> list[int]:
    return sorted({int(i) for i in session.scalars(stmt)})


def _orphans(session: Session) -> dict[str, list[int]]:
    live = Appointment.status != "cancelled"
    other = aliased(Appointment)
    found = {
        "appointments_without_doctor": _ids(
            session,
            select(Appointment.id)
            .outerjoin(Doctor, Doctor.id == Appointment.doctor_id)
            .where(Doctor.id.is_(None)),
        ),
        "appointments_without_patient": _ids(
            session,
            select(Appointment.id)
            .outerjoin(Patient, Patient.id == Appointment.patient_id)
            .where(Patient.id.is_(None)),
        ),
        "treatments_without_appointment": _ids(
            session,
            select(Treatment.id)
            .outerjoin(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.id.is_(None)),
        ),
        "treatments_on_open_visits": _ids(
            session,
            select(Treatment.id)
            .join(Appointment, Appointment.id == Treatment.appointment_id)
            .where(Appointment.status != "completed"),
        ),
        "double_booked_doctor_slots": _ids(
            session,
            select(Appointment.id)
            .join(
                other,
                (other.doctor_id == Appointment.doctor_id)
                & (other.day == Appointment.day)
                # Overlapping, not only the same start: visits have a length (0006).
                & (other.start_time < Appointment.end_time)
                & (Appointment.start_time < other.end_time)
                & (other.id != Appointment.id),
            )
            .where(live, other.status != "cancelled"),
        ),
        "double_booked_patient_slots": _ids(
            session,
            select(Appointment.id)
            .join(
                other,
                (other.patient_id == Appointment.patient_id)
                & (other.day == Appointment.day)
                # Overlapping, not only the same start: visits have a length (0006).
                & (other.start_time < Appointment.end_time)
                & (Appointment.start_time < other.end_time)
                & (other.id != Appointment.id),
            )
            .where(live, other.status != "cancelled"),
        ),
    }
    return {kind: ids for kind, ids in found.items() if ids}


def check_database(db: Database) -> CheckReport:
    """Run every check and return the report; never raises for what it finds.

    A database too damaged to read ends the check early with that as its problem.

    Raises:
        DatabaseUnavailableError: the database cannot be reached at all.
    """
    report = CheckReport(location=db.display_location)
    try:
        _integrity(db, report)
        # Read first: a newer schema makes check_schema refuse, and the report still says
        # which version the database has.
        report.schema_current = current_revision(db)
        state = check_schema(db)
        report.schema_current, report.schema_head = state.current, state.head
    except HmsError as err:
        report.problems.append(str(err))
        return report
    except DBAPIError as err:
        report.problems.append(f"the database cannot be read: {str(err.orig).strip()}")
        return report
    if not state.is_current:
        report.problems.append(
            f"schema {state.current or 'none'} is not {state.head}: run 'hms init' to upgrade"
        )
        if state.current is None:
            return report
    try:
        with db.read() as session:
            for model in COUNTED:
                count = session.scalar(select(func.count()).select_from(model))
                report.counts[model.__tablename__] = int(count or 0)
            report.orphans = _orphans(session)
    except DBAPIError as err:
        report.problems.append(f"the tables cannot be read: {str(err.orig).strip()}")
        return report
    for kind, ids in report.orphans.items():
        report.problems.append(f"{len(ids)} {ORPHAN_LABELS[kind]}")
    if state.is_current:  # an older schema has no chain yet ('hms init' builds it)
        chain = audit_chain.verify(db)
        report.audit = chain.message
        if not chain.ok:
            report.problems.append(f"the audit log was tampered with: {chain.message}")
    return report
