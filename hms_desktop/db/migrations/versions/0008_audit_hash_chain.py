"""audit_log: a hash chain (seq, prev_hash, row_hash); existing entries chained in order

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000

# The append-only triggers of 0001 refuse the one UPDATE this migration must make.
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
)


def _entry_hash(prev_hash: str, seq: int, row: sa.Row[tuple[object, ...]]) -> str:
    # A copy of hms_desktop.services.safety.audit_chain.entry_hash as it was at 0008
    # (a migration must not change when the application does; a test compares them).
    at = row.at
    assert isinstance(at, datetime)
    naive = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    fields = [
        prev_hash,
        seq,
        naive.isoformat(timespec="microseconds"),
        row.actor_user_id,
        row.actor,
        row.action,
        row.entity,
        row.entity_id,
        row.patient_id,
        row.details,
    ]
    blob = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _set_triggers(on: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        if on:
            for statement in _SQLITE_TRIGGERS:
                op.execute(statement)
        else:
            op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        state = "ENABLE" if on else "DISABLE"
        op.execute(f"ALTER TABLE audit_log {state} TRIGGER audit_log_append_only")


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(64), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("row_hash", sa.String(64), server_default="", nullable=False))
    conn = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime),
        sa.column("actor_user_id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.Integer),
        sa.column("patient_id", sa.Integer),
        sa.column("details", sa.Text),
        sa.column("seq", sa.Integer),
        sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    update = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("entry_id"))
        .values(
            seq=sa.bindparam("new_seq"),
            prev_hash=sa.bindparam("new_prev"),
            row_hash=sa.bindparam("new_hash"),
        )
    )
    _set_triggers(False)
    # Every existing entry, oldest first, is chained in the order it was written.
    prev_hash, seq, after_id = "", 0, None
    while True:
        stmt = sa.select(log).order_by(log.c.id).limit(_BATCH)
        if after_id is not None:
            stmt = stmt.where(log.c.id > after_id)
        rows = conn.execute(stmt).all()
        if not rows:
            break
        params = []
        for row in rows:
            seq += 1
            row_hash = _entry_hash(prev_hash, seq, row)
            params.append(
                {"entry_id": row.id, "new_seq": seq, "new_prev": prev_hash, "new_hash": row_hash}
            )
            prev_hash = row_hash
        conn.execute(update, params)
        after_id = rows[-1].id
    _set_triggers(True)
    with op.batch_alter_table("audit_log", schema=None, recreate="never") as batch_op:
        batch_op.create_index("ix_audit_log_seq", ["seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_audit_log_seq")
    _set_triggers(False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    _set_triggers(True)
