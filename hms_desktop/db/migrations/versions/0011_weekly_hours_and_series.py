"""weekly hours with dated exceptions; recurring series on appointments

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.CheckConstraint("start_time < end_time", name=op.f("ck_weekly_hours_window")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_weekly_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.id"],
            name=op.f("fk_weekly_hours_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_hours")),
        sa.UniqueConstraint("doctor_id", "weekday", "start_time", name="uq_weekly_hours_slot"),
    )
    # The dated windows doctors published day by day become "extra hours on that date":
    # with no weekly hours yet, a date offers exactly what it offered before, so every
    # booking stays inside its doctor's hours. The server default fills the kind.
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="extra", nullable=False)
        )
        batch_op.add_column(sa.Column("reason", sa.Text(), server_default="", nullable=False))
        batch_op.create_check_constraint(op.f("ck_availability_kind"), "kind IN ('extra', 'off')")
        batch_op.drop_constraint("uq_availability_slot", type_="unique")
        batch_op.create_unique_constraint(
            "uq_availability_slot", ["doctor_id", "day", "start_time", "kind"]
        )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointments_series_id"), ["series_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_appointments_series_id"), table_name="appointments")
    # Not a batch: on SQLite that copies the table, and the copy would lose the overlap
    # triggers of 0006. SQLite (3.35+) and PostgreSQL drop a column in place.
    op.execute("ALTER TABLE appointments DROP COLUMN series_id")
    # Days off have no place in the old table: they go, the extra hours stay.
    op.execute("DELETE FROM availability WHERE kind = 'off'")
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.drop_constraint("uq_availability_slot", type_="unique")
        batch_op.create_unique_constraint(
            "uq_availability_slot", ["doctor_id", "day", "start_time"]
        )
        batch_op.drop_constraint(op.f("ck_availability_kind"), type_="check")
        batch_op.drop_column("reason")
        batch_op.drop_column("kind")
    op.drop_table("weekly_hours")
