"""The clinic context every service works on: database, settings, clock, change events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from hms_desktop.config import Settings
from hms_desktop.db.changes import EVERYTHING, ChangeEvent
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import SchemaState, check_schema, upgrade
from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.clock import Clock, SystemClock

if TYPE_CHECKING:
    from hms_desktop.db.listener import ChangeListener

log = logging.getLogger(__name__)

#: Topics a change is announced under; listeners (caches, windows) refresh on them.
TOPICS = (
    "appointments",
    "patients",
    "doctors",
    "departments",
    "availability",
    "treatments",
    "waitlist",
)

Listener = Callable[[str], None]
EventListener = Callable[[list[ChangeEvent]], None]


class ChangeHub:
    """Tells listeners that data changed. Thread-safe; listeners may run on any thread.

    Topic listeners hear a topic per change (``"appointments"``...); event listeners
    hear the :class:`ChangeEvent` objects with ids, origin and commit time. Changes
    committed by this process and, on PostgreSQL, by every other one arrive here.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._event_listeners: list[EventListener] = []
        self._lock = threading.Lock()

    def subscribe_events(self, listener: EventListener) -> Callable[[], None]:
        """Hear every change event; returns the call that stops it."""
        with self._lock:
            self._event_listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._event_listeners:
                    self._event_listeners.remove(listener)

        return unsubscribe

    def publish(self, events: list[ChangeEvent]) -> None:
        """Pass committed change events on: to event listeners, then as topics.

        ``*`` (changes may have been missed) reaches topic listeners as every topic.
        """
        with self._lock:
            event_listeners = list(self._event_listeners)
        for listener in event_listeners:
            try:
                listener(events)
            except Exception:
                log.exception("change event listener failed")
        topics: list[str] = []
        for change in events:
            for topic in TOPICS if change.topic == EVERYTHING else (change.topic,):
                if topic not in topics:
                    topics.append(topic)
        for topic in topics:
            self.notify(topic)

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
    """Everything a service call needs. One per process; safe to use from any thread."""

    db: Database
    settings: Settings
    clock: Clock
    changes: ChangeHub = field(default_factory=ChangeHub)
    _listener: ChangeListener | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._stop_recording = self.db.changes.add_sink(self.changes.publish)

    def start_listening(self) -> bool:
        """Hear other PCs' changes from now on (PostgreSQL). False on SQLite (one PC)."""
        if self._listener is None:
            self._listener = self.db.listen(self.changes.publish)
        return self._listener is not None

    @property
    def listener(self) -> ChangeListener | None:
        """The running listener, if :meth:`start_listening` started one."""
        return self._listener

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().date()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self._stop_recording()
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
    return Clinic(db=db, settings=settings, clock=clock or SystemClock(settings.tz))
