"""Accounts: argon2id hashes, log-in by role, lockout on the clinic clock, who may create whom."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from hms_desktop.db.models import Base, Patient, User
from hms_desktop.errors import (
    AccountLockedError,
    AuthenticationError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import accounts, patients
from hms_desktop.services.safety import audit
from tests import factories as f
from tests.factories import set_settings

SECRET = "Sup3r-secret-pw"


def _every_stored_value(clinic: Clinic) -> list[str]:
    with clinic.db.read() as session:
        return [
            str(value)
            for table in Base.metadata.sorted_tables
            for row in session.execute(table.select())
            for value in row
        ]


def test_passwords_are_stored_only_as_argon2id_hashes(clinic: Clinic) -> None:
    accounts.create_first_admin(clinic, "root", SECRET)
    accounts.create_user(clinic, SYSTEM, "desk1", SECRET + "2", "receptionist")
    with clinic.db.read() as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert len(hashes) == 2
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert hashes[0] != hashes[1]
    stored = _every_stored_value(clinic)
    assert not [v for v in stored if SECRET in v]


def test_login_by_role_returns_the_right_actor(clinic: Clinic) -> None:
    dept = f.department(clinic)
    admin_id = accounts.create_first_admin(clinic, "root", SECRET)
    desk_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    doctor_id = f.doctor(clinic, dept, "Dr. Grace Hopper", username="ghopper")
    patient_id = patients.self_register(
        clinic, patients.PatientForm("Ada Byron", email="ada@mail.test"), "ada", SECRET
    )

    admin = accounts.login(clinic, "root", SECRET)
    assert (admin.user_id, admin.role, admin.is_admin) == (admin_id, "admin", True)
    desk = accounts.login(clinic, "  DESK ", SECRET)  # user names are not case sensitive
    assert (desk.user_id, desk.role, desk.is_staff, desk.is_admin) == (
        desk_id,
        "receptionist",
        True,
        False,
    )
    doc = accounts.login(clinic, "ghopper", f.PASSWORD)
    assert (doc.role, doc.doctor_id, doc.patient_id, doc.label) == (
        "doctor",
        doctor_id,
        None,
        "Dr. Grace Hopper",
    )
    pat = accounts.login(clinic, "ada", SECRET)
    assert (pat.role, pat.patient_id, pat.doctor_id, pat.label) == (
        "patient",
        patient_id,
        None,
        "Ada Byron",
    )
    logins = audit.list_entries(clinic, SYSTEM, action_prefix="login")
    assert sorted(e.actor for e in logins) == ["ada", "desk", "ghopper", "root"]


def test_wrong_password_and_unknown_user_give_the_same_error(clinic: Clinic) -> None:
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    with pytest.raises(AuthenticationError) as wrong:
        accounts.login(clinic, "desk", SECRET + "x")
    with pytest.raises(AuthenticationError) as unknown:
        accounts.login(clinic, "nobody", SECRET)
    assert type(wrong.value) is type(unknown.value) is AuthenticationError
    assert str(wrong.value) == str(unknown.value) == "Wrong user name or password."


def test_lockout_after_threshold_and_unlock_after_the_clinic_clock_moves(
    clinic: Clinic, clock: FakeClock
) -> None:
    set_settings(clinic, lockout_threshold=3, lockout_minutes=10)
    accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    for _ in range(2):
        with pytest.raises(AuthenticationError) as err:
            accounts.login(clinic, "desk", "wrong-password")
        assert not isinstance(err.value, AccountLockedError)
    with pytest.raises(AccountLockedError, match="locked for 10 minutes"):
        accounts.login(clinic, "desk", "wrong-password")
    # Locked: even the right password is refused, and the message says for how long.
    with pytest.raises(AccountLockedError, match="Try again in 10 minutes"):
        accounts.login(clinic, "desk", SECRET)
    assert [u.locked for u in accounts.list_users(clinic, SYSTEM)] == [True]
    clock.advance(minutes=9)
    with pytest.raises(AccountLockedError, match="Try again in 1 minute,"):
        accounts.login(clinic, "desk", SECRET)
    clock.advance(minutes=1, seconds=1)
    assert accounts.login(clinic, "desk", SECRET).username == "desk"
    assert [u.locked for u in accounts.list_users(clinic, SYSTEM)] == [False]
    failed = audit.list_entries(clinic, SYSTEM, action_prefix="login.failed")
    assert len(failed) == 3


def test_an_administrator_can_unlock_an_account(clinic: Clinic) -> None:
    set_settings(clinic, lockout_threshold=2)
    user_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            accounts.login(clinic, "desk", "wrong-password")
    with pytest.raises(PermissionDeniedError):
        accounts.unlock(clinic, f.RECEPTION, user_id)
    accounts.unlock(clinic, SYSTEM, user_id)
    assert accounts.login(clinic, "desk", SECRET).user_id == user_id


def test_no_administrator_can_register_themselves(clinic: Clinic) -> None:
    assert not accounts.has_admin(clinic)
    # Only an administrator creates accounts...
    for actor in (f.RECEPTION, f.doctor_actor(1), f.patient_actor(1)):
        with pytest.raises(PermissionDeniedError):
            accounts.create_user(clinic, actor, "mallory", SECRET, "admin")
    # ...except the very first administrator, once.
    accounts.create_first_admin(clinic, "root", SECRET)
    assert accounts.has_admin(clinic)
    with pytest.raises(PermissionDeniedError, match="exists already"):
        accounts.create_first_admin(clinic, "mallory", SECRET)
    # Self-registration makes patients and nothing else.
    patients.self_register(clinic, patients.PatientForm("Mal Lory"), "mallory", SECRET)
    with clinic.db.read() as session:
        roles = dict(session.execute(select(User.username, User.role)).tuples().all())
    assert roles == {"root": "admin", "mallory": "patient"}
    assert accounts.login(clinic, "mallory", SECRET).role == "patient"


def test_patient_self_registration_validates_and_keeps_nothing_half_written(
    clinic: Clinic,
) -> None:
    form = patients.PatientForm(
        "José Núñez", date_of_birth="1990-04-01", phone="+34 600 123 456", email="jn@mail.test"
    )
    with pytest.raises(ValidationError) as weak:
        patients.self_register(clinic, form, "jose", "short")
    assert weak.value.field == "password"
    with pytest.raises(ValidationError) as bad_name:
        patients.self_register(clinic, form, "x", SECRET)
    assert bad_name.value.field == "username"
    with pytest.raises(ValidationError) as bad_form:
        patients.self_register(
            clinic, patients.PatientForm("José", date_of_birth="2026-02-30"), "jose", SECRET
        )
    assert bad_form.value.field == "date_of_birth"
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
        assert session.scalar(select(func.count()).select_from(Patient)) == 0

    patient_id = patients.self_register(clinic, form, "jose", SECRET)
    me = accounts.login(clinic, "jose", SECRET)
    assert me.patient_id == patient_id
    profile = patients.get_patient(clinic, me, patient_id)
    assert (profile.full_name, profile.username, str(profile.date_of_birth)) == (
        "José Núñez",
        "jose",
        "1990-04-01",
    )
    with pytest.raises(ValidationError, match="taken") as taken:
        patients.self_register(clinic, patients.PatientForm("Other José"), "JOSE", SECRET)
    assert taken.value.field == "username"
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_a_weaker_old_hash_is_upgraded_at_the_next_login(clinic: Clinic) -> None:
    user_id = accounts.create_user(clinic, SYSTEM, "desk", SECRET, "receptionist")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(SECRET)
    with clinic.db.write() as session:
        session.execute(update(User).where(User.id == user_id).values(password_hash=weak))
    with pytest.raises(AuthenticationError):  # a wrong password changes no hash
        accounts.login(clinic, "desk", "not-the-password")
    with clinic.db.read() as session:
        assert session.scalar(select(User.password_hash)) == weak
    assert accounts.login(clinic, "desk", SECRET).user_id == user_id
    with clinic.db.read() as session:
        upgraded = session.scalar(select(User.password_hash)) or ""
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$")
    assert not accounts._hasher.check_needs_rehash(upgraded)
    assert accounts.login(clinic, "desk", SECRET).user_id == user_id


def test_two_first_run_set_ups_at_once_make_one_administrator(clinic: Clinic) -> None:
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def set_up(name: str) -> None:
        start.wait(timeout=30)
        try:
            accounts.create_first_admin(clinic, name, SECRET)
            outcomes[name] = "created"
        except PermissionDeniedError:
            outcomes[name] = "refused"
        except Exception as err:  # reported below
            outcomes[name] = f"{type(err).__name__}: {err}"

    threads = [threading.Thread(target=set_up, args=(name,)) for name in ("root1", "root2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["created", "refused"], outcomes
    with clinic.db.read() as session:
        admins = session.scalars(select(User.username).where(User.role == "admin")).all()
    assert len(admins) == 1
