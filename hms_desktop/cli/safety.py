"""``hms backup FILE``, ``hms restore FILE``, ``hms check`` and ``hms audit verify``.

Exit status: 0 when all is well, 1 when ``hms check`` finds a problem, 2 for an
error the user can fix (printed on one line by :func:`hms_desktop.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hms_desktop.cli import settings_from_args
from hms_desktop.db.engine import Database
from hms_desktop.db.migrate import check_schema
from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.safety import audit_chain
from hms_desktop.services.safety.backup import backup_database
from hms_desktop.services.safety.integrity import check_database
from hms_desktop.services.safety.restore import restore_database

EXIT_PROBLEM = 1


def register(subparsers: Any) -> None:
    """Add the ``backup``, ``restore``, ``check`` and ``audit`` commands."""
    backup = subparsers.add_parser(
        "backup",
        help="write a consistent copy of the clinic database (safe while it is in use)",
        description=(
            "Copy the clinic database to FILE while it may be in use. SQLite: SQLite's online "
            "backup, written to a temporary name and renamed when complete and checked. "
            "PostgreSQL: runs pg_dump --format=custom (or says the command when pg_dump is "
            "missing); restore such a dump with pg_restore."
        ),
    )
    backup.add_argument("file", metavar="FILE", help="where to write the backup")
    backup.set_defaults(handler=_backup)

    restore = subparsers.add_parser(
        "restore",
        help="replace the clinic database with a backup (keeps the old file aside)",
        description=(
            "Replace the clinic database with the backup FILE. Refuses while HMS Desktop or "
            "another program has the database open, and when the backup is damaged or from a "
            "newer version. The replaced file is kept as <database>.replaced-<timestamp>; an "
            "older backup's schema is upgraded after the restore."
        ),
    )
    restore.add_argument("file", metavar="FILE", help="the backup to restore")
    restore.set_defaults(handler=_restore)

    check = subparsers.add_parser(
        "check",
        help="check integrity, schema version, row counts and orphaned rows",
        description="Exit status 0 when the database is sound, 1 when a problem was found.",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=_check)
    register_audit(subparsers)


def _backup(args: argparse.Namespace) -> int:
    db = Database(settings_from_args(args).database_url, must_exist=True)
    try:
        target = backup_database(db, args.file)
    finally:
        db.dispose()
    print(f"backup written: {target}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    result = restore_database(settings_from_args(args).database_url, args.file)
    print(f"restored {result.database} from {args.file}")
    if result.replaced is not None:
        print(f"the replaced database is kept as {result.replaced}")
    if result.upgraded:
        print(f"schema upgraded from {result.schema_before} to {result.schema_after}")
    return 0


def _check(args: argparse.Namespace) -> int:
    db = Database(settings_from_args(args).database_url, must_exist=True)
    try:
        report = check_database(db)
    finally:
        db.dispose()
    if args.json:
        json.dump(report.as_json(), sys.stdout, indent=2)
        print()
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else EXIT_PROBLEM


def register_audit(subparsers: Any) -> None:
    """Add ``hms audit verify``."""
    group = subparsers.add_parser("audit", help="the audit log")
    commands = group.add_subparsers(dest="audit_command", metavar="ACTION")
    commands.required = True
    verify = commands.add_parser(
        "verify",
        help="check that no audit entry was changed, removed or reordered",
        description=(
            "Walk the audit log's hash chain. Prints 'ok, N entries', or the first entry "
            "that was changed, removed or reordered ('row N changed') and exits with 1."
        ),
    )
    verify.set_defaults(handler=_audit_verify)


def _audit_verify(args: argparse.Namespace) -> int:
    db = Database(settings_from_args(args).database_url, must_exist=True)
    try:
        state = check_schema(db)
        if not state.is_current:
            raise DatabaseUnavailableError(
                f"The database {db.display_location} is at schema {state.current or 'none'}, "
                f"not {state.head}; run 'hms init' first."
            )
        report = audit_chain.verify(db)
    finally:
        db.dispose()
    print(f"audit log: {report.message}")
    return 0 if report.ok else EXIT_PROBLEM
