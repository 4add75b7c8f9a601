"""The PostgreSQL reset between tests must know every table, or rows leak between tests."""

from hms_desktop.db.models import Base
from tests.conftest import TABLES


def test_the_reset_list_names_every_table() -> None:
    assert set(TABLES) == set(Base.metadata.tables)
