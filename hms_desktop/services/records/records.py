"""Medical records: treatments on completed visits, and a patient's full history.

Every view, edit and export of a record is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from hms_desktop.db.models import Appointment, Department, Doctor, Patient, Treatment
from hms_desktop.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from hms_desktop.services.actor import Actor, require_patient_access
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_text
from hms_desktop.services.safety import audit
from hms_desktop.services.views import HistoryRow, TreatmentRow

TREATMENT_FIELDS = ("symptoms", "diagnosis", "treatment_given", "prescription", "notes")


@dataclass(frozen=True)
class TreatmentForm:
    symptoms: str = ""
    diagnosis: str = ""
    treatment_given: str = ""
    prescription: str = ""
    notes: str = ""


def _treatment_row(t: Treatment) -> TreatmentRow:
    return TreatmentRow(
        t.id,
        t.appointment_id,
        t.symptoms,
        t.diagnosis,
        t.treatment_given,
        t.prescription,
        t.notes,
        t.updated_at,
    )


def record_treatment(clinic: Clinic, actor: Actor, appointment_id: int, form: TreatmentForm) -> int:
    """Record (or correct) the treatment of a completed visit. Returns the treatment id.

    Raises:
        PermissionDeniedError: anyone but the visit's doctor or an administrator.
        ConflictError: the visit is not completed.
        ValidationError: a field is too long, or diagnosis and treatment are both empty.
    """
    values = {
        name: clean_text(getattr(form, name), name, max_len=8000) for name in TREATMENT_FIELDS
    }
    if not (values["diagnosis"] or values["treatment_given"] or values["symptoms"]):
        raise ValidationError(
            "Enter at least the symptoms, the diagnosis or the treatment given.", field="diagnosis"
        )
    with clinic.db.write() as session:
        # Locked, so two people saving the same visit's record at once take turns: the
        # second edits the first's treatment instead of failing on its unique key.
        appt = session.get(Appointment, appointment_id, with_for_update=True)
        if appt is None:
            raise NotFoundError(f"There is no appointment {appointment_id}.")
        if not (actor.is_admin or (actor.role == "doctor" and actor.doctor_id == appt.doctor_id)):
            raise PermissionDeniedError(
                "Only the doctor who saw the patient can record the treatment."
            )
        if appt.status != "completed":
            raise ConflictError("Mark the appointment completed before recording its treatment.")
        treatment = session.scalar(
            select(Treatment).where(Treatment.appointment_id == appointment_id)
        )
        action = "treatment.edit" if treatment else "treatment.record"
        if treatment is None:
            treatment = Treatment(appointment_id=appointment_id)
            session.add(treatment)
        changed = [k for k, v in values.items() if getattr(treatment, k) != v]
        for key, value in values.items():
            setattr(treatment, key, value)
        treatment.recorded_by = actor.user_id
        session.flush()
        audit.record(
            session,
            actor,
            action,
            "treatment",
            treatment.id,
            patient_id=appt.patient_id,
            fields=changed,
        )
        treatment_id = treatment.id
    clinic.changes.notify("treatments")
    return treatment_id


def get_treatment(clinic: Clinic, actor: Actor, appointment_id: int) -> TreatmentRow | None:
    """The treatment of one visit (None when none is recorded yet); the view is audited."""
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None:
            raise NotFoundError(f"There is no appointment {appointment_id}.")
        require_patient_access(session, actor, appt.patient_id, "read the records")
        treatment = session.scalar(
            select(Treatment).where(Treatment.appointment_id == appointment_id)
        )
        if treatment is not None:
            audit.record(
                session,
                actor,
                "treatment.view",
                "treatment",
                treatment.id,
                patient_id=appt.patient_id,
            )
        return _treatment_row(treatment) if treatment else None


def history_statement(patient_id: int) -> Select[Any]:
    """All treatments of a patient, oldest first (also the export's query)."""
    return (
        select(
            Patient.id,
            Patient.full_name,
            Appointment.id,
            Doctor.full_name,
            Department.name,
            Appointment.day,
            Appointment.start_time,
            Appointment.visit_type,
            Treatment.symptoms,
            Treatment.diagnosis,
            Treatment.treatment_given,
            Treatment.prescription,
            Treatment.notes,
        )
        .select_from(Treatment)
        .join(Appointment, Appointment.id == Treatment.appointment_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.patient_id == patient_id)
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )


def _history_row(r: Any) -> HistoryRow:
    return HistoryRow(
        patient_id=r[0],
        patient_name=r[1],
        appointment_id=r[2],
        doctor=r[3],
        department=r[4],
        date=r[5],
        time=r[6],
        visit_type=r[7],
        symptoms=r[8],
        diagnosis=r[9],
        treatment_given=r[10],
        prescription=r[11],
        notes=r[12],
    )


def patient_history(clinic: Clinic, actor: Actor, patient_id: int) -> list[HistoryRow]:
    """A patient's full history, oldest first. Audited as a record view.

    Raises:
        PermissionDeniedError: a patient reading another's, a doctor reading a stranger's.
        NotFoundError: no such patient.
    """
    with clinic.db.write() as session:
        if session.get(Patient, patient_id) is None:
            raise NotFoundError(f"There is no patient with id {patient_id}.")
        require_patient_access(session, actor, patient_id, "read the history")
        rows = [_history_row(r) for r in session.execute(history_statement(patient_id))]
        audit.record(
            session,
            actor,
            "history.view",
            "patient",
            patient_id,
            patient_id=patient_id,
            rows=len(rows),
        )
    return rows
