"""One bad address fails one message: the rest of the pass is delivered.

Addresses saved before they were validated (or written by another tool) reach the
outbox as they are; these tests put them straight into the database.
"""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import update

from hms_desktop.db.models import Doctor, Patient
from hms_desktop.errors import ValidationError
from hms_desktop.jobs.runner import deliver, run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import outbox
from hms_desktop.services.people import patients
from hms_desktop.services.people.validation import clean_email
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on

DAY = date(2026, 6, 16)


def _set_email(clinic: Clinic, patient_id: int, email: str) -> None:
    with clinic.db.write() as session:
        session.execute(update(Patient).where(Patient.id == patient_id).values(email=email))


def _day_of_reminders(clinic: Clinic, clock: FakeClock, n: int) -> list[int]:
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept)
    ids = [factories.patient(clinic) for _ in range(n)]
    book_on(clinic, clock, doc, ids, DAY, start="10:00")
    clock.set(at(DAY, "08:00"))
    return ids


def test_a_line_break_in_one_address_fails_that_reminder_alone(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    use_smtp(clinic, smtp_server.port)
    ids = _day_of_reminders(clinic, clock, 6)
    bad, typo = ids[1], ids[3]
    _set_email(clinic, bad, "eve@mail.test\r\nBcc: everyone@mail.test")
    _set_email(clinic, typo, "not-an-email")

    with caplog.at_level(logging.WARNING):
        result = run_job(clinic, "reminders", trigger="schedule")

    assert result.status == "done"
    assert result.counts["sent"] == 4
    assert outbox.status_counts(clinic) == {"sent": 4, "undeliverable": 2}
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere
    by_patient = {r.patient_id: r for r in outbox.list_messages(clinic, SYSTEM)}
    for pid in ids:
        if pid in (bad, typo):
            row = by_patient[pid]
            # Never "sending": it could not leave, and it says so.
            assert row.status == "undeliverable"
            assert row.last_error.startswith("Not sent:")
            assert "may or may not" not in row.last_error
            assert row.patient_name  # the desk sees whose record to fix
        else:
            assert by_patient[pid].status == "sent"
    assert "U+000A" in by_patient[bad].last_error or "line" in by_patient[bad].last_error
    assert "@-sign" in by_patient[typo].last_error
    assert sorted(smtp_server.mailbox.recipients) == sorted(
        f"p{n}@mail.test" for n in _numbers(clinic, ids, exclude={bad, typo})
    )
    assert not [m for m in smtp_server.mailbox.messages if "everyone" in str(m.message)]

    # Retry does not crash either: the address is still bad, so it stays to be fixed.
    assert outbox.retry(clinic, SYSTEM, [by_patient[bad].id]) == 0
    assert outbox.list_messages(clinic, SYSTEM, statuses=["undeliverable"])
    # Fixing the address through the form, then Retry, delivers.
    row = patients.get_patient(clinic, SYSTEM, bad)
    patients.edit_patient(
        clinic, SYSTEM, bad, patients.PatientForm(full_name=row.full_name, email="eve@mail.test")
    )
    assert outbox.retry(clinic, SYSTEM, [by_patient[bad].id]) == 1
    assert deliver(clinic).sent == 1
    assert smtp_server.mailbox.recipients[-1] == "eve@mail.test"


def _numbers(clinic: Clinic, ids: list[int], exclude: set[int]) -> list[str]:
    found = []
    for pid in ids:
        if pid not in exclude:
            email = patients.get_patient(clinic, SYSTEM, pid).email
            found.append(email.removeprefix("p").removesuffix("@mail.test"))
    return found


def test_a_bad_doctor_address_fails_the_report_email_alone(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port)
    dept = factories.department(clinic)
    good, bad = factories.doctor(clinic, dept), factories.doctor(clinic, dept)
    with clinic.db.write() as session:
        session.execute(update(Doctor).where(Doctor.id == bad).values(email="dr@\nexample.com"))
    clock.set(at(date(2026, 7, 1), "06:00"))

    result = run_job(clinic, "monthly-report", "2026-06", trigger="cli")

    assert result.status == "done"
    rows = {r.doctor_id: r for r in outbox.list_messages(clinic, SYSTEM)}
    assert rows[good].status == "sent"
    assert rows[bad].status == "undeliverable"
    assert rows[bad].last_error.startswith("Not sent:")


@pytest.mark.parametrize(
    "typed",
    ["not-an-email", "a@b", "ann@mail.test\nBcc: x@y.de", "Ann <ann@example.com>", "a@@b.de"],
)
def test_addresses_are_checked_where_they_are_entered(clinic: Clinic, typed: str) -> None:
    with pytest.raises(ValidationError, match="not an email address") as caught:
        clean_email(typed)
    assert caught.value.field == "email"
    with pytest.raises(ValidationError):
        patients.register_patient(
            clinic, SYSTEM, patients.PatientForm(full_name="Ann Typo", email=typed)
        )


def test_a_good_international_address_is_kept_as_typed() -> None:
    assert clean_email("  jürgen@müller.de ") == "jürgen@müller.de"
    assert clean_email("x.y+z@example.com") == "x.y+z@example.com"
