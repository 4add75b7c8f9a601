"""Who is acting, and what each role may do.

Authorization lives here and in the services, never only in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Appointment
from hms_desktop.errors import PermissionDeniedError

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
