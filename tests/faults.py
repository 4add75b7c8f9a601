"""A database that fails in the middle of a transaction, for the all-or-nothing tests.

The failure is the database's own: a trigger that refuses one chosen write, on SQLite
and PostgreSQL alike, so everything the transaction wrote before it is really there
and really rolled back. No Python is patched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc

from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.clinic import Clinic

_NAME = "hms_test_fault"
_MESSAGE = "disk I/O error (a fault the test put there)"

#: What the service raises when the fault fires: PostgreSQL's I/O error is turned into
#: the clinic's "cannot be reached" message; SQLite's trigger can only abort (a
#: constraint error, which no service translates).
FAILED = (DatabaseUnavailableError, exc.IntegrityError)


@contextlib.contextmanager
def failing_write(clinic: Clinic, table: str, event: str, condition: str) -> Iterator[None]:
    """While inside, the database fails every ``event`` (``INSERT`` or ``UPDATE``) on
    ``table`` of a row for which ``condition`` holds (SQL over ``NEW``, e.g.
    ``NEW.id = 7``), as a disk or a server failing at that moment would.

    The trigger is gone afterwards (a PostgreSQL schema outlives the test's rows).
    """
    if clinic.db.is_sqlite:
        create = [
            f"CREATE TRIGGER {_NAME} BEFORE {event} ON {table} WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        ]
        drop = [f"DROP TRIGGER {_NAME}"]
    else:
        create = [
            f"CREATE FUNCTION {_NAME}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{_MESSAGE}' USING ERRCODE = '58030'; END $$",
            f"CREATE TRIGGER {_NAME} BEFORE {event} ON {table} FOR EACH ROW "
            f"WHEN ({condition}) EXECUTE FUNCTION {_NAME}()",
        ]
        drop = [f"DROP TRIGGER {_NAME} ON {table}", f"DROP FUNCTION {_NAME}()"]
    with clinic.db.write_engine.begin() as conn:
        for statement in create:
            conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with clinic.db.write_engine.begin() as conn:
            for statement in drop:
                conn.exec_driver_sql(statement)
