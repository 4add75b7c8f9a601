"""Who is acting, and what each role may do.

Authorization lives here and in the services, never only in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment
from hms_desktop.errors import PermissionDeniedError, ValidationError

if TYPE_CHECKING:
    from hms_desktop.services.clinic import Clinic

STAFF_ROLES = frozenset({"admin", "receptionist"})


@dataclass(frozen=True)
class Actor:
    """The signed-in user (or the system, for the CLI and scheduled jobs)."""

    user_id: int | None
    username: str
    role: str
    doctor_id: int | None = None
    patient_id: int | None = None
    display_name: str = ""
    #: An administrator reset the password: the user chooses a new one before working.
    must_change_password: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.username


#: The command line and scheduled jobs act as the system, with admin rights.
SYSTEM = Actor(user_id=None, username="system", role="admin", display_name="System")


def require_staff(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise PermissionDeniedError(f"Only the front desk or an administrator can {what}.")


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDeniedError(f"Only an administrator can {what}.")


def require_doctor_or_staff(actor: Actor, doctor_id: int, what: str) -> None:
    """Staff, or the doctor ``doctor_id`` themself."""
    if actor.is_staff or (actor.role == "doctor" and actor.doctor_id == doctor_id):
        return
    raise PermissionDeniedError(f"You can only {what} for yourself.")


def require_patient_access(session: Session, actor: Actor, patient_id: int, what: str) -> None:
    """Staff see every patient; a patient only themself; a doctor only their own patients."""
    if actor.is_staff:
        return
    if actor.role == "patient" and actor.patient_id == patient_id:
        return
    if actor.role == "doctor" and actor.doctor_id is not None:
        treats = session.scalar(
            select(
                # A booking the patient cancelled does not make them this doctor's patient.
                exists().where(
                    Appointment.patient_id == patient_id,
                    Appointment.doctor_id == actor.doctor_id,
                    Appointment.status != "cancelled",
                )
            )
        )
        if treats:
            return
    raise PermissionDeniedError(f"You may not {what} of this patient.")


def require_patient_self_or_staff(actor: Actor, patient_id: int, what: str) -> None:
    if actor.is_staff or (actor.role == "patient" and actor.patient_id == patient_id):
        return
    raise PermissionDeniedError(f"You can only {what} for yourself.")


# --- clinical records: care relationship, emergency access, the patient's own request ------

#: Until the clinic settings hold them (the clinic-rules work), these defaults apply.
DEFAULT_CARE_WINDOW_DAYS = 365
DEFAULT_IDLE_LOCK_MINUTES = 5
#: A typed reason is at least this long, so "x" does not pass for one.
MIN_REASON_LENGTH = 10


def care_window_days(clinic: Clinic) -> int:
    """Days after a visit during which its doctor still reads the patient's records."""
    return int(getattr(clinic.settings, "care_window_days", DEFAULT_CARE_WINDOW_DAYS))


def idle_lock_minutes(clinic: Clinic) -> int:
    """Minutes without input after which a signed-in window locks itself."""
    return int(getattr(clinic.settings, "idle_lock_minutes", DEFAULT_IDLE_LOCK_MINUTES))


class CareRelationshipRequiredError(PermissionDeniedError):
    """A doctor without a current care relationship: emergency access (with a reason) may
    still open the records."""


def has_care_relationship(
    session: Session, doctor_id: int, patient_id: int, today: date, window_days: int
) -> bool:
    """A visit with this doctor completed within the last ``window_days``, or a live visit
    today (a booking ahead, however soon, is not yet care)."""
    since = today - timedelta(days=window_days)
    return bool(
        session.scalar(
            select(
                exists().where(
                    Appointment.patient_id == patient_id,
                    Appointment.doctor_id == doctor_id,
                    or_(
                        and_(
                            Appointment.status == "completed",
                            Appointment.day >= since,
                            Appointment.day <= today,
                        ),
                        and_(Appointment.day == today, Appointment.status != "cancelled"),
                    ),
                )
            )
        )
    )


def clean_reason(reason: str, what: str) -> str:
    """A typed reason, trimmed.

    Raises:
        ValidationError: shorter than :data:`MIN_REASON_LENGTH` characters.
    """
    reason = " ".join(reason.split())[:500]
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError(
            f"Type the reason for {what} (at least {MIN_REASON_LENGTH} characters).",
            field="reason",
        )
    return reason


def require_record_access(
    session: Session,
    clinic: Clinic,
    actor: Actor,
    patient_id: int,
    what: str,
    *,
    emergency_reason: str = "",
    patient_request: str = "",
) -> str:
    """Who may read a patient's clinical fields (diagnoses, treatments, notes), and why.

    The patient themself; a doctor in a care relationship (:func:`has_care_relationship`)
    or, without one, by emergency access with a typed reason; the front desk and
    administrators only to produce the patient's own export at their request (with the
    reason); the system (command line, jobs). Returns the basis for the audit entry:
    "self", "care", "emergency", "patient_request" or "system".

    Raises:
        CareRelationshipRequiredError: a doctor without a care relationship nor a reason.
        PermissionDeniedError: anyone else.
        ValidationError: a reason given that is too short.
    """
    if actor == SYSTEM:
        return "system"
    if actor.role == "patient" and actor.patient_id == patient_id:
        return "self"
    if actor.role == "doctor" and actor.doctor_id is not None:
        window = care_window_days(clinic)
        if has_care_relationship(session, actor.doctor_id, patient_id, clinic.today(), window):
            return "care"
        if emergency_reason:
            clean_reason(emergency_reason, "emergency access")
            return "emergency"
        raise CareRelationshipRequiredError(
            f"You may not {what} of this patient: you have no visit with them in the last "
            f"{window} days nor today. In an emergency, open them with a reason."
        )
    if actor.is_staff and patient_request:
        clean_reason(patient_request, "the patient's request")
        return "patient_request"
    if actor.is_staff:
        raise PermissionDeniedError(
            f"The front desk may not {what}: clinical records are for the patient and their "
            "doctors (an export can be made at the patient's own request)."
        )
    raise PermissionDeniedError(f"You may not {what} of this patient.")


def require_treating_doctor(actor: Actor, doctor_id: int) -> None:
    """Recording and amending clinical fields: the visit's own doctor (or the system).

    Raises:
        PermissionDeniedError: administrators, the front desk, other doctors, patients.
    """
    if actor == SYSTEM or (actor.role == "doctor" and actor.doctor_id == doctor_id):
        return
    raise PermissionDeniedError(
        "Only the doctor who saw the patient can record or amend the treatment."
    )
