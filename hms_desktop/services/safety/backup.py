"""Backups of the clinic database, on demand and on a daily schedule.

SQLite: SQLite's online backup API copies a consistent snapshot while the
application (or any other process) keeps reading and writing. The copy is written
to a temporary file in the target folder, checked with ``PRAGMA integrity_check``
and only then renamed to the target name, so a crash or a full disk never leaves a
half-written file under the backup's name.

PostgreSQL: the server's own ``pg_dump`` makes the consistent copy. When
``pg_dump`` is on the PATH it is run (custom format, ``--file`` a temporary name,
renamed when it succeeds); when it is not, :class:`BackupToolMissingError` says the
exact command to run by hand. Restoring a PostgreSQL dump is always done with
``pg_restore`` by the database administrator (see :mod:`hms_desktop.services.safety.restore`).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import make_url

from hms_desktop.db.engine import Database, sqlite_path
from hms_desktop.errors import DatabaseUnavailableError, HmsError, ValidationError
from hms_desktop.services.actor import Actor, require_admin
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.files.atomic_file import partial_file, regular_target
from hms_desktop.services.safety import audit

#: Scheduled backups are named ``clinic-YYYYMMDD-HHMMSS.<suffix>``; pruning only touches these.
SCHEDULED_PREFIX = "clinic-"
_SCHEDULED = re.compile(r"^clinic-\d{8}-\d{6}\.(sqlite3|dump)$")


class BackupToolMissingError(HmsError):
    """A PostgreSQL backup needs ``pg_dump``, which is not installed here."""


def pg_dump_command(url: str, target: Path) -> list[str]:
    """The ``pg_dump`` command line for a PostgreSQL URL (the password comes from PGPASSWORD)."""
    parsed = make_url(url)
    plain = parsed.set(drivername="postgresql", password=None)
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}"]
    # A clinic kept in its own schema (options=-csearch_path=...) is dumped alone.
    match = re.search(r"search_path=([A-Za-z0-9_]+)", str(parsed.query.get("options", "")))
    if match:
        command.append(f"--schema={match.group(1)}")
    return [*command, f"--dbname={plain.render_as_string(hide_password=False)}"]


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def temp_beside(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file name in ``target``'s folder, removed unless it was renamed away.

    Named and registered as a partial file (:func:`partial_file`), so a backup or restore
    killed half-way leaves nothing after the next start, backup or export.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with partial_file(target, suffix) as tmp:
        yield tmp


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """``PRAGMA integrity_check`` as a list of problems (empty when the file is sound)."""
    rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def copy_sqlite(source: sqlite3.Connection, target: Path) -> None:
    """Copy an open SQLite database to ``target`` atomically (temp file, check, rename).

    The copy is taken in one step, so it is one consistent snapshot: in WAL mode
    writers carry on meanwhile, and the copy holds every transaction committed
    before it started. The result is a single self-contained file (no ``-wal``).

    Raises:
        DatabaseUnavailableError: the copy fails its integrity check, or cannot be written.
    """
    try:
        with temp_beside(target) as tmp:
            with closing(sqlite3.connect(tmp, isolation_level=None)) as dest:
                # pages=-1: one step, one read transaction, hence one snapshot.
                source.backup(dest, pages=-1)
                dest.execute("PRAGMA journal_mode=DELETE")
                problems = integrity_problems(dest)
                if problems:
                    raise DatabaseUnavailableError(
                        f"The backup copy failed its integrity check ({problems[0]}); "
                        "the database may be damaged. Run 'hms check'."
                    )
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            fsync_dir(target.parent)
    except OSError as err:
        raise DatabaseUnavailableError(
            f"The backup could not be written to {target}: {err.strerror or err}. "
            "Choose a folder you can write to with enough free space."
        ) from None
    except sqlite3.Error as err:
        if "full" not in str(err).lower():
            raise
        raise DatabaseUnavailableError(
            f"The backup could not be written to {target}: the disk is full. "
            "Free some space there, or choose another folder."
        ) from None


def _backup_postgres(url: str, target: Path) -> None:
    if shutil.which("pg_dump") is None:
        shown = " ".join(pg_dump_command(url, target))
        raise BackupToolMissingError(
            "Backing up a PostgreSQL clinic database needs PostgreSQL's pg_dump, which is not "
            f"installed on this computer. Install the PostgreSQL client tools, or run: {shown}"
        )
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    with temp_beside(target, suffix=".dump.tmp") as tmp:
        done = subprocess.run(
            pg_dump_command(url, tmp), env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            first = (done.stderr or "").strip().splitlines()[:1]
            raise DatabaseUnavailableError(
                f"pg_dump failed: {first[0] if first else f'exit status {done.returncode}'}. "
                "Check that the server is reachable and the user may read every table."
            )
        os.replace(tmp, target)
        fsync_dir(target.parent)


def backup_database(db: Database, target: Path | str) -> Path:
    """Write a consistent copy of the clinic database to ``target``; return its path.

    Safe while the application and other processes use the database. An existing
    file at ``target`` is replaced only once the new copy is complete and checked.

    Raises:
        ValidationError: ``target`` is the live database itself, or not a regular file
            (a folder, a device...; a symlink is written through).
        DatabaseUnavailableError: the database cannot be read, or the copy not written.
        BackupToolMissingError: PostgreSQL without ``pg_dump`` (the message has the command).
    """
    # A device, folder or pipe is refused; a symlink is written through, never replaced.
    target = regular_target(target)
    live = sqlite_path(db.url)
    if not db.is_sqlite:
        _backup_postgres(db.url, target)
        return target
    if live is None:
        raise ValidationError("An in-memory database cannot be backed up.")
    if target.exists() and live.exists() and target.samefile(live):
        raise ValidationError("The backup must not overwrite the clinic database itself.")
    if not live.exists():
        raise DatabaseUnavailableError(f"The database file {live} does not exist.")
    try:
        # Read-write open (only reads happen): read-only opens of a WAL file fail when
        # its -shm file is missing.
        source = sqlite3.connect(live, timeout=30.0, isolation_level=None)
    except sqlite3.Error as err:
        raise DatabaseUnavailableError(f"The database {live} cannot be opened: {err}.") from None
    with closing(source):
        try:
            copy_sqlite(source, target)
        except sqlite3.Error as err:
            raise DatabaseUnavailableError(
                f"The database {live} could not be copied: {err}. Run 'hms check'."
            ) from None
    return target


def scheduled_name(now: datetime, *, postgres: bool = False) -> str:
    return f"{SCHEDULED_PREFIX}{now:%Y%m%d-%H%M%S}.{'dump' if postgres else 'sqlite3'}"


def list_backups(folder: Path) -> list[Path]:
    """The scheduled backups in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    # The time stamp in the name sorts chronologically; file times may lie after a copy.
    return sorted(p for p in folder.iterdir() if p.is_file() and _SCHEDULED.match(p.name))


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups in ``folder``; return the deleted.

    Only files named like scheduled backups are touched; a copy a person saved under
    another name is never deleted. ``keep`` 0 (scheduled backups switched off) deletes
    nothing; otherwise at least one backup is always kept.
    """
    if keep <= 0:
        return []
    doomed = list_backups(folder)[:-keep]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def run_scheduled_backup(clinic: Clinic, *, now: datetime | None = None) -> Path:
    """The daily backup: a copy in ``settings.backup_dir`` named by time, keeping the newest N.

    N is ``settings.backup_retention`` (at least 1). The scheduler calls this once
    a day; calling it again is harmless (another copy, then pruning).

    Raises:
        DatabaseUnavailableError, BackupToolMissingError: as :func:`backup_database`;
            older backups are then left untouched.
    """
    moment = now or clinic.now()
    folder = clinic.settings.effective_backup_dir
    target = folder / scheduled_name(moment, postgres=not clinic.db.is_sqlite)
    backup_database(clinic.db, target)
    prune_backups(folder, clinic.settings.backup_retention)
    return target


def backup_clinic(clinic: Clinic, actor: Actor, target: Path | str) -> Path:
    """An administrator backs up the clinic from the application (the menu action).

    The backup holds every medical record, so only an administrator may make one;
    it is written to the audit log.

    Raises:
        PermissionDeniedError: the actor is not an administrator.
        The errors of :func:`backup_database`.
    """
    require_admin(actor, "back up the clinic database")
    path = backup_database(clinic.db, target)
    audit.record_now(clinic, actor, "database.backup", "database", file=str(path))
    return path


def default_backup_name(clinic: Clinic) -> Path:
    """Where a backup made by hand goes unless the user picks another place."""
    moment = clinic.now()
    suffix = "sqlite3" if clinic.db.is_sqlite else "dump"
    return clinic.settings.effective_backup_dir / f"manual-{moment:%Y%m%d-%H%M%S}.{suffix}"
