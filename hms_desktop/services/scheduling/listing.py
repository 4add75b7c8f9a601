"""Appointment lists: what a filter selects, what each actor may see, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, null, or_, select

from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.errors import PermissionDeniedError
from hms_desktop.services.actor import Actor, require_patient_access
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import fold, search_text
from hms_desktop.services.safety import audit
from hms_desktop.services.views import AppointmentRow


@dataclass(frozen=True)
class AppointmentFilter:
    """What the appointment lists show. Empty fields do not filter."""

    date_from: date | None = None
    date_to: date | None = None
    doctor_id: int | None = None
    patient_id: int | None = None
    department_id: int | None = None
    statuses: tuple[str, ...] = ()
    text: str = ""
    newest_first: bool = False


def scoped_filter(actor: Actor, flt: AppointmentFilter) -> AppointmentFilter:
    """Narrow a filter to what the actor may see."""
    if actor.is_staff:
        return flt
    if actor.role == "doctor" and actor.doctor_id is not None:
        if flt.doctor_id not in (None, actor.doctor_id):
            raise PermissionDeniedError("You can only list your own appointments.")
        return AppointmentFilter(**{**flt.__dict__, "doctor_id": actor.doctor_id})
    if actor.role == "patient" and actor.patient_id is not None:
        if flt.patient_id not in (None, actor.patient_id):
            raise PermissionDeniedError("You can only list your own appointments.")
        return AppointmentFilter(**{**flt.__dict__, "patient_id": actor.patient_id})
    raise PermissionDeniedError("You may not list appointments.")


def appointments_statement(flt: AppointmentFilter, *, include_records: bool = False) -> Select[Any]:
    # Diagnosis and prescription are medical records: read (and audited) only when asked.
    diagnosis = Treatment.diagnosis if include_records else null().label("diagnosis")
    prescription = Treatment.prescription if include_records else null().label("prescription")
    stmt = (
        select(
            Appointment.id,
            Appointment.day,
            Appointment.start_time,
            Appointment.doctor_id,
            Doctor.full_name,
            Department.name,
            Appointment.patient_id,
            Patient.full_name,
            Appointment.visit_type,
            Appointment.status,
            Appointment.reason,
            Treatment.id,
            diagnosis,
            prescription,
            Appointment.end_time,
        )
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
    )
    if flt.date_from is not None:
        stmt = stmt.where(Appointment.day >= flt.date_from)
    if flt.date_to is not None:
        stmt = stmt.where(Appointment.day <= flt.date_to)
    if flt.doctor_id is not None:
        stmt = stmt.where(Appointment.doctor_id == flt.doctor_id)
    if flt.patient_id is not None:
        stmt = stmt.where(Appointment.patient_id == flt.patient_id)
    if flt.department_id is not None:
        stmt = stmt.where(Doctor.department_id == flt.department_id)
    if flt.statuses:
        stmt = stmt.where(Appointment.status.in_(flt.statuses))
    text = search_text(flt.text)
    if text:
        folded = fold(text)
        conditions = [
            Patient.name_key.contains(folded, autoescape=True),
            Doctor.full_name.icontains(text, autoescape=True),
        ]
        # isascii: "²" and "١" are digits to isdigit() but not to int().
        if text.isascii() and text.isdigit() and len(text) < 10:
            conditions += [Appointment.id == int(text), Appointment.patient_id == int(text)]
        stmt = stmt.where(or_(*conditions))
    if flt.newest_first:
        return stmt.order_by(
            Appointment.day.desc(), Appointment.start_time.desc(), Appointment.id.desc()
        )
    return stmt.order_by(Appointment.day, Appointment.start_time, Appointment.id)


def appointment_row(r: Any) -> AppointmentRow:
    return AppointmentRow(
        id=r[0],
        date=r[1],
        time=r[2],
        doctor_id=r[3],
        doctor=r[4],
        department=r[5],
        patient_id=r[6],
        patient=r[7],
        visit_type=r[8],
        status=r[9],
        reason=r[10],
        has_treatment=r[11] is not None,
        diagnosis=r[12] or "",
        prescription=r[13] or "",
        end_time=r[14],
    )


def list_appointments(
    clinic: Clinic,
    actor: Actor,
    flt: AppointmentFilter | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
    include_records: bool = False,
) -> list[AppointmentRow]:
    """Appointments matching ``flt`` that the actor may see, a page at a time.

    With ``include_records`` the rows carry each visit's diagnosis and prescription:
    only for one patient's visits (``flt.patient_id``), only for those who may read
    that patient's records, and the read is written to the audit log.

    Raises:
        PermissionDeniedError: a doctor or patient asking for someone else's appointments,
            or records asked for without one patient or without access to them.
    """
    flt = scoped_filter(actor, flt or AppointmentFilter())
    stmt = appointments_statement(flt, include_records=include_records).offset(max(0, offset))
    if limit is not None:
        stmt = stmt.limit(limit)
    if not include_records:
        with clinic.db.read() as session:
            return [appointment_row(r) for r in session.execute(stmt)]
    if flt.patient_id is None:
        raise PermissionDeniedError("Diagnoses are shown for one patient's visits at a time.")
    with clinic.db.write() as session:
        require_patient_access(session, actor, flt.patient_id, "read the records")
        rows = [appointment_row(r) for r in session.execute(stmt)]
        audit.record(
            session, actor, "records.view", "patient", flt.patient_id,
            patient_id=flt.patient_id, rows=sum(r.has_treatment for r in rows),
        )  # fmt: skip
    return rows


def count_appointments(clinic: Clinic, actor: Actor, flt: AppointmentFilter | None = None) -> int:
    flt = scoped_filter(actor, flt or AppointmentFilter())
    stmt = select(func.count()).select_from(appointments_statement(flt).order_by(None).subquery())
    with clinic.db.read() as session:
        return int(session.scalar(stmt) or 0)
