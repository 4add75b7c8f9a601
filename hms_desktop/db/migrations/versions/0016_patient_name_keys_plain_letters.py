"""patients: name keys made again for special letters and apostrophes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

The search folds names into keys (lower case, accents stripped). Letters that Unicode
does not take apart into a plain letter and accents stayed as they were, so "lukasz"
did not find "Łukasz" nor "yilmaz" "Yılmaz"; and "obrien" did not find "O'Brien".
The search's ``fold`` now spells them plainly (ł→l, ı→i, ø→o, đ/ð→d, þ→th, æ→ae,
œ→oe, ħ→h) and drops apostrophes (' ’ ‘ ʼ), in the keys and in what is typed alike.

Only the names holding a character whose folding changed get new keys: they are
picked by a LIKE filter over :data:`_CHANGED` (every such character; a test checks
the list against ``fold``), read in id order and written back in batches.

The upgrade imports the search's own ``fold``
(``hms_desktop.services.people.validation.fold``), the one exception to migrations
standing alone: the keys must be exactly what the search makes of typed text. A later
change to ``fold`` comes with its own migration for the names it changes. The
downgrade makes the keys as 0015's search did, with a copy of that ``fold`` here.
"""

import unicodedata
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
#: The length of the name_key and surname_key columns (0001).
_KEY_LENGTH = 120
#: Every character that ``fold`` turns into something else than 0015's fold did.
_CHANGED = (
    "'"  # apostrophe
    "\u00c6\u00e6"  # Æ æ
    "\u00d0\u00f0"  # Ð ð
    "\u00d8\u00f8"  # Ø ø
    "\u00de\u00fe"  # Þ þ
    "\u0110\u0111"  # Đ đ
    "\u0126\u0127"  # Ħ ħ
    "\u0131"  # ı
    "\u0141\u0142"  # Ł ł
    "\u0149"  # ŉ (n preceded by apostrophe)
    "\u0152\u0153"  # Œ œ
    "\u01e2\u01e3\u01fc\u01fd"  # Ǣ ǣ Ǽ ǽ (ae with macron, acute)
    "\u01fe\u01ff"  # Ǿ ǿ (o with stroke and acute)
    "\u02bc"  # ʼ modifier letter apostrophe
    "\u1d9e"  # ᶞ modifier letter small eth
    "\u2018\u2019"  # ‘ ’
    "\u210f"  # ℏ (h with stroke)
    "\ua7f9"  # ꟹ modifier letter small ligature oe
    "\uff07"  # ＇ fullwidth apostrophe
    "\U00010783\U00010795\U000107a2"  # modifier letters small ae, h with stroke, o with stroke
    "\U0001d6a4"  # mathematical italic small dotless i
)


def fold_0015(text: str) -> str:
    """The search keys' folding up to 0015: lower case, accents stripped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _rekey(fold: Callable[[str], str]) -> None:
    conn = op.get_bind()
    patients = sa.table(
        "patients",
        sa.column("id", sa.Integer),
        sa.column("full_name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("surname_key", sa.String),
    )
    affected = sa.or_(*(patients.c.full_name.contains(ch, autoescape=True) for ch in _CHANGED))
    update = (
        sa.update(patients)
        .where(patients.c.id == sa.bindparam("pid"))
        .values(name_key=sa.bindparam("name"), surname_key=sa.bindparam("surname"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                patients.c.id, patients.c.full_name, patients.c.name_key, patients.c.surname_key
            )
            .where(patients.c.id > last, affected)
            .order_by(patients.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        changes = []
        for pid, full_name, name_key, surname_key in rows:
            # As the patients service makes them: the folded name, and its last word.
            folded = fold(full_name)
            name, surname = folded[:_KEY_LENGTH], folded.rsplit(" ", 1)[-1][:_KEY_LENGTH]
            if (name, surname) != (name_key, surname_key):
                changes.append({"pid": pid, "name": name, "surname": surname})
        if changes:
            conn.execute(update, changes)
        last = rows[-1].id


def upgrade() -> None:
    from hms_desktop.services.people.validation import fold

    _rekey(fold)


def downgrade() -> None:
    _rekey(fold_0015)
