"""Patient data on disk: private files on POSIX, and no SQLite database on a network share.

* Files: the database (and SQLite's ``-wal``/``-shm``, which SQLite creates with the
  database file's own permissions), backups, exports and logs are 0600 in a 0700
  data folder. :func:`private_process` sets the process umask to 077 at start-up
  (the desktop and ``hms``), so everything the process creates is private, and
  tightens a data folder an older version left 0755; the database file itself is
  created 0600 explicitly (:func:`prepare_sqlite_file`), whoever opens it.
* Network file systems: SQLite's locking and WAL need shared memory on one machine;
  on NFS or SMB two PCs corrupt the file. :func:`refuse_network_filesystem` reads
  the mount table (``/proc/mounts`` on Linux) and refuses such a file, pointing at
  PostgreSQL. Elsewhere it recognises a Windows UNC path (``\\\\server\\share``);
  a mapped drive letter or a macOS mount is not detected.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

from hms_desktop.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
#: File system types a SQLite database must not live on (``/proc/mounts`` names).
NETWORK_FS_TYPES = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "coda",
        "ceph", "glusterfs", "lustre", "gpfs", "9p", "davfs", "ocfs2", "gfs2",
        "fuse.sshfs", "fuse.glusterfs", "fuse.cephfs", "fuse.davfs2", "fuse.rclone",
        "fuse.s3fs", "fuse.smbnetfs",
    }
)  # fmt: skip
MOUNTS_FILE = Path("/proc/mounts")


def _posix() -> bool:
    return os.name == "posix"


def private_process(data_folder: Path) -> None:
    """Make what this process creates private (umask 077) and the data folder 0700.

    Call once at start-up, before any file is written. Does nothing on Windows,
    whose per-user folders are private already.
    """
    if not _posix():
        return
    os.umask(PRIVATE_UMASK)
    tighten_folder(data_folder)


def tighten_folder(folder: Path) -> None:
    """Create ``folder`` 0700, or take group and other access off an existing one."""
    if not _posix():
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077 and folder.stat().st_uid == os.getuid():
            folder.chmod(mode & 0o700)
            log.info("data folder %s was %o; now %o", folder, mode, mode & 0o700)
    except OSError as err:  # not ours, or read-only: the database open reports what matters
        log.warning("could not make %s private: %s", folder, err)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file 0600 if missing; take group/other access off an existing one.

    SQLite then creates ``-wal`` and ``-shm`` with the same permissions. Problems
    are left for SQLite to report when it opens the file.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return
    if not _posix():
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        return
    except FileExistsError:
        pass
    except OSError:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        part = Path(f"{path}{suffix}")
        try:
            info = part.stat()
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077 and info.st_uid == os.getuid():
                # Take away only what others had: a file kept read-only stays read-only.
                part.chmod(mode & ~0o077)
        except OSError:
            continue


def _unescape(field: str) -> str:
    # /proc/mounts writes a space as \040, a tab as \011, a backslash as \134.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(table: str) -> list[tuple[str, str]]:
    """(mount point, file system type) for each line of a ``/proc/mounts`` text."""
    mounts = []
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def filesystem_type(path: Path, mounts: str) -> str | None:
    """The type of the file system ``path`` is on, by the longest mount point over it."""
    target = str(path)
    best, kind = -1, None
    for point, fs_type in parse_mounts(mounts):
        prefix = point.rstrip("/") + "/"
        if (target == point or target.startswith(prefix) or point == "/") and len(point) > best:
            best, kind = len(point), fs_type
    return kind


def refuse_network_filesystem(path: Path, mounts: str | None = None) -> None:
    """Refuse a SQLite database on a network file system.

    Args:
        path: the database file (it may not exist yet).
        mounts: a ``/proc/mounts`` text (default: this machine's, when there is one).

    Raises:
        DatabaseUnavailableError: the file is on NFS, SMB/CIFS or another network FS.
    """
    kind: str | None = None
    if str(path).startswith(("\\\\", "//")) and not _posix():
        kind = "a Windows network share"
    else:
        if mounts is None:
            try:
                mounts = MOUNTS_FILE.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return  # no mount table here (macOS, Windows): nothing to go by
        # Symbolic links resolved: a link on the local disk may point at a share.
        fs_type = filesystem_type(path.resolve(), mounts)
        if fs_type is not None and fs_type.lower() in NETWORK_FS_TYPES:
            kind = fs_type
    if kind is not None:
        raise DatabaseUnavailableError(
            f"The clinic database {path} is on a network file system ({kind}), where SQLite "
            "cannot lock it safely; keep it on this PC's own disk, or use PostgreSQL when "
            "several PCs share one clinic database."
        )
