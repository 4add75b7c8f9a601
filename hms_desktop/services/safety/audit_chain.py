"""The audit log's hash chain: each entry seals the one before it.

Entry N stores ``seq = N``, ``prev_hash`` (entry N-1's ``row_hash``; empty for the
first) and ``row_hash = sha256(prev_hash + every field of entry N)``. Whoever edits
an entry in the database file (its text, its time, its number), removes one or
moves one breaks the chain at that entry, and :func:`verify` names it.

What a chain cannot show: the newest entries cut off at the end (nothing follows
them to notice), or a whole chain recomputed from the edit onwards by someone who
reimplements this module. The database's append-only triggers, the 0600 file and
backups kept elsewhere are the defences there.

One chain for every PC: the next number and hash are read and written under a lock
held to the end of the writing transaction (PostgreSQL: a transaction-level
advisory lock, taken with the head, hash and insert in one statement by the server's
``hms_audit_append``, migration 0017; SQLite: the write transaction is serialized
already, ``BEGIN IMMEDIATE``). The unique index on ``seq`` turns any fork into an error, never into a
second chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from hms_desktop.db import changes
from hms_desktop.db.engine import Database, inserted_id
from hms_desktop.db.kept import KeptReader
from hms_desktop.db.models import AuditEntry

#: PostgreSQL advisory lock key of the audit chain (any constant; "HMSAUDIT" in ASCII),
#: taken by migration 0017's ``hms_audit_append``, which holds the same value.
_CHAIN_LOCK_KEY = 0x484D534155444954


def _utc_text(at: datetime) -> str:
    return naive_utc(at).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_user_id: int | None,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    patient_id: int | None,
    details: str,
) -> str:
    """The hash that seals one entry to the previous one (hex SHA-256).

    The migration that chained the existing log (0008) computes the same value; a
    change here needs a migration that re-chains.
    """
    fields = [
        prev_hash,
        seq,
        _utc_text(at),
        actor_user_id,
        actor,
        action,
        entity,
        entity_id,
        patient_id,
        details,
    ]
    blob = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class PlainEntry:
    """An entry's fields without the ORM (a hot path's entry, written by statements of its
    own; :func:`seal` and :data:`PG_APPEND` take it as they take an :class:`AuditEntry`)."""

    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    entity: str
    entity_id: int | None
    patient_id: int | None
    details: str
    id: int = 0
    seq: int = 0
    prev_hash: str = ""
    row_hash: str = ""


#: An entry's own fields, in :func:`entry_hash`'s order but the chain's own.
ENTRY_FIELDS = (
    "at", "actor_user_id", "actor", "action", "entity", "entity_id", "patient_id", "details",
)  # fmt: skip
#: Every column an append writes: the entry's fields, then its place in the chain.
CHAIN_COLUMNS = (*ENTRY_FIELDS, "seq", "prev_hash", "row_hash")


def _hash_of(entry: AuditEntry | PlainEntry) -> str:
    return entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor_user_id,
        entry.actor,
        entry.action,
        entry.entity,
        entry.entity_id,
        entry.patient_id,
        entry.details,
    )


#: The chain's newest entry, and the insert of the next (Core statements, compiled once:
#: the hot path of every audited write, kept short because the chain is locked meanwhile).
_HEAD = select(AuditEntry.seq, AuditEntry.row_hash).order_by(AuditEntry.seq.desc()).limit(1)
_INSERT = insert(AuditEntry)


#: PostgreSQL: the chain's lock, head, hash and insert in one statement (migration 0017's
#: function computes the hash :func:`entry_hash` does; a test holds the two equal).
_PG_APPEND_FROM = (
    "FROM hms_audit_append(CAST(:at AS timestamp), "
    "CAST(:actor_user_id AS integer), CAST(:actor AS text), CAST(:action AS text), "
    "CAST(:entity AS text), CAST(:entity_id AS integer), CAST(:patient_id AS integer), "
    "CAST(:details AS text)) a"
)
PG_APPEND = text(f"SELECT new_id, new_seq, new_prev, new_hash {_PG_APPEND_FROM}")
#: :data:`PG_APPEND` that also sends the transaction's change notifications so far
#: (:func:`changes.take_unsent`) and the entry's own: the entry is most often the
#: transaction's last write, so the commit needs no statement of its own to send them
#: (a round trip less for every audited write, and while the chain is locked).
_PG_APPEND_NOTIFYING = text(
    f"SELECT new_id, new_seq, new_prev, new_hash, {changes.NOTIFY_EXPRESSION}, "
    f"{changes.notify_sql(AuditEntry.__tablename__, 'a.new_id', ':prefix', ':o')} {_PG_APPEND_FROM}"
)


def naive_utc(at: datetime) -> datetime:
    """``at`` as the audit log stores it: UTC without a zone."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def append_arguments(entry: AuditEntry | PlainEntry) -> dict[str, object]:
    """The parameters of :data:`PG_APPEND` (and of the function) for ``entry``."""
    arguments: dict[str, object] = {name: getattr(entry, name) for name in ENTRY_FIELDS}
    arguments["at"] = naive_utc(entry.at)
    return arguments


def seal(entry: AuditEntry | PlainEntry, head: tuple[int, str]) -> None:
    """Give ``entry`` the number, previous hash and hash that follow ``head`` (the chain's
    newest ``(seq, row_hash)``; ``(0, "")``: none), read under the chain's lock."""
    entry.seq = head[0] + 1
    entry.prev_hash = head[1]
    entry.row_hash = _hash_of(entry)


#: The head as columns of another statement (see :func:`head_known_early`).
HEAD_SEQ = select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1).scalar_subquery()
HEAD_HASH = select(AuditEntry.row_hash).order_by(AuditEntry.seq.desc()).limit(1).scalar_subquery()


def head_known_early(session: Session) -> bool:
    """Whether the chain's head, read anywhere in this write transaction, is still the head
    when the entry goes in. SQLite: yes, the transaction holds the database's one write
    lock from its ``BEGIN IMMEDIATE``. PostgreSQL: no, only a read after the chain's lock.
    """
    return session.get_bind().dialect.name == "sqlite"


#: ``session.info`` key of the entries :func:`appended_last` holds back.
_HELD = "hms_audit_held"


@contextlib.contextmanager
def appended_last(session: Session) -> Iterator[None]:
    """Inside the block, entries appended in ``session`` (:func:`append`, and so
    ``audit.record``) wait; they join the chain in their order when the block ends
    without an error (with an error, the caller's transaction rolls back anyway).

    For a transaction that changes several visits one after another: each single-visit
    write takes its visit's row and its day's count before the chain's lock (PostgreSQL),
    so one that took the chain after its first visit could wait for a row that a
    single-visit write holds while that one waits for the chain: a deadlock. Held back,
    the entries take the chain last, as everyone does. Not nestable.
    """
    if _HELD in session.info:
        raise RuntimeError("appended_last is not nestable")
    held: list[AuditEntry] = []
    session.info[_HELD] = held
    try:
        yield
    finally:
        del session.info[_HELD]
    head: tuple[int, str] | None = None
    for entry in held:
        append(session, entry, head=head)
        head = (entry.seq, entry.row_hash)


def append(session: Session, entry: AuditEntry, *, head: tuple[int, str] | None = None) -> None:
    """Give ``entry`` the next number and its hash, and add it to the caller's transaction.

    The chain stays locked until that transaction ends, so keep audit writes late in
    long transactions. ``entry`` is written with a Core insert (it is not added to the
    session); it gets its ``id``, ``seq``, ``prev_hash`` and ``row_hash`` (inside
    :func:`appended_last`: at the block's end).

    Args:
        head: the chain's newest ``(seq, row_hash)`` (``(0, "")``: none), read earlier in
            this transaction with :data:`HEAD_SEQ` and :data:`HEAD_HASH`, where
            :func:`head_known_early` says so; ignored elsewhere.
    """
    held = session.info.get(_HELD)
    if held is not None:
        held.append(entry)
        return
    # Earlier ORM changes of this transaction go in first (an entry of theirs included).
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # One round trip while every other writer waits for the chain, not three.
        notifying = changes.take_unsent(session)
        if notifying is None:
            row = conn.execute(PG_APPEND, append_arguments(entry)).one()
            entry.id, entry.seq, entry.prev_hash, entry.row_hash = row
            changes.record(session, AuditEntry.__tablename__, [entry.id])
            return
        row = conn.execute(_PG_APPEND_NOTIFYING, append_arguments(entry) | notifying).one()
        entry.id, entry.seq, entry.prev_hash, entry.row_hash = row[:4]
        changes.record_sent(session, AuditEntry.__tablename__, [entry.id])
        return
    if head is None:
        last = conn.execute(_HEAD).first()
        head = (last.seq, last.row_hash) if last is not None else (0, "")
    seal(entry, head)
    values = {name: getattr(entry, name) for name in CHAIN_COLUMNS}
    entry.id = inserted_id(conn.execute(_INSERT, values))
    changes.record(session, AuditEntry.__tablename__, [entry.id])


def append_alone(db: Database, entry: AuditEntry) -> None:
    """Write ``entry`` in a transaction of its own (a read's, an export's record).

    On PostgreSQL that is one statement, committed by itself, with its notification: one
    round trip where a transaction takes three. Elsewhere, a write session.
    """
    if db.is_sqlite:
        with db.write() as session:
            append(session, entry)
        return
    with db.one_statement() as conn:
        row = conn.execute(_PG_APPEND_NOTIFYING, _alone_arguments(db, entry)).one()
    entry.id, entry.seq, entry.prev_hash, entry.row_hash = row[:4]
    db.changes.committed({AuditEntry.__tablename__: [entry.id]})


def _alone_arguments(db: Database, entry: AuditEntry | PlainEntry) -> dict[str, object]:
    """:data:`_PG_APPEND_NOTIFYING`'s parameters for an entry in a transaction of its own:
    no earlier change to say, only the entry's own notification."""
    notifying = {"prefix": changes.CHANNEL_PREFIX, "o": db.changes.origin, "events": "[]"}
    return append_arguments(entry) | notifying


def append_kept(reader: KeptReader, entry: PlainEntry) -> None:
    """:func:`append_alone` on a kept PostgreSQL connection in autocommit
    (:func:`kept.autocommit`): one statement, no session, no pool checkout. The caller
    tells ``db.changes`` (``{"audit_log": [entry.id]}``) once it is done with the
    connection, and checks the signed-in account itself (see :mod:`hms_desktop.db.kept`).
    """
    row = reader.rows(_PG_APPEND_NOTIFYING, _alone_arguments(reader.db, entry))[0]
    entry.id, entry.seq, entry.prev_hash, entry.row_hash = row[:4]


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: ``ok``, how many entries, and the first broken one."""

    entries: int
    #: The entry number where the chain first breaks (None when it holds).
    row: int | None = None
    #: ``changed``, ``removed`` or ``reordered`` (empty when it holds).
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.row is None

    @property
    def message(self) -> str:
        """``ok, N entries`` or ``row N changed`` (``removed``, ``reordered``)."""
        if self.ok:
            return f"ok, {self.entries} entries"
        return f"row {self.row} {self.problem}"


def check_entries(entries: Iterable[AuditEntry], numbers: set[int]) -> ChainReport:
    """Walk ``entries`` in the order they were stored (by id) against the chain.

    Args:
        entries: every entry, by ascending id.
        numbers: every ``seq`` present (to tell a removed entry from a moved one).
    """
    expected, prev_hash, count = 1, "", 0
    for entry in entries:
        count += 1
        if entry.seq != expected:
            # The entry that belongs here is elsewhere (moved) or nowhere (removed).
            problem = "reordered" if expected in numbers else "removed"
            return ChainReport(count, expected, problem)
        if _hash_of(entry) != entry.row_hash:
            return ChainReport(count, entry.seq, "changed")
        if entry.prev_hash != prev_hash:
            # This entry is intact, so the one before was rewritten (hash and all).
            return ChainReport(count, entry.seq - 1, "changed")
        prev_hash, expected = entry.row_hash, expected + 1
    return ChainReport(count)


def verify(db: Database) -> ChainReport:
    """Check the whole audit log's chain; read-only.

    Raises:
        DatabaseUnavailableError: the database cannot be read.
    """
    with db.read(streaming=True) as session:
        numbers = set(session.scalars(select(AuditEntry.seq)))
        rows = session.scalars(
            select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=2000)
        )
        try:
            return check_entries(rows, numbers)
        finally:
            rows.close()  # a break found early leaves PostgreSQL's server-side cursor open
