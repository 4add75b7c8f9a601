"""Doctors: add, edit, blacklist, list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Department, Doctor, User
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.accounts import add_user
from hms_desktop.services.people.validation import (
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    search_text,
)
from hms_desktop.services.safety import audit
from hms_desktop.services.views import DoctorRow


@dataclass(frozen=True)
class DoctorForm:
    full_name: str
    department_id: int
    qualification: str = ""
    email: str = ""
    phone: str = ""


def _clean(form: DoctorForm, session: Session) -> dict[str, object]:
    if session.get(Department, form.department_id) is None:
        raise ValidationError("Choose a department.", field="department_id")
    return {
        "full_name": clean_name(form.full_name),
        "department_id": form.department_id,
        "qualification": clean_text(
            form.qualification, "qualification", max_len=200, multiline=False
        ),
        "email": clean_email(form.email),
        "phone": clean_phone(form.phone),
    }


def _row(doc: Doctor, username: str = "") -> DoctorRow:
    return DoctorRow(
        id=doc.id,
        full_name=doc.full_name,
        department_id=doc.department_id,
        department=doc.department.name,
        qualification=doc.qualification,
        email=doc.email,
        phone=doc.phone,
        blacklisted=doc.blacklisted,
        user_id=doc.user_id,
        username=username,
    )


def add_doctor(
    clinic: Clinic,
    actor: Actor,
    form: DoctorForm,
    *,
    username: str | None = None,
    password: str | None = None,
) -> int:
    """Add a doctor, with a log-in account when ``username`` is given. Returns the doctor id."""
    require_staff(actor, "add doctors")
    with clinic.db.write() as session:
        values = _clean(form, session)
        doctor = Doctor(**values)
        if username:
            doctor.user_id = add_user(session, username, password or "", "doctor").id
        session.add(doctor)
        session.flush()
        audit.record(session, actor, "doctor.add", "doctor", doctor.id, name=doctor.full_name)
        doctor_id = doctor.id
    clinic.changes.notify("doctors")
    return doctor_id


def edit_doctor(clinic: Clinic, actor: Actor, doctor_id: int, form: DoctorForm) -> None:
    require_staff(actor, "edit doctors")
    with clinic.db.write() as session:
        doctor = _get(session, doctor_id)
        for key, value in _clean(form, session).items():
            setattr(doctor, key, value)
        audit.record(session, actor, "doctor.edit", "doctor", doctor_id)
    clinic.changes.notify("doctors")


def set_blacklisted(clinic: Clinic, actor: Actor, doctor_id: int, blacklisted: bool) -> None:
    """A blacklisted doctor takes no new bookings; existing ones stay for the desk to move."""
    require_staff(actor, "blacklist doctors")
    with clinic.db.write() as session:
        _get(session, doctor_id).blacklisted = blacklisted
        audit.record(
            session,
            actor,
            "doctor.blacklist" if blacklisted else "doctor.reinstate",
            "doctor",
            doctor_id,
        )
    clinic.changes.notify("doctors")


def _get(session: Session, doctor_id: int) -> Doctor:
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise NotFoundError(f"There is no doctor with id {doctor_id}.")
    return doctor


def get_doctor(clinic: Clinic, doctor_id: int) -> DoctorRow:
    with clinic.db.read() as session:
        return _row(_get(session, doctor_id))


def list_doctors(
    clinic: Clinic,
    *,
    department_id: int | None = None,
    include_blacklisted: bool = True,
    text: str = "",
) -> list[DoctorRow]:
    """Doctors by name; anyone may read the list (patients choose from it)."""
    stmt = (
        select(Doctor, User.username)
        .outerjoin(User, User.id == Doctor.user_id)
        .order_by(Doctor.full_name)
    )
    if department_id is not None:
        stmt = stmt.where(Doctor.department_id == department_id)
    if not include_blacklisted:
        stmt = stmt.where(Doctor.blacklisted.is_(False))
    text = search_text(text)
    if text:
        stmt = stmt.where(Doctor.full_name.icontains(text, autoescape=True))
    with clinic.db.read() as session:
        return [_row(doc, username or "") for doc, username in session.execute(stmt)]
