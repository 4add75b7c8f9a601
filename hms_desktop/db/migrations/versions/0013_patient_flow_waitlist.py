"""check-in, consultation and walk-ins on appointments; the waitlist

Revision ID: 0013
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("overbook_reason")
        batch_op.drop_column("overbooked")
        batch_op.drop_column("consultation_at")
        batch_op.drop_column("arrived_at")
