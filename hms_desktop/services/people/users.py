"""Running the clinic's accounts: list, disable and enable, unlock, reset a password.

Administrators only, every change audited with the PC's name. A signed-in window works
on :func:`signed_in_clinic`, whose every database session first checks that the account
is still enabled, so a disabled user is signed out at their next action.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from hms_desktop.db.engine import Database
from hms_desktop.db.models import ROLES as ROLES  # the Users page offers them
from hms_desktop.db.models import Doctor, Patient, SignInFailures, User
from hms_desktop.errors import NotFoundError, SignedOutError, ValidationError
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts
from hms_desktop.services.people.validation import search_text
from hms_desktop.services.safety import audit

SIGNED_OUT = "Your account was disabled by an administrator; you are signed out."


@dataclass(frozen=True)
class UserRow:
    """One account as the Users page and ``hms user list`` show it."""

    id: int
    username: str
    role: str
    name: str
    is_active: bool
    #: Recent failed sign-ins have slowed this name down (an administrator may unlock it).
    locked: bool
    must_change_password: bool
    last_login_at: datetime | None

    @property
    def state(self) -> str:
        if not self.is_active:
            return "disabled"
        if self.locked:
            return "slowed down"
        if self.must_change_password:
            return "must change password"
        return "active"


def list_users(clinic: Clinic, actor: Actor) -> list[UserRow]:
    """Every account by user name, with its role, state and last sign-in.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
    """
    require_admin(actor, "list user accounts")
    now = clinic.now().astimezone(UTC)
    free = max(1, clinic.settings.lockout_threshold)
    with clinic.db.read() as session:
        failures = {
            row.name_hash: row.failures
            for row in session.scalars(select(SignInFailures))
            if now - row.last_failed_at <= accounts.FORGET_FAILURES_AFTER
        }
        doctors = dict(session.execute(select(Doctor.user_id, Doctor.full_name)).tuples().all())
        patients = dict(session.execute(select(Patient.user_id, Patient.full_name)).tuples().all())
        return [
            UserRow(
                id=u.id,
                username=u.username,
                role=u.role,
                name=doctors.get(u.id) or patients.get(u.id) or "",
                is_active=u.is_active,
                locked=failures.get(accounts.name_hash(u.username), 0) >= free,
                must_change_password=u.must_change_password,
                last_login_at=u.last_login_at,
            )
            for u in session.scalars(select(User).order_by(User.username))
        ]


def user_id_by_name(clinic: Clinic, username: str) -> int:
    """The id of the account ``username`` (any case).

    Raises:
        NotFoundError: no such account.
    """
    key = search_text(username).lower()
    with clinic.db.read() as session:
        found = session.scalar(select(User.id).where(User.username == key))
    if found is None:
        raise NotFoundError(f"There is no user {username!r}; 'hms user list' shows them.")
    return found


def _load(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFoundError(f"There is no user with id {user_id}.")
    return user


def _forget_failures(session: Session, user: User) -> None:
    session.execute(
        delete(SignInFailures).where(SignInFailures.name_hash == accounts.name_hash(user.username))
    )


def set_active(clinic: Clinic, actor: Actor, user_id: int, active: bool) -> None:
    """Enable or disable an account. A disabled user cannot sign in, and a signed-in one
    is signed out at their next action.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        NotFoundError: no such account.
        ValidationError: an administrator disabling their own account, or the last
            enabled administrator.
    """
    require_admin(actor, "disable or enable accounts")
    with clinic.db.write() as session:
        user = _load(session, user_id)
        if not active and user.id == actor.user_id:
            raise ValidationError("You cannot disable your own account.")
        if not active and user.role == "admin" and user.is_active:
            others = session.scalars(
                select(User.id).where(
                    User.role == "admin", User.is_active.is_(True), User.id != user.id
                )
            ).first()
            if others is None:
                raise ValidationError("This is the last enabled administrator; keep it enabled.")
        if user.is_active == active:
            return
        user.is_active = active
        action = "user.enable" if active else "user.disable"
        audit.record(session, actor, action, "user", user.id, host=socket.gethostname())


def unlock(clinic: Clinic, actor: Actor, user_id: int) -> None:
    """Forget the account's recent failed sign-ins, so its answers come without delay.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        NotFoundError: no such account.
    """
    require_admin(actor, "unlock accounts")
    with clinic.db.write() as session:
        user = _load(session, user_id)
        _forget_failures(session, user)
        user.failed_logins = 0
        user.locked_until = None
        audit.record(session, actor, "user.unlock", "user", user.id, host=socket.gethostname())


def reset_password(
    clinic: Clinic, actor: Actor, user_id: int, password: str, *, must_change: bool = True
) -> None:
    """Set an account's password; with ``must_change`` (a reset) the user chooses a new one
    at their next sign-in. Also forgets the name's failed sign-ins.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        NotFoundError: no such account.
        ValidationError: the password is too weak.
    """
    require_admin(actor, "reset passwords")
    new_hash = accounts.hash_password(password)
    with clinic.db.write() as session:
        user = _load(session, user_id)
        user.password_hash = new_hash
        user.must_change_password = must_change
        _forget_failures(session, user)
        action = "user.reset_password" if must_change else "user.set_password"
        audit.record(session, actor, action, "user", user.id, host=socket.gethostname())


# --- the signed-in window's account check -------------------------------------------------


class _AccountCheckedDatabase(Database):
    """The clinic's database as one signed-in account uses it: every session first checks
    that the account is still enabled (one primary-key read)."""

    def __init__(
        self, base: Database, user_id: int, on_signed_out: Callable[[], None] | None
    ) -> None:
        # Shares the engine and session factories; nothing new is opened.
        self.__dict__.update(base.__dict__)
        self._checked_user_id = user_id
        self.checked_account = user_id
        self._on_signed_out = on_signed_out

    def _check(self, session: Session | Connection) -> None:
        if not session.scalar(select(User.is_active).where(User.id == self._checked_user_id)):
            if self._on_signed_out is not None:
                # Whoever handles the error (a list, a dialog), the window signs out.
                self._on_signed_out()
            raise SignedOutError(SIGNED_OUT)

    @contextlib.contextmanager
    def read(self, *, streaming: bool = False) -> Iterator[Session]:
        with super().read(streaming=streaming) as session:
            self._check(session)
            yield session

    @contextlib.contextmanager
    def one_statement(self) -> Iterator[Connection]:
        with super().one_statement() as conn:
            self._check(conn)
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        with super().write() as session:
            self._check(session)
            yield session


def signed_in_clinic(
    clinic: Clinic, actor: Actor, *, on_signed_out: Callable[[], None] | None = None
) -> Clinic:
    """The clinic as ``actor``'s window uses it: each service call first checks that the
    account is still enabled and raises :class:`SignedOutError` once it is not, after
    calling ``on_signed_out`` (on the calling thread). The clock and change events are the
    clinic's own (shared, not copied)."""
    if actor.user_id is None:
        return clinic
    db = _AccountCheckedDatabase(clinic.db, actor.user_id, on_signed_out)
    return dataclasses.replace(clinic, db=db)
