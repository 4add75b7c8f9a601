"""Change events: what each committed write changed, told to this process and every other.

Every write session records the tables and row ids its flushes touched. When it
commits, the events go to this process's sink (the clinic's change hub); on
PostgreSQL they are also sent with ``pg_notify`` *inside* the same transaction, so
another PC hears of a change exactly when, and only if, it is committed. The
listener (:mod:`hms_desktop.db.listener`) turns those notifications back into
:class:`ChangeEvent` objects on the other PCs.

Nothing here knows about screens: a change is a *kind* (the table's topic) and the
ids of the rows, and the views decide what to refresh.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Delete, Update, event, text
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

#: Tables whose name is not the topic the application announces them under.
TABLE_TOPICS = {"availability": "availability", "treatment_versions": "treatments"}

#: More ids than this in one event are sent as "many" (``ids=None``): a NOTIFY payload
#: is limited to 8000 bytes, and a view told of many rows refreshes what it shows anyway.
MAX_IDS = 200

#: A topic that means "anything may have changed" (sent after a lost connection).
EVERYTHING = "*"

CHANNEL_PREFIX = "hms_changes:"


@dataclass(frozen=True)
class ChangeEvent:
    """One kind of row changed by one committed transaction.

    Attributes:
        topic: what changed (``appointments``, ``patients``... or ``*``).
        ids: the ids of the changed rows, or None when unknown or too many.
        origin: which process made the change (:attr:`ChangeRecorder.origin`).
        at: the commit time by the sender's database clock (PostgreSQL) or its own.
    """

    topic: str
    ids: tuple[int, ...] | None = None
    origin: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.topic,
            "ids": list(self.ids) if self.ids is not None else None,
            "origin": self.origin,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_payload(cls, payload: str) -> ChangeEvent:
        """The event a NOTIFY payload carries.

        Raises:
            ValueError: the payload is not one this module wrote.
        """
        data = json.loads(payload)
        ids = data.get("ids")
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return cls(
            topic=str(data["k"]),
            ids=tuple(int(i) for i in ids) if isinstance(ids, list) else None,
            origin=str(data.get("o", "")),
            at=at,
        )


def topic_of(table: str) -> str:
    return TABLE_TOPICS.get(table, table)


Sink = Callable[[list[ChangeEvent]], None]

_PENDING = "hms_pending_changes"
#: What the transaction's notifications already said (topic -> ids; None: the whole topic).
_SENT = "hms_sent_changes"
#: The recorder of a write session (set as its transaction begins).
_RECORDER = "hms_change_recorder"


def _notify_call(kind: str, ids: str, prefix: str, origin: str) -> str:
    """SQL of one ``pg_notify`` call: the channel (``prefix``, a SQL text expression, then
    the schema) and the payload :meth:`ChangeEvent.from_payload` reads, every piece a SQL
    expression. The server builds the payloads, so "at" is the database clock, as the
    ledger's is. The only place that writes a notification's shape."""
    return (
        f"pg_notify(CAST({prefix} AS text) || current_schema(), json_build_object('k', {kind}, "
        f"'ids', {ids}, 'o', CAST({origin} AS text), 'at', clock_timestamp())::text)"
    )


_EACH_EVENT = "FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS e(v, n)"
_EVENT_CALL = _notify_call("e.v ->> 'k'", "e.v -> 'ids'", ":prefix", ":o")
# Sent inside the committing transaction: PostgreSQL delivers it at COMMIT, or never.
# One statement for all of a transaction's events, in their order (one round trip
# while a booking holds the audit chain's lock).
_NOTIFY = text(f"SELECT {_EVENT_CALL} {_EACH_EVENT} ORDER BY e.n")
#: The same notifications, as one SQL expression (their count), for a statement that
#: sends them along with its own work; its parameters are ``prefix``, ``o`` and ``events``
#: (:func:`take_unsent`).
NOTIFY_EXPRESSION = f"(SELECT count({_EVENT_CALL}) {_EACH_EVENT})"


def notify_sql(kind: str, ids: str, prefix: str, origin: str) -> str:
    """SQL of one ``pg_notify`` call for a writer that sends its notifications inside
    statements of its own: ``kind`` the topic (a constant), ``ids`` a SQL expression of
    the row's id, ``prefix`` and ``origin`` the parameters (or their driver's markers)
    of the channel prefix (:data:`CHANNEL_PREFIX`) and the origin."""
    return _notify_call(f"'{kind}'", f"json_build_array({ids})", prefix, origin)


def _pending(session: Session) -> dict[str, set[int] | None]:
    pending: dict[str, set[int] | None] = session.info.setdefault(_PENDING, {})
    return pending


def record(session: Session, table: str, ids: Iterable[int] | None) -> None:
    """Count rows of ``table`` as changed by the session's transaction (``None``: which
    rows is unknown). Writes through SQLAlchemy Core (``insert()`` on a connection) call
    this; ORM flushes and ORM ``update()``/``delete()`` are recorded without it."""
    pending = _pending(session)
    topic = topic_of(table)
    if ids is None:
        pending[topic] = None
        return
    known = pending.setdefault(topic, set())
    if known is not None:
        known.update(ids)


def _unsent(session: Session) -> list[dict[str, Any]]:
    """The transaction's changes its notifications have not said yet, as payload items."""
    sent: dict[str, set[int] | None] = session.info.get(_SENT) or {}
    items: list[dict[str, Any]] = []
    for topic, ids in sorted(_pending(session).items()):
        if topic in sent and sent[topic] is None:
            continue  # the whole topic was said
        if ids is None:
            items.append({"k": topic, "ids": None})
            continue
        new = ids - (sent.get(topic) or set())
        if new:
            items.append({"k": topic, "ids": sorted(new) if len(new) <= MAX_IDS else None})
    return items


def _mark_sent(session: Session, items: Iterable[dict[str, Any]]) -> None:
    sent: dict[str, set[int] | None] = session.info.setdefault(_SENT, {})
    for item in items:
        topic, ids = item["k"], item["ids"]
        if ids is None:
            sent[topic] = None
        elif (known := sent.setdefault(topic, set())) is not None:
            known.update(ids)


def take_unsent(session: Session) -> dict[str, str] | None:
    """The parameters of :data:`NOTIFY_EXPRESSION` for what the session's transaction has
    changed and not yet said, counted as said from now on (it must go out in this
    transaction); None when the session does not notify (SQLite)."""
    recorder: ChangeRecorder | None = session.info.get(_RECORDER)
    if recorder is None or not recorder.notifies:
        return None
    items = _unsent(session)
    _mark_sent(session, items)
    return {"prefix": CHANNEL_PREFIX, "o": recorder.origin, "events": json.dumps(items)}


def record_sent(session: Session, table: str, ids: Iterable[int]) -> None:
    """Count rows of ``table`` as changed and already said by a notification that went
    out with them in this transaction."""
    ids = list(ids)
    record(session, table, ids)
    _mark_sent(session, [{"k": topic_of(table), "ids": ids}])


class ChangeRecorder:
    """Collects what write sessions change and hands the events on at commit.

    Args:
        factory: the sessionmaker of write sessions to watch.
        notify: send the events with ``pg_notify`` in the committing transaction.
    """

    def __init__(self, factory: sessionmaker[Session], *, notify: bool) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self._notify = notify
        self._sinks: list[Sink] = []
        event.listen(factory, "after_begin", self._after_begin)
        event.listen(factory, "after_flush", self._after_flush)
        event.listen(factory, "do_orm_execute", self._on_execute)
        event.listen(factory, "before_commit", self._before_commit)
        event.listen(factory, "after_commit", self._after_commit)
        event.listen(factory, "after_rollback", self._forget)

    def add_sink(self, sink: Sink) -> Callable[[], None]:
        """Call ``sink`` with each committed transaction's events; returns an undo."""
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    @property
    def notifies(self) -> bool:
        """True when the events go to other processes too (PostgreSQL)."""
        return self._notify

    # --- collecting ---------------------------------------------------------------
    def _after_begin(self, session: Session, _transaction: Any, _connection: Any) -> None:
        session.info[_RECORDER] = self

    def _after_flush(self, session: Session, _context: Any) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(obj, "__tablename__", None)
            if table is None:
                continue
            ident = getattr(obj, "id", None)
            record(session, table, [ident] if isinstance(ident, int) else None)

    def _on_execute(self, state: ORMExecuteState) -> None:
        statement = state.statement
        if isinstance(statement, Update | Delete):
            table = statement.table
            record(state.session, getattr(table, "name", str(table)), None)

    # --- sending --------------------------------------------------------------------
    def _events(self, session: Session) -> list[ChangeEvent]:
        pending = session.info.get(_PENDING) or {}
        return [
            ChangeEvent(
                topic,
                tuple(sorted(ids)) if ids is not None and len(ids) <= MAX_IDS else None,
                self.origin,
            )
            for topic, ids in sorted(pending.items())
        ]

    def _before_commit(self, session: Session) -> None:
        if not self._notify:
            return
        session.flush()  # what is still pending is part of this commit too
        # Less what went out already with an audit entry (audit_chain.append).
        events = _unsent(session)
        if events:
            session.connection().execute(
                _NOTIFY, {"prefix": CHANNEL_PREFIX, "o": self.origin, "events": json.dumps(events)}
            )

    def _after_commit(self, session: Session) -> None:
        events = self._events(session)
        session.info.pop(_PENDING, None)
        session.info.pop(_SENT, None)
        if not events:
            return
        for sink in list(self._sinks):
            sink(events)

    def committed(self, changed: dict[str, list[int]]) -> None:
        """Tell this process's sinks what a transaction committed without a session (a
        writer on the raw driver; it sends them itself, see :func:`notify_sql`)."""
        events = [
            ChangeEvent(topic_of(table), tuple(sorted(ids)), self.origin)
            for table, ids in sorted(changed.items())
            if ids
        ]
        if events:
            for sink in list(self._sinks):
                sink(events)

    @staticmethod
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_SENT, None)
