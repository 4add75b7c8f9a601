"""``hms user list|disable|enable|unlock|reset-password|passwd``: the administrator's
account tools, acting as the system through :mod:`hms_desktop.services.people.users`.

Every change is audited by the service. A password comes from standard input with
``--password-stdin`` (the first line), else it is asked for twice.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from typing import Any

from hms_desktop.cli import open_from_args
from hms_desktop.errors import ValidationError
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.people import accounts, users


def register_actions(user_sub: Any) -> None:
    """Add the account actions under ``hms user``."""
    p = user_sub.add_parser("list", help="list accounts with role, state and last sign-in")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(handler=cmd_list)
    for name, summary, handler in (
        ("disable", "disable an account (signed in, it is signed out at its next action)", cmd_disable),
        ("enable", "enable a disabled account", cmd_enable),
        ("unlock", "forget an account's failed sign-ins (no more delay)", cmd_unlock),
    ):  # fmt: skip
        p = user_sub.add_parser(name, help=summary)
        p.add_argument("name", metavar="NAME", help="the user name")
        p.set_defaults(handler=handler)
    for name, summary, handler in (
        ("reset-password", "set a password the user must change at the next sign-in", cmd_reset),
        ("passwd", "set an account's password (no change asked for)", cmd_passwd),
    ):
        p = user_sub.add_parser(name, help=summary)
        p.add_argument("name", metavar="NAME", help="the user name")
        p.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input (else ask twice)",
        )
        p.set_defaults(handler=handler)


@contextlib.contextmanager
def _clinic(args: argparse.Namespace) -> Iterator[Clinic]:
    clinic = open_from_args(args)
    try:
        yield clinic
    finally:
        clinic.close()


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("No password on standard input.", field="password")
    else:
        try:
            password = getpass.getpass("New password: ")
            accounts.check_password_strength(password)
            repeated = getpass.getpass("Repeat password: ")
        except EOFError:
            raise ValidationError(
                "No password given; nothing changed (in scripts, use --password-stdin).",
                field="password",
            ) from None
        if repeated != password:
            raise ValidationError("The passwords do not match; nothing changed.")
    accounts.check_password_strength(password)
    return password


def cmd_list(args: argparse.Namespace) -> int:
    """Every account: user name, role, state, name, last sign-in (clinic time)."""
    from hms_desktop.cli.core import format_table

    with _clinic(args) as clinic:
        rows = users.list_users(clinic, SYSTEM)
        tz = clinic.now().tzinfo

    def last(row: users.UserRow) -> str:
        return (
            row.last_login_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if row.last_login_at else ""
        )

    if args.json:
        data = [
            {
                "id": r.id,
                "username": r.username,
                "role": r.role,
                "name": r.name,
                "state": r.state,
                "is_active": r.is_active,
                "locked": r.locked,
                "must_change_password": r.must_change_password,
                "last_login_at": r.last_login_at.isoformat() if r.last_login_at else None,
            }
            for r in rows
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(
        format_table(
            ["ID", "User name", "Role", "State", "Name", "Last sign-in"],
            [[r.id, r.username, r.role, r.state, r.name, last(r)] for r in rows],
        )
    )
    return 0


def _by_name(clinic: Clinic, args: argparse.Namespace) -> int:
    return users.user_id_by_name(clinic, args.name)


def cmd_disable(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        users.set_active(clinic, SYSTEM, _by_name(clinic, args), False)
    print(f"Disabled {args.name!r}: it cannot sign in, and an open window signs it out.")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        users.set_active(clinic, SYSTEM, _by_name(clinic, args), True)
    print(f"Enabled {args.name!r}.")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        users.unlock(clinic, SYSTEM, _by_name(clinic, args))
    print(f"Unlocked {args.name!r}: its failed sign-ins are forgotten.")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        user_id = _by_name(clinic, args)
        users.reset_password(clinic, SYSTEM, user_id, _password(args), must_change=True)
    print(f"Password of {args.name!r} reset: it must be changed at the next sign-in.")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    with _clinic(args) as clinic:
        user_id = _by_name(clinic, args)
        users.reset_password(clinic, SYSTEM, user_id, _password(args), must_change=False)
    print(f"Password of {args.name!r} changed.")
    return 0
