"""Create and upgrade the schema with Alembic, programmatically.

``upgrade`` is safe to repeat. ``check_schema`` tells an old, current or newer
database apart so the application can refuse a database written by a newer
version instead of corrupting it.

Alembic (with Mako) costs a quarter of a second to import, and every start of the
application opens a database that is almost always current. So the version is read
with one plain query and compared with :data:`HEAD_REVISION`; Alembic is imported
only to upgrade, or to tell an older schema from a newer one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from hms_desktop.db.engine import Database, translate_errors
from hms_desktop.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration's revision. A new migration must update it: a test compares it
#: with Alembic's own head, so a stale value fails the suite rather than skipping it.
HEAD_REVISION = "0018"
#: Alembic's version table (its default name; env.py does not change it).
VERSION_TABLE = "alembic_version"
#: PostgreSQL advisory lock held while migrating (any constant; "HMSMIGR" in ASCII).
_MIGRATION_LOCK_KEY = 0x484D534D494752


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    """The newest revision according to Alembic's scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this version can migrate to (imports Alembic)."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def is_empty(self) -> bool:
        return self.current is None

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def _read_revision(conn: Connection) -> str | None:
    # What Alembic's MigrationContext.get_current_revision reads, without importing it.
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # branches: this project's history is linear, so never ours
        raise DatabaseUnavailableError(
            f"The database's schema version is ambiguous ({', '.join(sorted(rows))})."
        )
    return rows[0] if rows else None


def current_revision(db: Database) -> str | None:
    """The schema revision stamped in the database; None for an empty database.

    Raises:
        DatabaseUnavailableError: locked or unreachable.
    """
    with translate_errors(db), db.engine.connect() as conn:
        return _read_revision(conn)


def check_schema(db: Database) -> SchemaState:
    """Read the schema version.

    Raises:
        DatabaseUnavailableError: the database was written by a newer HMS Desktop, or is
            locked or unreachable.
    """
    current = current_revision(db)
    # The usual case (current or empty) needs no Alembic; anything else may be newer.
    if current not in (None, HEAD_REVISION) and current not in known_revisions():
        raise DatabaseUnavailableError(
            f"The database {db.display_location} was created by a newer version of HMS Desktop "
            f"(schema {current}). Install the newer version to open it."
        )
    return SchemaState(current=current, head=HEAD_REVISION)


def upgrade(db: Database, revision: str = "head") -> SchemaState:
    """Bring the schema to ``revision`` (default: the newest); a no-op when it is there.

    Safe when several programs open a new database at once (two PCs starting, or
    ``hms init`` while the window opens): the upgrade runs under a lock, and whoever
    comes second finds the work done. A database already at the newest revision is
    left alone without importing Alembic.

    Raises:
        DatabaseUnavailableError: unreachable, locked for too long, or written by a
            newer version.
    """
    state = check_schema(db)
    if state.is_current and revision in ("head", HEAD_REVISION):
        return state
    from alembic import command

    with _migrating(db) as cfg:
        command.upgrade(cfg, revision)
    return check_schema(db)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema back to ``revision`` (tests, and a support engineer's last resort)."""
    from alembic import command

    with _migrating(db) as cfg:
        command.downgrade(cfg, revision)


@contextlib.contextmanager
def _migrating(db: Database) -> Iterator[Config]:
    """Alembic's configuration with one write transaction to migrate in.

    SQLite: BEGIN IMMEDIATE takes the write lock before alembic reads the version, so
    the second program waits instead of failing to upgrade a stale read. Foreign keys
    are off while migrating (SQLite's own advice for changing a table's definition:
    dropping the old copy of a table would otherwise delete, or cascade to, the rows
    that refer to it, and renaming would point those references elsewhere) and are
    checked before the commit instead: a violation rolls the whole migration back.
    They can only be switched outside a transaction, hence before BEGIN.
    PostgreSQL: an advisory lock does what BEGIN IMMEDIATE does.
    """
    cfg = alembic_config()
    with translate_errors(db), db.write_engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                cfg.attributes["connection"] = conn
                yield cfg
                if sqlite:
                    broken = conn.execute(text("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise DatabaseUnavailableError(
                            "The upgrade was undone: it would have left "
                            f"{len(broken)} rows referring to rows that do not exist "
                            f"(first: table {broken[0][0]}, row {broken[0][1]})."
                        )
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
