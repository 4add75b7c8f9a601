"""``hms jobs ...`` and ``hms reports export`` through the real command entry point."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pypdf
import pytest

from hms_desktop.cli import main
from hms_desktop.services.clock import FakeClock
from tests import factories
from tests.conftest import make_clinic
from tests.jobs.conftest import SmtpServer
from tests.jobs.helpers import at, book_on, close_visit

# Bookings are made in the future of the real clock; the commands then run on a fake
# clock (the CLI's SystemClock is replaced) at the moment each job is due.
DAY = date(2030, 1, 15)
REMINDERS_DUE = at(DAY, "08:05")
REPORTS_DUE = at(date(2030, 2, 1), "09:00")


@pytest.fixture(autouse=True)
def cli_clock(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    monkeypatch.setattr("hms_desktop.services.clinic.SystemClock", lambda _tz: clock)
    monkeypatch.setenv("HMS_TIMEZONE", "Europe/Berlin")  # the fake clock's zone
    return clock


def _data(url: str, clock: FakeClock) -> dict[str, int]:
    clinic = make_clinic(url, clock)
    try:
        dept = factories.department(clinic, "Dermatology")
        doc = factories.doctor(clinic, dept, "Dr. Cli Test")
        patients = [factories.patient(clinic, "Pia Cli"), factories.patient(clinic, "Max Cli")]
        appts = book_on(clinic, clock, doc, patients, DAY)
        clock.set(at(DAY, "18:00"))
        close_visit(clinic, appts[0], "completed", treat="Eczema")
        return {"doctor": doc, "appointment": appts[1]}
    finally:
        clinic.close()


@pytest.fixture
def smtp_env(smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    monkeypatch.setenv("HMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HMS_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("HMS_SMTP_TLS", "none")
    monkeypatch.setenv("HMS_SMTP_FROM", "cli@clinic.test")
    return smtp_server


def test_run_reminders_prints_what_was_sent_and_runs_once(
    database_url: str, clock: FakeClock, smtp_env: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _data(database_url, clock)
    clock.set(at(DAY, "07:00"))
    early = main(["--database", database_url, "jobs", "run", "reminders", "--date", "2030-01-15"])
    assert early == 2  # not due before 08:00: claiming it now would skip later bookings
    assert "not due until 2030-01-15 08:00" in capsys.readouterr().err
    clock.set(REMINDERS_DUE)

    code = main(["--database", database_url, "jobs", "run", "reminders", "--date", "2030-01-15"])

    out, err = capsys.readouterr()
    assert code == 0, err
    # Only Max's visit is still booked; Pia's is completed.
    assert re.search(
        r"^  Sent +p\d+@mail\.test  Appointment reminder: 2030-01-15 09:30 with Dr\. Cli Test$",
        out,
        re.MULTILINE,
    )
    assert out.strip().endswith("Reminders for 2030-01-15: 1 queued, 1 sent")
    assert [m.subject for m in smtp_env.mailbox.messages] == [
        "Appointment reminder: 2030-01-15 09:30 with Dr. Cli Test"
    ]

    again = main(["--database", database_url, "jobs", "run", "reminders", "--date", "2030-01-15"])
    assert again == 0
    assert "already done" in capsys.readouterr().out
    assert len(smtp_env.mailbox.messages) == 1


def test_run_monthly_report_and_list(
    sqlite_url: str, clock: FakeClock, smtp_env: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _data(sqlite_url, clock)
    assert (
        main(["--database", sqlite_url, "jobs", "run", "monthly-report", "--month", "2030-01"]) == 2
    )
    assert "not due until 2030-02-01 00:00" in capsys.readouterr().err  # January is not over
    clock.set(REPORTS_DUE)

    assert (
        main(["--database", sqlite_url, "jobs", "run", "monthly-report", "--month", "2030-01"]) == 0
    )
    out = capsys.readouterr().out
    assert "Dr. Cli Test: 2 appointments" in out
    assert "Monthly reports for January 2030: 1 generated, 1 sent" in out
    assert smtp_env.mailbox.messages[0].subject == "Monthly report January 2030: Dr. Cli Test"

    assert main(["--database", sqlite_url, "jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "reminders       Daily at 08:00, for the same day's appointments" in listing
    assert "monthly-report  On the 1st of each month at 00:00" in listing
    assert "monthly-report  2030-01    done" in listing
    assert "Outbox: 1 sent" in listing


def test_bad_input_is_a_one_line_error(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--database", sqlite_url, "jobs", "run", "monthly-report", "--month", "2030-13"])
    assert code == 2
    assert (
        capsys.readouterr().err.strip() == "hms: error: A month looks like 2026-11, not '2030-13'."
    )


def test_reports_export_writes_html_and_a_valid_pdf(
    sqlite_url: str, clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _data(sqlite_url, clock)
    clock.set(REPORTS_DUE)
    base = ["--database", sqlite_url, "reports", "export", "--doctor", str(ids["doctor"])]

    assert main([*base, "--month", "2030-01", "--output", str(tmp_path / "jan.html")]) == 0
    assert "report generated now" in capsys.readouterr().out
    page = (tmp_path / "jan.html").read_text("utf-8")
    assert "Monthly report: January 2030" in page and "Eczema" in page

    assert (
        main(["--database", sqlite_url, "jobs", "run", "monthly-report", "--month", "2030-01"]) == 0
    )
    assert main([*base, "--month", "2030-01", "--output", str(tmp_path / "jan.pdf")]) == 0
    assert "stored report" in capsys.readouterr().out
    raw = (tmp_path / "jan.pdf").read_bytes()
    assert raw.startswith(b"%PDF-")
    reader = pypdf.PdfReader(str(tmp_path / "jan.pdf"))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "Monthly report: January 2030" in text
    assert "Eczema" in text
    assert reader.metadata is not None and reader.metadata.title == (
        f"Monthly report 2030-01 doctor {ids['doctor']}"
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    code = main([*base, "--month", "2030-01", "--output", str(tmp_path / "nowhere" / "x.pdf")])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_outbox_retry_and_reports_list_commands(
    sqlite_url: str,
    clock: FakeClock,
    smtp_down: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = _data(sqlite_url, clock)
    clock.set(REPORTS_DUE)
    monkeypatch.setenv("HMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HMS_SMTP_PORT", str(smtp_down.port))
    monkeypatch.setenv("HMS_SMTP_TLS", "none")
    db = ["--database", sqlite_url]
    assert main([*db, "jobs", "run", "monthly-report", "--month", "2030-01"]) == 0
    assert "1 waiting to send" in capsys.readouterr().out  # the server is down

    assert main([*db, "jobs", "outbox", "--status", "pending"]) == 0
    listing = capsys.readouterr().out
    assert "Waiting    1 tries" in listing and "refused the connection" in listing

    smtp_down.start()
    assert main([*db, "jobs", "retry"]) == 0  # only failed ones are retried; this one waits
    assert capsys.readouterr().out.splitlines()[0] == "0 messages queued again."
    assert main([*db, "reports", "list", "--doctor", str(ids["doctor"])]) == 0
    assert "2030-01  Dr. Cli Test" in capsys.readouterr().out
    assert len(smtp_down.mailbox.messages) == 0  # its back-off has not passed on the real clock
