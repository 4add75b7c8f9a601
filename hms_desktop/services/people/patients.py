"""Patients: register (by the desk or themselves), edit, blacklist, search."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, or_, select, union_all
from sqlalchemy.orm import Session

from hms_desktop.db.models import Patient, User
from hms_desktop.errors import NotFoundError, ValidationError
from hms_desktop.services.actor import (
    Actor,
    require_patient_access,
    require_patient_self_or_staff,
    require_staff,
)
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.accounts import add_user
from hms_desktop.services.people.validation import (
    check_birth_date,
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    fold,
    parse_day,
    phone_digits,
    search_text,
)
from hms_desktop.services.safety import audit
from hms_desktop.services.views import PatientRow

GENDERS = ("", "female", "male", "other")
#: The length of the name search keys' columns.
KEY_LENGTH = 120
#: What may surround the digits of a phone number typed into the search box.
_PHONE_PUNCTUATION = frozenset(" +-()./")


@dataclass(frozen=True)
class PatientForm:
    full_name: str
    date_of_birth: date | str | None = None
    gender: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    reminders_opt_out: bool = False


def _clean(form: PatientForm, today: date) -> dict[str, object]:
    name = clean_name(form.full_name)
    dob = form.date_of_birth
    born = None if dob in (None, "") else check_birth_date(parse_day(dob, "date_of_birth"), today)
    gender = (form.gender or "").strip().lower()
    if gender not in GENDERS:
        raise ValidationError("Gender must be female, male, other or left empty.", field="gender")
    phone = clean_phone(form.phone)
    folded = fold(name)
    return {
        "full_name": name,
        # Folding can lengthen text ("ﷺ" is 18 letters): keep the keys within their columns.
        "name_key": folded[:KEY_LENGTH],
        "surname_key": folded.rsplit(" ", 1)[-1][:KEY_LENGTH],
        "date_of_birth": born,
        "gender": gender,
        "phone": phone,
        "phone_key": phone_digits(phone),
        "phone_rev_key": phone_digits(phone)[::-1],
        "email": clean_email(form.email),
        "address": clean_text(form.address, "address", max_len=500),
        "reminders_opt_out": bool(form.reminders_opt_out),
    }


def _row(p: Patient, username: str = "") -> PatientRow:
    return PatientRow(
        id=p.id,
        full_name=p.full_name,
        date_of_birth=p.date_of_birth,
        gender=p.gender,
        phone=p.phone,
        email=p.email,
        address=p.address,
        blacklisted=p.blacklisted,
        reminders_opt_out=p.reminders_opt_out,
        user_id=p.user_id,
        username=username,
    )


def _get(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFoundError(f"There is no patient with id {patient_id}.")
    return patient


def register_patient(
    clinic: Clinic,
    actor: Actor,
    form: PatientForm,
    *,
    username: str | None = None,
    password: str | None = None,
) -> int:
    """The desk registers a patient (optionally with a log-in). Returns the patient id."""
    require_staff(actor, "register patients")
    values = _clean(form, clinic.today())
    with clinic.db.write() as session:
        patient = Patient(**values)
        if username:
            patient.user_id = add_user(session, username, password or "", "patient").id
        session.add(patient)
        session.flush()
        audit.record(
            session, actor, "patient.register", "patient", patient.id, patient_id=patient.id
        )
        patient_id = patient.id
    clinic.changes.notify("patients")
    return patient_id


def self_register(clinic: Clinic, form: PatientForm, username: str, password: str) -> int:
    """A patient creates their own account and record. Returns the patient id."""
    values = _clean(form, clinic.today())
    with clinic.db.write() as session:
        user = add_user(session, username, password, "patient")
        patient = Patient(**values, user_id=user.id)
        session.add(patient)
        session.flush()
        me = Actor(user.id, user.username, "patient", patient_id=patient.id)
        audit.record(
            session, me, "patient.self_register", "patient", patient.id, patient_id=patient.id
        )
        patient_id = patient.id
    clinic.changes.notify("patients")
    return patient_id


def edit_patient(clinic: Clinic, actor: Actor, patient_id: int, form: PatientForm) -> None:
    """Staff edit anyone's profile; a patient edits their own."""
    require_patient_self_or_staff(actor, patient_id, "edit a profile")
    values = _clean(form, clinic.today())
    with clinic.db.write() as session:
        patient = _get(session, patient_id)
        changed = sorted(k for k, v in values.items() if getattr(patient, k) != v)
        for key, value in values.items():
            setattr(patient, key, value)
        audit.record(
            session,
            actor,
            "patient.edit",
            "patient",
            patient_id,
            patient_id=patient_id,
            fields=changed,
        )
    clinic.changes.notify("patients")


def set_blacklisted(clinic: Clinic, actor: Actor, patient_id: int, blacklisted: bool) -> None:
    require_staff(actor, "blacklist patients")
    with clinic.db.write() as session:
        _get(session, patient_id).blacklisted = blacklisted
        action = "patient.blacklist" if blacklisted else "patient.reinstate"
        audit.record(session, actor, action, "patient", patient_id, patient_id=patient_id)
    clinic.changes.notify("patients")


def get_patient(clinic: Clinic, actor: Actor, patient_id: int) -> PatientRow:
    with clinic.db.read() as session:
        require_patient_access(session, actor, patient_id, "see the profile")
        patient = _get(session, patient_id)
        username = session.scalar(select(User.username).where(User.id == patient.user_id)) or ""
        return _row(patient, username)


def _prefix_range(column: object, prefix: str) -> object:
    """``column LIKE 'prefix%'`` as a range, so both SQLite and PostgreSQL use the index."""
    following = ord(prefix[-1]) + 1
    if following > sys.maxunicode:  # nothing sorts after U+10FFFF: fall back to LIKE
        return column.startswith(prefix, autoescape=True)  # type: ignore[attr-defined]
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored; U+E000 is next
        following = 0xE000
    upper = prefix[:-1] + chr(following)
    return (column >= prefix) & (column < upper)  # type: ignore[operator]


def search_statement(
    text: str, *, include_blacklisted: bool = True, top: int | None = None
) -> Select[tuple[Patient]]:
    """Patients whose id is ``text``, whose name or surname starts with it, or phone digits do.

    Without ``top``: one ``OR`` of the ways (SQLite serves it by each way's index).
    With ``top`` (the page's end, offset + limit; PostgreSQL), each way is its own
    query keeping its first ``top`` patients in name order, and the patients are
    those ids: PostgreSQL plans the one ``OR`` as a walk of the name index in order,
    filtering every row (a Cyrillic surname prefix, sorting last, read the whole
    index: 174 ms at 100,000 patients, 1.5 s at 500,000). The name way reads ``top``
    index entries; the surname way its prefix's entries of
    ``ix_patients_surname_name_id`` alone.
    """
    query = fold(search_text(text))[:KEY_LENGTH]
    stmt = select(Patient)
    if not include_blacklisted:
        stmt = stmt.where(Patient.blacklisted.is_(False))
    if not query:
        return stmt.order_by(Patient.name_key, Patient.id)
    conditions = [_prefix_range(Patient.name_key, query), _prefix_range(Patient.surname_key, query)]
    digits = phone_digits(query)
    if query.isascii() and query.isdigit():  # "²" is a digit to isdigit(), not to int()
        conditions.append(Patient.id == int(query) if len(query) < 10 else Patient.id == -1)
    if len(digits) >= 3 and all(ch.isdigit() or ch in _PHONE_PUNCTUATION for ch in query):
        conditions.append(_prefix_range(Patient.phone_key, digits))
        # The end of the number: "6206524", or "0175 6206524" said without the country
        # code (the trunk 0 dropped) both find "+49 175 6206524".
        local = digits.lstrip("0")
        if len(local) >= 3:
            conditions.append(_prefix_range(Patient.phone_rev_key, local[::-1]))
    if top is None:
        return stmt.where(or_(*conditions)).order_by(Patient.name_key, Patient.id)  # type: ignore[arg-type]
    ways: list[Select[tuple[int]]] = []
    for n, condition in enumerate(conditions):
        matched = select(Patient.id, Patient.name_key).where(condition)  # type: ignore[arg-type]
        if not include_blacklisted:
            matched = matched.where(Patient.blacklisted.is_(False))
        if n:
            # Read by this way's own index: PostgreSQL would otherwise walk the name
            # index in order and filter every row (OFFSET 0 keeps the ORDER BY out).
            matched = matched.offset(0)
        inner = matched.subquery()
        # A compound query's members take no LIMIT of their own on SQLite: a subquery.
        first = select(inner.c.id).order_by(inner.c.name_key, inner.c.id).limit(top).subquery()
        ways.append(select(first.c.id))
    return stmt.where(Patient.id.in_(union_all(*ways))).order_by(Patient.name_key, Patient.id)


def search_patients(
    clinic: Clinic, actor: Actor, text: str = "", *, limit: int = 50, offset: int = 0
) -> list[PatientRow]:
    """Search as you type: by id, name or surname prefix, or phone digits. Staff only."""
    require_staff(actor, "search patients")
    limit, offset = max(1, min(limit, 1000)), max(0, offset)
    # SQLite's planner serves the one OR by both indexes and stops early (its own
    # shape is faster there); PostgreSQL takes the ways one by one (search_statement).
    top = None if clinic.db.is_sqlite else offset + limit
    stmt = search_statement(text, top=top).limit(limit).offset(offset)
    with clinic.db.read() as session:
        return [_row(p) for p in session.scalars(stmt)]
