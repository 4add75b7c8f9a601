"""check-in, consultation and walk-ins on appointments; the waitlist

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: 0006's overlap check, except that an overbooked visit neither clashes with the
#: doctor's other visits nor blocks them (it never shares the patient's time).
_SQLITE_CLASH = """
    SELECT RAISE(ABORT, 'appointment must end after it starts')
    WHERE NEW.end_time IS NULL OR NEW.end_time <= NEW.start_time;
    SELECT RAISE(ABORT, 'appointment overlaps a live appointment')
    WHERE NEW.status <> 'cancelled' AND (
        (NOT NEW.overbooked AND EXISTS (
            SELECT 1 FROM appointments a
            WHERE a.doctor_id = NEW.doctor_id AND a.day = NEW.day AND a.id IS NOT NEW.id
              AND a.status <> 'cancelled' AND NOT a.overbooked
              AND a.start_time < NEW.end_time AND NEW.start_time < a.end_time
        )) OR EXISTS (
            SELECT 1 FROM appointments a
            WHERE a.patient_id = NEW.patient_id AND a.day = NEW.day AND a.id IS NOT NEW.id
              AND a.status <> 'cancelled'
              AND a.start_time < NEW.end_time AND NEW.start_time < a.end_time
        )
    );
"""
_UPDATE_COLUMNS = "doctor_id, patient_id, day, start_time, end_time, status, overbooked"


def _doctor_overlap(condition: str) -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT ex_appointments_doctor_overlap")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_doctor_overlap "
        "EXCLUDE USING gist (doctor_id WITH =, "
        f"tsrange(day + start_time, day + end_time) WITH &&) WHERE ({condition})"
    )


def upgrade() -> None:
    # Columns only, no table rebuild: a million visits keep their rows (and any
    # triggers on the table) as they are; "arrived" and "in consultation" are a booked
    # visit with these times set.
    op.add_column("appointments", sa.Column("arrived_at", sa.DateTime(), nullable=True))
    op.add_column("appointments", sa.Column("consultation_at", sa.DateTime(), nullable=True))
    op.add_column(
        "appointments",
        sa.Column("overbooked", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "appointments",
        sa.Column("overbook_reason", sa.Text(), server_default="", nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _doctor_overlap("status <> 'cancelled' AND NOT overbooked")
    else:
        op.execute("DROP TRIGGER tr_appointments_overlap_insert")
        op.execute("DROP TRIGGER tr_appointments_overlap_update")
        op.execute(
            "CREATE TRIGGER tr_appointments_overlap_insert BEFORE INSERT ON appointments "
            f"BEGIN {_SQLITE_CLASH} END"
        )
        op.execute(
            f"CREATE TRIGGER tr_appointments_overlap_update BEFORE UPDATE OF {_UPDATE_COLUMNS} "
            f"ON appointments BEGIN {_SQLITE_CLASH} END"
        )
    # An overbooked walk-in may share a doctor's slot; the patient's index stays as is.
    op.drop_index("uq_appointments_doctor_live_slot", table_name="appointments")
    op.create_index(
        "uq_appointments_doctor_live_slot",
        "appointments",
        ["doctor_id", "day", "start_time"],
        unique=True,
        sqlite_where=sa.text("status <> 'cancelled' AND NOT overbooked"),
        postgresql_where=sa.text("status <> 'cancelled' AND NOT overbooked"),
    )
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("days", sa.String(length=40), server_default="", nullable=False),
        sa.Column("time_from", sa.Time(), nullable=True),
        sa.Column("time_to", sa.Time(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("minutes", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("state", sa.String(length=16), server_default="waiting", nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="", nullable=False),
        sa.CheckConstraint(
            "(doctor_id IS NOT NULL) OR (department_id IS NOT NULL)",
            name=op.f("ck_waitlist_doctor_or_department"),
        ),
        sa.CheckConstraint(
            "state IN ('waiting', 'booked', 'removed')", name=op.f("ck_waitlist_state")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_waitlist_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.id"],
            name=op.f("fk_waitlist_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_waitlist_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    op.create_index("ix_waitlist_state_created", "waitlist", ["state", "created_at"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _doctor_overlap("status <> 'cancelled'")
    else:
        # Back to 0006's triggers: the same check without the overbooked exception.
        previous = _SQLITE_CLASH.replace("NOT NEW.overbooked AND ", "").replace(
            " AND NOT a.overbooked", ""
        )
        op.execute("DROP TRIGGER tr_appointments_overlap_insert")
        op.execute("DROP TRIGGER tr_appointments_overlap_update")
        op.execute(
            "CREATE TRIGGER tr_appointments_overlap_insert BEFORE INSERT ON appointments "
            f"BEGIN {previous} END"
        )
        op.execute(
            "CREATE TRIGGER tr_appointments_overlap_update BEFORE UPDATE OF "
            "doctor_id, patient_id, day, start_time, end_time, status ON appointments "
            f"BEGIN {previous} END"
        )
    op.drop_index("ix_waitlist_state_created", table_name="waitlist")
    op.drop_table("waitlist")
    op.drop_index("uq_appointments_doctor_live_slot", table_name="appointments")
    op.create_index(
        "uq_appointments_doctor_live_slot",
        "appointments",
        ["doctor_id", "day", "start_time"],
        unique=True,
        sqlite_where=sa.text("status <> 'cancelled'"),
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    # In place (SQLite 3.35+), not a batch copy that would drop the triggers above.
    for column in ("overbook_reason", "overbooked", "consultation_at", "arrived_at"):
        op.execute(f"ALTER TABLE appointments DROP COLUMN {column}")
