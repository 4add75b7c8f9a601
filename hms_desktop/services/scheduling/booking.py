"""Booking: book, reschedule, cancel, and the status of a visit.

The rules are checked here and again by the database: partial unique indexes
refuse a second live appointment in a doctor's slot or a patient's second live
appointment at the same time, so two PCs racing for one slot get exactly one
success and one :class:`SlotTakenError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, exists, func, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import (
    VISIT_TYPES,
    Appointment,
    Department,
    Doctor,
    Patient,
    Treatment,
    utcnow,
)
from hms_desktop.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    SlotTakenError,
    ValidationError,
)
from hms_desktop.services.actor import (
    Actor,
    require_patient_access,
    require_patient_self_or_staff,
)
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import (
    clean_text,
    fold,
    parse_day,
    parse_time,
    search_text,
)
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling.availability import last_bookable_day, offers_slot
from hms_desktop.services.views import STATUS_LABELS, AppointmentRow

# Re-exported: screens and exports read the labels from here.
from hms_desktop.services.views import VISIT_LABELS as VISIT_LABELS

#: booked -> one of these, and nothing else.
FINAL_STATUSES = ("completed", "cancelled", "no_show")


def _taken_error(day: date, at: time, *, patient: bool) -> SlotTakenError:
    if patient:
        return SlotTakenError(
            f"The patient already has an appointment on {day:%Y-%m-%d} at {at:%H:%M}. "
            "Choose another time.",
            field="time",
        )
    return SlotTakenError(
        f"That slot ({day:%Y-%m-%d} {at:%H:%M}) was just taken. Choose another free slot.",
        field="time",
    )


def _check_slot(
    session: Session,
    clinic: Clinic,
    doctor: Doctor,
    patient: Patient,
    day: date,
    at: time,
    *,
    ignore_id: int | None = None,
) -> None:
    if doctor.blacklisted:
        raise ValidationError(
            f"{doctor.full_name} is not taking bookings (blacklisted). Choose another doctor.",
            field="doctor_id",
        )
    if patient.blacklisted:
        raise ValidationError(
            f"{patient.full_name} is blacklisted and cannot book. The front desk can lift "
            "the blacklist in Admin > Patients.",
            field="patient_id",
        )
    if datetime.combine(day, at) <= clinic.now().replace(tzinfo=None):
        raise ValidationError(
            f"{day:%Y-%m-%d} {at:%H:%M} is in the past. Choose a time from now on.", field="date"
        )
    if day > last_bookable_day(clinic):
        raise ValidationError(
            f"Bookings are taken up to {last_bookable_day(clinic):%Y-%m-%d}; "
            f"{day:%Y-%m-%d} is too far ahead.",
            field="date",
        )
    if not offers_slot(session, doctor.id, day, at):
        raise ValidationError(
            f"{doctor.full_name} does not see patients on {day:%Y-%m-%d} at {at:%H:%M}. "
            "Choose one of the free slots.",
            field="time",
        )

    def clash(*conditions: Any) -> bool:
        stmt = select(
            exists().where(
                Appointment.day == day,
                Appointment.start_time == at,
                Appointment.status != "cancelled",
                Appointment.id != (ignore_id or -1),
                *conditions,
            )
        )
        return bool(session.scalar(stmt))

    if clash(Appointment.doctor_id == doctor.id):
        raise _taken_error(day, at, patient=False)
    if clash(Appointment.patient_id == patient.id):
        raise _taken_error(day, at, patient=True)


def check_bookable(
    clinic: Clinic,
    *,
    patient_id: int,
    doctor_id: int,
    day: date,
    at: time,
    ignore_id: int | None = None,
) -> None:
    """Raise what :func:`book` would raise for this slot, without booking (a dry run).

    Raises:
        ValidationError, SlotTakenError, NotFoundError: as :func:`book`.
    """
    with clinic.db.read() as session:
        doctor = session.get(Doctor, doctor_id)
        patient = session.get(Patient, patient_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
        if patient is None:
            raise NotFoundError(f"There is no patient with id {patient_id}.", field="patient_id")
        _check_slot(session, clinic, doctor, patient, day, at, ignore_id=ignore_id)


def _flush_or_taken(session: Session, day: date, at: time) -> None:
    """Flush; a unique-index violation means another PC won the race."""
    try:
        session.flush()
    except IntegrityError as err:
        message = str(err.orig)
        # PostgreSQL names the index; SQLite lists the indexed columns.
        if "uq_appointments_patient_live_slot" in message or "appointments.patient_id" in message:
            raise _taken_error(day, at, patient=True) from None
        if "uq_appointments_doctor_live_slot" in message or "appointments.doctor_id" in message:
            raise _taken_error(day, at, patient=False) from None
        raise  # any other constraint is a bug, not a taken slot


def _hold_doctor(session: Session, doctor_id: int) -> None:
    """Hold the doctor's row shared until commit.

    Availability changes and blacklisting lock it exclusively, so on PostgreSQL a
    booking never lands in time that is being removed (SQLite serialises writers).
    """
    session.execute(select(Doctor.id).where(Doctor.id == doctor_id).with_for_update(read=True))


def _load(session: Session, appointment_id: int, *, lock: bool = False) -> Appointment:
    # A change locks the row first: two PCs closing one visit at once (complete and
    # cancel) must not both see "booked" and both win.
    appt = session.get(Appointment, appointment_id, with_for_update=lock or None)
    if appt is None:
        raise NotFoundError(f"There is no appointment {appointment_id}.")
    return appt


def _patient_may_still_change(clinic: Clinic, actor: Actor, appt: Appointment, what: str) -> None:
    """A patient changes a visit only before it starts (a missed one stays missed)."""
    started = datetime.combine(appt.day, appt.start_time) <= clinic.now().replace(tzinfo=None)
    if actor.role == "patient" and started:
        raise ValidationError(
            f"A visit that has started can no longer be {what} online; call the clinic."
        )


def _may_change(actor: Actor, appt: Appointment, what: str) -> None:
    if actor.is_staff:
        return
    if actor.role == "patient" and actor.patient_id == appt.patient_id:
        return
    if actor.role == "doctor" and actor.doctor_id == appt.doctor_id:
        return
    raise PermissionDeniedError(f"You may not {what} this appointment.")


def book(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int,
    doctor_id: int,
    day: date | str,
    at: time | str,
    visit_type: str = "consultation",
    reason: str = "",
    series_id: int | None = None,
) -> int:
    """Book a free slot. Returns the new appointment's id.

    ``series_id`` makes the visit an occurrence of a recurring series (see
    :mod:`.series`); ``-1`` starts a new series named after this visit's id.

    Raises:
        ValidationError: past time, not an offered slot, blacklisted doctor or patient,
            unknown visit type.
        SlotTakenError: the doctor's slot is taken or the patient is busy then.
        PermissionDeniedError: a patient booking for someone else, or a doctor booking.
    """
    if actor.role == "doctor":
        raise PermissionDeniedError("Doctors do not book appointments; ask the front desk.")
    require_patient_self_or_staff(actor, patient_id, "book appointments")
    the_day, the_time = parse_day(day), parse_time(at)
    if visit_type not in VISIT_TYPES:
        raise ValidationError(
            f"Visit type must be one of {', '.join(VISIT_TYPES)}.", field="visit_type"
        )
    reason = clean_text(reason, "reason", max_len=1000)
    with clinic.db.write() as session:
        _hold_doctor(session, doctor_id)
        doctor = session.get(Doctor, doctor_id)
        patient = session.get(Patient, patient_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
        if patient is None:
            raise NotFoundError(f"There is no patient with id {patient_id}.", field="patient_id")
        _check_slot(session, clinic, doctor, patient, the_day, the_time)
        appt = Appointment(
            doctor_id=doctor_id,
            patient_id=patient_id,
            day=the_day,
            start_time=the_time,
            visit_type=visit_type,
            reason=reason,
            status="booked",
            series_id=series_id if series_id != -1 else None,
        )
        session.add(appt)
        _flush_or_taken(session, the_day, the_time)
        if series_id == -1:
            appt.series_id = appt.id
        audit.record(
            session,
            actor,
            "appointment.book",
            "appointment",
            appt.id,
            patient_id=patient_id,
            doctor_id=doctor_id,
            day=the_day,
            time=the_time.strftime("%H:%M"),
        )
        new_id = appt.id
    clinic.changes.notify("appointments")
    return new_id


def reschedule(
    clinic: Clinic,
    actor: Actor,
    appointment_id: int,
    *,
    day: date | str,
    at: time | str,
    doctor_id: int | None = None,
) -> None:
    """Move a booked appointment to another free slot (optionally another doctor)."""
    the_day, the_time = parse_day(day), parse_time(at)
    with clinic.db.write() as session:
        appt = _load(session, appointment_id, lock=True)
        _may_change(actor, appt, "reschedule")
        if actor.role == "doctor":
            raise PermissionDeniedError("Doctors do not move appointments; ask the front desk.")
        if appt.status != "booked":
            raise ConflictError(
                "Only a booked appointment can be moved; this one is "
                f"{STATUS_LABELS[appt.status].lower()}."
            )
        _patient_may_still_change(clinic, actor, appt, "moved")
        _hold_doctor(session, doctor_id or appt.doctor_id)
        doctor = session.get(Doctor, doctor_id or appt.doctor_id)
        if doctor is None:
            raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
        _check_slot(session, clinic, doctor, appt.patient, the_day, the_time, ignore_id=appt.id)
        before = f"{appt.day:%Y-%m-%d} {appt.start_time:%H:%M} doctor {appt.doctor_id}"
        appt.doctor_id, appt.day, appt.start_time = doctor.id, the_day, the_time
        _flush_or_taken(session, the_day, the_time)
        audit.record(
            session,
            actor,
            "appointment.reschedule",
            "appointment",
            appt.id,
            patient_id=appt.patient_id,
            before=before,
            after=f"{the_day:%Y-%m-%d} {the_time:%H:%M} doctor {doctor.id}",
        )
    clinic.changes.notify("appointments")


def set_status(clinic: Clinic, actor: Actor, appointment_id: int, status: str) -> None:
    """Move a booked appointment to completed, cancelled or no-show.

    Raises:
        ValidationError: an unknown status, or completing/no-show before the visit's day.
        ConflictError: the appointment is not booked any more.
        PermissionDeniedError: a patient marking anything but a cancel; another doctor's patient.
    """
    if status not in FINAL_STATUSES:
        raise ValidationError(
            "An appointment can become completed, cancelled or no-show.", field="status"
        )
    with clinic.db.write() as session:
        appt = _load(session, appointment_id, lock=True)
        _may_change(actor, appt, "change")
        if appt.status != "booked":
            raise ConflictError(
                f"This appointment is {STATUS_LABELS[appt.status].lower()} already; only a booked "
                "appointment can change."
            )
        if status != "cancelled":
            if actor.role == "patient":
                raise PermissionDeniedError("Only the doctor or the front desk can close a visit.")
            if appt.day > clinic.today():
                raise ValidationError(
                    f"The visit is on {appt.day:%Y-%m-%d}; it can be marked "
                    f"{STATUS_LABELS[status].lower()} from that day on.",
                    field="status",
                )
        else:
            _patient_may_still_change(clinic, actor, appt, "cancelled")
        appt.status = status
        appt.status_changed_at = utcnow()
        audit.record(
            session,
            actor,
            f"appointment.{status}",
            "appointment",
            appt.id,
            patient_id=appt.patient_id,
        )
    clinic.changes.notify("appointments")


def cancel(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    set_status(clinic, actor, appointment_id, "cancelled")


def complete(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    set_status(clinic, actor, appointment_id, "completed")


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


def _appointment_row(r: Any) -> AppointmentRow:
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
            return [_appointment_row(r) for r in session.execute(stmt)]
    if flt.patient_id is None:
        raise PermissionDeniedError("Diagnoses are shown for one patient's visits at a time.")
    with clinic.db.write() as session:
        require_patient_access(session, actor, flt.patient_id, "read the records")
        rows = [_appointment_row(r) for r in session.execute(stmt)]
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


def get_appointment(clinic: Clinic, actor: Actor, appointment_id: int) -> AppointmentRow:
    """One appointment, for staff, its doctor or its patient.

    Raises:
        NotFoundError: no such appointment.
        PermissionDeniedError: anyone else.
    """
    with clinic.db.read() as session:
        _may_change(actor, _load(session, appointment_id), "see")
        found = session.execute(
            appointments_statement(AppointmentFilter()).where(Appointment.id == appointment_id)
        ).one()
        return _appointment_row(found)
