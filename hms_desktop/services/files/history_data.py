"""A patient's complete record as plain data, for the FHIR and PDF history exports.

The CSV/Excel history streams rows (it may be long and is written row by row); the
FHIR bundle and the printable history need the patient, every visit with its
doctor and treatment, at once. One read session, one access check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.errors import NotFoundError
from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.policy import require_record_access
from hms_desktop.services.records import records
from hms_desktop.services.scheduling.visit_times import visit_minutes


@dataclass(frozen=True)
class DoctorInfo:
    id: int
    full_name: str
    department: str
    qualification: str
    email: str
    phone: str


@dataclass(frozen=True)
class Visit:
    """One appointment and, when recorded, its treatment."""

    appointment_id: int
    day: date
    start: time
    doctor_id: int
    visit_type: str
    status: str
    reason: str
    #: The visit's length (see :func:`visit_times.visit_minutes`).
    minutes: int
    treatment_id: int | None
    symptoms: str
    diagnosis: str
    treatment_given: str
    prescription: str
    notes: str


@dataclass(frozen=True)
class PatientRecord:
    """Everything the clinic holds about one patient's care, visits oldest first."""

    patient_id: int
    full_name: str
    date_of_birth: date | None
    gender: str
    phone: str
    email: str
    address: str
    doctors: dict[int, DoctorInfo]
    visits: tuple[Visit, ...]

    @property
    def treated_visits(self) -> tuple[Visit, ...]:
        """The visits with a recorded treatment (the classic history's rows)."""
        return tuple(v for v in self.visits if v.treatment_id is not None)


def all_visits_statement(patient_id: int) -> Select[Any]:
    """Every appointment of a patient (any status), with its treatment if any, oldest first.

    Columns: :func:`records.visit_record_columns`, then the appointment's status.
    """
    return (
        select(*records.visit_record_columns(), Appointment.status)
        .select_from(Appointment)
        .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.patient_id == patient_id)
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )


def check_access(
    session: Session, clinic: Clinic, actor: Actor, patient_id: int, *, patient_request: str = ""
) -> Patient:
    """The patient, after the clinical record's access check (the history's own:
    :func:`policy.require_record_access`): the patient, a doctor in care, the system; the
    front desk and administrators only at the patient's request.

    Raises:
        NotFoundError: no such patient.
        PermissionDeniedError: the actor may not read this patient's records.
    """
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFoundError(f"There is no patient with id {patient_id}.")
    require_record_access(
        session, clinic, actor, patient_id, "export the history", patient_request=patient_request
    )
    return patient


def load_record(
    clinic: Clinic, actor: Actor, patient_id: int, *, patient_request: str = ""
) -> PatientRecord:
    """The patient's complete record (every visit, any status).

    Raises:
        NotFoundError: no such patient.
        PermissionDeniedError: the actor may not read this patient's records (the front
            desk: without the patient's request).
    """
    with clinic.db.read() as session:
        patient = check_access(session, clinic, actor, patient_id, patient_request=patient_request)
        rows = session.execute(
            select(Appointment, Treatment)
            .outerjoin(Treatment, Treatment.appointment_id == Appointment.id)
            .where(Appointment.patient_id == patient_id)
            .order_by(Appointment.day, Appointment.start_time, Appointment.id)
        ).all()
        doctor_ids = {appt.doctor_id for appt, _ in rows}
        doctors = {
            d.id: DoctorInfo(d.id, d.full_name, dept, d.qualification, d.email, d.phone)
            for d, dept in session.execute(
                select(Doctor, Department.name)
                .join(Department, Department.id == Doctor.department_id)
                .where(Doctor.id.in_(doctor_ids))
            )
        }
        visits = tuple(
            Visit(
                appointment_id=appt.id,
                day=appt.day,
                start=appt.start_time,
                doctor_id=appt.doctor_id,
                visit_type=appt.visit_type,
                status=appt.status,
                reason=appt.reason,
                minutes=visit_minutes(appt.start_time, appt.end_time),
                treatment_id=t.id if t is not None else None,
                symptoms=t.symptoms if t is not None else "",
                diagnosis=t.diagnosis if t is not None else "",
                treatment_given=t.treatment_given if t is not None else "",
                prescription=t.prescription if t is not None else "",
                notes=t.notes if t is not None else "",
            )
            for appt, t in rows
        )
        return PatientRecord(
            patient_id=patient.id,
            full_name=patient.full_name,
            date_of_birth=patient.date_of_birth,
            gender=patient.gender,
            phone=patient.phone,
            email=patient.email,
            address=patient.address,
            doctors=doctors,
            visits=visits,
        )
