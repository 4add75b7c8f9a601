"""Bad numbers, folders this user may not open, a read-only or newer database: one line, exit 2.

Permissions are real: the commands run in a subprocess. Under root (which may read and
write everything, whatever the mode bits say) the subprocess first gives up the two
capabilities that let it ignore them, so it meets the mode bits as their owner would.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Result, Run, assert_one_line_error

#: prctl(PR_CAPBSET_DROP, cap): CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2).
_PR_CAPBSET_DROP, _DAC_CAPS = 24, (1, 2)


def _mind_the_mode_bits() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _DAC_CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder for the permission tests, made accessible again for clean-up."""
    path = Path(tempfile.mkdtemp(prefix="hms-perm-"))
    yield path
    for inner in path.rglob("*"):
        inner.chmod(0o700) if inner.is_dir() else None
    shutil.rmtree(path, ignore_errors=True)


def as_user(folder: Path, *argv: str, env: dict[str, str] | None = None) -> Result:
    """``hms`` run so that the mode bits of ``folder`` and what is in it apply."""
    more: dict[str, object] = {}
    if os.geteuid() == 0:
        more = {"preexec_fn": _mind_the_mode_bits}
    proc = subprocess.run(
        [sys.executable, "-m", "hms_desktop", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
        env={
            **os.environ,
            "HOME": str(folder),
            "HMS_CONFIG_DIR": str(folder / "config"),
            "HMS_DATA_DIR": str(folder / "data"),
            **(env or {}),
        },
        check=False,
        **more,  # type: ignore[call-overload]
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    "argv",
    [
        ["book", "--patient", "99999999999999999999999", "--doctor", "1", "--date",
         "2026-07-01", "--time", "10:00"],
        ["book", "--patient", "1", "--doctor", "9223372036854775808", "--date", "2026-07-01",
         "--time", "10:00"],
        ["cancel", "99999999999999999999"],
        ["complete", "-3"],
        ["list", "patients", "--patient", "2147483648"],
        ["list", "appointments", "--limit", "99999999999999999999"],
        ["slots", "--doctor", "1" + "0" * 5000],
        ["jobs", "retry", "99999999999999999999"],
        ["export", "history", "--patient", "9223372036854775808", "--output", "x.csv"],
        ["user", "add", "--role", "doctor", "--username", "drx", "--doctor", "1e9"],
    ],
)  # fmt: skip
def test_an_id_out_of_range_is_one_line(hms: Run, tmp_path: Path, argv: list[str]) -> None:
    result = hms(*argv, database=f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert_one_line_error(result, "is not a")
    assert not (tmp_path / "none.sqlite3").exists()


def test_an_unreadable_settings_folder_is_one_line(shared_dir: Path) -> None:
    config = shared_dir / "config"
    config.mkdir()
    (config / "settings.json").write_text("{}")
    config.chmod(0)
    result = as_user(shared_dir, "list", "patients")
    assert_one_line_error(result, "settings file", "cannot be read", "Permission denied")


def test_an_unreadable_data_folder_is_one_line(shared_dir: Path) -> None:
    data = shared_dir / "data"
    data.mkdir()
    data.chmod(0)
    result = as_user(shared_dir, "list", "patients")
    assert_one_line_error(result, f"database folder {data}", "Permission denied")


def test_a_read_only_database_reads_exports_and_checks_and_refuses_writes(
    hms: Run, shared_dir: Path
) -> None:
    folder = shared_dir / "clinic"
    folder.mkdir()
    url = f"sqlite:///{folder / 'clinic.sqlite3'}"
    made = hms("demo-data", "--patients", "12", "--doctors", "2", database=url)
    assert made.code == 0, made.err
    (folder / "clinic.sqlite3").chmod(0o444)
    folder.chmod(0o555)  # nor may the folder be written: no -wal or -shm can be made
    out = shared_dir / "out"
    out.mkdir()
    out.chmod(0o777)

    listed = as_user(shared_dir, "--database", url, "list", "patients", "--json")
    assert listed.code == 0, listed.err
    assert listed.out.count('"full_name"') == 12
    for argv in (["stats"], ["check"], ["list", "appointments", "--limit", "3"]):
        done = as_user(shared_dir, "--database", url, *argv)
        assert done.code == 0, (argv, done.err)
    exported = as_user(
        shared_dir,
        "--database",
        url,
        "export",
        "appointments",
        "--from",
        "2020-01-01",
        "--to",
        "2030-12-31",
        "--output",
        str(out / "all.csv"),
    )
    assert exported.code == 0, exported.err
    assert (out / "all.csv").read_text(encoding="utf-8-sig").count("\n") > 12

    refused = as_user(shared_dir, "--database", url, "cancel", "1")
    assert_one_line_error(refused, "is read-only for this user", "Nothing was saved")
    assert sorted(p.name for p in folder.iterdir()) == ["clinic.sqlite3"]


def test_check_names_a_newer_schema(hms: Run, tmp_path: Path) -> None:
    path = tmp_path / "clinic.sqlite3"
    assert hms("init", database=f"sqlite:///{path}").code == 0
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    result = hms("check", database=f"sqlite:///{path}")
    assert result.code == 1
    assert "schema: 9999" in result.out
    assert "newer version of HMS Desktop" in result.out
    listed = hms("list", "patients", database=f"sqlite:///{path}")
    assert_one_line_error(listed, "newer version of HMS Desktop", "schema 9999")
