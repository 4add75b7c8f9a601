"""Accounts: argon2id password hashes, log-in by role, lockout, self-registration."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import ROLES, Doctor, Patient, User
from hms_desktop.errors import (
    AccountLockedError,
    AuthenticationError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_username, search_text
from hms_desktop.services.safety import audit

MIN_PASSWORD_LENGTH = 8
#: PostgreSQL advisory lock of the first-run set-up (any constant; "HMSADMN" in ASCII).
_FIRST_ADMIN_LOCK_KEY = 0x484D5341444D4E
_hasher = PasswordHasher()  # argon2id with the library's recommended cost


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so timing does not reveal which names
    exist. Made on first use, not at import: argon2 is slow on purpose and the desktop
    application imports this module on its start-up path."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if password.strip() != password or not password.strip():
        raise ValidationError("Password must not start or end with spaces.", field="password")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_matches(stored: str, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` (an argon2 hash) was made from."""
    return _verify(stored, password)


def add_user(session: Session, username: str, password: str, role: str) -> User:
    """Create a user in the caller's transaction.

    Raises:
        ValidationError: bad user name, weak password, unknown role or a taken name.
    """
    username = clean_username(username)
    if role not in ROLES:
        raise ValidationError(f"Role must be one of {', '.join(ROLES)}.", field="role")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(
            f"The user name {username!r} is taken; choose another.", field="username"
        )
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise ValidationError(
            f"The user name {username!r} is taken; choose another.", field="username"
        ) from None
    return user


def create_user(clinic: Clinic, actor: Actor, username: str, password: str, role: str) -> int:
    """An administrator creates an account (any role). Returns the user id."""
    require_admin(actor, "create user accounts")
    with clinic.db.write() as session:
        user = add_user(session, username, password, role)
        audit.record(
            session, actor, "user.create", "user", user.id, role=role, username=user.username
        )
        return user.id


def has_admin(clinic: Clinic) -> bool:
    """False on a new database: the first-run set-up must then create the first admin."""
    with clinic.db.read() as session:
        count = session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
        return bool(count)


def create_first_admin(clinic: Clinic, username: str, password: str) -> int:
    """The first-run set-up: allowed only while no administrator exists.

    Raises:
        PermissionDeniedError: an administrator exists already.
        ValidationError: bad user name or weak password.
    """
    with clinic.db.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Two PCs running the set-up at once would both count no admin; SQLite's
            # write transactions are serialised already.
            session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_ADMIN_LOCK_KEY}
            )
        if session.scalar(select(func.count()).select_from(User).where(User.role == "admin")):
            raise PermissionDeniedError(
                "An administrator exists already; ask them to create your account."
            )
        user = add_user(session, username, password, "admin")
        audit.record(
            session, Actor(user.id, user.username, "admin"), "user.first_admin", "user", user.id
        )
        return user.id


def _actor_for(session: Session, user: User) -> Actor:
    doctor = session.scalar(select(Doctor).where(Doctor.user_id == user.id))
    patient = session.scalar(select(Patient).where(Patient.user_id == user.id))
    name = doctor.full_name if doctor else patient.full_name if patient else user.username
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        doctor_id=doctor.id if doctor else None,
        patient_id=patient.id if patient else None,
        display_name=name,
    )


def _now(clinic: Clinic) -> datetime:
    # Lockouts follow the clinic clock, so a fake clock can move past them in tests.
    return clinic.now().astimezone(UTC)


def _locked_error(locked_until: datetime | None, now: datetime) -> AccountLockedError | None:
    if locked_until is None or locked_until <= now:
        return None
    minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
    return AccountLockedError(
        "This account is locked after too many failed log-ins. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator "
        "to unlock it."
    )


def login(clinic: Clinic, username: str, password: str) -> Actor:
    """Check a user name and password.

    Raises:
        AuthenticationError: wrong name or password (the message does not say which).
        AccountLockedError: too many failures; says when to try again.
    """
    # No real user name holds control characters; PostgreSQL refuses NUL in a parameter.
    key = search_text(username).lower()
    now = _now(clinic)
    settings = clinic.settings
    # Hash outside any transaction: argon2 takes a tenth of a second, and a SQLite write
    # transaction held that long would stall every other program's writes.
    with clinic.db.read() as session:
        found = session.execute(
            select(User.id, User.password_hash, User.is_active, User.locked_until).where(
                User.username == key
            )
        ).first()
    if found is None or not found.is_active:
        _verify(_dummy_hash(), password)
        raise AuthenticationError("Wrong user name or password.")
    locked_error = _locked_error(found.locked_until, now)
    if locked_error is not None:
        raise locked_error
    ok = _verify(found.password_hash, password)
    rehashed = (
        _hasher.hash(password) if ok and _hasher.check_needs_rehash(found.password_hash) else ""
    )
    failure: AuthenticationError | None = None
    with clinic.db.write() as session:
        # Row-locked, so two failed attempts at once on PostgreSQL both count.
        user = session.get(User, found.id, with_for_update=True)
        if user is None or not user.is_active:
            raise AuthenticationError("Wrong user name or password.")
        locked_error = _locked_error(user.locked_until, now)  # another PC may have locked it
        if locked_error is not None:
            raise locked_error
        if user.password_hash != found.password_hash:  # changed meanwhile: check the new one
            ok, rehashed = _verify(user.password_hash, password), ""
        if not ok:
            user.failed_logins += 1
            locked = user.failed_logins >= settings.lockout_threshold
            if locked:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
            audit.record(
                session,
                Actor(user.id, user.username, user.role),
                "login.failed",
                "user",
                user.id,
                locked=locked,
            )
            # The counter must be committed before the user is told.
            failure = (
                AccountLockedError(
                    "Too many failed log-ins: this account is locked for "
                    f"{settings.lockout_minutes} minutes."
                )
                if locked
                else AuthenticationError("Wrong user name or password.")
            )
        else:
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            if rehashed:
                user.password_hash = rehashed
            actor = _actor_for(session, user)
            audit.record(session, actor, "login", "user", user.id)
    if failure is not None:
        raise failure
    return actor


def unlock(clinic: Clinic, actor: Actor, user_id: int) -> None:
    require_admin(actor, "unlock accounts")
    with clinic.db.write() as session:
        user = session.get(User, user_id)
        if user is None:
            raise ValidationError("No such user.")
        user.failed_logins = 0
        user.locked_until = None
        audit.record(session, actor, "user.unlock", "user", user_id)


def change_password(clinic: Clinic, actor: Actor, old_password: str, new_password: str) -> None:
    if actor.user_id is None:
        raise PermissionDeniedError("The system account has no password.")
    with clinic.db.write() as session:
        user = session.get(User, actor.user_id)
        if user is None or not _verify(user.password_hash, old_password):
            raise AuthenticationError("The current password is wrong.")
        user.password_hash = hash_password(new_password)
        audit.record(session, actor, "user.password", "user", user.id)


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: str
    is_active: bool
    locked: bool


def list_users(clinic: Clinic, actor: Actor) -> list[UserRow]:
    require_admin(actor, "list user accounts")
    now = _now(clinic)
    with clinic.db.read() as session:
        return [
            UserRow(
                u.id, u.username, u.role, u.is_active, bool(u.locked_until and u.locked_until > now)
            )
            for u in session.scalars(select(User).order_by(User.username))
        ]
