"""One LISTEN connection per process: other PCs' committed changes, as they happen.

The listener runs on its own thread with its own psycopg connection (never a
pooled one: a pooled connection would be handed to a session and lose the
LISTEN). When the server or the network drops it, it reconnects with a growing
pause and then reports :data:`~hms_desktop.db.changes.EVERYTHING` once, because
changes made while it was away were not heard: every open view refreshes once.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from hms_desktop.db.changes import CHANNEL_PREFIX, EVERYTHING, ChangeEvent

log = logging.getLogger(__name__)

#: Pauses before reconnecting, in seconds; the last one repeats.
RECONNECT_PAUSES = (0.2, 0.5, 1.0, 2.0, 5.0)

#: How often an idle connection is checked, in seconds.
HEALTH_CHECK_S = 5.0

Deliver = Callable[[list[ChangeEvent]], None]


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class ChangeListener:
    """Hears other processes' change events on PostgreSQL and passes them to ``deliver``.

    ``deliver`` runs on the listener's thread; it must be quick and thread-safe.
    Events this process sent itself (same ``origin``) are skipped: they were
    delivered locally at commit.
    """

    def __init__(self, url: str, origin: str, deliver: Deliver, *, poll_s: float = 0.25) -> None:
        self._url = libpq_url(url)
        self._origin = origin
        self._deliver = deliver
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hms-change-listener", daemon=True)
        #: Set each time the LISTEN is in place (tests wait on it).
        self.listening = threading.Event()
        #: How many times the connection was made again after being lost.
        self.reconnects = 0
        #: The server process id of the current LISTEN connection (tests terminate it).
        self.backend_pid: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and wait for the thread (at most ``timeout`` seconds)."""
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _connect(self) -> psycopg.Connection:
        # Keepalives: a network that drops the connection silently is noticed too.
        conn = psycopg.connect(
            self._url,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        schema = conn.execute("SELECT current_schema()").fetchone()
        channel = CHANNEL_PREFIX + str(schema[0] if schema else "public")
        conn.add_notify_handler(self._on_notify)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self.backend_pid = conn.info.backend_pid
        return conn

    def _run(self) -> None:
        failures = 0
        first = True
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except psycopg.Error as err:
                pause = RECONNECT_PAUSES[min(failures, len(RECONNECT_PAUSES) - 1)]
                failures += 1
                log.warning("change listener cannot connect (%s); again in %.1f s", err, pause)
                self._stop.wait(pause)
                continue
            failures = 0
            self.listening.set()
            if not first:
                self.reconnects += 1
                log.info("change listener reconnected; refreshing every view once")
                self._safe_deliver([ChangeEvent(EVERYTHING)])
            first = False
            try:
                self._listen(conn)
            except psycopg.Error as err:
                if not self._stop.is_set():
                    log.warning("change listener lost its connection: %s", err)
                    self.listening.clear()
            finally:
                conn.close()

    def _listen(self, conn: psycopg.Connection) -> None:
        # Notices reach the handler set in _connect whenever the connection reads;
        # a cheap query makes it read as soon as the socket has something, and now
        # and then anyway, so a connection that died quietly is noticed.
        idle = 0.0
        while not self._stop.is_set():
            readable, _, _ = select.select([conn.fileno()], [], [], self._poll_s)
            idle = 0.0 if readable else idle + self._poll_s
            if readable or idle >= HEALTH_CHECK_S:
                idle = 0.0
                conn.execute("SELECT 1")

    def _on_notify(self, note: psycopg.Notify) -> None:
        try:
            change = ChangeEvent.from_payload(note.payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a change notice this version cannot read: %.200s", note.payload)
            return
        if change.origin != self._origin:
            self._safe_deliver([change])

    def _safe_deliver(self, events: list[ChangeEvent]) -> None:
        try:
            self._deliver(events)
        except Exception:  # a broken receiver must not end the listening
            log.exception("delivering change events failed")
