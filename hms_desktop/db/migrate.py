"""Create and upgrade the schema with Alembic, programmatically.

``upgrade`` is safe to repeat. ``check_schema`` tells an old, current or newer
database apart so the application can refuse a database written by a newer
version instead of corrupting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hms_desktop.db.engine import Database, translate_errors
from hms_desktop.errors import DatabaseUnavailableError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: PostgreSQL advisory lock held while migrating (any constant; "HMSMIGR" in ASCII).
_MIGRATION_LOCK_KEY = 0x484D534D494752


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


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


def current_revision(db: Database) -> str | None:
    with translate_errors(db), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(db: Database) -> SchemaState:
    """Read the schema version.

    Raises:
        DatabaseUnavailableError: the database was written by a newer HMS Desktop.
    """
    current = current_revision(db)
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseUnavailableError(
            f"The database {db.display_location} was created by a newer version of HMS Desktop "
            f"(schema {current}). Install the newer version to open it."
        )
    return SchemaState(current=current, head=head_revision())


def upgrade(db: Database, revision: str = "head") -> SchemaState:
    """Bring the schema to ``revision`` (default: the newest); a no-op when it is there.

    Safe when several programs open a new database at once (two PCs starting, or
    ``hms init`` while the window opens): the upgrade runs under a lock, and whoever
    comes second finds the work done.

    Raises:
        DatabaseUnavailableError: unreachable, locked for too long, or written by a
            newer version.
    """
    check_schema(db)
    cfg = alembic_config()
    # SQLite: BEGIN IMMEDIATE takes the write lock before alembic reads the version,
    # so the second program waits instead of failing to upgrade a stale read.
    with translate_errors(db), db.write_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return check_schema(db)
