"""patients: reversed phone digits, so a number is found by its end too

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000


def upgrade() -> None:
    # Patients say their number as they dial it at home ("0175 6206524"), or give the
    # last digits; the stored "+49 175 6206524" was found only from its first digit.
    # The reversed digits make "ends with" a prefix search that an index serves.
    key = sa.String(40).with_variant(sa.String(40, collation="C"), "postgresql")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_rev_key", key, server_default="", nullable=False))
    conn = op.get_bind()
    patients = sa.table(
        "patients", sa.column("id", sa.Integer), sa.column("phone_key"), sa.column("phone_rev_key")
    )
    rows = conn.execute(
        sa.select(patients.c.id, patients.c.phone_key).where(patients.c.phone_key != "")
    ).all()
    update = (
        sa.update(patients)
        .where(patients.c.id == sa.bindparam("pid"))
        .values(phone_rev_key=sa.bindparam("rev"))
    )
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        conn.execute(update, [{"pid": pid, "rev": digits[::-1]} for pid, digits in batch])
    op.create_index("ix_patients_phone_rev_key", "patients", ["phone_rev_key"])


def downgrade() -> None:
    op.drop_index("ix_patients_phone_rev_key", table_name="patients")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("phone_rev_key")
