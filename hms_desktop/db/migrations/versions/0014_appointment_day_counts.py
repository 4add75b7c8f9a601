"""appointment counts per day and status, kept by triggers (the dashboard's totals);
an index for the patient search's surname way

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

The dashboard's totals (appointments by status since the clinic began) were a
``GROUP BY status`` over every appointment, so they grew with the clinic's
history. ``appointment_counts`` holds one row per day and status; the database
keeps it equal to the appointments with every write (insert, update, delete, and
on PostgreSQL COPY and TRUNCATE too), so the totals read a few thousand small rows
however long the history, and no code path can forget to count.

One row per day, not one per status: desks booking different days never wait on
each other's counter row, and two bookings of one day wait only for the other's
commit. On PostgreSQL the triggers are per statement with transition tables, so a
bulk insert (COPY, the demo generator, a restore) adds one grouped upsert rather
than one per row; the upserts go in (day, status) order, so two transactions never
lock two counter rows in opposite orders.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPSERT = (
    "INSERT INTO appointment_counts AS c (day, status, n) {rows} "
    "ON CONFLICT (day, status) DO UPDATE SET n = c.n + EXCLUDED.n"
)

#: Each trigger's rows, grouped: (day, status, change of the count), in lock order.
_INSERTED = "SELECT day, status, count(*) FROM new_rows GROUP BY day, status ORDER BY day, status"
_DELETED = "SELECT day, status, -count(*) FROM old_rows GROUP BY day, status ORDER BY day, status"
_MOVED = (
    "SELECT day, status, sum(k) FROM ("
    " SELECT o.day, o.status, -1 AS k FROM old_rows o JOIN new_rows w ON w.id = o.id"
    " WHERE o.day <> w.day OR o.status <> w.status"
    " UNION ALL"
    " SELECT w.day, w.status, 1 FROM old_rows o JOIN new_rows w ON w.id = o.id"
    " WHERE o.day <> w.day OR o.status <> w.status"
    ") moved GROUP BY day, status HAVING sum(k) <> 0 ORDER BY day, status"
)
_PG_FUNCTION = (
    "CREATE FUNCTION appointment_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    f"    IF TG_OP = 'INSERT' THEN {_UPSERT.format(rows=_INSERTED)};\n"
    f"    ELSIF TG_OP = 'DELETE' THEN {_UPSERT.format(rows=_DELETED)};\n"
    f"    ELSE {_UPSERT.format(rows=_MOVED)};\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$"
)

_PG_TRIGGERS = (
    "CREATE TRIGGER tr_appointment_counts_insert AFTER INSERT ON appointments "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION appointment_counts_apply()",
    "CREATE TRIGGER tr_appointment_counts_update AFTER UPDATE ON appointments "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION appointment_counts_apply()",
    "CREATE TRIGGER tr_appointment_counts_delete AFTER DELETE ON appointments "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION appointment_counts_apply()",
    "CREATE FUNCTION appointment_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN DELETE FROM appointment_counts; RETURN NULL; END $$",
    "CREATE TRIGGER tr_appointment_counts_truncate AFTER TRUNCATE ON appointments "
    "FOR EACH STATEMENT EXECUTE FUNCTION appointment_counts_truncate()",
)

#: The number of patients, kept the same way in ``table_counts`` (one row, "patients"):
#: a count(*) of 500,000 patients took 100 ms on PostgreSQL. Registrations are rare
#: next to bookings, so one row is no queue. Upserts: a reset table gets its row back.
_PATIENTS_UPSERT = (
    "INSERT INTO table_counts AS c (name, n) VALUES ('patients', {delta}) "
    "ON CONFLICT (name) DO UPDATE SET n = c.n + EXCLUDED.n"
)
_PG_PATIENT_TRIGGERS = (
    "CREATE FUNCTION patient_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
    "IF TG_OP = 'INSERT' THEN "
    + _PATIENTS_UPSERT.format(delta="(SELECT count(*) FROM new_rows)")
    + "; ELSIF TG_OP = 'DELETE' THEN "
    + _PATIENTS_UPSERT.format(delta="-(SELECT count(*) FROM old_rows)")
    + "; ELSE DELETE FROM table_counts WHERE name = 'patients'; END IF; RETURN NULL; END $$",
    "CREATE TRIGGER tr_patient_count_insert AFTER INSERT ON patients "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION patient_count_apply()",
    "CREATE TRIGGER tr_patient_count_delete AFTER DELETE ON patients "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION patient_count_apply()",
    "CREATE TRIGGER tr_patient_count_truncate AFTER TRUNCATE ON patients "
    "FOR EACH STATEMENT EXECUTE FUNCTION patient_count_apply()",
)
_SQLITE_PATIENT_TRIGGERS = (
    "CREATE TRIGGER tr_patient_count_insert AFTER INSERT ON patients BEGIN "
    + _PATIENTS_UPSERT.replace("AS c ", "").replace("c.n", "n").format(delta="1")
    + "; END",
    "CREATE TRIGGER tr_patient_count_delete AFTER DELETE ON patients BEGIN "
    + _PATIENTS_UPSERT.replace("AS c ", "").replace("c.n", "n").format(delta="-1")
    + "; END",
)

_SQLITE_PLUS = (
    "INSERT INTO appointment_counts (day, status, n) VALUES (NEW.day, NEW.status, 1) "
    "ON CONFLICT (day, status) DO UPDATE SET n = n + 1;"
)
_SQLITE_MINUS = (
    "UPDATE appointment_counts SET n = n - 1 WHERE day = OLD.day AND status = OLD.status;"
)
_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER tr_appointment_counts_insert AFTER INSERT ON appointments "
    f"BEGIN {_SQLITE_PLUS} END",
    "CREATE TRIGGER tr_appointment_counts_update AFTER UPDATE OF day, status ON appointments "
    "WHEN OLD.day IS NOT NEW.day OR OLD.status IS NOT NEW.status "
    f"BEGIN {_SQLITE_MINUS} {_SQLITE_PLUS} END",
    f"CREATE TRIGGER tr_appointment_counts_delete AFTER DELETE ON appointments "
    f"BEGIN {_SQLITE_MINUS} END",
)


def upgrade() -> None:
    op.create_table(
        "appointment_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "status", name=op.f("pk_appointment_counts")),
    )
    op.create_table(
        "table_counts",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_table_counts")),
    )
    op.execute("INSERT INTO table_counts (name, n) SELECT 'patients', count(*) FROM patients")
    # The counts of the appointments already there, then the triggers keep them.
    op.execute(
        "INSERT INTO appointment_counts (day, status, n) "
        "SELECT day, status, count(*) FROM appointments GROUP BY day, status"
    )
    # The patient search's surname way (services/people/patients.search_ways) reads
    # a prefix's patients in order from this index, however many patients the clinic has.
    # It serves every range of the surname alone too: the surname's own index goes.
    op.create_index("ix_patients_surname_name_id", "patients", ["surname_key", "name_key", "id"])
    op.drop_index("ix_patients_surname_key", table_name="patients")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in (*_PG_TRIGGERS, *_PG_PATIENT_TRIGGERS):
            op.execute(statement)
    else:
        for statement in (*_SQLITE_TRIGGERS, *_SQLITE_PATIENT_TRIGGERS):
            op.execute(statement)


def downgrade() -> None:
    op.create_index("ix_patients_surname_key", "patients", ["surname_key"])
    op.drop_index("ix_patients_surname_name_id", table_name="patients")
    for name in ("insert", "update", "delete"):
        op.execute(
            f"DROP TRIGGER tr_appointment_counts_{name}"
            + (" ON appointments" if op.get_bind().dialect.name == "postgresql" else "")
        )
    on = " ON patients" if op.get_bind().dialect.name == "postgresql" else ""
    for name in ("insert", "delete"):
        op.execute(f"DROP TRIGGER tr_patient_count_{name}{on}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_patient_count_truncate ON patients")
        op.execute("DROP FUNCTION patient_count_apply()")
        op.execute("DROP TRIGGER tr_appointment_counts_truncate ON appointments")
        op.execute("DROP FUNCTION appointment_counts_truncate()")
        op.execute("DROP FUNCTION appointment_counts_apply()")
    op.drop_table("table_counts")
    op.drop_table("appointment_counts")
