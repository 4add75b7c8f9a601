"""Medical records: treatments on completed visits, and a patient's full history.

Every view, edit and export of a record is written to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy import exists as sql_exists
from sqlalchemy.orm import Session

from hms_desktop.db import kept
from hms_desktop.db.models import (
    Appointment,
    AuditEntry,
    Department,
    Doctor,
    Patient,
    Treatment,
    TreatmentVersion,
    User,
    utcnow,
)
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_text
from hms_desktop.services.policy import (
    clean_reason,
    require_record_access,
    require_treating_doctor,
)
from hms_desktop.services.safety import audit, audit_chain
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
    """Record (or amend) the treatment of a completed visit. Returns the treatment id.

    An amendment keeps the values it replaces as a :class:`TreatmentVersion` (who wrote
    them and when, who replaced them and when); the audit entry names the changed fields
    and the version, never the clinical values.

    Raises:
        PermissionDeniedError: anyone but the visit's doctor (administrators included).
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
        require_treating_doctor(actor, appt.doctor_id)
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
        version = None
        if treatment.id is not None and changed:
            version = _keep_version(session, treatment, actor)
            action = "treatment.amend"
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
            **({"replaced_version": version} if version else {}),
        )
        treatment_id = treatment.id
    clinic.changes.notify("treatments")
    return treatment_id


def _keep_version(session: Session, treatment: Treatment, actor: Actor) -> int:
    """Store the treatment's values before an amendment; returns their version number."""
    number = (
        session.scalar(
            select(func.count())
            .select_from(TreatmentVersion)
            .where(TreatmentVersion.treatment_id == treatment.id)
        )
        or 0
    ) + 1
    author = session.get(User, treatment.recorded_by) if treatment.recorded_by else None
    session.add(
        TreatmentVersion(
            treatment_id=treatment.id,
            version=number,
            **{name: getattr(treatment, name) for name in TREATMENT_FIELDS},
            written_by=author.username if author else "",
            written_at=treatment.updated_at,
            replaced_by=actor.username,
            replaced_at=utcnow(),
        )
    )
    return number


def _record_basis(
    session: Session,
    clinic: Clinic,
    actor: Actor,
    appt: Appointment,
    emergency_reason: str,
) -> str:
    # A doctor always reads the records of their own visits.
    if actor.role == "doctor" and actor.doctor_id == appt.doctor_id:
        return "own_visit"
    return require_record_access(
        session, clinic, actor, appt.patient_id, "read the records",
        emergency_reason=emergency_reason,
    )  # fmt: skip


def _audit_emergency(
    session: Session, actor: Actor, patient_id: int, basis: str, reason: str
) -> None:
    if basis == "emergency":
        audit.record(
            session, actor, "emergency.access", "patient", patient_id,
            patient_id=patient_id, reason=clean_reason(reason, "emergency access"),
        )  # fmt: skip


def get_treatment(
    clinic: Clinic, actor: Actor, appointment_id: int, *, emergency_reason: str = ""
) -> TreatmentRow | None:
    """The treatment of one visit (None when none is recorded yet); the view is audited.

    Raises:
        NotFoundError: no such appointment.
        CareRelationshipRequiredError: a doctor without care relationship nor reason.
        PermissionDeniedError: the front desk, administrators, other patients.
    """
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None:
            raise NotFoundError(f"There is no appointment {appointment_id}.")
        basis = _record_basis(session, clinic, actor, appt, emergency_reason)
        _audit_emergency(session, actor, appt.patient_id, basis, emergency_reason)
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


def visit_record_columns() -> tuple[Any, ...]:
    """A visit as a history shows it: patient, visit, doctor, department, treatment text.

    The history here and the whole-record export (``files.history_data``) select these
    first, in this order, and add their own columns after them.
    """
    return (
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


def history_statement(patient_id: int) -> Select[Any]:
    """All treatments of a patient, oldest first (also the export's query)."""
    return _HISTORY.params(patient_id=patient_id)


def _history_template() -> Select[Any]:
    return (
        select(
            *visit_record_columns(),
            # How many earlier versions an amendment kept (0: never amended).
            select(func.count(TreatmentVersion.id))
            .where(TreatmentVersion.treatment_id == Treatment.id)
            .scalar_subquery(),
        )
        .select_from(Treatment)
        .join(Appointment, Appointment.id == Treatment.appointment_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Department, Department.id == Doctor.department_id)
        .where(Appointment.patient_id == bindparam("patient_id"))
        .order_by(Appointment.day, Appointment.start_time, Appointment.id)
    )


#: Built once: a history is opened often, and building this select (five tables, a
#: subquery) cost more client time than the database took to answer it (0.4 of the
#: 0.9 ms a history took on PostgreSQL, benchmarks).
_HISTORY = _history_template()
#: :data:`_HISTORY` on the kept connection for a signed-in window: no rows once its
#: account (``account``: the user's id) is disabled, the check a session makes.
_HISTORY_CHECKED = _HISTORY.where(
    sql_exists().where(User.id == bindparam("account", type_=Integer), User.is_active)
)


def _history_row(r: Any) -> HistoryRow:
    """A history row from a result row of :data:`_HISTORY` (its columns in order)."""
    return HistoryRow._make(r)


def _require_patient(session: Session, patient_id: int) -> None:
    if session.scalar(select(Patient.id).where(Patient.id == patient_id)) is None:
        raise NotFoundError(f"There is no patient with id {patient_id}.")


def patient_history(
    clinic: Clinic, actor: Actor, patient_id: int, *, emergency_reason: str = ""
) -> list[HistoryRow]:
    """A patient's full history, oldest first. Audited as a record view; emergency access
    (a doctor without care relationship, with a typed reason) is audited on its own too.

    Raises:
        CareRelationshipRequiredError: a doctor without care relationship nor reason.
        PermissionDeniedError: a patient reading another's, the front desk, administrators.
        ValidationError: an emergency reason too short to be one.
        NotFoundError: no such patient.
    """
    quick = _history_quickly(clinic, actor, patient_id, emergency_reason)
    if quick is not None:
        return quick
    # Whether the patient exists is asked only when the answer changes what is said (a
    # refusal, or no rows): a history is opened often, and on PostgreSQL each question is
    # a round trip more.
    with clinic.db.read() as session:
        try:
            basis = require_record_access(
                session, clinic, actor, patient_id, "read the history",
                emergency_reason=emergency_reason,
            )  # fmt: skip
        except PermissionDeniedError:
            _require_patient(session, patient_id)  # a wrong id says so, not "you may not"
            raise
        found = session.execute(_HISTORY, {"patient_id": patient_id})
        rows = [_history_row(r) for r in found]
        if not rows:
            _require_patient(session, patient_id)
    # The view is recorded before its rows leave here: rows whose view could not be
    # recorded are never shown. A view is one entry in a transaction of its own (on
    # PostgreSQL one round trip; audit.record_now); an emergency opening is two, together.
    view = {"rows": len(rows), "basis": basis}
    if basis == "emergency":
        with clinic.db.write() as session:
            _audit_emergency(session, actor, patient_id, basis, emergency_reason)
            audit.record(session, actor, "history.view", "patient", patient_id,
                         patient_id=patient_id, **view)  # fmt: skip
    else:
        audit.record_now(
            clinic, actor, "history.view", "patient", patient_id, patient_id=patient_id, **view
        )
    return rows


def _history_quickly(
    clinic: Clinic, actor: Actor, patient_id: int, emergency_reason: str
) -> list[HistoryRow] | None:
    """:func:`patient_history` on PostgreSQL's kept connection (:mod:`hms_desktop.db.kept`):
    the same access rule, rows and audit entry, without a session. None: go the long way,
    which says what is wrong (refused, no such patient, an account disabled) or writes an
    emergency opening's two entries together; also SQLite's way (one file, no round trips
    to save) and a connection found dead."""
    db = clinic.db
    if db.is_sqlite or emergency_reason:
        return None
    try:
        with kept.autocommit(db) as reader:
            try:
                basis = require_record_access(reader, clinic, actor, patient_id, "read the history")
            except PermissionDeniedError:
                return None
            account = db.checked_account
            statement, params = (
                (_HISTORY, {"patient_id": patient_id})
                if account is None  # no signed-in window (the command line, jobs)
                else (_HISTORY_CHECKED, {"patient_id": patient_id, "account": account})
            )
            rows = [_history_row(r) for r in reader.rows(statement, params)]
            if not rows:
                return None
            # Recorded before the rows leave here, as the long way does.
            entry = audit.plain_entry(
                actor, "history.view", "patient", patient_id, patient_id=patient_id,
                rows=len(rows), basis=basis,
            )  # fmt: skip
            audit_chain.append_kept(reader, entry)
    except kept.KeptConnectionGoneError:
        return None
    db.changes.committed({AuditEntry.__tablename__: [entry.id]})
    return rows


@dataclass(frozen=True)
class TreatmentVersionRow:
    """One version of a treatment, oldest first; the last is the current one."""

    version: int
    symptoms: str
    diagnosis: str
    treatment_given: str
    prescription: str
    notes: str
    written_by: str
    written_at: datetime
    #: Who replaced it and when (empty and None for the current version).
    replaced_by: str
    replaced_at: datetime | None
    is_current: bool


def treatment_versions(
    clinic: Clinic, actor: Actor, appointment_id: int, *, emergency_reason: str = ""
) -> list[TreatmentVersionRow]:
    """Every version of a visit's treatment, oldest first, the current one last (empty
    when none is recorded). Audited as a record view; the same access as
    :func:`get_treatment`."""
    with clinic.db.write() as session:
        appt = session.get(Appointment, appointment_id)
        if appt is None:
            raise NotFoundError(f"There is no appointment {appointment_id}.")
        basis = _record_basis(session, clinic, actor, appt, emergency_reason)
        _audit_emergency(session, actor, appt.patient_id, basis, emergency_reason)
        treatment = session.scalar(
            select(Treatment).where(Treatment.appointment_id == appointment_id)
        )
        if treatment is None:
            return []
        old = session.scalars(
            select(TreatmentVersion)
            .where(TreatmentVersion.treatment_id == treatment.id)
            .order_by(TreatmentVersion.version)
        ).all()
        author = session.get(User, treatment.recorded_by) if treatment.recorded_by else None
        rows = [
            TreatmentVersionRow(
                version=v.version,
                **{name: getattr(v, name) for name in TREATMENT_FIELDS},
                written_by=v.written_by,
                written_at=v.written_at,
                replaced_by=v.replaced_by,
                replaced_at=v.replaced_at,
                is_current=False,
            )
            for v in old
        ]
        rows.append(
            TreatmentVersionRow(
                version=len(old) + 1,
                **{name: getattr(treatment, name) for name in TREATMENT_FIELDS},
                written_by=author.username if author else "",
                written_at=treatment.updated_at,
                replaced_by="",
                replaced_at=None,
                is_current=True,
            )
        )
        audit.record(
            session, actor, "treatment.versions", "treatment", treatment.id,
            patient_id=appt.patient_id, basis=basis,
        )  # fmt: skip
        return rows


@dataclass(frozen=True)
class EmergencyAccessRow:
    at: datetime
    doctor: str
    patient_id: int | None
    reason: str


def emergency_accesses(clinic: Clinic, actor: Actor, limit: int = 200) -> list[EmergencyAccessRow]:
    """Emergency openings of records, newest first, for the administrator to review.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
    """
    require_admin(actor, "review emergency access")
    rows = audit.list_entries(clinic, actor, action_prefix="emergency.access", limit=limit)
    return [EmergencyAccessRow(r.at, r.actor, r.patient_id, _reason_of(r.details)) for r in rows]


def _reason_of(details: str) -> str:
    try:
        value = json.loads(details or "{}").get("reason", "")
    except (ValueError, AttributeError):
        return ""
    return str(value)
