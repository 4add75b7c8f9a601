"""appointment ids are never given twice on SQLite (AUTOINCREMENT)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A booking taken back at once (Undo, nothing else happened to it) is deleted. On
SQLite a table without AUTOINCREMENT gives the next row the largest id plus one, so
the next booking got the deleted visit's id: the audit log's entries for
"appointment 512" then told of two different visits, and a patient's or doctor's
copy of a confirmation named an id that now meant someone else's visit. With
AUTOINCREMENT SQLite remembers the largest id ever given (``sqlite_sequence``).
PostgreSQL's sequences never give an id twice: nothing changes there.

SQLite cannot add AUTOINCREMENT to a table, so the table is rebuilt (SQLite's
"other kinds of table schema changes" procedure, foreign keys off, as
``hms_desktop.db.migrate`` runs every migration, and checked before the commit): a
new table from the old one's own definition with the key changed, the rows copied
with their ids, the old table dropped, the new one renamed, and the old one's indexes
and triggers (the overlap guards of 0006/0013, the day counts of 0014) created again
from their stored definitions. The copy fires no trigger (the new table has none yet)
and the drop fires none either, so the day counts stay as they are.

The planner's statistics for the table (``sqlite_stat1``, present where someone ran
ANALYZE) are kept too: the drop deletes them, and with the other tables' statistics
but none for this one SQLite listed the 1,000,000-visit appointments list department
by department and sorted it (3.4 s instead of 3 ms).
"""

import re
from collections.abc import Callable, Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The key as the models created it (0001), and as this revision makes it.
_KEY_COLUMN = re.compile(r"\bid INTEGER NOT NULL\s*,")
_KEY_CONSTRAINT = re.compile(r"CONSTRAINT pk_appointments PRIMARY KEY \(id\)\s*,\s*")
_NAME = re.compile(r'^CREATE TABLE\s+"?appointments"?')
_AUTOINCREMENT_COLUMN = "id INTEGER NOT NULL CONSTRAINT pk_appointments PRIMARY KEY AUTOINCREMENT,"


def _rebuild(change_key: Callable[[str], str]) -> None:
    conn = op.get_bind()
    if conn.execute(text("PRAGMA foreign_keys")).scalar():
        # Dropping the old table would delete (and cascade to) the rows referring to it.
        raise RuntimeError("Migrate through hms_desktop.db.migrate: foreign keys must be off.")
    table_sql = conn.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'appointments'")
    ).scalar_one()
    attached = (
        conn.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'appointments' "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
            )
        )
        .scalars()
        .all()
    )
    # (A renamed table's stored definition names it in quotes.)
    new_sql = _NAME.sub("CREATE TABLE appointments_0015", change_key(table_sql), count=1)
    conn.execute(text(new_sql))
    # The same columns in the same order: the new table is the old one's definition.
    conn.execute(text("INSERT INTO appointments_0015 SELECT * FROM appointments"))
    if "AUTOINCREMENT" in new_sql.upper():
        # Ids given before this upgrade and deleted since are not given again either: the
        # audit log names every visit ever booked (its entries are never deleted).
        # (sqlite_sequence has no key: the copy made the table's row, if it had rows.)
        conn.execute(
            text(
                "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(entity_id) "
                "FROM audit_log WHERE entity = 'appointment'), 0)) "
                "WHERE name = 'appointments_0015'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'appointments_0015', "
                "coalesce((SELECT max(entity_id) FROM audit_log WHERE entity = 'appointment'), 0) "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'appointments_0015')"
            )
        )
    has_statistics = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    statistics = (
        conn.execute(text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'appointments'")).all()
        if has_statistics
        else []
    )
    conn.execute(text("DROP TABLE appointments"))
    # Legacy: the rename checks no other table's triggers for "appointments" meanwhile.
    conn.execute(text("PRAGMA legacy_alter_table = ON"))
    try:
        conn.execute(text("ALTER TABLE appointments_0015 RENAME TO appointments"))
    finally:
        conn.execute(text("PRAGMA legacy_alter_table = OFF"))
    for sql in attached:  # the indexes, then the triggers ("index" < "trigger")
        conn.execute(text(sql))
    for idx, stat in statistics:  # the indexes kept their names
        conn.execute(
            text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('appointments', :idx, :stat)"),
            {"idx": idx, "stat": stat},
        )


def _with_autoincrement(table_sql: str) -> str:
    if "AUTOINCREMENT" in table_sql.upper():
        return table_sql
    if not (_KEY_COLUMN.search(table_sql) and _KEY_CONSTRAINT.search(table_sql)):
        raise RuntimeError(
            "The appointments table's definition is not the one HMS Desktop created; "
            "restore a backup or ask for help before upgrading."
        )
    changed = _KEY_CONSTRAINT.sub("", table_sql, count=1)
    return _KEY_COLUMN.sub(_AUTOINCREMENT_COLUMN, changed, count=1)


def _without_autoincrement(table_sql: str) -> str:
    if _AUTOINCREMENT_COLUMN not in table_sql:
        return table_sql
    without = table_sql.replace(_AUTOINCREMENT_COLUMN, "id INTEGER NOT NULL,", 1)
    # The table key back as the last column's neighbour, where 0001 put it.
    return re.sub(
        r"(,\s*)(CONSTRAINT ck_appointments_status)",
        r"\1CONSTRAINT pk_appointments PRIMARY KEY (id), \n\t\2",
        without,
        count=1,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_with_autoincrement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(_without_autoincrement)
