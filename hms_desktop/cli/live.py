"""``hms watch``: the clinic's change events as they happen, one line each."""

from __future__ import annotations

import argparse
import json
import queue
import sys
from typing import Any

from hms_desktop.cli import open_from_args
from hms_desktop.db.changes import ChangeEvent
from hms_desktop.errors import HmsError


def register(subparsers: Any) -> None:
    watch = subparsers.add_parser(
        "watch",
        help="print each change to the clinic's data as it happens (PostgreSQL)",
        description=(
            "Print one line per change event (kind, ids, the sender's commit time) as other "
            "programs commit them, until interrupted (Ctrl+C)."
        ),
    )
    watch.add_argument("--json", action="store_true", help="one JSON object per line")
    watch.set_defaults(handler=_watch)


def event_line(change: ChangeEvent, *, as_json: bool) -> str:
    """One printed line for a change event."""
    if as_json:
        return json.dumps(change.to_json(), ensure_ascii=False)
    ids = "many" if change.ids is None else ",".join(str(i) for i in change.ids) or "-"
    return f"{change.at.isoformat(timespec='milliseconds')}  {change.topic:<14} {ids}"


def _watch(args: argparse.Namespace) -> int:
    clinic = open_from_args(args)
    try:
        heard: queue.Queue[ChangeEvent] = queue.Queue()

        def hear(events: list[ChangeEvent]) -> None:
            for change in events:
                heard.put(change)

        clinic.changes.subscribe_events(hear)
        if not clinic.start_listening():
            raise HmsError(
                "hms watch needs the clinic on PostgreSQL: on a SQLite file, changes are "
                "seen only inside the program that makes them."
            )
        listener = clinic.listener
        assert listener is not None
        if not listener.listening.wait(10):
            raise HmsError(f"Cannot listen for changes on {clinic.db.display_location}.")
        print(
            f"hms: watching {clinic.db.display_location} for changes (Ctrl+C stops)",
            file=sys.stderr,
            flush=True,
        )
        try:
            while True:
                try:  # a short wait, so Ctrl+C is seen at once even on a quiet clinic
                    change = heard.get(timeout=0.5)
                except queue.Empty:
                    continue
                print(event_line(change, as_json=args.json), flush=True)
        except KeyboardInterrupt:
            return 0
    finally:
        clinic.close()
