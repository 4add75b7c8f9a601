"""doctors: a schedule version kept by triggers; PostgreSQL: the audit chain's append
in the server

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A booking checks the doctor's hours on the day. Most bookings now read those hours
before their write transaction and check them there, outside every lock, and the
write only has to prove that nothing it checked has changed since. The doctor's
``schedule_version`` is that proof: the database raises it with every insert, update
and delete of the doctor's weekly hours or dated hours (triggers, so no code path can
forget), and the booking's INSERT carries ``WHERE schedule_version = <the one read>``
on the doctor's row (held shared on PostgreSQL). A change of hours committed in
between makes the INSERT write nothing, and the booking is made the long way, reading
everything again inside its transaction.

PostgreSQL: ``hms_audit_append`` appends one entry to the audit log's hash chain in
one statement (the chain's lock, its head, the hash, the insert), the same entry
:mod:`hms_desktop.services.safety.audit_chain` writes in three round trips while every
other writer waits for the chain. The hash is the one ``audit_chain.entry_hash``
computes (the JSON text of the fields, no spaces, SHA-256 in hex), so ``hms audit
verify`` checks entries of either writer alike; a test compares the two on awkward
text (quotes, backslashes, control characters, non-Latin letters).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows are a doctor's hours.
_HOURS_TABLES = ("weekly_hours", "availability")

_BUMP = "UPDATE doctors SET schedule_version = schedule_version + 1 WHERE id = {who}.doctor_id"

_PG_SCHEDULE_FUNCTION = (
    "CREATE FUNCTION doctor_schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    f"    IF TG_OP <> 'INSERT' THEN {_BUMP.format(who='OLD')}; END IF;\n"
    "    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.doctor_id <> OLD.doctor_id) THEN\n"
    f"        {_BUMP.format(who='NEW')};\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$"
)

#: The chain's advisory lock key (audit_chain._CHAIN_LOCK_KEY, "HMSAUDIT" in ASCII).
_CHAIN_LOCK_KEY = 0x484D534155444954

#: entry_hash's JSON text, field by field: to_json escapes a string exactly as Python's
#: json.dumps(ensure_ascii=False) does (\" \\ \b \f \n \r \t, other controls as \u00XX).
_PG_APPEND_FUNCTION = f"""
CREATE FUNCTION hms_audit_append(
    p_at timestamp, p_actor_user_id integer, p_actor text, p_action text, p_entity text,
    p_entity_id integer, p_patient_id integer, p_details text,
    OUT new_id integer, OUT new_seq integer, OUT new_prev text, OUT new_hash text
) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({_CHAIN_LOCK_KEY});
    SELECT seq, row_hash INTO new_seq, new_prev FROM audit_log ORDER BY seq DESC LIMIT 1;
    new_seq := coalesce(new_seq, 0) + 1;
    new_prev := coalesce(new_prev, '');
    new_hash := encode(sha256(convert_to(
        '[' || to_json(new_prev)::text || ',' || new_seq::text || ','
        || to_json(to_char(p_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text || ','
        || coalesce(p_actor_user_id::text, 'null') || ',' || to_json(p_actor)::text || ','
        || to_json(p_action)::text || ',' || to_json(p_entity)::text || ','
        || coalesce(p_entity_id::text, 'null') || ',' || coalesce(p_patient_id::text, 'null')
        || ',' || to_json(p_details)::text || ']', 'UTF8')), 'hex');
    INSERT INTO audit_log (at, actor_user_id, actor, action, entity, entity_id, patient_id,
                           details, seq, prev_hash, row_hash)
    VALUES (p_at, p_actor_user_id, p_actor, p_action, p_entity, p_entity_id, p_patient_id,
            p_details, new_seq, new_prev, new_hash)
    RETURNING id INTO new_id;
END $$
"""  # noqa: S608 - constants only


def upgrade() -> None:
    op.add_column(
        "doctors", sa.Column("schedule_version", sa.Integer(), nullable=False, server_default="0")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_SCHEDULE_FUNCTION)
        for table in _HOURS_TABLES:
            op.execute(
                f"CREATE TRIGGER tr_{table}_schedule AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION doctor_schedule_changed()"
            )
        op.execute(_PG_APPEND_FUNCTION)
        return
    for table in _HOURS_TABLES:
        op.execute(
            f"CREATE TRIGGER tr_{table}_schedule_insert AFTER INSERT ON {table} "
            f"BEGIN {_BUMP.format(who='NEW')}; END"
        )
        op.execute(
            f"CREATE TRIGGER tr_{table}_schedule_update AFTER UPDATE ON {table} "
            f"BEGIN {_BUMP.format(who='OLD')}; "
            f"{_BUMP.format(who='NEW')} AND NEW.doctor_id <> OLD.doctor_id; END"
        )
        op.execute(
            f"CREATE TRIGGER tr_{table}_schedule_delete AFTER DELETE ON {table} "
            f"BEGIN {_BUMP.format(who='OLD')}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION hms_audit_append")
        for table in _HOURS_TABLES:
            op.execute(f"DROP TRIGGER tr_{table}_schedule ON {table}")
        op.execute("DROP FUNCTION doctor_schedule_changed()")
        op.drop_column("doctors", "schedule_version")
        return
    for table in _HOURS_TABLES:
        for what in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER tr_{table}_schedule_{what}")
    # SQLite 3.35+ drops a column in place (no copy of a table other tables refer to).
    op.execute("ALTER TABLE doctors DROP COLUMN schedule_version")
