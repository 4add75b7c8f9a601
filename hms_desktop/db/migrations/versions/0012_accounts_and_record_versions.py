"""accounts: disable, forced password change, per-name sign-in throttle; treatment versions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    # Failed sign-ins per typed name (a hash: a password typed into the name field must
    # not be stored), known names and unknown alike, so the delay tells nothing.
    op.create_table(
        "sign_in_failures",
        sa.Column("name_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_hash", name=op.f("pk_sign_in_failures")),
    )
    # A treatment's earlier versions: each row holds the values an amendment replaced,
    # who had written them and when, and who replaced them and when.
    op.create_table(
        "treatment_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("symptoms", sa.Text(), server_default="", nullable=False),
        sa.Column("diagnosis", sa.Text(), server_default="", nullable=False),
        sa.Column("treatment_given", sa.Text(), server_default="", nullable=False),
        sa.Column("prescription", sa.Text(), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("written_by", sa.String(length=80), server_default="", nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
        sa.Column("replaced_by", sa.String(length=80), server_default="", nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["treatment_id"],
            ["treatments.id"],
            name=op.f("fk_treatment_versions_treatment_id_treatments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_versions")),
        sa.UniqueConstraint("treatment_id", "version", name="uq_treatment_versions_version"),
    )


def downgrade() -> None:
    op.drop_table("treatment_versions")
    op.drop_table("sign_in_failures")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
