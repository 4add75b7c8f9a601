"""Hostile input into every service entry point that takes text or dates.

The only allowed outcomes: success, or an HmsError subclass with a clear message.
After a success the row is read back and must hold exactly the cleaned input;
after a refusal nothing may have changed.
"""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hms_desktop.config import load_settings
from hms_desktop.db.models import Patient, User
from hms_desktop.errors import HmsError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clinic_settings.values import KEYS as CLINIC_KEYS
from hms_desktop.services.clinic_settings.values import env_overrides, parse_value
from hms_desktop.services.people import accounts, departments, doctors, patients
from hms_desktop.services.people.patients import PatientForm
from hms_desktop.services.records import records
from hms_desktop.services.records.records import TreatmentForm
from hms_desktop.services.scheduling import availability, booking
from tests import factories as f
from tests.safety.hostile import (
    HOSTILE,
    assert_clear,
    day_text,
    expected_block,
    expected_line,
    hostile_text,
    passwords,
    time_text,
    usernames,
)

pytestmark = pytest.mark.slow

patient_forms = st.builds(
    PatientForm,
    full_name=hostile_text,
    date_of_birth=st.one_of(st.none(), day_text),
    gender=st.one_of(st.sampled_from(["", "female", "Male ", "other"]), hostile_text),
    phone=st.one_of(st.sampled_from(["+49 (30) 123-45.67", "12345"]), hostile_text),
    email=st.one_of(st.sampled_from(["a@b.de", "x.y+z@mail.example"]), hostile_text),
    address=hostile_text,
    reminders_opt_out=st.booleans(),
)


def _patient_count(clinic: Clinic) -> int:
    with clinic.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Patient)) or 0)


def _assert_patient_saved(clinic: Clinic, patient_id: int, form: PatientForm) -> None:
    row = patients.get_patient(clinic, SYSTEM, patient_id)
    assert row.full_name == expected_line(form.full_name)
    assert row.phone == expected_line(form.phone)
    assert row.email == expected_line(form.email)
    assert row.address == expected_block(form.address)
    assert row.gender == form.gender.strip().lower()
    assert row.reminders_opt_out == form.reminders_opt_out
    if form.date_of_birth in (None, ""):
        assert row.date_of_birth is None
    else:
        assert row.date_of_birth is not None and row.date_of_birth <= clinic.today()
    # The search keys agree with the saved name: the patient is found by it.
    found = patients.search_patients(clinic, SYSTEM, row.full_name, limit=1000)
    assert patient_id in [p.id for p in found]
    with clinic.db.read() as session:
        stored = session.get(Patient, patient_id)
        assert stored is not None
        assert len(stored.name_key) <= 120 and len(stored.surname_key) <= 120
        assert stored.phone_key == "".join(ch for ch in row.phone if ch in "0123456789")


@HOSTILE
@given(form=patient_forms)
@example(form=PatientForm(full_name="ﷺ" * 120))
@example(form=PatientForm(full_name="Ann\x00a", phone="+49\x0030 1234567"))
def test_register_patient(sqlite_clinic: Clinic, form: PatientForm) -> None:
    before = _patient_count(sqlite_clinic)
    try:
        patient_id = patients.register_patient(sqlite_clinic, SYSTEM, form)
    except HmsError as err:
        assert_clear(err)
        assert _patient_count(sqlite_clinic) == before
        return
    assert _patient_count(sqlite_clinic) == before + 1
    _assert_patient_saved(sqlite_clinic, patient_id, form)


@pytest.fixture
def one_patient(sqlite_clinic: Clinic) -> int:
    return f.patient(sqlite_clinic, "Original Name")


@HOSTILE
@given(form=patient_forms)
def test_edit_patient(sqlite_clinic: Clinic, one_patient: int, form: PatientForm) -> None:
    before = patients.get_patient(sqlite_clinic, SYSTEM, one_patient)
    try:
        patients.edit_patient(sqlite_clinic, SYSTEM, one_patient, form)
    except HmsError as err:
        assert_clear(err)
        assert patients.get_patient(sqlite_clinic, SYSTEM, one_patient) == before
        return
    _assert_patient_saved(sqlite_clinic, one_patient, form)


@HOSTILE
@given(text=hostile_text, offset=st.integers(-5, 5), limit=st.integers(-5, 2000))
@example(text="²", offset=0, limit=50)
@example(text="\U0010ffff", offset=0, limit=50)
@example(text="\ud7ff", offset=0, limit=50)
def test_search_patients_and_lists(
    sqlite_clinic: Clinic, one_patient: int, text: str, offset: int, limit: int
) -> None:
    try:
        found = patients.search_patients(sqlite_clinic, SYSTEM, text, limit=limit, offset=offset)
        assert len(found) <= max(1, min(limit, 1000))
        assert all(isinstance(p.id, int) for p in found)
        booking.list_appointments(sqlite_clinic, SYSTEM, booking.AppointmentFilter(text=text))
        booking.count_appointments(sqlite_clinic, SYSTEM, booking.AppointmentFilter(text=text))
        doctors.list_doctors(sqlite_clinic, text=text)
    except HmsError as err:
        assert_clear(err)


@HOSTILE
@given(form=patient_forms, username=usernames, password=passwords)
def test_self_register(
    sqlite_clinic: Clinic, form: PatientForm, username: str, password: str
) -> None:
    before = _patient_count(sqlite_clinic)
    try:
        patient_id = patients.self_register(sqlite_clinic, form, username, password)
    except HmsError as err:
        assert_clear(err)
        assert _patient_count(sqlite_clinic) == before
        return
    _assert_patient_saved(sqlite_clinic, patient_id, form)
    row = patients.get_patient(sqlite_clinic, SYSTEM, patient_id)
    assert row.username == username.strip().lower()


@pytest.fixture
def department_id(sqlite_clinic: Clinic) -> int:
    return f.department(sqlite_clinic, "Cardiology")


@HOSTILE
@given(
    name=hostile_text,
    qualification=hostile_text,
    email=st.one_of(st.just("doc@clinic.example"), hostile_text),
    phone=hostile_text,
    username=st.one_of(st.none(), usernames),
)
def test_add_doctor(
    sqlite_clinic: Clinic,
    department_id: int,
    name: str,
    qualification: str,
    email: str,
    phone: str,
    username: str | None,
) -> None:
    form = doctors.DoctorForm(name, department_id, qualification, email, phone)
    count = len(doctors.list_doctors(sqlite_clinic))
    try:
        doctor_id = doctors.add_doctor(
            sqlite_clinic, SYSTEM, form, username=username, password=f.PASSWORD
        )
    except HmsError as err:
        assert_clear(err)
        assert len(doctors.list_doctors(sqlite_clinic)) == count
        return
    row = doctors.get_doctor(sqlite_clinic, doctor_id)
    assert (row.full_name, row.qualification, row.email, row.phone) == (
        expected_line(name),
        expected_line(qualification),
        expected_line(email),
        expected_line(phone),
    )
    assert row.department_id == department_id


@HOSTILE
@given(name=hostile_text, description=hostile_text, rename=st.booleans())
def test_save_department(
    sqlite_clinic: Clinic, department_id: int, name: str, description: str, rename: bool
) -> None:
    before = departments.list_departments(sqlite_clinic)
    try:
        dept_id = departments.save_department(
            sqlite_clinic,
            SYSTEM,
            name,
            description,
            department_id=department_id if rename else None,
        )
    except HmsError as err:
        assert_clear(err)
        assert departments.list_departments(sqlite_clinic) == before
        return
    saved = {d.id: d for d in departments.list_departments(sqlite_clinic)}[dept_id]
    assert (saved.name, saved.description) == (expected_line(name), expected_block(description))


@pytest.fixture
def world(sqlite_clinic: Clinic) -> f.World:
    return f.world(sqlite_clinic)


def _parsed_day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value.strip())


def _parsed_time(value: time | str) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


@HOSTILE
@given(
    day=st.one_of(st.just("2026-06-16"), day_text),
    at=time_text,
    visit_type=st.one_of(st.sampled_from(["consultation", "follow_up"]), hostile_text),
    reason=hostile_text,
)
@example(day="2026-06-16", at="09:30", visit_type="consultation", reason='=HYPERLINK("x")\x00')
def test_book(
    sqlite_clinic: Clinic,
    world: f.World,
    day: date | str,
    at: time | str,
    visit_type: str,
    reason: str,
) -> None:
    try:
        appt_id = booking.book(
            sqlite_clinic,
            SYSTEM,
            patient_id=world.patient_id,
            doctor_id=world.doctor_id,
            day=day,
            at=at,
            visit_type=visit_type,
            reason=reason,
        )
    except HmsError as err:
        assert_clear(err)
        return
    row = booking.get_appointment(sqlite_clinic, SYSTEM, appt_id)
    # Only an offered, future slot can be booked: tomorrow 09:00-12:00.
    assert row.date == _parsed_day(day) == world.day
    assert row.time == _parsed_time(at) and time(9) <= row.time < time(12)
    assert (row.reason, row.visit_type, row.status) == (
        expected_block(reason),
        visit_type,
        "booked",
    )
    # Free the slot again so later examples can book it too.
    booking.cancel(sqlite_clinic, SYSTEM, appt_id)


@pytest.fixture
def booked(sqlite_clinic: Clinic, world: f.World) -> int:
    return booking.book(
        sqlite_clinic,
        SYSTEM,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )


@HOSTILE
@given(day=st.one_of(st.just("2026-06-16"), day_text), at=time_text)
def test_reschedule(
    sqlite_clinic: Clinic, world: f.World, booked: int, day: date | str, at: time | str
) -> None:
    before = booking.get_appointment(sqlite_clinic, SYSTEM, booked)
    try:
        booking.reschedule(sqlite_clinic, SYSTEM, booked, day=day, at=at)
    except HmsError as err:
        assert_clear(err)
        assert booking.get_appointment(sqlite_clinic, SYSTEM, booked) == before
        return
    after = booking.get_appointment(sqlite_clinic, SYSTEM, booked)
    assert (after.date, after.time) == (_parsed_day(day), _parsed_time(at))
    assert after.date == world.day and time(9) <= after.time < time(12)
    assert (after.patient_id, after.doctor_id, after.status) == (
        before.patient_id,
        before.doctor_id,
        "booked",
    )


@pytest.fixture
def completed(sqlite_clinic: Clinic, world: f.World, booked: int, clock) -> int:
    clock.advance(timedelta(days=1, hours=1))
    booking.complete(sqlite_clinic, SYSTEM, booked)
    return booked


@HOSTILE
@given(
    symptoms=hostile_text,
    diagnosis=hostile_text,
    treatment_given=hostile_text,
    prescription=hostile_text,
    notes=hostile_text,
)
@example(
    symptoms="=cmd|' /C calc'!A0",
    diagnosis="@SUM(1)",
    treatment_given="+1",
    prescription="-1",
    notes="x" * 8001,
)
def test_record_treatment(
    sqlite_clinic: Clinic,
    world: f.World,
    completed: int,
    symptoms: str,
    diagnosis: str,
    treatment_given: str,
    prescription: str,
    notes: str,
) -> None:
    form = TreatmentForm(symptoms, diagnosis, treatment_given, prescription, notes)
    doctor = f.doctor_actor(world.doctor_id)
    before = records.get_treatment(sqlite_clinic, SYSTEM, completed)
    try:
        records.record_treatment(sqlite_clinic, doctor, completed, form)
    except HmsError as err:
        assert_clear(err)
        assert records.get_treatment(sqlite_clinic, SYSTEM, completed) == before
        return
    saved = records.get_treatment(sqlite_clinic, SYSTEM, completed)
    assert saved is not None
    assert (
        saved.symptoms,
        saved.diagnosis,
        saved.treatment_given,
        saved.prescription,
        saved.notes,
    ) == tuple(
        expected_block(v) for v in (symptoms, diagnosis, treatment_given, prescription, notes)
    )


@HOSTILE
@given(
    day=st.one_of(st.sampled_from(["2026-06-16", "2026-06-20", "2026-06-21"]), day_text),
    windows=st.lists(st.tuples(time_text, time_text), max_size=4),
)
@example(day="2026-06-18", windows=[("08:00", "12:00"), ("13:00", "17:00")])
def test_availability_set_day(
    sqlite_clinic: Clinic, world: f.World, day: date | str, windows: list[tuple[object, object]]
) -> None:
    try:
        the_day = _parsed_day(day)  # type: ignore[arg-type]
    except (ValueError, AttributeError):
        the_day = None
    before = availability.get_windows(sqlite_clinic, world.doctor_id, [the_day]) if the_day else []
    try:
        availability.set_day(sqlite_clinic, SYSTEM, world.doctor_id, day, windows)  # type: ignore[arg-type]
    except HmsError as err:
        assert_clear(err)
        if the_day is not None:
            assert availability.get_windows(sqlite_clinic, world.doctor_id, [the_day]) == before
        return
    assert the_day is not None
    saved = availability.get_windows(sqlite_clinic, world.doctor_id, [the_day])
    expected = sorted((_parsed_time(a), _parsed_time(b)) for a, b in windows)  # type: ignore[arg-type]
    assert [(w.start_time, w.end_time) for w in saved] == expected
    assert (
        0 <= (the_day - sqlite_clinic.today()).days <= sqlite_clinic.settings.booking_horizon_days
    )


@pytest.fixture
def known_user(sqlite_clinic: Clinic) -> str:
    accounts.create_user(sqlite_clinic, SYSTEM, "frontdesk", f.PASSWORD, "receptionist")
    return "frontdesk"


#: Every log-in runs one argon2id verification, on purpose even for an unknown name
#: (so timing does not reveal which names exist): about 0.1 s each on an idle PC, so
#: the 200 examples every entry point gets cost some 20-30 s here.
LOGIN_EXAMPLES = 200


@settings(HOSTILE, max_examples=LOGIN_EXAMPLES)
@given(
    username=st.one_of(st.just("frontdesk"), st.just(" FrontDesk "), usernames),
    password=st.one_of(st.just(f.PASSWORD), passwords),
)
def test_login(sqlite_clinic: Clinic, known_user: str, username: str, password: str) -> None:
    try:
        actor = accounts.login(sqlite_clinic, username, password)
    except HmsError as err:
        assert_clear(err)
        return
    assert actor.username == known_user == username.strip().lower()
    assert password == f.PASSWORD


@HOSTILE
@given(
    username=usernames,
    password=passwords,
    role=st.one_of(st.sampled_from(["admin", "receptionist", "doctor", "patient"]), hostile_text),
)
def test_create_user(sqlite_clinic: Clinic, username: str, password: str, role: str) -> None:
    try:
        user_id = accounts.create_user(sqlite_clinic, SYSTEM, username, password, role)
    except HmsError as err:
        assert_clear(err)
        return
    with sqlite_clinic.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert (user.username, user.role) == (username.strip().lower(), role)
        assert user.password_hash.startswith("$argon2id$")
        assert password not in user.password_hash


_FIELDS = [
    "timezone",
    "cache_ttl_seconds",
    "slot_minutes",
    "reminder_time",
    "reminder_lead",
    "monthly_report_time",
    "smtp_port",
    "smtp_tls",
    "backup_retention",
    "lockout_threshold",
    "database_url",
]
_values = st.one_of(
    hostile_text,
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(["Europe/Berlin", "../../etc/passwd", "UTC", "08:00", "25:00", "nan", "inf"]),
)


@HOSTILE
@given(
    overrides=st.dictionaries(st.sampled_from(_FIELDS), _values, max_size=3),
    environ=st.dictionaries(
        st.sampled_from(_FIELDS).map(lambda n: "HMS_" + n.upper()), hostile_text, max_size=3
    ),
    file_text=st.one_of(
        st.none(),
        hostile_text,
        st.dictionaries(st.sampled_from([*_FIELDS, "smtp_password", "x"]), _values).map(
            lambda d: json.dumps(d, allow_nan=True)
        ),
        st.sampled_from(["[" * 100_000, "{}", "[]", "null", '{"slot_minutes": 1e999}']),
    ),
)
@example(overrides={}, environ={}, file_text="[" * 100_000)
@example(overrides={"slot_minutes": "1" * 5000}, environ={}, file_text=None)
def test_config_parsing(
    tmp_path: Path, overrides: dict[str, object], environ: dict[str, str], file_text: str | None
) -> None:
    path = tmp_path / "settings.json"
    if file_text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(file_text, encoding="utf-8", errors="surrogatepass")
    # Clinic-wide values are checked by the clinic settings service (a file of an older
    # version may still hold them; the environment may override them on a PC).
    for key, value in overrides.items():
        if key in CLINIC_KEYS:
            try:
                parsed = parse_value(key, value)
            except HmsError as err:
                assert_clear(err)
            else:
                if key == "slot_minutes":
                    assert 5 <= parsed <= 240
                if key == "timezone":
                    assert ZoneInfo(parsed) is not None
    try:
        env_overrides(environ)
    except HmsError as err:
        assert_clear(err)
    pc_overrides = {k: v for k, v in overrides.items() if k not in CLINIC_KEYS}
    try:
        result = load_settings(pc_overrides, environ=environ, settings_file=path)
    except HmsError as err:
        assert_clear(err)
        return
    assert result.cache_ttl_seconds >= 0 or result.cache_ttl_seconds != result.cache_ttl_seconds
