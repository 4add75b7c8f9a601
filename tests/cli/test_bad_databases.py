"""What the command says about a database it cannot use: one line, exit 2, nothing left behind."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hms_desktop.errors import DatabaseUnavailableError
from hms_desktop.services.files import exports
from tests.cli.conftest import Run, assert_one_line_error, run_subprocess


@pytest.mark.parametrize("content", [b"not a database at all, just text" * 40, b""])
@pytest.mark.parametrize("command", [["stats"], ["init"], ["jobs", "list"]])
def test_a_file_that_is_not_a_clinic_database(
    hms: Run, tmp_path: Path, content: bytes, command: list[str]
) -> None:
    path = tmp_path / "clinic.sqlite3"
    path.write_bytes(content or b"SQLite format 3\x00" + b"\xff" * 200)  # a damaged header
    result = hms(*command, database=f"sqlite:///{path}")
    assert_one_line_error(result, str(path), "is not an HMS Desktop database, or it is damaged")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://clinic:secret@db.example/clinic", "mysql://clinic:***@db.example/clinic"),
        ("postgresql://u:pw@host:port/clinic", "postgresql://u:***@host:port/clinic"),
        ("postgresql+asyncpg://u@host/clinic", "postgresql+asyncpg://u@host/clinic"),
    ],
)
def test_a_url_that_is_no_database_url_we_can_use(hms: Run, url: str, shown: str) -> None:
    result = hms("stats", database=url)
    assert_one_line_error(result, repr(shown), "is not a database URL HMS Desktop can use")
    assert "secret" not in result.err and ":pw@" not in result.err


def test_a_server_name_that_does_not_resolve(hms: Run) -> None:
    result = hms("stats", database="postgresql://postgres@nohost.invalid:5432/clinic")
    assert_one_line_error(result, "cannot be reached", "nohost.invalid")


def test_demo_data_with_a_bad_count_creates_no_database(hms: Run, tmp_path: Path) -> None:
    path = tmp_path / "typo.sqlite3"
    result = hms("demo-data", "--doctors", "0", database=f"sqlite:///{path}")
    assert_one_line_error(result, "number of doctors")
    assert list(tmp_path.iterdir()) == []


def test_user_add_without_a_password_on_input_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    assert run_subprocess("--database", url, "init").code == 0
    # No terminal and nothing on standard input (a script, a cron job): getpass meets EOF.
    result = run_subprocess(
        "--database", url, "user", "add", "--username", "desk2", "--role", "receptionist"
    )
    # (after getpass's own prompt and warnings, which it writes to the same stream)
    errors = [
        line.split("hms: error: ", 1)[1]
        for line in result.err.splitlines()
        if "hms: error: " in line
    ]
    assert result.code == 2, result
    assert errors == ["No password given; nothing was created (in scripts, use --password-stdin)."]
    assert "Traceback" not in result.err
    listed = run_subprocess("--database", url, "user", "list")
    assert "desk2" not in listed.out


def test_an_export_that_failed_on_the_database_does_not_wait_on_it_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[str] = []
    with caplog.at_level(logging.WARNING, logger="hms_desktop.services.files.exports"):
        exports.audit_failure(
            lambda outcome, **_: attempts.append(outcome),
            DatabaseUnavailableError("The clinic database is busy."),
        )
    assert attempts == []  # the audit row would wait for the same lock again
    assert "could not be audited: The clinic database is busy." in caplog.text
    assert "Traceback" not in caplog.text
