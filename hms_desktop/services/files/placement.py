"""Putting a finished export in place, even when the old file is open elsewhere.

On Windows, renaming over last week's export fails while Excel has it open; on a
shared folder a LibreOffice or Excel user elsewhere leaves a lock file beside it.
Either way the new export must not be lost: it is kept under a fresh name
("history (2).csv") and the caller tells the user where it went.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hms_desktop.services.files.atomic_file import AtomicFile

log = logging.getLogger(__name__)

#: Fresh names tried before giving up ("name (2).csv" ... "name (99).csv").
MAX_ALTERNATIVES = 99


@dataclass(frozen=True)
class Placed:
    """Where the data went, its size, and the target it could not replace (if any)."""

    path: Path
    bytes: int
    instead_of: Path | None = None


def lock_files(target: Path) -> list[Path]:
    """The owner or lock files another program keeps beside ``target`` while it is open.

    Excel and Word write ``~$NAME`` (long names lose their first two letters),
    LibreOffice ``.~lock.NAME#``.
    """
    name = target.name
    candidates = {f"~${name}", f"~${name[2:]}", f".~lock.{name}#"}
    return [target.with_name(c) for c in sorted(candidates) if target.with_name(c).exists()]


def open_elsewhere(target: Path) -> bool:
    """True when another program says it has ``target`` open (see :func:`lock_files`)."""
    return bool(lock_files(target))


def alternative_name(target: Path, attempt: int) -> Path:
    """``history.csv`` -> ``history (2).csv`` for attempt 2, and so on."""
    return target.with_name(f"{target.stem} ({attempt}){target.suffix}")


def first_free(target: Path) -> Path:
    """``target``, or its first alternative name no file has yet ("name (2).pdf"); ``target``
    itself when all are taken."""
    if not target.exists():
        return target
    for attempt in range(2, MAX_ALTERNATIVES + 1):
        other = alternative_name(target, attempt)
        if not other.exists():
            return other
    return target


def move_as_new(finished: Path, target: Path) -> Path:
    """Move the ``finished`` file to ``target``, or to its first free alternative name:
    nothing already there is ever replaced, even a file made a moment ago by another PC.
    Returns where the file went.

    Raises:
        FileExistsError: every name is taken.
        OSError: the move failed otherwise.
    """
    for attempt in range(1, MAX_ALTERNATIVES + 1):
        candidate = target if attempt == 1 else alternative_name(target, attempt)
        try:
            if os.name == "nt":
                os.rename(finished, candidate)  # refuses an existing name on Windows
            else:
                os.link(finished, candidate)  # refuses an existing name, atomically
                finished.unlink()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(
        errno.EEXIST, f"{MAX_ALTERNATIVES} files of that name are there already", str(target)
    )


def place(out: AtomicFile) -> Placed:
    """Rename ``out``'s finished data over its target; if the target is open or locked
    elsewhere, keep it under the first free alternative name instead.

    Raises:
        OSError: no name could be written (the folder itself refuses), or the data
            could not be synced.
    """
    target = out.target
    if not open_elsewhere(target):
        try:
            return Placed(target, out.commit())
        except PermissionError as err:
            # The folder took our temporary file, so it is writable: what refuses is the
            # target itself (open in Excel on Windows, read-only, immutable).
            log.warning("cannot replace %s (%s); keeping the export under a new name", target, err)
    for attempt in range(2, MAX_ALTERNATIVES + 1):
        candidate = alternative_name(target, attempt)
        if candidate.exists() or open_elsewhere(candidate):
            continue
        try:
            return Placed(candidate, out.commit_as_new(candidate), instead_of=target)
        except FileExistsError:  # taken a moment ago by someone else: try the next one
            continue
    raise PermissionError(
        f"{target} is open in another program and no free name was found beside it"
    )
