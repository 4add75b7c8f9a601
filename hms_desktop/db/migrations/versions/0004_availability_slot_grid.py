"""each availability window keeps its own slot length

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The slot length was each PC's own setting: two PCs with 30- and 15-minute slots
    # offered 09:00 and 09:15 in one window and booked both. Existing windows keep the
    # default grid (30 minutes) they were almost certainly published with.
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot_minutes", sa.Integer(), server_default=sa.text("30"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.drop_column("slot_minutes")
