"""Write a file completely or not at all.

:class:`AtomicFile` writes to a hidden temporary file in the target's folder (same
file system, so the final rename is atomic), fsyncs it, and only then renames it
over the target with :func:`os.replace`. Leaving the ``with`` block without
:meth:`AtomicFile.commit` (cancel, error, exception) deletes the temporary file,
and the target is untouched. A hard crash cannot delete anything, so each temporary
name carries the host and process id, and the next write into that folder removes
leftovers whose process is gone (see :func:`sweep_stale`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".hms-partial"
#: A temporary file untouched for this long is a leftover, whoever wrote it.
STALE_AFTER_S = 6 * 3600.0
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
_TEMP_NAME = re.compile(
    r"^\..*~(?P<host>[A-Za-z0-9-]+)~(?P<pid>\d+)~[^~]*" + re.escape(TEMP_SUFFIX)
)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep_stale(folder: Path) -> list[Path]:
    """Delete temporary files left in ``folder`` by writers that died; return them.

    A file is a leftover when its process (on this host) no longer runs, or when
    nobody wrote to it for :data:`STALE_AFTER_S`. Files that cannot be removed are
    skipped: sweeping is a courtesy and never fails a write.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None:
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
            dead = match["host"] == _HOST and not _pid_alive(int(match["pid"]))
            if (old or dead) and int(match["pid"]) != os.getpid():
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    if removed:
        log.info("removed %d leftover partial file(s) in %s", len(removed), folder)
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only; Windows has no directory fsync)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory; the data is synced
        pass
    finally:
        os.close(fd)


class AtomicFile:
    """A temporary file beside ``target`` that becomes ``target`` on :meth:`commit`.

    Use it as a context manager; ``file`` is open for binary writing (and seekable,
    which zip writers need).

    Raises:
        OSError: the folder does not exist or is not writable (from ``__enter__``),
            or writing/renaming fails (from :meth:`commit`).
    """

    def __init__(self, target: Path | str) -> None:
        self.target = Path(target)
        self.temp_path: Path | None = None
        self._file: BinaryIO | None = None
        self._committed = False

    @property
    def file(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("AtomicFile is not open")
        return self._file

    def __enter__(self) -> AtomicFile:
        folder = self.target.parent
        sweep_stale(folder)
        # Hidden (leading dot), unique, and recognisable as ours by sweep_stale.
        fd, name = tempfile.mkstemp(
            prefix=f".{self.target.name}~{_HOST}~{os.getpid()}~",
            suffix=TEMP_SUFFIX,
            dir=folder,
        )
        self.temp_path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        return self

    def finish(self) -> int:
        """Flush and fsync the temporary file; return its size in bytes."""
        handle = self.file
        handle.flush()
        os.fsync(handle.fileno())
        return os.fstat(handle.fileno()).st_size

    def commit(self) -> int:
        """Sync the data, rename it over the target, and return the size in bytes."""
        size = self.finish()
        self.file.close()
        assert self.temp_path is not None
        os.replace(self.temp_path, self.target)
        self._committed = True
        _fsync_folder(self.target.parent)
        return size

    def commit_as_new(self, path: Path) -> int:
        """Rename the finished data to ``path``, which must not exist; return the size.

        For keeping an export whose target could not be replaced (open in another
        program): the data goes to a fresh name and never overwrites anything.

        Raises:
            FileExistsError: ``path`` exists (choose another name and call again).
            OSError: the rename failed otherwise.
        """
        if not self.file.closed:
            self.finish()
            self.file.close()
        assert self.temp_path is not None
        size = self.temp_path.stat().st_size
        if os.name == "nt":
            os.rename(self.temp_path, path)  # refuses an existing name on Windows
        else:
            os.link(self.temp_path, path)  # refuses an existing name, atomically
            self.temp_path.unlink()
        self._committed = True
        _fsync_folder(path.parent)
        return size

    def discard(self) -> None:
        """Close and delete the temporary file (safe to call twice)."""
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError):
                self._file.close()
        if self.temp_path is not None and not self._committed:
            try:
                self.temp_path.unlink(missing_ok=True)
            except OSError:  # never hide the error that made us discard
                log.warning("could not remove the partial file %s", self.temp_path, exc_info=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.discard()
