"""Hot paths on PostgreSQL's kept driver connection: Core statements, compiled once, run
by the driver itself in autocommit.

A patient's history is opened often, and on PostgreSQL most of its time was ours, not
the server's: a session, a pool checkout, SQLAlchemy's execution and result objects and
the audit entry's ORM object cost about 1 ms of client time around two round trips of
about 0.5 ms each (benchmarks, ``--database postgresql``). :func:`autocommit` lends a
kept connection (:meth:`Database.kept_connection`: no checkout, no liveness round
trip), in autocommit: each statement its own transaction, as a read session's are;
:class:`KeptReader` runs the same Core statements the sessions run, compiled once for
the dialect, so a rule's query still has one source (e.g.
``policy.has_care_relationship``).

What a session does that this does not: the signed-in window's account check
(``users.signed_in_clinic``). A caller that must hold it puts
:attr:`Database.checked_account` into its own statement (e.g. ``EXISTS`` an enabled
account) and goes the long way when nothing comes back. Types: the driver's own values
are returned (PostgreSQL's dates, times, numbers and text need no conversion); a
statement whose columns need SQLAlchemy's result processing does not belong here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import exc
from sqlalchemy.sql.elements import ClauseElement

from hms_desktop.db.engine import Database, driver_errors, translate_errors


class KeptConnectionGoneError(Exception):
    """The kept connection was found dead (a server restart; nothing was written): the
    caller goes the long way, on a connection the pool checks first."""


class KeptReader:
    """Core statements on one driver connection in autocommit."""

    def __init__(self, db: Database, driver: Any) -> None:
        self.db = db
        self.driver = driver

    def _compiled(self, statement: ClauseElement) -> tuple[str, dict[str, Any]]:
        """``statement``'s text for this dialect and its own parameter values, compiled
        once per statement object (the module-level statements of hot paths)."""
        key = f"kept:{id(statement)}"
        found: tuple[ClauseElement, str, dict[str, Any]] | None = self.db.prepared.get(key)
        if found is None or found[0] is not statement:
            compiled = statement.compile(dialect=self.db.engine.dialect)
            found = (statement, str(compiled), dict(compiled.params))
            self.db.prepared[key] = found
        return found[1], found[2]

    def rows(self, statement: ClauseElement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of ``statement`` with ``params`` (its bound parameters by name)."""
        sql, defaults = self._compiled(statement)
        found: list[tuple[Any, ...]] = self.driver.execute(sql, {**defaults, **params}).fetchall()
        return found

    def scalar(self, statement: ClauseElement, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of ``statement``'s first row (None: no row), as
        ``Session.scalar`` gives it."""
        found = self.rows(statement, params or {})
        return found[0][0] if found else None


@contextlib.contextmanager
def autocommit(db: Database) -> Iterator[KeptReader]:
    """A kept PostgreSQL connection (in autocommit, :meth:`Database.kept_connection`), as
    a :class:`KeptReader`.

    Raises:
        KeptConnectionGoneError: the connection died under a statement (nothing was
            written by that statement); the caller goes the long way.
        DatabaseUnavailableError: as :func:`translate_errors` (the server cannot be
            reached, a lock timeout).
        RuntimeError: on SQLite (its hot paths hold its write lock their own way).
    """
    if db.is_sqlite:
        raise RuntimeError("kept.autocommit is for PostgreSQL")
    with translate_errors(db), db.kept_connection() as driver:
        try:
            with driver_errors(db.engine.dialect):
                yield KeptReader(db, driver)
        except exc.DBAPIError as err:
            if getattr(driver, "broken", False) or getattr(driver, "closed", False):
                raise KeptConnectionGoneError from err
            raise
