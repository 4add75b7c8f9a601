"""Engine and session factory for SQLite and PostgreSQL with one code path.

SQLite gets foreign keys, WAL and a busy timeout on every connection. Write
transactions start with ``BEGIN IMMEDIATE`` so two processes writing at once wait
for each other instead of failing with "database is locked" when a deferred read
transaction tries to upgrade to a write.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Dialect,
    Engine,
    create_engine,
    event,
    exc,
    make_url,
)
from sqlalchemy.orm import Session, sessionmaker

from hms_desktop import file_safety
from hms_desktop.db.changes import ChangeRecorder
from hms_desktop.errors import DatabaseUnavailableError, WritesCrossedError

if TYPE_CHECKING:  # psycopg loads only when a PostgreSQL clinic listens
    from hms_desktop.db.listener import ChangeListener, Deliver

#: How long a SQLite writer waits for another process's write to finish.
SQLITE_BUSY_TIMEOUT_S = 30.0


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for memory/other databases."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def _normalise(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _enable_wal(cur: sqlite3.Cursor, timeout_s: float) -> None:
    """Switch the file to WAL (a lasting property of the file; a no-op once it is WAL).

    On a file not yet in WAL, SQLite answers "database is locked" at once, without its
    busy handler, while another connection holds a write (RESERVED) lock: two programs
    opening one new database at the same moment. So wait here as a writer would (the
    same timeout), then give up with the usual "locked" message.
    """
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def _not_a_url(url: str) -> str:
    shown = re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)  # no password in messages
    return (
        f"{shown!r} is not a database URL HMS Desktop can use; use "
        "sqlite:///path/to/clinic.sqlite3 or postgresql://user@host:5432/dbname."
    )


#: SQLite's page cache per connection, in KiB as PRAGMA cache_size takes it (negative).
SQLITE_CACHE_KIB = -65536


def _install_sqlite_hooks(engine: Engine, busy_timeout_s: float, *, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (pysqlite's own is deferred only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not read_only:  # the journal mode is a property of the file: only a writer sets it
            _enable_wal(cur, busy_timeout_s)
        cur.execute("PRAGMA synchronous = NORMAL")
        # A clinic of a million visits is a file of some 600 MB; SQLite's default page
        # cache (2 MiB) re-reads the same pages from the OS for every month's report or
        # busy day. 64 MiB (filled only as pages are read) keeps them: a month's report
        # reads a third faster (tests/benchmarks/RESULTS.md).
        cur.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _read_only_connector(path: Path, timeout_s: float) -> Any:
    """Connections to a file this user may read but not write.

    A file closed cleanly has no ``-wal``: it is opened ``immutable``, which reads it
    exactly and creates no ``-wal``/``-shm`` files (files left by a user who cannot
    write the database would stop its owner from writing it). When a ``-wal`` is there
    (a writer has it open) it holds committed changes, so ``mode=ro`` reads through it;
    if SQLite cannot open it that way (no ``-shm`` and a read-only folder), the file
    alone is read, immutable.
    """
    base = f"{path.resolve().as_uri()}?mode=ro"
    immutable = base + "&immutable=1"

    def connect(uri: str) -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)

    wal = path.with_name(path.name + "-wal")
    uri = immutable
    with contextlib.suppress(OSError):
        if wal.stat().st_size > 0:
            try:
                probe = connect(base)
                try:
                    probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    probe.close()
                uri = base
            except sqlite3.Error:
                uri = immutable
    return lambda: connect(uri)


def _install_postgresql_hooks(engine: Engine, lock_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # A row another PC keeps locked (a stuck session) must end in a message, not a
        # frozen window: wait as long as SQLite would, then fail with "lock timeout".
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {int(lock_timeout_s * 1000)}")
        dbapi_conn.commit()  # SET inside a rolled-back transaction would be undone

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_conn):
            # The pool drops it and tries a new connection (three times, then the error).
            raise exc.DisconnectionError("the server closed this connection")


#: libpq's connection settings: give up connecting after 5 s (an unreachable server is
#: one clear line, not a frozen window), and probe an idle connection after 30 s, every
#: 10 s, 3 times, so a server gone without a word is known within a minute, not the
#: operating system's two hours.
PG_CONNECT_ARGS = {
    "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
    "keepalives_count": 3,
}  # fmt: skip


def _closed_by_server(dbapi_conn: Any) -> bool:
    """True when a pooled (idle) PostgreSQL connection can no longer be used.

    Instead of ``pool_pre_ping``, which sends a query at every checkout: a round trip
    added to every read and write of every PC (one in four of a read session's). A
    server that ends a connection (a restart, an administrator, an idle timeout) says so
    on it and closes it, so an idle connection's socket with something to read is one
    the server has closed: nothing else arrives unasked on a connection that does not
    LISTEN. A connection cut without a word (a cable pulled) is found by TCP keepalive
    (:data:`PG_CONNECT_ARGS`: within about a minute of idleness), which marks the socket
    readable too; a ping would hang on it.
    """
    if dbapi_conn.closed or dbapi_conn.broken:
        return True
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket any more
        return True
    return bool(readable)


class Database:
    """Owns the engine and hands out sessions, one per unit of work.

    Sessions are never shared across threads: each call of :meth:`read` or
    :meth:`write` opens its own.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        must_exist: bool = False,
        busy_timeout_s: float | None = None,
    ) -> None:
        """Prepare the engine (no connection is opened yet).

        Args:
            url: a SQLAlchemy URL; ``postgresql://`` is served by psycopg 3.
            echo: log every SQL statement.
            must_exist: for SQLite, refuse a file that does not exist instead of creating it.
                A new file is created 0600 (POSIX).
            busy_timeout_s: how long a writer waits for another's lock before giving up
                (default :data:`SQLITE_BUSY_TIMEOUT_S`; PostgreSQL's ``lock_timeout`` too).

        Raises:
            DatabaseUnavailableError: ``must_exist`` and the SQLite file is missing, or the
                file is on a network file system (NFS, SMB: use PostgreSQL there).
        """
        try:
            self.url = _normalise(url)
            self.is_sqlite = is_sqlite(self.url)
        except (exc.ArgumentError, ValueError) as err:
            raise DatabaseUnavailableError(_not_a_url(url)) from err
        path = sqlite_path(self.url)
        #: This user may read the SQLite file but not change it: reads work, writes say why.
        self.read_only = False
        busy = SQLITE_BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        #: How long a SQLite writer waits for another's write before "busy".
        self.busy_timeout_s = busy
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if path is not None:
            try:
                exists = path.exists()
                if must_exist and not exists:
                    raise DatabaseUnavailableError(
                        f"The database file {path} does not exist. Check the path, or run "
                        "'hms init'."
                    )
                file_safety.refuse_network_filesystem(path)
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as err:  # a folder this user may not open
                raise DatabaseUnavailableError(
                    f"The database folder {path.parent} cannot be used ({err.strerror or err}); "
                    "give this user access to it, or choose another database."
                ) from None
            file_safety.prepare_sqlite_file(path)  # 0600, in a folder created 0700
            self.read_only = exists and not os.access(path, os.W_OK)
            if self.read_only:
                kwargs["creator"] = _read_only_connector(path, busy)
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": busy, "check_same_thread": False}
        else:
            # No pool_pre_ping: see _closed_by_server.
            kwargs["connect_args"] = dict(PG_CONNECT_ARGS)
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError, ValueError) as err:
            raise DatabaseUnavailableError(_not_a_url(url)) from err
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine, busy, read_only=self.read_only)
            self._write_engine: Engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            _install_postgresql_hooks(self.engine, busy)
            self._write_engine = self.engine
        # PostgreSQL: each statement of a read session is a transaction of its own
        # (autocommit; see read()).
        read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._read_factory = sessionmaker(read_engine, expire_on_commit=False)
        # A read that streams (``yield_per``: a server-side cursor on PostgreSQL) needs a
        # transaction: there, a read-only one.
        self._stream_factory = (
            self._read_factory
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(postgresql_readonly=True), expire_on_commit=False
            )
        )
        self._write_factory = sessionmaker(self._write_engine, expire_on_commit=False)
        #: What each committed write changed; on PostgreSQL also sent to the other PCs.
        self.changes = ChangeRecorder(self._write_factory, notify=not self.is_sqlite)
        #: What hot paths prepare once per database (e.g. the quick booking's conversions).
        self.prepared: dict[str, Any] = {}
        #: The signed-in account every session checks is still enabled (None: no account,
        #: e.g. the command line). Hot paths that skip the sessions (the kept connection)
        #: check it in their own statements.
        self.checked_account: int | None = None
        #: Shared with the signed-in copies of this object (users.signed_in_clinic).
        self._kept = _KeptConnections()

    @property
    def display_location(self) -> str:
        """Where the data lives, without a password, for dialogs and logs."""
        path = sqlite_path(self.url)
        return str(path) if path else make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self, *, streaming: bool = False) -> Iterator[Session]:
        """A session for reading: on SQLite one transaction, rolled back at the end; on
        PostgreSQL each statement is a transaction of its own (autocommit), or, with
        ``streaming`` (rows read in batches, ``yield_per``: a server-side cursor), one
        read-only transaction, ended with COMMIT.

        Why autocommit there: psycopg sends BEGIN, and the end of the transaction, each
        as a round trip of its own, so a read of one query took three; and at READ
        COMMITTED, the clinic's level, each statement of a transaction reads its own
        snapshot anyway, so a read sees exactly what it saw. And no ROLLBACK: psycopg
        forgets every statement it has prepared on the connection at each one (the
        objects they name could have been dropped); with reads rolled back, no statement
        of the pool's connections stayed prepared, and PostgreSQL planned every query
        again, every time (0.56 ms of the 1.2 ms a patient's history took).
        """
        if streaming and not self.is_sqlite:
            with translate_errors(self), self._stream_factory() as session:
                try:
                    yield session
                except BaseException:
                    session.rollback()
                    raise
                session.commit()  # it cannot write; a COMMIT keeps the prepared statements
            return
        with translate_errors(self), self._read_factory() as session:
            try:
                yield session
            finally:
                session.rollback()  # PostgreSQL: nothing to end (autocommit), no ROLLBACK

    @contextlib.contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A connection for a write that is one statement, committed by itself
        (PostgreSQL autocommit: one round trip, where a transaction takes three).
        PostgreSQL only: on SQLite a write is a session's (:meth:`write`).

        Raises:
            DatabaseUnavailableError: as :func:`translate_errors`.
        """
        if self.is_sqlite:
            raise RuntimeError("one_statement is for PostgreSQL")
        with (
            translate_errors(self),
            self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        ):
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A session for one write transaction: committed on success, else rolled back.

        Raises:
            DatabaseUnavailableError: the database is read-only for this user (and the
                errors of :func:`translate_errors`).
        """
        if self.read_only:
            raise DatabaseUnavailableError(read_only_message(self))
        with translate_errors(self), self._write_factory() as session, session.begin():
            yield session

    @property
    def write_engine(self) -> Engine:
        """The engine for writing outside a session (SQLite: ``BEGIN IMMEDIATE``)."""
        return self._write_engine

    def listen(self, deliver: Deliver) -> ChangeListener | None:
        """Start hearing other processes' changes (PostgreSQL); None on SQLite (one PC).

        ``deliver`` runs on the listener's thread. Stop the listener before disposing.
        """
        if self.is_sqlite:
            return None
        from hms_desktop.db.listener import ChangeListener

        listener = ChangeListener(self.url, self.changes.origin, deliver)
        listener.start()
        return listener

    @contextlib.contextmanager
    def kept_connection(self) -> Iterator[Any]:
        """A driver connection for a hot path, kept out of the pool between calls: no
        pool checkout, no liveness round trip, no reset each time (the booking's quick
        write, a history on PostgreSQL).

        Kept connections are shared by every thread, one caller at a time: the window
        runs each operation on a new worker thread, and a connection kept per thread
        stayed out of the pool when its thread ended (after 15 bookings the pool was
        empty, and the next write waited 30 s for it). At most :data:`KEPT_IDLE` wait
        between calls; more at once are given back to the pool after use.

        PostgreSQL: in autocommit (each statement its own transaction; set once, not at
        every call). The caller leaves it as it found it (no transaction open, the same
        settings). One that the driver finds broken is given up, and the next call takes
        a new one from the pool.
        """
        kept = self._kept
        pooled: Any = None
        with kept.lock:
            generation = kept.generation
            if kept.idle:
                pooled = kept.idle.pop()  # the last one used: warmest, statements prepared
        if pooled is None:
            with translate_errors(self):
                pooled = self.engine.raw_connection()
                if not self.is_sqlite:
                    _autocommit(pooled.driver_connection, on=True)
            with kept.lock:
                kept.all.append(pooled)
        driver = pooled.driver_connection
        broken = False
        try:
            yield driver
        except BaseException:
            broken = bool(getattr(driver, "closed", False) or getattr(driver, "broken", False))
            raise
        finally:
            self._release_kept(pooled, generation, broken=broken)

    def _release_kept(self, pooled: Any, generation: int, *, broken: bool) -> None:
        kept = self._kept
        with kept.lock:
            current = generation == kept.generation and pooled in kept.all
            if current and not broken and len(kept.idle) < KEPT_IDLE:
                kept.idle.append(pooled)
                return
            if pooled in kept.all:
                kept.all.remove(pooled)
        with contextlib.suppress(Exception):
            if current and not broken:
                if not self.is_sqlite:  # the pool's users expect transactions
                    _autocommit(pooled.driver_connection, on=False)
                pooled.close()  # back to the pool
            else:
                pooled.invalidate()  # dead, or from before dispose(): never used again

    def dispose(self) -> None:
        kept = self._kept
        with kept.lock:
            stale, kept.all, kept.idle = kept.all, [], []
            kept.generation += 1
        for pooled in stale:
            with contextlib.suppress(Exception):
                pooled.invalidate()
        self.engine.dispose()


def _autocommit(driver: Any, *, on: bool) -> None:
    """Set a psycopg connection's autocommit, ending a transaction left open first (e.g.
    the pool's liveness check)."""
    if driver.info.transaction_status != 0:
        driver.rollback()
    driver.autocommit = on


#: How many kept connections wait between calls (:meth:`Database.kept_connection`).
KEPT_IDLE = 4


class _KeptConnections:
    """The kept connections of one database: in use or idle (``all``), idle (``idle``),
    and the generation ``dispose()`` raises so that none from before is used again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.all: list[Any] = []
        self.idle: list[Any] = []
        self.generation = 0


def inserted_id(result: CursorResult[Any]) -> int:
    """The id a single-row Core ``insert()`` gave its row: SQLite's last row id (a
    ``RETURNING`` costs SQLite more than the insert's own index updates), PostgreSQL's
    implicit ``RETURNING``."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise RuntimeError("the insert reported no id")
    return int(key[0])


@contextlib.contextmanager
def driver_errors(connection: Connection | Dialect) -> Iterator[None]:
    """Errors of statements run on the DBAPI cursor directly (the hot reads that skip
    SQLAlchemy's execution path) raised as SQLAlchemy raises them, so that
    :func:`translate_errors` still turns a lost server or a damaged file into a message.

    ``connection``: the SQLAlchemy connection, or the dialect of a driver connection
    used without one (:meth:`Database.kept_connection`)."""
    dialect = connection if isinstance(connection, Dialect) else connection.dialect
    base = dialect.loaded_dbapi.Error
    try:
        yield
    except base as err:
        raise exc.DBAPIError.instance(None, None, err, base, dialect=dialect) from err


def read_only_message(db: Database) -> str:
    return (
        f"The clinic database ({db.display_location}) is read-only for this user: lists, "
        "exports and checks work, but nothing can be changed. Nothing was saved; ask for "
        "write access to the file and its folder."
    )


#: PostgreSQL's "deadlock detected" and "could not serialize access": two PCs' changes
#: crossed, the server rolled one back, and the same change tried again succeeds.
_CROSSED_SQLSTATES = frozenset({"40P01", "40001"})


def _crossed(err: exc.DBAPIError) -> bool:
    return getattr(err.orig, "sqlstate", None) in _CROSSED_SQLSTATES


def _is_lock_or_connect_error(err: exc.DBAPIError) -> bool:
    text = str(err.orig).lower()
    if _is_not_a_database(err) or _crossed(err):
        return True
    if isinstance(err, exc.OperationalError) and err.connection_invalidated:
        return True
    return isinstance(err, exc.OperationalError) and (
        "locked" in text
        or "lock timeout" in text
        or "unable to open" in text
        or "connection" in text
        or "could not connect" in text
        or "failed to resolve host" in text
        or "could not translate host name" in text
        or "does not exist" in text  # psycopg: database "x" does not exist (at connect)
        or "disk i/o" in text
        or "readonly" in text
    )


def _is_not_a_database(err: exc.DBAPIError) -> bool:
    text = str(err.orig).lower()
    return "file is not a database" in text or "database disk image is malformed" in text


@contextlib.contextmanager
def translate_errors(db: Database) -> Iterator[None]:
    """Turn "locked", "cannot open" and "unreachable" into a message a person can act on."""
    try:
        yield
    except exc.DBAPIError as err:
        if not _is_lock_or_connect_error(err):
            raise
        text = str(err.orig).lower()
        if _is_not_a_database(err):
            msg = (
                f"{db.display_location} is not an HMS Desktop database, or it is damaged. "
                "Check the path; 'hms check' tells more, and 'hms restore' brings back a backup."
            )
        elif _crossed(err):
            raise WritesCrossedError(
                f"The clinic database ({db.display_location}) is busy: another PC changed "
                "the same records at the same moment. Nothing was saved; try again."
            ) from err
        elif "locked" in text or "lock timeout" in text:
            msg = (
                f"The clinic database ({db.display_location}) is busy: another program holds "
                "it locked. Nothing was saved; try again in a moment."
            )
        elif "readonly" in text:
            msg = read_only_message(db)
        else:
            msg = (
                f"The clinic database ({db.display_location}) cannot be reached: "
                f"{str(err.orig).strip().splitlines()[0]}. Check the file or the server."
            )
        raise DatabaseUnavailableError(msg) from err
