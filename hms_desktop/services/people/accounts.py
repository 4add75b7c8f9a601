"""Accounts: argon2id password hashes, sign-in with a growing delay per name, own password."""

from __future__ import annotations

import functools
import hashlib
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hms_desktop.db.models import ROLES, Doctor, Patient, SignInFailures, User
from hms_desktop.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ValidationError,
)
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people.validation import clean_username, search_text
from hms_desktop.services.safety import audit

MIN_PASSWORD_LENGTH = 8
WRONG_NAME_OR_PASSWORD = "Wrong user name or password."
#: The longest a name's answer waits after repeated failures.
MAX_SIGN_IN_DELAY_S = 30
#: A name's failures are forgotten after this long without another.
FORGET_FAILURES_AFTER = timedelta(hours=1)
#: Who failed to sign in under a name that is no account.
_ANONYMOUS = Actor(user_id=None, username="(unknown name)", role="patient")
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
        must_change_password=user.must_change_password,
    )


def _now(clinic: Clinic) -> datetime:
    # Delays follow the clinic clock, so a fake clock can move past them in tests.
    return clinic.now().astimezone(UTC)


def name_hash(key: str) -> str:
    # A password typed into the name field must not be stored: keep only a hash.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def sign_in_delay(failures: int, free: int) -> float:
    """Seconds a name waits before its next answer after ``failures`` recent failures: none
    for the first ``free``, then 1, 2, 4 … up to :data:`MAX_SIGN_IN_DELAY_S`.

    A delay, not a lock: whoever has the right password gets in once it has passed, so
    nobody can keep a colleague out by typing wrong passwords under their name."""
    if failures < free:
        return 0.0
    return float(min(MAX_SIGN_IN_DELAY_S, 2 ** min(failures - free, 16)))


def _sleeper(clinic: Clinic) -> Callable[[float], None]:
    # A fake clock moves on instead of the process waiting for real time to pass.
    advance = getattr(clinic.clock, "advance", None)
    return advance if callable(advance) else time.sleep


def _free_failures(clinic: Clinic) -> int:
    # The clinic's lockout threshold now means "failures before the delay starts".
    return max(1, clinic.settings.lockout_threshold)


def _recent_failures(session: Session, hashed: str, now: datetime) -> tuple[int, datetime]:
    row = session.get(SignInFailures, hashed)
    if row is None or now - row.last_failed_at > FORGET_FAILURES_AFTER:
        return 0, now
    return row.failures, row.last_failed_at


def _count_failure(session: Session, hashed: str, failures: int, now: datetime) -> None:
    row = session.get(SignInFailures, hashed, with_for_update=True)
    if row is None:
        session.add(SignInFailures(name_hash=hashed, failures=failures + 1, last_failed_at=now))
    else:
        row.failures = failures + 1
        row.last_failed_at = now
    try:
        session.flush()
    except IntegrityError:  # another PC counted the first failure at the same moment
        raise AuthenticationError(WRONG_NAME_OR_PASSWORD) from None


def login(
    clinic: Clinic,
    username: str,
    password: str,
    *,
    sleep: Callable[[float], None] | None = None,
) -> Actor:
    """Check a user name and password.

    An unknown name and a wrong password take the same path (an argon2 check against a
    dummy hash, one write with its audit entry) and give the same message. After
    repeated failures for a name, the answer for that name waits (:func:`sign_in_delay`)
    and the password is then checked as usual. Every failure is audited with the PC's name.

    Args:
        sleep: waits that many seconds; by default the process sleeps, or a fake clinic
            clock (tests, demos) moves on instead.

    Raises:
        AuthenticationError: wrong name or password (the message does not say which), or
            the right password of a disabled account.
    """
    # No real user name holds control characters; PostgreSQL refuses NUL in a parameter.
    key = search_text(username).lower()[:200]
    hashed = name_hash(key)
    with clinic.db.read() as session:
        found = session.execute(
            select(User.id, User.password_hash).where(User.username == key)
        ).first()
        failures, last_failed = _recent_failures(session, hashed, _now(clinic))
    wait = (
        last_failed + timedelta(seconds=sign_in_delay(failures, _free_failures(clinic)))
    ) - _now(clinic)
    if wait.total_seconds() > 0:
        (sleep or _sleeper(clinic))(wait.total_seconds())
    # Hash outside any transaction: argon2 takes a tenth of a second, and a SQLite write
    # transaction held that long would stall every other program's writes.
    # The dummy hash is made on first use, by every path alike: the first sign-in of a
    # process must not be slower for an unknown name only.
    dummy = _dummy_hash()
    stored_hash = found.password_hash if found is not None else dummy
    ok = _verify(stored_hash, password) and found is not None
    rehashed = _hasher.hash(password) if ok and _hasher.check_needs_rehash(stored_hash) else ""
    now = _now(clinic)
    host = socket.gethostname()
    failure: AuthenticationError | None = None
    with clinic.db.write() as session:
        # Row-locked, so two sign-ins at once on PostgreSQL see each other's changes.
        user = session.get(User, found.id, with_for_update=True) if found is not None else None
        if user is not None and ok and user.password_hash != stored_hash:
            ok, rehashed = _verify(user.password_hash, password), ""  # changed meanwhile
        if user is None or not ok:
            failures, _last = _recent_failures(session, hashed, now)
            _count_failure(session, hashed, failures, now)
            if user is not None:
                who = Actor(user.id, user.username, user.role)
                audit.record(session, who, "login.failed", "user", user.id, host=host)
            else:  # the unknown name is kept for the administrator, cut short
                audit.record(session, _ANONYMOUS, "login.failed", "user", host=host, name=key[:64])
            failure = AuthenticationError(WRONG_NAME_OR_PASSWORD)
        elif not user.is_active:
            audit.record(
                session,
                Actor(user.id, user.username, user.role),
                "login.disabled",
                "user",
                user.id,
                host=host,
            )
            failure = AuthenticationError(
                "This account is disabled; ask an administrator to enable it."
            )
        else:
            session.execute(delete(SignInFailures).where(SignInFailures.name_hash == hashed))
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            if rehashed:
                user.password_hash = rehashed
            actor = _actor_for(session, user)
            audit.record(session, actor, "login", "user", user.id, host=host)
    # The failure is committed (counted and audited) before the user is told.
    if failure is not None:
        raise failure
    return actor


def change_password(clinic: Clinic, actor: Actor, old_password: str, new_password: str) -> None:
    """A signed-in user changes their own password (which ends a forced change).

    Raises:
        PermissionDeniedError: the system account.
        AuthenticationError: the current password is wrong.
        ValidationError: the new password is too weak, or the same as the current one.
    """
    if actor.user_id is None:
        raise PermissionDeniedError("The system account has no password.")
    if new_password == old_password:
        raise ValidationError(
            "Choose a new password that differs from the current one.", field="new_password"
        )
    new_hash = hash_password(new_password)
    with clinic.db.read() as session:
        user = session.get(User, actor.user_id)
        stored = user.password_hash if user is not None else _dummy_hash()
    if user is None or not _verify(stored, old_password):
        raise AuthenticationError("The current password is wrong.")
    with clinic.db.write() as session:
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None or user.password_hash != stored:
            raise AuthenticationError("The password was changed meanwhile; sign in again.")
        user.password_hash = new_hash
        user.must_change_password = False
        audit.record(session, actor, "user.password", "user", user.id, host=socket.gethostname())
