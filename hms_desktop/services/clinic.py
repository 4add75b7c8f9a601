"""The clinic context every service works on: database, settings, clock, change events.

Two kinds of settings meet here. ``clinic.pc`` is this PC's own
:class:`~hms_desktop.config.Settings` (database URL, UI preferences, the SMTP
password in its keyring). ``clinic.settings`` is the clinic-wide
:class:`~hms_desktop.services.clinic_settings.values.ClinicSettings`, read from the
database (so every PC agrees), cached, and re-read after a change or at most
:data:`REFRESH_SECONDS` later; ``HMS_<KEY>`` environment variables of an operator
override single values on this PC (listed in :attr:`Clinic.overrides`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hms_desktop.config import Settings, keyring_password
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import SchemaState, check_schema, upgrade
from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.clinic_settings.stored import read_settings
from hms_desktop.services.clinic_settings.values import ClinicSettings, env_name, env_overrides
from hms_desktop.services.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: Topics a change is announced under; listeners (caches, windows) refresh on them.
TOPICS = (
    "appointments", "patients", "doctors", "departments", "availability", "treatments",
    "clinic_settings",
)  # fmt: skip
#: Another PC's change to the clinic settings shows here at most this much later.
REFRESH_SECONDS = 30.0

Listener = Callable[[str], None]


class ChangeHub:
    """Tells listeners that data changed. Thread-safe; listeners may run on any thread."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self, topic: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(topic)
            except Exception:  # one broken listener must not undo a committed change
                log.exception("change listener failed for %s", topic)


@dataclass
class Clinic:
    """Everything a service call needs. One per process; safe to use from any thread.

    ``environ`` holds the operator's ``HMS_<KEY>`` overrides of clinic values
    (:func:`open_clinic` passes the process environment; tests pass none).
    """

    db: Database
    pc: Settings
    clock: Clock
    changes: ChangeHub = field(default_factory=ChangeHub)
    environ: Mapping[str, str] = field(default_factory=dict)
    #: Settings used as they are, never read from the database: only for a clinic on a
    #: schema older than the settings table (the migration tests).
    pinned: ClinicSettings | None = None
    _cached: ClinicSettings | None = field(default=None, init=False, repr=False)
    _read_at: float = field(default=0.0, init=False, repr=False)
    _overrides: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    #: (SMTP user, password from this PC's keyring): asked once per user, not per refresh.
    _keyring: tuple[str, str] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def settings(self) -> ClinicSettings:
        """The clinic-wide settings in force on this PC (database, then overrides).

        Raises:
            DatabaseUnavailableError: the database cannot be read the first time.
        """
        with self._lock:
            cached, read_at = self._cached, self._read_at
        if cached is not None and self.clock.monotonic() - read_at < REFRESH_SECONDS:
            return cached
        try:
            return self.reload_settings()
        except DatabaseUnavailableError:
            if cached is None:
                raise
            # The database went away (the network, the server): keep to the values last
            # read rather than stop every screen and job; try again after a while.
            log.warning("clinic settings not refreshed: the database cannot be reached")
            with self._lock:
                self._read_at = self.clock.monotonic()
            return cached

    @property
    def overrides(self) -> dict[str, str]:
        """Clinic settings this PC overrides: key -> the environment variable doing it."""
        self.settings  # noqa: B018 - make sure they were read
        with self._lock:
            return dict(self._overrides)

    def reload_settings(self, *, ask_keyring: bool = False) -> ClinicSettings:
        """Read the clinic settings again now (after a change here or on another PC).

        ``ask_keyring`` asks this PC's keyring for the SMTP password again (after it was
        changed); otherwise it is asked once per SMTP user.
        """
        if self.pinned is not None:
            stored = self.pinned
        else:
            with self.db.read() as session:
                stored = read_settings(session)
        local = env_overrides(self.environ)
        current = stored.replace(**local)
        password = self.pc.smtp_password
        if not password:
            known = self._keyring
            if ask_keyring or known is None or known[0] != current.smtp_user:
                known = (current.smtp_user, keyring_password(current.smtp_user))
                self._keyring = known
            password = known[1]
        current = current.replace(smtp_password=password)
        with self._lock:
            self._cached, self._read_at = current, self.clock.monotonic()
            self._overrides = {key: env_name(key) for key in local}
        return current

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's time zone: "now" and "today" are told in it on every PC."""
        return self.settings.tz

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()

    def close(self) -> None:
        self.db.dispose()


def open_clinic(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    must_exist: bool = False,
) -> Clinic:
    """Open the clinic database, upgrading the schema when ``migrate`` is true.

    Raises:
        DatabaseUnavailableError: missing (with ``must_exist``), locked, unreachable,
            not yet initialised (without ``migrate``), or written by a newer version.
    """
    db = Database(settings.database_url, must_exist=must_exist)
    try:
        state: SchemaState = upgrade(db) if migrate else check_schema(db)
        if not state.is_current:
            raise DatabaseUnavailableError(
                f"The database {db.display_location} is not set up (schema "
                f"{state.current or 'none'}, expected {state.head}). Run 'hms init'."
            )
    except BaseException:
        db.dispose()
        raise
    clinic = Clinic(
        db=db, pc=settings, clock=clock or SystemClock(ZoneInfo("UTC")), environ=os.environ
    )
    try:
        clinic.reload_settings()  # a stored value this version cannot use fails here, early
    except BaseException:
        db.dispose()
        raise
    return clinic
