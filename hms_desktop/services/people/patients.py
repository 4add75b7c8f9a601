"""Patients: register (by the desk or themselves), edit, blacklist, search."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, delete, exists, insert, not_, select
from sqlalchemy.orm import Session, aliased

from hms_desktop.db.models import Patient, PatientNameWord, User
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
    KEY_LENGTH,
    check_birth_date,
    clean_email,
    clean_name,
    clean_phone,
    clean_text,
    fold,
    name_keys,
    name_words,
    parse_day,
    phone_digits,
    search_text,
)
from hms_desktop.services.safety import audit
from hms_desktop.services.views import PatientRow

GENDERS = ("", "female", "male", "other")
#: What may surround the digits of a phone number typed into the search box.
_PHONE_PUNCTUATION = frozenset(" +-()./")
#: The fewest digits after the trunk 0 that are matched against the end of stored
#: numbers: a whole number said without its country code ("0175 6206524" has ten,
#: "01 5123456" seven), not an area or mobile prefix ("030", "0177", "01511 2").
_NATIONAL_MIN = 7


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
    name_key, surname_key = name_keys(name)
    return {
        "full_name": name,
        "name_key": name_key,
        "surname_key": surname_key,
        "date_of_birth": born,
        "gender": gender,
        "phone": phone,
        "phone_key": phone_digits(phone),
        "phone_rev_key": phone_digits(phone)[::-1],
        "email": clean_email(form.email),
        "address": clean_text(form.address, "address", max_len=500),
        "reminders_opt_out": bool(form.reminders_opt_out),
    }


def _write_name_words(session: Session, patient: Patient) -> None:
    """The patient's name words as their keys make them, in the name's transaction:
    the old words go (a rename must not leave the old name findable) and the new come."""
    session.execute(delete(PatientNameWord).where(PatientNameWord.patient_id == patient.id))
    words = name_words(patient.name_key, patient.surname_key)
    if words:
        session.execute(
            insert(PatientNameWord),
            [
                {"word_key": w, "name_key": patient.name_key, "patient_id": patient.id}
                for w in words
            ],
        )


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
        _write_name_words(session, patient)
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
        _write_name_words(session, patient)
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
        if {"name_key", "surname_key"} & set(changed):
            _write_name_words(session, patient)
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


class _Way(NamedTuple):
    """One way of :func:`search_ways`."""

    #: The condition of the patients it finds (on a joined name word if ``on_words``).
    match: Any
    order: tuple[Any, ...]
    #: The same on the patient alone: what the ways after it leave out.
    found: Any
    on_words: bool = False


def _words_matching(word: type[PatientNameWord], start: str, given: str) -> ColumnElement[bool]:
    """Words starting with ``start`` of names starting with ``given`` (if any)."""
    condition = _prefix_range(word.word_key, start)
    if given:
        condition = condition & _prefix_range(word.name_key, given)  # type: ignore[operator]
    return condition  # type: ignore[return-value]


def search_ways(text: str, *, include_blacklisted: bool = True) -> list[Select[tuple[Patient]]]:
    """The ways ``text`` finds patients, best first, each in its own index's order.

    An id typed in full (without a leading zero), then names that start with it (in
    name order), then surnames (in surname order) or, when it has a space, surname and
    name written surname first ("kruger anna"), then the other words of names (in word
    order: "hughes" finds "Anna Smith-Hughes", "garcia" "María García López", "hughes
    anna" her too), then phone numbers by their start (also with "00" for "+") and by
    their end. A patient is found by the first way that finds them: each way leaves out
    what the ways before it found. Each way reads its own index from the
    prefix on and stops at the page's end, so a keystroke costs the same in a clinic
    of 10,000 or 500,000 patients: one global name order over every way would have to
    read every patient whose surname starts with "s" to know which 50 come first by
    name. (Surname first also passes over the index entries of the surname prefix
    whose names start otherwise: few, once a surname is typed in full.)
    """
    query = fold(search_text(text))[:KEY_LENGTH]
    base = select(Patient)
    if not include_blacklisted:
        base = base.where(Patient.blacklisted.is_(False))
    if not query:
        return [base.order_by(Patient.name_key, Patient.id)]
    ways: list[_Way] = []

    def way(condition: Any, order: tuple[Any, ...]) -> None:
        ways.append(_Way(condition, order, condition))

    # An id is written without a leading zero: "0177" is the start of a phone number
    # (a German mobile's prefix), never patient 177.
    if query.isascii() and query.isdigit() and len(query) < 10 and query[0] != "0":
        way(Patient.id == int(query), ())  # ("²" is a digit, but not to int())
    way(_prefix_range(Patient.name_key, query), (Patient.name_key, Patient.id))
    by_surname = (Patient.surname_key, Patient.name_key, Patient.id)
    phone_like = all(ch.isdigit() or ch in _PHONE_PUNCTUATION for ch in query)
    surname, _, given = query.partition(" ")
    surname = surname.removesuffix(",")
    if not given:
        way(_prefix_range(Patient.surname_key, query), by_surname)
    elif surname and not phone_like:
        # Surname first ("kruger anna", "schroder j", "Krüger, Anna" copied from a list),
        # as lists and forms write names.
        # A surname key is the name's last word and holds no space, so this way takes
        # the surname way's place. Read in ix_patients_surname_name_id's order from the
        # surname prefix on; the name's start is checked on the index's entries.
        way(
            _prefix_range(Patient.surname_key, surname) & _prefix_range(Patient.name_key, given),  # type: ignore[operator]
            by_surname,
        )
    if surname and not phone_like:  # (an id is phone-like: digits only)
        # The name's other words, the surname's part being typed ("hughes", or "hughes
        # anna" surname first), read in the words' key order from the prefix on; the
        # name's start is checked on the key's entries. A patient two of whose words
        # start so is listed at the first of them only (the check reads the patient's
        # own words by ix_patient_name_words_patient_word).
        other = aliased(PatientNameWord)
        first_of_patient = ~exists().where(
            other.patient_id == PatientNameWord.patient_id,
            _prefix_range(other.word_key, surname),  # type: ignore[arg-type]
            other.word_key < PatientNameWord.word_key,
        )
        found = aliased(PatientNameWord)
        ways.append(
            _Way(
                _words_matching(PatientNameWord, surname, given) & first_of_patient,
                (PatientNameWord.word_key, PatientNameWord.name_key, PatientNameWord.patient_id),
                exists().where(
                    found.patient_id == Patient.id, _words_matching(found, surname, given)
                ),
                on_words=True,
            )
        )
    digits = phone_digits(query)
    if len(digits) >= 3 and phone_like:
        way(_prefix_range(Patient.phone_key, digits), (Patient.phone_key, Patient.id))
        if digits.startswith("00") and len(digits) >= 4:
            # "0049 175…" is "+49 175…" dialled from abroad (00 is the international
            # call prefix in most of the world): found by the number's start as well.
            way(_prefix_range(Patient.phone_key, digits[2:]), (Patient.phone_key, Patient.id))
        # The end of the number: "6206524", or "0175 6206524" said without the country
        # code (the trunk 0 dropped) both find "+49 175 6206524". Digits after a trunk 0
        # are a national prefix being typed ("0177") until there are enough of them to
        # be a whole number: till then a number merely ending in them is no match.
        local = digits.lstrip("0")
        if len(local) >= (_NATIONAL_MIN if local != digits else 3):
            way(
                _prefix_range(Patient.phone_rev_key, local[::-1]),
                (Patient.phone_rev_key, Patient.id),
            )
    statements = []
    for n, this in enumerate(ways):
        earlier = [not_(before.found) for before in ways[:n]]
        statement = base
        if this.on_words:
            statement = statement.join(PatientNameWord, PatientNameWord.patient_id == Patient.id)
        statements.append(statement.where(this.match, *earlier).order_by(*this.order))
    return statements


def search_patients(
    clinic: Clinic, actor: Actor, text: str = "", *, limit: int = 50, offset: int = 0
) -> list[PatientRow]:
    """Search as you type: by id, the start of the name, of the surname or of any other
    word of the name ("hughes" finds "Anna Smith-Hughes"), or phone digits. Staff only.

    The ways (:func:`search_ways`) one after another, each asked for no more than the
    page still needs: the first page of a common prefix is one indexed query.
    """
    require_staff(actor, "search patients")
    limit, offset = max(1, min(limit, 1000)), max(0, offset)
    found: list[PatientRow] = []
    with clinic.db.read() as session:
        for way in search_ways(text):
            wanted = offset + limit - len(found)
            rows = session.scalars(way.limit(wanted)).all()
            if len(rows) <= offset:  # this way's patients all come before the page
                offset -= len(rows)
                continue
            found += [_row(p) for p in rows[offset:]]
            offset = 0
            if len(found) >= limit:
                break
    return found[:limit]
