"""calendar invitations: appointments.calendar_sequence, outbox kinds for confirm/move/cancel

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = "kind IN ('reminder', 'monthly_report')"
_NEW_KINDS = (
    "kind IN ('reminder', 'monthly_report', 'booking_confirmation', 'appointment_update', "
    "'appointment_cancel')"
)


def upgrade() -> None:
    # Every existing appointment starts at SEQUENCE 0: no invitation was ever sent for it.
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calendar_sequence", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint("kind", sa.text(_NEW_KINDS))


def downgrade() -> None:
    # The calendar messages cannot be kept under the old kinds.
    op.execute(
        "DELETE FROM outbox WHERE kind IN "
        "('booking_confirmation', 'appointment_update', 'appointment_cancel')"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint("kind", sa.text(_OLD_KINDS))
    # In place, not a batch copy: copying the table would drop the overlap triggers
    # (0006) that later downgrades expect to find.
    op.execute("ALTER TABLE appointments DROP COLUMN calendar_sequence")
