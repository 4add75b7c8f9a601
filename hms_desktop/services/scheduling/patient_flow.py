"""A patient's way through the visit's day: check-in, the waiting room, the doctor, walk-ins.

booked -> arrived (checked in at the desk, time stamped) -> in consultation (the
doctor called the patient in, time stamped) -> completed (the booking service).
Each step is undone by the desk until the next one is taken. A walk-in is a visit
created as arrived now: in the doctor's free time when there is some, else as an
extra visit marked overbooked with a reason (it may overlap the doctor's other
visits, never the patient's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment, Doctor, Patient, VisitType
from hms_desktop.errors import ConflictError, NotFoundError, ValidationError
from hms_desktop.services.actor import Actor, require_doctor_or_staff, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_text
from hms_desktop.services.safety import audit
from hms_desktop.services.scheduling import availability, overlap
from hms_desktop.services.views import FLOW_LABELS, AppointmentRow, WaitingRow, day_words


def wait_threshold_minutes(clinic: Clinic) -> int:
    """How long a patient may wait before the waiting room highlights them (clinic-wide)."""
    return clinic.settings.wait_threshold_minutes


def _utc_now(clinic: Clinic) -> datetime:
    return clinic.now().astimezone(UTC)


def _load(session: Session, appointment_id: int) -> Appointment:
    appt = session.get(Appointment, appointment_id, with_for_update=True)
    if appt is None:
        raise NotFoundError(f"There is no appointment {appointment_id}.")
    return appt


def _status_text(appt: Appointment) -> str:
    return FLOW_LABELS.get(appt.flow_status, appt.flow_status).lower()


def check_in(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """The patient is here: booked -> arrived, stamped now. Front desk only.

    Raises:
        ConflictError: the visit is not booked (already arrived, closed, cancelled).
        ValidationError: the visit is not today.
        PermissionDeniedError: not front desk or administrator.
    """
    require_staff(actor, "check a patient in")
    with clinic.db.write() as session:
        appt = _load(session, appointment_id)
        session.refresh(appt)
        if appt.flow_status != "booked":
            raise ConflictError(
                f"This visit is {_status_text(appt)}; only a booked visit checks in."
            )
        if appt.day != clinic.today():
            raise ValidationError(
                f"This visit is on {day_words(appt.day)}; patients check in on the day of the visit."
            )
        appt.arrived_at = _utc_now(clinic)
        audit.record(
            session,
            actor,
            "appointment.check_in",
            "appointment",
            appt.id,
            patient_id=appt.patient_id,
        )
    clinic.changes.notify("appointments")


def call_in(clinic: Clinic, actor: Actor, appointment_id: int) -> None:
    """The doctor calls the patient in: arrived -> in consultation, stamped now.

    Raises:
        ConflictError: the patient has not checked in, or is with the doctor already.
        PermissionDeniedError: another doctor's patient, or a patient.
    """
    with clinic.db.write() as session:
        appt = _load(session, appointment_id)
        session.refresh(appt)
        require_doctor_or_staff(actor, appt.doctor_id, "call patients in")
        if appt.flow_status != "arrived":
            raise ConflictError(
                f"This visit is {_status_text(appt)}; only a checked-in patient is called in."
            )
        appt.consultation_at = _utc_now(clinic)
        audit.record(
            session,
            actor,
            "appointment.call_in",
            "appointment",
            appt.id,
            patient_id=appt.patient_id,
        )
    clinic.changes.notify("appointments")


#: The status each step leads to (what :func:`undo_step` takes back from).
_STEP_LEADS_TO = {"check_in": "arrived", "call_in": "in_consultation"}


def undo_step(clinic: Clinic, actor: Actor, appointment_id: int, *, step: str | None = None) -> str:
    """Take back the last step (in consultation -> arrived -> booked). Returns the new status.

    An overbooked walk-in exists only because the patient was here: undoing its
    check-in cancels it. With ``step`` ("check_in" or "call_in"), only that step is
    taken back: the desk's Undo of a check-in must not take back a call-in made since.

    Raises:
        ConflictError: nothing to undo (booked, or closed already), or ``step`` is not
            the visit's last step any more.
        PermissionDeniedError: not front desk or administrator (or the doctor, for a call-in).
    """
    with clinic.db.write() as session:
        appt = _load(session, appointment_id)
        session.refresh(appt)
        state = appt.flow_status
        if step is not None and step not in _STEP_LEADS_TO:
            raise ValueError(f"unknown step {step!r}")
        if step is not None and _STEP_LEADS_TO.get(step) != state:
            raise ConflictError(
                f"This visit is {_status_text(appt)} now: its {step.replace('_', '-')} "
                "is not the last step any more, so it was not taken back."
            )
        if state == "in_consultation":
            require_doctor_or_staff(actor, appt.doctor_id, "undo a call-in")
            appt.consultation_at = None
            now_state = "arrived"
        elif state == "arrived":
            require_staff(actor, "undo a check-in")
            appt.arrived_at = None
            now_state = "booked"
            if appt.overbooked:  # it exists only because the patient was here
                appt.status = now_state = "cancelled"
                appt.status_changed_at = _utc_now(clinic)
        else:
            raise ConflictError(f"This visit is {_status_text(appt)}: there is no step to undo.")
        audit.record(
            session,
            actor,
            "appointment.undo_step",
            "appointment",
            appt.id,
            patient_id=appt.patient_id,
            before=state,
            after=now_state,
        )
    clinic.changes.notify("appointments")
    return now_state


@dataclass(frozen=True)
class WalkIn:
    """What :func:`walk_in` made."""

    appointment_id: int
    day: date
    start: time
    overbooked: bool


def _grid_floor(moment: datetime, minutes: int) -> time:
    start = moment.replace(second=0, microsecond=0)
    return (start - timedelta(minutes=start.minute % minutes)).time()


def walk_in(
    clinic: Clinic,
    actor: Actor,
    *,
    patient_id: int,
    doctor_id: int,
    reason: str = "",
    visit_type: str = "consultation",
) -> WalkIn:
    """A patient without an appointment, here now: a visit created as arrived.

    The doctor's free slot that has begun or begins next today is taken when there
    is one within the next hour (booked and checked in at once: audited as
    "appointment.book" and "appointment.walk_in", or not at all); otherwise the visit
    is an extra one, starting now, marked overbooked, and needs a reason. Either way no
    booking confirmation is emailed: the patient is standing at the desk.

    Raises:
        ValidationError: no free time and no reason given; a blacklisted doctor or patient.
        NotFoundError: unknown patient or doctor.
        SlotTakenError: the patient has another visit at that time.
    """
    from hms_desktop.services.scheduling import booking  # the booking rules, checked once

    require_staff(actor, "register a walk-in")
    reason = clean_text(reason, "reason", max_len=1000)
    now = clinic.now()
    today = now.date()
    wall_now = now.replace(tzinfo=None)
    free = [
        s
        for s in availability.free_slots(clinic, doctor_id, today)
        if datetime.combine(s.date, s.time) - wall_now <= timedelta(hours=1)
    ]
    if free:
        slot = free[0]
        # One transaction: the booking is made checked in, never booked but not here.
        new_id = booking.book(
            clinic,
            actor,
            patient_id=patient_id,
            doctor_id=doctor_id,
            day=today,
            at=slot.time,
            visit_type=visit_type,
            reason=reason,
            arrived_at=_utc_now(clinic),
        )
        return WalkIn(new_id, today, slot.time, overbooked=False)
    if not reason:
        raise ValidationError(
            "The doctor has no free time now: say why the patient is seen anyway "
            "(the visit is added as an extra, overbooked visit).",
            field="reason",
        )
    start = _grid_floor(wall_now, 5)
    end = start
    try:
        with clinic.db.write() as session:
            doctor = session.get(Doctor, doctor_id)
            patient = session.get(Patient, patient_id)
            if doctor is None:
                raise NotFoundError(f"There is no doctor with id {doctor_id}.", field="doctor_id")
            if patient is None:
                raise NotFoundError(
                    f"There is no patient with id {patient_id}.", field="patient_id"
                )
            if doctor.blacklisted or patient.blacklisted:
                raise ValidationError("This doctor or patient is blocked from new visits.")
            kind = session.get(VisitType, visit_type)
            minutes = kind.minutes if kind is not None else 30
            moment = datetime.combine(today, start) + timedelta(minutes=minutes)
            end = moment.time() if moment.date() == today else time(23, 59, 59)
            clash = overlap.clash_error(
                session, doctor_id, patient_id, today, start, end, overbooked=True
            )
            if clash is not None:
                raise clash
            appt = Appointment(
                doctor_id=doctor_id,
                patient_id=patient_id,
                day=today,
                start_time=start,
                end_time=end,
                visit_type=visit_type,
                reason=reason,
                status="booked",
                arrived_at=_utc_now(clinic),
                overbooked=True,
                overbook_reason=reason,
            )
            session.add(appt)
            overlap.flush_or_overlap(session)
            audit.record(
                session,
                actor,
                "appointment.walk_in",
                "appointment",
                appt.id,
                patient_id=patient_id,
                overbooked=True,
                reason=reason,
            )
            new_id = appt.id
    except overlap.OverlapError:
        overlap.raise_overlap(clinic, doctor_id, patient_id, today, start, end, overbooked=True)
    clinic.changes.notify("appointments")
    return WalkIn(new_id, today, start, overbooked=True)


def waiting_room(clinic: Clinic, actor: Actor, doctor_id: int | None = None) -> list[WaitingRow]:
    """Who is here today and not done: checked in or with the doctor, longest waiting first.

    A doctor sees only their own patients. Raises PermissionDeniedError for patients.
    """
    if actor.role == "doctor":
        doctor_id = actor.doctor_id
    else:
        require_staff(actor, "see the waiting room")
    now = _utc_now(clinic)
    stmt = (
        select(Appointment, Patient.full_name, Doctor.full_name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .where(
            and_(
                Appointment.day == clinic.today(),
                Appointment.status == "booked",
                Appointment.arrived_at.is_not(None),
            )
        )
        .order_by(Appointment.arrived_at, Appointment.id)
    )
    if doctor_id is not None:
        stmt = stmt.where(Appointment.doctor_id == doctor_id)
    rows = []
    with clinic.db.read() as session:
        for appt, patient, doctor in session.execute(stmt):
            assert appt.arrived_at is not None
            until = appt.consultation_at or now
            rows.append(
                WaitingRow(
                    appointment_id=appt.id,
                    patient_id=appt.patient_id,
                    patient=patient,
                    doctor_id=appt.doctor_id,
                    doctor=doctor,
                    time=appt.start_time,
                    status=appt.flow_status,
                    arrived_at=appt.arrived_at,
                    consultation_at=appt.consultation_at,
                    waited_minutes=max(0, int((until - appt.arrived_at).total_seconds() // 60)),
                    overbooked=appt.overbooked,
                )
            )
    return rows


def expected_today(clinic: Clinic, actor: Actor) -> list[AppointmentRow]:
    """Today's booked visits whose patient has not checked in yet, by time (front desk)."""
    from hms_desktop.services.scheduling import booking

    require_staff(actor, "see who is expected today")
    today = clinic.today()
    rows = booking.list_appointments(
        clinic,
        actor,
        booking.AppointmentFilter(date_from=today, date_to=today, statuses=("booked",)),
        limit=1000,
    )
    return [r for r in rows if r.status == "booked"]
