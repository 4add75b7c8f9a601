"""The ``hms`` command: a thin front end over the same services as the window.

Each command group lives in its own module with a ``register(subparsers)``
function; ``main`` wires them up. User errors print one line on stderr and exit
with status 2; nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from hms_desktop import __version__, config, file_safety
from hms_desktop.config import Settings, load_settings
from hms_desktop.errors import HmsError
from hms_desktop.services.clinic import Clinic, open_clinic
from hms_desktop.services.files.atomic_file import sweep_after_crash

#: Modules that add sub-commands (each defines ``register(subparsers)``).
COMMAND_MODULES = (
    "hms_desktop.cli.core",
    "hms_desktop.cli.clinic",
    "hms_desktop.cli.jobs",
    "hms_desktop.cli.export",
    "hms_desktop.cli.safety",
    "hms_desktop.cli.live",
    "hms_desktop.cli.desk",
    "hms_desktop.cli.schedule",
)

EXIT_USER_ERROR = 2
#: The largest id a record can have (the primary keys are 32-bit INTEGER on PostgreSQL).
MAX_ID = 2**31 - 1

Handler = Callable[[argparse.Namespace], int | None]


class _Parser(argparse.ArgumentParser):
    """Every mistake on the command line is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"hms: error: {message} (see '{self.prog} --help')\n")


def _whole_number(text: str, what: str, low: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:  # also a number of more than 4300 digits
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise argparse.ArgumentTypeError(f"{shown!r} is not {what} (a whole number)") from None
    if not low <= value <= MAX_ID:
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise argparse.ArgumentTypeError(f"{shown} is not {what}: use {low} to {MAX_ID}")
    return value


def record_id(text: str) -> int:
    """argparse type for a record's id: 1 to :data:`MAX_ID` (a larger one cannot exist,
    and the database driver cannot even be given it)."""
    return _whole_number(text, "an id", 1)


def count(text: str) -> int:
    """argparse type for a number of rows or items: 0 to :data:`MAX_ID`."""
    return _whole_number(text, "a count", 0)


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings({"database_url": getattr(args, "database", None)})


def open_from_args(args: argparse.Namespace, *, migrate: bool = False) -> Clinic:
    """Open the clinic named by ``--database`` (or the settings).

    Without ``migrate`` it must exist and be initialised: a mistyped path is an
    error, never a new empty database.
    """
    return open_clinic(settings_from_args(args), migrate=migrate, must_exist=not migrate)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hms", description="HMS Desktop clinic database tool.")
    parser.add_argument("--version", action="version", version=f"hms {__version__}")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="database URL (default: HMS_DATABASE_URL, the settings file, or the clinic file)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue  # a command group that is not part of this build
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    # Patient data: what this process writes (database, backups, exports) is 0600.
    file_safety.private_process(config.data_dir())
    try:
        # Partial files of an export or backup that died with an earlier run go first.
        sweep_after_crash()
        result: Any = handler(args)
    except HmsError as err:
        print(f"hms: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("hms: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # "hms list ... | head": the reader left; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
