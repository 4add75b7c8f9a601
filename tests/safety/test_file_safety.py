"""Private files (0600 in a 0700 folder) and no SQLite database on a network file system."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hms_desktop import file_safety
from hms_desktop.db.engine import Database
from hms_desktop.errors import DatabaseUnavailableError
from tests.cli.conftest import run_subprocess

MOUNTS = """\
/dev/nvme0n1p2 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
server:/export/clinic /mnt/clinic nfs4 rw,relatime,vers=4.2 0 0
//nas/front\\040desk /media/front\\040desk cifs rw,relatime,vers=3.0 0 0
/dev/sdb1 /mnt/clinic/local ext4 rw,relatime 0 0
sshfs#me@host: /home/me/remote fuse.sshfs rw 0 0
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("path", "fs_type"),
    [
        ("/home/me/clinic.sqlite3", "ext4"),
        ("/mnt/clinic/clinic.sqlite3", "nfs4"),
        ("/mnt/clinic/local/clinic.sqlite3", "ext4"),  # a local disk mounted inside the share
        ("/mnt/clinicx/clinic.sqlite3", "ext4"),  # a name that only starts like the share
        ("/media/front desk/clinic.sqlite3", "cifs"),  # \040 in the table is a space
        ("/home/me/remote/clinic.sqlite3", "fuse.sshfs"),
    ],
)
def test_the_mount_table_gives_the_file_systems_type(path: str, fs_type: str) -> None:
    assert file_safety.filesystem_type(Path(path), MOUNTS) == fs_type


@pytest.mark.parametrize(
    "path",
    ["/mnt/clinic/clinic.sqlite3", "/media/front desk/x.sqlite3", "/home/me/remote/c.sqlite3"],
)
def test_a_database_on_a_network_file_system_is_refused_naming_postgresql(path: str) -> None:
    with pytest.raises(DatabaseUnavailableError) as refused:
        file_safety.refuse_network_filesystem(Path(path), MOUNTS)
    message = str(refused.value)
    assert "\n" not in message and path in message
    assert "network file system" in message and "PostgreSQL" in message


def test_a_local_database_is_accepted() -> None:
    file_safety.refuse_network_filesystem(Path("/home/me/clinic.sqlite3"), MOUNTS)
    file_safety.refuse_network_filesystem(Path("/mnt/clinic/local/clinic.sqlite3"), MOUNTS)


def test_a_symlink_to_a_share_is_followed(tmp_path: Path) -> None:
    link = tmp_path / "clinic-link"
    link.symlink_to("/mnt/clinic")
    table = MOUNTS + f"tmpfs {tmp_path} tmpfs rw 0 0\n"
    with pytest.raises(DatabaseUnavailableError, match="nfs4"):
        file_safety.refuse_network_filesystem(link / "clinic.sqlite3", table)


def test_a_new_database_and_its_wal_and_shm_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    folder = tmp_path / "new-folder"
    path = folder / "clinic.sqlite3"
    db = Database(f"sqlite:///{path}")  # this process's umask is the usual 022
    try:
        with db.write() as session:
            session.connection().exec_driver_sql("CREATE TABLE t (x INTEGER)")
            session.connection().exec_driver_sql("INSERT INTO t VALUES (1)")
        with db.engine.connect() as conn:  # open: the -wal and -shm files exist now
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        db.dispose()
    assert _mode(folder) == 0o700


def test_an_existing_too_open_database_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o644)  # as an older version created it
    Database(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600


def test_hms_makes_the_data_folder_database_backups_and_exports_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an older version left it
    env = {"HMS_DATA_DIR": str(data), "HMS_DATABASE_URL": ""}

    init = run_subprocess("init", env=env)
    assert init.code == 0, init.err
    backup = run_subprocess("backup", str(data / "backups" / "copy.sqlite3"), env=env)
    assert backup.code == 0, backup.err
    export = run_subprocess(
        "export", "appointments", "--from", "2026-11-01", "--to", "2026-11-30",
        "--format", "csv", "--output", str(data / "a.csv"),
        env=env,
    )  # fmt: skip
    assert export.code == 0, export.err

    assert _mode(data) == 0o700
    assert _mode(data / "clinic.sqlite3") == 0o600
    assert _mode(data / "backups") == 0o700 and _mode(data / "backups" / "copy.sqlite3") == 0o600
    assert _mode(data / "a.csv") == 0o600
    leftovers = [p for p in data.rglob("*") if p.is_file() and _mode(p) & 0o077]
    assert leftovers == []


def test_the_log_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from hms_desktop.app import LogFile

    monkeypatch.setenv("HMS_DATA_DIR", str(tmp_path / "data"))
    handler = LogFile(logging.Formatter("%(message)s"))
    try:
        path = handler.open()
    finally:
        handler.close()
    assert path is not None and _mode(path) == 0o600 and _mode(path.parent) == 0o700


def test_opening_a_database_on_this_machines_nfs_mount_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "mounts"
    share = tmp_path / "share"
    table.write_text(f"server:/clinic {share} nfs4 rw 0 0\n", encoding="utf-8")
    monkeypatch.setattr(file_safety, "MOUNTS_FILE", table)
    with pytest.raises(DatabaseUnavailableError, match="use PostgreSQL when several PCs"):
        Database(f"sqlite:///{share / 'clinic.sqlite3'}")
    assert not share.exists()  # refused before anything was created


def test_a_file_kept_read_only_is_tightened_but_never_made_writable(tmp_path: Path) -> None:
    path = tmp_path / "clinic.sqlite3"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o444)  # the owner keeps it read-only on purpose (an archive copy)
    file_safety.prepare_sqlite_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
