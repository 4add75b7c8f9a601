"""A lock file that says "an HMS Desktop process has this clinic database open".

The desktop application takes :class:`InstanceLock` on its SQLite file when it
starts and keeps it until it quits; ``hms restore`` refuses while another process
holds it. The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on
Windows), so it disappears by itself when the holder dies, even by SIGKILL: a
stale lock file never blocks anyone.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import TracebackType

from hms_desktop.errors import DatabaseUnavailableError

#: Lock files this process holds, so a restore started from the running app does
#: not mistake its own lock for another program's.
_held: dict[Path, InstanceLock] = {}
_held_guard = threading.Lock()


def lock_path_for(db_path: Path) -> Path:
    """The lock file beside a database file (``clinic.sqlite3.lock``)."""
    return db_path.with_name(db_path.name + ".lock")


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


class InstanceLock:
    """An exclusive lock on ``<database>.lock``; use as a context manager or acquire/release."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path).resolve()
        self.path = lock_path_for(self.db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or fail at once.

        Raises:
            DatabaseUnavailableError: another process holds it (the message names it).
        """
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            raise DatabaseUnavailableError(
                f"HMS Desktop is already using the clinic database {self.db_path}"
                f"{f' ({holder})' if holder else ''}. Close that program first."
            )
        os.ftruncate(fd, 0)
        import socket  # here, not at the top: the start-up imports this before its window

        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd
        with _held_guard:
            _held[self.db_path] = self

    def release(self) -> None:
        """Let go of the lock (the file stays; it means nothing without the OS lock)."""
        if self._fd is None:
            return
        with _held_guard:
            _held.pop(self.db_path, None)
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def held_by_this_process(db_path: Path) -> bool:
    with _held_guard:
        return Path(db_path).resolve() in _held


def holder_elsewhere(db_path: Path) -> str | None:
    """Who else holds the lock on ``db_path`` ("pid N on host"), or None when nobody does.

    The lock this process holds itself does not count.
    """
    if held_by_this_process(db_path):
        return None
    probe = InstanceLock(db_path)
    if not probe.path.exists():
        return None
    try:
        probe.acquire()
    except DatabaseUnavailableError:
        fd = os.open(probe.path, os.O_RDONLY)
        try:
            return _read_holder(fd) or "another process"
        finally:
            os.close(fd)
    probe.release()
    return None
