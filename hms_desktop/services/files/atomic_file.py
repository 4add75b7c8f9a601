"""Write a file completely or not at all, and clean up after writers that died.

:class:`AtomicFile` writes to a hidden temporary file in the target's folder (same
file system, so the final rename is atomic), fsyncs it, and only then renames it
over the target with :func:`os.replace`. Leaving the ``with`` block without
:meth:`AtomicFile.commit` (cancel, error, exception) deletes the temporary file,
and the target is untouched.

A hard crash cannot delete anything, so every temporary file of an export or a
backup (:func:`partial_file`) is named ``.<target>~<host>~<pid>~<random>.hms-partial``
(the cleaner never mistakes a user's file for one), and while it exists a marker in
the data folder's ``partial-files`` names its folder. Leftovers whose process is gone
are removed by the next write into that folder (:func:`sweep_stale`) and at the next
start of the application or the ``hms`` command (:func:`sweep_after_crash`), wherever
they were written.

Only regular files are written (:func:`regular_target`): a device, a folder or another
special file at the target is refused, and a symbolic link is written *through*: the
file it points to is replaced atomically and the link stays a link.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from hms_desktop.config import data_dir
from hms_desktop.errors import ValidationError

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


def regular_target(target: Path | str) -> Path:
    """The absolute path to write for ``target``: itself, or the file a symlink points to.

    Raises:
        ValidationError: the target (or what a link points to) is a folder, a device,
            a pipe or a socket, or a link that loops.
    """
    path = Path(target).expanduser().absolute()
    if path.is_symlink():
        try:
            path = path.resolve(strict=False)
        except (OSError, RuntimeError):
            raise ValidationError(
                f"{target} is a symbolic link that leads nowhere; choose a file name.",
                field="path",
            ) from None
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as err:
        if err.errno == errno.ELOOP:  # a link loop
            raise ValidationError(
                f"{target} is a symbolic link that leads nowhere; choose a file name.",
                field="path",
            ) from None
        return path  # unreadable: the write itself will say why
    if stat.S_ISREG(mode):
        return path
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    shown = str(target) if str(path) == str(target) else f"{target} (which leads to {path})"
    raise ValidationError(
        f"{shown} is {kind}, not a file; choose a file name to write to.", field="path"
    )


# --- the register of unfinished writes --------------------------------------------------------


def _register_folder() -> Path:
    return data_dir() / "partial-files"


def _register(folder: Path) -> Path | None:
    """A marker saying this process writes a partial file in ``folder`` (None if the data
    folder cannot hold it: the next write into ``folder`` still cleans up)."""
    try:
        register = _register_folder()
        register.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f"{_HOST}~{os.getpid()}~", suffix=".folder", dir=register
        )
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(str(folder))
        return Path(name)
    except OSError:
        log.warning("could not note the partial file's folder %s", folder, exc_info=True)
        return None


def sweep_after_crash() -> list[Path]:
    """Remove the partial files of exports and backups whose process died, wherever they
    were written; return what was removed. Never raises: called at every start."""
    removed: list[Path] = []
    try:
        markers = list(os.scandir(_register_folder()))
    except OSError:
        return removed
    now = time.time()
    for marker in markers:
        host, _, rest = marker.name.partition("~")
        pid_text = rest.partition("~")[0]
        try:
            old = now - marker.stat().st_mtime > STALE_AFTER_S
            dead = host == _HOST and pid_text.isdigit() and not _pid_alive(int(pid_text))
            if not (old or dead):
                continue
            folder = Path(Path(marker.path).read_text(encoding="utf-8"))
            removed += sweep_stale(folder)
            os.unlink(marker.path)
        except (OSError, ValueError):
            continue
    return removed


@contextlib.contextmanager
def partial_file(target: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary name beside ``target`` that the cleaners recognise, for writers that
    need a path rather than a file object (SQLite's backup, ``pg_dump``).

    The file exists (empty) on entry; it, and the ``-journal``/``-wal``/``-shm`` files
    SQLite may add, are removed on exit unless renamed away. Stale leftovers in the
    folder are removed first.
    """
    folder = target.parent
    sweep_stale(folder)
    marker = _register(folder)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}~{_HOST}~{os.getpid()}~", suffix=suffix + TEMP_SUFFIX, dir=folder
        )
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
        finally:
            for extra in ("", "-journal", "-wal", "-shm"):
                Path(f"{tmp}{extra}").unlink(missing_ok=True)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


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
        """Raises:
        ValidationError: the target is not a regular file (see :func:`regular_target`).
        """
        self.target = regular_target(target)
        self.temp_path: Path | None = None
        self._file: BinaryIO | None = None
        self._committed = False
        self._marker: Path | None = None

    @property
    def file(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("AtomicFile is not open")
        return self._file

    def __enter__(self) -> AtomicFile:
        folder = self.target.parent
        sweep_stale(folder)
        self._marker = _register(folder)
        # Hidden (leading dot), unique, and recognisable as ours by sweep_stale.
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{self.target.name}~{_HOST}~{os.getpid()}~",
                suffix=TEMP_SUFFIX,
                dir=folder,
            )
        except BaseException:
            self._unregister()
            raise
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
        self._unregister()
        _fsync_folder(self.target.parent)
        return size

    def _unregister(self) -> None:
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
            self._marker = None

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
        self._unregister()
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
        with contextlib.suppress(OSError):
            self._unregister()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.discard()
