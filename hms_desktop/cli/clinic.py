"""``hms clinic`` and ``hms visit-types``: the clinic-wide settings, the same on every PC.

The command line acts as the system administrator; every change goes through the
clinic settings service, so it is checked and audited like one made in the window.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hms_desktop.cli import open_from_args
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic_settings import service as clinic_settings
from hms_desktop.services.clinic_settings.values import KEYS


def register(subparsers: Any) -> None:
    """Add ``clinic`` and ``visit-types`` to the ``hms`` parser."""
    p = subparsers.add_parser("clinic", help="show or change the clinic-wide settings")
    sub = p.add_subparsers(dest="clinic_command", metavar="ACTION")
    sub.required = True
    show = sub.add_parser("show", help="every clinic setting, and which this PC overrides")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(handler=cmd_clinic_show)
    change = sub.add_parser("set", help="change one clinic setting (audited)")
    change.add_argument("key", metavar="KEY", help=", ".join(KEYS))
    change.add_argument("value", metavar="VALUE")
    change.set_defaults(handler=cmd_clinic_set)

    p = subparsers.add_parser("visit-types", help="visit types and their default lengths")
    sub = p.add_subparsers(dest="visit_types_command", metavar="ACTION")
    sub.required = True
    listing = sub.add_parser("list", help="every visit type with its length")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=cmd_visit_types_list)
    change = sub.add_parser("set", help="set a visit type's default length (adds a new type)")
    change.add_argument("name", metavar="NAME")
    change.add_argument("--minutes", type=int, required=True, metavar="N")
    change.set_defaults(handler=cmd_visit_types_set)


def _shown(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else str(value)


def cmd_clinic_show(args: argparse.Namespace) -> int:
    """Print every clinic setting in force on this PC; overrides are marked."""
    clinic = open_from_args(args)
    try:
        views = clinic_settings.show(clinic, SYSTEM)
        today = clinic.today()
    finally:
        clinic.close()
    if args.json:
        data: dict[str, Any] = {v.key: v.value for v in views}
        data["today"] = today.isoformat()
        data["overridden"] = {v.key: v.overridden_by for v in views if v.overridden_by}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    width = max(len(v.key) for v in views)
    for v in views:
        note = ""
        if v.overridden_by:
            note = f"  (this PC: {v.overridden_by}; the clinic's value is {_shown(v.stored)})"
        print(f"{v.key.ljust(width)}  {_shown(v.value)}{note}")
    print(f"{'today'.ljust(width)}  {today.isoformat()}")
    return 0


def cmd_clinic_set(args: argparse.Namespace) -> int:
    """Change one clinic setting; print the old and the new value."""
    clinic = open_from_args(args)
    try:
        before = getattr(clinic.settings, args.key, None)
        changed = clinic_settings.change(clinic, SYSTEM, {args.key: args.value})
        overridden = clinic.overrides.get(args.key, "")
    finally:
        clinic.close()
    if not changed:
        print(f"{args.key} is {_shown(before)} already.")
        return 0
    print(f"{args.key}: {_shown(before)} -> {_shown(changed[args.key])}")
    if overridden:
        print(f"Note: this PC overrides {args.key} with {overridden}.")
    return 0


def cmd_visit_types_list(args: argparse.Namespace) -> int:
    clinic = open_from_args(args)
    try:
        types = clinic_settings.list_visit_types(clinic)
    finally:
        clinic.close()
    if args.json:
        print(json.dumps([t.__dict__ for t in types], ensure_ascii=False, indent=2))
        return 0
    width = max((len(t.name) for t in types), default=4)
    for t in types:
        print(f"{t.name.ljust(width)}  {t.minutes:>3} min  {t.label}")
    return 0


def cmd_visit_types_set(args: argparse.Namespace) -> int:
    clinic = open_from_args(args)
    try:
        view = clinic_settings.set_visit_type(clinic, SYSTEM, args.name, minutes=args.minutes)
    finally:
        clinic.close()
    print(f"{view.name}: {view.minutes} minutes")
    return 0
