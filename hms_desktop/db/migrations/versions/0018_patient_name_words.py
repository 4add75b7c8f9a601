"""patients: the words inside a name, so any part of a surname finds the patient

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

The search found a patient by the start of the name and of its last word only, so
"hughes" never found "Anna Smith-Hughes" (the folded surname is "smith-hughes") nor
"garcia" "María García López" (a middle word). ``patient_name_words`` holds each
patient's other words (split at spaces and hyphens: "smith", "hughes", "garcia"),
keyed in the search's order (word, name, patient) so the search's word way reads a
prefix's words from the index and stops at the page's end, as its other ways do.

The words of the patients already there are made from their stored keys, read in id
order and written in batches. The rule is a copy of
``hms_desktop.services.people.validation.name_words`` (a test keeps the two alike),
so this migration stands alone. The downgrade drops the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
#: The length of the name_key column (0001) and so of the words made from it.
_KEY_LENGTH = 120


def _search_key(length: int) -> sa.types.TypeEngine[str]:
    # Prefix-range search keys compare in byte order ("C") on PostgreSQL, as on SQLite.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def name_words(name_key: str, surname_key: str) -> list[str]:
    """The words of a folded name that neither its start nor its last word is (as
    ``validation.name_words`` made them when 0018 was written)."""
    spaced = name_key.split()
    if not spaced:
        return []
    parts = {part for word in spaced for part in word.split("-") if part}
    parts |= {word for word in spaced[1:] if "-" in word.strip("-")}
    return sorted(parts - {spaced[0], spaced[0].split("-")[0], surname_key})


def upgrade() -> None:
    op.create_table(
        "patient_name_words",
        sa.Column("word_key", _search_key(_KEY_LENGTH), nullable=False),
        sa.Column("name_key", _search_key(_KEY_LENGTH), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_name_words_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "word_key", "name_key", "patient_id", name=op.f("pk_patient_name_words")
        ),
    )
    op.create_index(
        "ix_patient_name_words_patient_word", "patient_name_words", ["patient_id", "word_key"]
    )
    conn = op.get_bind()
    patients = sa.table(
        "patients",
        sa.column("id", sa.Integer),
        sa.column("name_key", sa.String),
        sa.column("surname_key", sa.String),
    )
    words = sa.table(
        "patient_name_words",
        sa.column("word_key", sa.String),
        sa.column("name_key", sa.String),
        sa.column("patient_id", sa.Integer),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(patients.c.id, patients.c.name_key, patients.c.surname_key)
            .where(patients.c.id > last)
            .order_by(patients.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        batch = [
            {"word_key": word, "name_key": name_key, "patient_id": pid}
            for pid, name_key, surname_key in rows
            for word in name_words(name_key, surname_key)
        ]
        if batch:
            conn.execute(sa.insert(words), batch)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_patient_name_words_patient_word", table_name="patient_name_words")
    op.drop_table("patient_name_words")
