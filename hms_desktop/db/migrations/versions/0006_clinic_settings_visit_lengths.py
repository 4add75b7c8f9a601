"""clinic-wide settings and visit types in the database; appointments have an end

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The visit types the application always knew, each with the old grid's length.
VISIT_TYPES = (
    ("consultation", "Consultation", 30),
    ("follow_up", "Follow-up", 30),
    ("check_up", "Check-up", 30),
    ("emergency", "Emergency", 30),
    ("procedure", "Procedure", 30),
)

#: Live visits of one doctor (or one patient) on one day whose times intersect; each
#: EXISTS is served by the (doctor_id, day) or (patient_id, day) index.
#: SQLite cannot add NOT NULL or CHECK to a table in place (a batch copy would drop the
#: partial indexes), so the trigger checks the end as well.
_SQLITE_CLASH = """
    SELECT RAISE(ABORT, 'appointment must end after it starts')
    WHERE NEW.end_time IS NULL OR NEW.end_time <= NEW.start_time;
    SELECT RAISE(ABORT, 'appointment overlaps a live appointment')
    WHERE NEW.status <> 'cancelled' AND (
        EXISTS (
            SELECT 1 FROM appointments a
            WHERE a.doctor_id = NEW.doctor_id AND a.day = NEW.day AND a.id IS NOT NEW.id
              AND a.status <> 'cancelled'
              AND a.start_time < NEW.end_time AND NEW.start_time < a.end_time
        ) OR EXISTS (
            SELECT 1 FROM appointments a
            WHERE a.patient_id = NEW.patient_id AND a.day = NEW.day AND a.id IS NOT NEW.id
              AND a.status <> 'cancelled'
              AND a.start_time < NEW.end_time AND NEW.start_time < a.end_time
        )
    );
"""


def upgrade() -> None:
    op.create_table(
        "clinic_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_clinic_settings")),
    )
    visit_types = op.create_table(
        "visit_types",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint("minutes BETWEEN 5 AND 480", name=op.f("ck_visit_types_minutes")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_visit_types")),
    )
    op.bulk_insert(
        visit_types, [{"name": n, "label": label, "minutes": m} for n, label, m in VISIT_TYPES]
    )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_time", sa.Time(), nullable=True))
    # Existing visits keep the grid of the window they were booked in; a visit outside
    # every window (the window was removed) keeps the old default grid of 30 minutes.
    conn = op.get_bind()
    appts = sa.table(
        "appointments",
        sa.column("id", sa.Integer),
        sa.column("doctor_id", sa.Integer),
        sa.column("day", sa.Date),
        sa.column("start_time", sa.Time),
        sa.column("end_time", sa.Time),
    )
    windows = sa.table(
        "availability",
        sa.column("doctor_id", sa.Integer),
        sa.column("day", sa.Date),
        sa.column("start_time", sa.Time),
        sa.column("end_time", sa.Time),
        sa.column("slot_minutes", sa.Integer),
    )
    grid: dict[tuple[int, date], list[tuple[time, time, int]]] = {}
    for doctor_id, day, start, end, minutes in conn.execute(sa.select(windows)):
        grid.setdefault((doctor_id, day), []).append((start, end, minutes))
    rows = conn.execute(
        sa.select(appts.c.id, appts.c.doctor_id, appts.c.day, appts.c.start_time)
    ).all()
    for appt_id, doctor_id, day, start in rows:
        minutes = next(
            (m for s, e, m in grid.get((doctor_id, day), ()) if s <= start < e),
            30,
        )
        moment = datetime.combine(date.min, start) + timedelta(minutes=minutes)
        # A visit never runs past midnight: it ends at 23:59:59 at the latest.
        end = moment.time() if moment.date() == date.min else time(23, 59, 59)
        conn.execute(sa.update(appts).where(appts.c.id == appt_id).values(end_time=end))

    if conn.dialect.name == "postgresql":
        op.alter_column("appointments", "end_time", nullable=False)
        op.create_check_constraint(
            op.f("ck_appointments_length"), "appointments", "start_time < end_time"
        )
        # btree_gist lets one GiST index compare ids with "=" next to ranges with "&&".
        # It lives in "public" so a database with several schemas shares one copy.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        for who in ("doctor", "patient"):
            op.execute(
                f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{who}_overlap "
                f"EXCLUDE USING gist ({who}_id WITH =, "
                "tsrange(day + start_time, day + end_time) WITH &&) "
                "WHERE (status <> 'cancelled')"
            )
    else:
        op.execute(f"CREATE TRIGGER tr_appointments_overlap_insert BEFORE INSERT ON appointments "
                   f"BEGIN {_SQLITE_CLASH} END")  # fmt: skip
        op.execute(
            "CREATE TRIGGER tr_appointments_overlap_update BEFORE UPDATE OF "
            "doctor_id, patient_id, day, start_time, end_time, status ON appointments "
            f"BEGIN {_SQLITE_CLASH} END"
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for who in ("doctor", "patient"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{who}_overlap")
        op.drop_constraint(op.f("ck_appointments_length"), "appointments", type_="check")
        op.drop_column("appointments", "end_time")
    else:
        op.execute("DROP TRIGGER tr_appointments_overlap_insert")
        op.execute("DROP TRIGGER tr_appointments_overlap_update")
        with op.batch_alter_table("appointments", schema=None) as batch_op:
            batch_op.drop_column("end_time")
    op.drop_table("visit_types")
    op.drop_table("clinic_settings")
