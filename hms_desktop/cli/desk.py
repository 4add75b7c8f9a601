"""The desk's day from the command line: check-in, call-in, walk-ins, waiting room, waitlist.

Every command acts as :data:`hms_desktop.services.actor.SYSTEM`, like the rest of ``hms``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hms_desktop.cli import open_from_args
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.scheduling import patient_flow, waitlist
from hms_desktop.services.views import FLOW_LABELS, to_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("checkin", help="the patient of a visit today has arrived")
    p.add_argument("appointment_id", type=int, metavar="ID")
    p.set_defaults(handler=_checkin)

    p = subparsers.add_parser("call", help="the doctor calls the patient in (in consultation)")
    p.add_argument("appointment_id", type=int, metavar="ID")
    p.set_defaults(handler=_call)

    p = subparsers.add_parser("undo-step", help="take back a check-in or a call-in")
    p.add_argument("appointment_id", type=int, metavar="ID")
    p.set_defaults(handler=_undo)

    p = subparsers.add_parser(
        "walk-in",
        help="a patient without an appointment, here now (overbooked with a reason when full)",
    )
    p.add_argument("--patient", type=int, required=True, metavar="ID")
    p.add_argument("--doctor", type=int, required=True, metavar="ID")
    p.add_argument("--reason", default="", help="why (needed when the doctor has no free time)")
    p.set_defaults(handler=_walk_in)

    p = subparsers.add_parser("waiting", help="who is in the waiting room now")
    p.add_argument("--doctor", type=int, metavar="ID", help="only this doctor's patients")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_waiting)

    wl = subparsers.add_parser("waitlist", help="patients who asked for an earlier time")
    sub = wl.add_subparsers(dest="waitlist_command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("add", help="put a patient on the waitlist")
    p.add_argument("--patient", type=int, required=True, metavar="ID")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--doctor", type=int, metavar="ID")
    who.add_argument("--department", type=int, metavar="ID")
    p.add_argument("--until", metavar="DATE", help="YYYY-MM-DD; no longer after that day")
    p.add_argument("--days", metavar="DAYS", help="weekdays that suit, e.g. mon,tue")
    p.add_argument("--between", metavar="HH:MM-HH:MM", help="times of day that suit")
    p.add_argument("--minutes", type=int, default=30, help="how long the visit is (default 30)")
    p.add_argument("--note", default="", help="anything the desk should know")
    p.set_defaults(handler=_waitlist_add)
    p = sub.add_parser("list", help="the waiting requests, longest waiting first")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_waitlist_list)
    p = sub.add_parser("remove", help="take a request off the waitlist")
    p.add_argument("entry_id", type=int, metavar="ID")
    p.set_defaults(handler=_waitlist_remove)


def _checkin(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        patient_flow.check_in(clinic, SYSTEM, args.appointment_id)
        print(f"Appointment {args.appointment_id}: arrived.")
    finally:
        clinic.close()


def _call(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        patient_flow.call_in(clinic, SYSTEM, args.appointment_id)
        print(f"Appointment {args.appointment_id}: in consultation.")
    finally:
        clinic.close()


def _undo(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        state = patient_flow.undo_step(clinic, SYSTEM, args.appointment_id)
        print(f"Appointment {args.appointment_id}: {FLOW_LABELS[state].lower()} again.")
    finally:
        clinic.close()


def _walk_in(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        made = patient_flow.walk_in(
            clinic, SYSTEM, patient_id=args.patient, doctor_id=args.doctor, reason=args.reason
        )
        extra = " (overbooked)" if made.overbooked else ""
        print(f"Appointment {made.appointment_id} at {made.start:%H:%M}{extra}: arrived.")
    finally:
        clinic.close()


def _waiting(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        rows = patient_flow.waiting_room(clinic, SYSTEM, args.doctor)
        if args.json:
            print(json.dumps([to_json(r) for r in rows], ensure_ascii=False, indent=2))
            return
        if not rows:
            print("Nobody is waiting.")
        for r in rows:
            state = FLOW_LABELS[r.status]
            print(
                f"{r.appointment_id:>8}  {r.time:%H:%M}  {r.waited_minutes:>3} min  "
                f"{state:<15} {r.patient}  ({r.doctor}){'  overbooked' if r.overbooked else ''}"
            )
    finally:
        clinic.close()


def _waitlist_add(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        entry = waitlist.add(
            clinic,
            SYSTEM,
            patient_id=args.patient,
            doctor_id=args.doctor,
            department_id=args.department,
            days=args.days,
            between=args.between,
            until=args.until,
            minutes=args.minutes,
            note=args.note,
        )
        print(f"Waitlist request {entry} added.")
    finally:
        clinic.close()


def _waitlist_list(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        rows = waitlist.list_entries(clinic, SYSTEM)
        if args.json:
            print(json.dumps([to_json(r) for r in rows], ensure_ascii=False, indent=2))
            return
        if not rows:
            print("Nobody is on the waitlist.")
        for r in rows:
            whom = r.doctor or f"any doctor of {r.department}"
            when = r.days or "any day"
            if r.time_from and r.time_to:
                when += f", {r.time_from:%H:%M}-{r.time_to:%H:%M}"
            until = f", until {r.until:%Y-%m-%d}" if r.until else ""
            print(f"{r.id:>6}  {r.patient}  with {whom}  ({when}{until}; {r.minutes} min)")
    finally:
        clinic.close()


def _waitlist_remove(args: argparse.Namespace) -> None:
    clinic = open_from_args(args)
    try:
        waitlist.remove(clinic, SYSTEM, args.entry_id)
        print(f"Waitlist request {args.entry_id} removed.")
    finally:
        clinic.close()
