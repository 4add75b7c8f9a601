"""Daily reminders: who gets one, what it says, delivered to a real SMTP server."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from hms_desktop.jobs.runner import run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import outbox
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on

DAY = date(2026, 6, 16)


def _clinic_day(clinic: Clinic, clock: FakeClock) -> tuple[int, int, int, int, list[int]]:
    dept = factories.department(clinic, "Cardiology")
    doc = factories.doctor(clinic, dept, "Dr. Grace Hopper")
    anna = factories.patient(clinic, "Anna Smith")
    opted = factories.patient(clinic, "Otto Optout", reminders_opt_out=True)
    no_mail = factories.patient(clinic, "Nora Nomail")
    # Factories give every patient an address; take Nora's away through the real service.
    from hms_desktop.services.people import patients

    row = patients.get_patient(clinic, SYSTEM, no_mail)
    patients.edit_patient(
        clinic, SYSTEM, no_mail, patients.PatientForm(full_name=row.full_name, phone=row.phone)
    )
    appts = book_on(clinic, clock, doc, [anna, opted, no_mail], DAY)
    return doc, anna, opted, no_mail, appts


def test_reminders_reach_the_right_patients_with_the_visit_details(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    use_smtp(clinic, smtp_server.port)
    _doc, anna, _opted, no_mail, appts = _clinic_day(clinic, clock)
    anna_email = factories.patients.get_patient(clinic, SYSTEM, anna).email
    # Another day's visit must not be reminded today.
    book_on(clinic, clock, _doc, [anna], date(2026, 6, 17))
    clock.set(at(DAY, "08:00"))

    with caplog.at_level(logging.INFO):
        result = run_job(clinic, "reminders", trigger="cli")

    assert result.status == "done"
    assert result.period_key == "2026-06-16"
    assert result.counts["queued"] == 1
    assert result.counts["sent"] == 1
    assert result.counts["opted_out"] == 1
    assert result.counts["no_email"] == 1
    [mail] = smtp_server.mailbox.messages
    assert mail.rcpt_tos == [anna_email]
    assert mail.mail_from == "desk@clinic.test"
    assert mail.subject == "Appointment reminder: 2026-06-16 09:00 with Dr. Grace Hopper"
    body = mail.text()
    assert "Dear Anna Smith" in body
    assert "Tuesday 16 June 2026 at 09:00 with Dr. Grace Hopper (Cardiology)" in body
    assert "Visit: Consultation." in body

    rows = outbox.list_messages(clinic, SYSTEM)
    by_patient = {r.patient_id: r for r in rows}
    assert set(by_patient) == {anna, no_mail}  # the opted-out patient has no item at all
    assert by_patient[anna].status == "sent"
    assert by_patient[no_mail].status == "undeliverable"
    assert by_patient[no_mail].appointment_id == appts[2]
    assert "no email address" in caplog.text
    assert "reminders 2026-06-16: Reminders for 2026-06-16: 1 queued, 1 sent" in caplog.text


def test_day_before_lead_reminds_about_tomorrows_visits(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port, reminder_lead="day_before")
    _doc, anna, *_ = _clinic_day(clinic, clock)
    clock.set(at(date(2026, 6, 15), "08:00"))

    result = run_job(clinic, "reminders", trigger="cli")

    assert result.period_key == "2026-06-16"
    assert [m.rcpt_tos for m in smtp_server.mailbox.messages] == [
        [factories.patients.get_patient(clinic, SYSTEM, anna).email]
    ]


def test_without_smtp_reminders_wait_in_the_outbox(clinic: Clinic, clock: FakeClock) -> None:
    _clinic_day(clinic, clock)
    clock.set(at(DAY, "08:00"))

    result = run_job(clinic, "reminders", trigger="cli")

    assert result.status == "done"
    assert result.counts["waiting"] == 1
    assert outbox.status_counts(clinic) == {"pending": 1, "undeliverable": 1}
    assert any("(no email)" in line for line in result.lines)


def test_running_the_same_day_twice_queues_and_sends_nothing_more(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port)
    _clinic_day(clinic, clock)
    clock.set(at(DAY, "08:00"))

    first = run_job(clinic, "reminders", trigger="schedule")
    second = run_job(clinic, "reminders", trigger="manual")

    assert (first.status, second.status) == ("done", "skipped")
    assert "already done" in second.message
    assert len(smtp_server.mailbox.messages) == 1


def test_a_reminder_is_not_sent_once_its_visit_is_cancelled_or_the_patient_opts_out(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    # Both happen while the reminders wait in the outbox (the mail server was down, or a
    # long delivery pass had not reached them yet): neither may go out afterwards.
    from hms_desktop.services.people import patients
    from hms_desktop.services.scheduling import booking

    _doc, anna, _opted, _no_mail, appts = _clinic_day(clinic, clock)
    bea = factories.patient(clinic, "Bea Later")
    booking.book(clinic, SYSTEM, patient_id=bea, doctor_id=_doc, day=DAY, at="11:00")
    clock.set(at(DAY, "08:00"))
    run_job(clinic, "reminders", trigger="schedule")  # no SMTP yet: both wait
    assert outbox.status_counts(clinic)["pending"] == 2
    pending = {
        m.recipient: m.id for m in outbox.list_messages(clinic, SYSTEM) if m.status == "pending"
    }

    booking.cancel(clinic, SYSTEM, appts[0])  # Anna's visit
    # The claim itself refuses, even before any pass has expired the message.
    anna_mail = patients.get_patient(clinic, SYSTEM, anna).email
    assert outbox._claim(clinic, pending[anna_mail]) is None

    row = patients.get_patient(clinic, SYSTEM, bea)
    patients.edit_patient(
        clinic,
        SYSTEM,
        bea,
        patients.PatientForm(full_name=row.full_name, email=row.email, reminders_opt_out=True),
    )
    use_smtp(clinic, smtp_server.port)
    outbox.deliver_due(clinic)
    # No reminder goes out; Anna is told of the cancel instead (METHOD:CANCEL).
    assert [m.subject.split(":")[0] for m in smtp_server.mailbox.messages] == [
        "Appointment cancelled"
    ]
    assert smtp_server.mailbox.messages[0].rcpt_tos == [anna_mail]
    assert outbox.status_counts(clinic).get("expired") == 2
