"""Restoring the clinic database from a backup, without ever losing the file it replaces.

The order matters, so a crash at any step leaves a working database:

1. The backup is copied to a temporary file beside the live database and checked
   there (``PRAGMA integrity_check``, the schema version: a newer one is refused,
   an empty or foreign file too; and its audit log's hash chain: a backup whose log
   was edited is refused). The backup itself is never modified.
2. The live database must be free: no other HMS Desktop holds its lock file
   (:mod:`hms_desktop.services.safety.instance_lock`) and no other connection has it open
   (switching a WAL database to rollback mode fails while anyone else is
   connected, even idly). Then an exclusive lock is held while the live file is
   copied aside as ``clinic.sqlite3.replaced-<timestamp>``.
3. The checked copy is renamed over the live file (atomic), and an older schema
   is upgraded.
4. The restore is written to both audit logs: the replaced database's (kept aside)
   and the restored one's.

PostgreSQL databases are restored by their administrator with ``pg_restore``;
:func:`restore_database` says the exact command.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import DBAPIError

from hms_desktop.db.engine import Database, is_sqlite, sqlite_path
from hms_desktop.db.migrate import check_schema, upgrade
from hms_desktop.errors import DatabaseUnavailableError, HmsError, ValidationError
from hms_desktop.services.actor import SYSTEM, Actor, require_admin
from hms_desktop.services.clinic import TOPICS, Clinic
from hms_desktop.services.safety import audit, audit_chain
from hms_desktop.services.safety.backup import fsync_dir, integrity_problems, temp_beside
from hms_desktop.services.safety.instance_lock import (
    InstanceLock,
    held_by_this_process,
    holder_elsewhere,
)

log = logging.getLogger(__name__)

#: How long to wait for another connection's transaction before refusing.
_BUSY_WAIT_S = 1.0


@dataclass(frozen=True)
class RestoreResult:
    database: Path
    #: Where the replaced database was kept (None when there was none).
    replaced: Path | None
    schema_before: str
    schema_after: str

    @property
    def upgraded(self) -> bool:
        return self.schema_before != self.schema_after


def pg_restore_command(url: str, source: Path) -> str:
    plain = make_url(url).set(drivername="postgresql", password=None)
    return (
        f"pg_restore --clean --if-exists --no-owner "
        f"--dbname={plain.render_as_string(hide_password=False)} {source}"
    )


def _not_a_backup(source: Path, why: str) -> ValidationError:
    return ValidationError(f"{source} is not a usable HMS Desktop backup: {why}.", field="file")


def _copy_checked(source: Path, tmp: Path) -> str:
    """Copy ``source`` (and its ``-wal``, if any) into ``tmp``, check it; return its schema.

    Only the copy is opened, so the backup file itself is never changed.
    """
    try:
        shutil.copyfile(source, tmp)
        if Path(f"{source}-wal").exists():
            shutil.copyfile(f"{source}-wal", f"{tmp}-wal")
    except OSError as err:
        raise _not_a_backup(source, err.strerror or str(err)) from None
    try:
        with closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
            problems = integrity_problems(conn)
            if problems:
                raise _not_a_backup(source, f"it is damaged ({problems[0]})")
            conn.execute("PRAGMA journal_mode=DELETE").fetchall()
    except sqlite3.DatabaseError as err:
        raise _not_a_backup(source, str(err)) from None
    db = Database(f"sqlite:///{tmp}")
    try:
        state = check_schema(db)  # raises for a newer version
    except DatabaseUnavailableError as err:
        # Name the backup the person chose, not the hidden copy being checked.
        raise DatabaseUnavailableError(str(err).replace(str(tmp), str(source))) from None
    finally:
        db.dispose()
    if state.current is None:
        raise _not_a_backup(source, "it holds no clinic data")
    _check_audit_chain(source, tmp)
    return state.current


def _check_audit_chain(source: Path, tmp: Path) -> None:
    """Refuse a backup whose audit log was edited (a crafted file replacing the log).

    A backup from before the chain existed (schema 0005 and older) has nothing to
    verify; the upgrade after the restore chains its entries as they are.
    """
    db = Database(f"sqlite:///{tmp}")
    try:
        columns = {c["name"] for c in inspect(db.engine).get_columns("audit_log")}
        if "row_hash" not in columns:
            return
        chain = audit_chain.verify(db)
    finally:
        db.dispose()
    if not chain.ok:
        raise _not_a_backup(source, f"its audit log was tampered with ({chain.message})")


def _aside_name(live: Path, now: datetime) -> Path:
    base = live.with_name(f"{live.name}.replaced-{now:%Y%m%d-%H%M%S}")
    candidate, n = base, 1
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def _move_live_aside(live: Path, aside: Path) -> None:
    """Copy the live file aside under an exclusive lock, refusing if anyone has it open."""
    conn = sqlite3.connect(live, timeout=_BUSY_WAIT_S, isolation_level=None)
    try:
        try:
            # Leaving WAL mode needs every other connection closed: the test for
            # "no other process has the database open", idle ones included.
            conn.execute("PRAGMA journal_mode=DELETE").fetchall()
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as err:
            if "locked" in str(err).lower() or "busy" in str(err).lower():
                raise DatabaseUnavailableError(
                    f"Another program has the clinic database {live} open. Close HMS Desktop "
                    "and every other program using it on this computer, then restore again."
                ) from None
            raise
        except sqlite3.DatabaseError:
            # The live file is damaged (often why one restores): nothing can hold a
            # working connection to it, so keep it and its journal files aside as they are.
            conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                if Path(f"{live}{suffix}").exists():
                    shutil.copy2(f"{live}{suffix}", f"{aside}{suffix}")
            return
        shutil.copy2(live, aside)
        with open(aside, "rb+") as fh:
            os.fsync(fh.fileno())
    finally:
        conn.close()


def _record_in(url: str, actor: Actor, action: str, **details: Any) -> None:
    """Append one entry to the audit log of the database at ``url``, if it has a current one."""
    db = Database(url)
    try:
        if not check_schema(db).is_current:
            log.warning("restore: %s is not at the current schema; not audited there", url)
            return
        with db.write() as session:
            audit.record(session, actor, action, "database", **details)
    except (HmsError, DBAPIError, sqlite3.DatabaseError) as err:
        # A damaged replaced file (often why one restores) cannot take an entry.
        log.warning("restore: could not write %s to %s: %s", action, url, err)
    finally:
        db.dispose()


def restore_database(
    database_url: str,
    source: Path | str,
    *,
    now: datetime | None = None,
    actor: Actor = SYSTEM,
) -> RestoreResult:
    """Replace the clinic database with the backup ``source``; keep the old file aside.

    The restore is recorded (``actor``) in the restored database's audit log and in
    the replaced one's, which stays aside as ``<database>.replaced-<timestamp>``.

    Raises:
        ValidationError: ``source`` is missing, damaged, empty or not a clinic database.
        DatabaseUnavailableError: another process has the live database open, or the
            backup was written by a newer HMS Desktop.
        HmsError: a PostgreSQL database (the message gives the ``pg_restore`` command).
    """
    source = Path(source).expanduser().absolute()
    if not is_sqlite(database_url):
        raise HmsError(
            "A PostgreSQL clinic database is restored by its administrator with pg_restore, "
            f"with every HMS Desktop closed: {pg_restore_command(database_url, source)}"
        )
    live = sqlite_path(database_url)
    if live is None:
        raise ValidationError("An in-memory database cannot be restored.")
    live = live.expanduser().absolute()
    if not source.is_file():
        raise ValidationError(f"The backup file {source} does not exist.", field="file")
    if live.exists() and source.samefile(live):
        raise ValidationError("That file is the clinic database itself; choose a backup.")
    holder = holder_elsewhere(live)
    if holder:
        raise DatabaseUnavailableError(
            f"HMS Desktop is running on the clinic database {live} ({holder}). Close it, "
            "then restore again."
        )
    moment = now or datetime.now().astimezone()
    lock = InstanceLock(live)
    own_lock = not held_by_this_process(live)
    if own_lock:
        lock.acquire()  # nobody may start HMS Desktop on the file while it is swapped
    try:
        with temp_beside(live, suffix=".restore") as tmp:
            before = _copy_checked(source, tmp)
            aside: Path | None = None
            if live.exists():
                aside = _aside_name(live, moment)
                _move_live_aside(live, aside)
            for suffix in ("-wal", "-shm", "-journal"):
                # Journal files of the replaced file must never be applied to the new one.
                Path(f"{live}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, live)
            fsync_dir(live.parent)
        db = Database(database_url)
        try:
            after = upgrade(db).current or before
        finally:
            db.dispose()
        kept = str(aside or "")
        _record_in(database_url, actor, "database.restore", source=source.name, replaced=kept)
        if aside is not None:
            _record_in(
                f"sqlite:///{aside}",
                actor,
                "database.replaced",
                source=source.name,
                restored_into=str(live),
            )
    finally:
        if own_lock:
            lock.release()
    return RestoreResult(database=live, replaced=aside, schema_before=before, schema_after=after)


def restore_clinic(
    clinic: Clinic, actor: Actor, source: Path | str, *, now: datetime | None = None
) -> RestoreResult:
    """Restore from inside the running application: an administrator only.

    The application's own connections are closed first (its lock file does not
    count against it); other programs still make the restore refuse. Every
    listener is told that all data changed; both audit logs record the restore.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        The errors of :func:`restore_database`.
    """
    require_admin(actor, "restore the clinic database")
    clinic.db.dispose()
    result = restore_database(clinic.db.url, source, now=now, actor=actor)
    for topic in TOPICS:
        clinic.changes.notify(topic)
    return result
