"""Delivery through the outbox: SMTP down, back-off, retry, never twice."""

from __future__ import annotations

from datetime import date, timedelta

from hms_desktop.jobs.runner import deliver, run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import outbox
from hms_desktop.services.messaging.outbox import MAX_ATTEMPTS, backoff
from hms_desktop.services.scheduling import booking
from tests import factories
from tests.factories import set_settings
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at, book_on

DAY = date(2026, 6, 16)


def _two_reminders(clinic: Clinic, clock: FakeClock) -> list[int]:
    dept = factories.department(clinic)
    doc = factories.doctor(clinic, dept)
    patients = [factories.patient(clinic), factories.patient(clinic)]
    # Afternoon visits: the retries below run for hours, and a reminder for a visit that
    # has begun is no longer sent.
    book_on(clinic, clock, doc, patients, DAY, start="16:00")
    clock.set(at(DAY, "08:00"))
    return patients


def test_smtp_down_records_failures_then_retries_deliver_once(
    clinic: Clinic, clock: FakeClock, smtp_down: SmtpServer
) -> None:
    use_smtp(clinic, smtp_down.port)
    _two_reminders(clinic, clock)

    result = run_job(clinic, "reminders", trigger="schedule")

    assert result.status == "done"  # the run itself worked; delivery will be retried
    assert result.counts["sent"] == 0
    assert result.counts["waiting"] == 2
    rows = outbox.list_messages(clinic, SYSTEM)
    assert all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert all("refused the connection" in r.last_error for r in rows)
    assert all(r.next_attempt_at == at(DAY, "08:01") for r in rows)  # 1 minute back-off

    # Before the back-off has passed nothing is tried, even with the server up.
    smtp_down.start()
    clock.advance(seconds=30)
    assert deliver(clinic).sent == 0
    assert smtp_down.mailbox.messages == []

    clock.advance(seconds=31)
    assert deliver(clinic).sent == 2
    assert deliver(clinic).sent == 0  # nothing is sent twice
    assert len(smtp_down.mailbox.messages) == 2
    assert sorted(outbox.status_counts(clinic).items()) == [("sent", 2)]


def test_after_the_last_attempt_a_message_stays_failed_until_retry(
    clinic: Clinic, clock: FakeClock, smtp_down: SmtpServer
) -> None:
    use_smtp(clinic, smtp_down.port)
    _two_reminders(clinic, clock)
    run_job(clinic, "reminders", trigger="schedule")
    for attempt in range(1, MAX_ATTEMPTS):
        clock.advance(backoff(attempt) + timedelta(seconds=1))
        deliver(clinic)
    rows = outbox.list_messages(clinic, SYSTEM)
    assert [(r.status, r.attempts) for r in rows] == [("failed", MAX_ATTEMPTS)] * 2
    clock.advance(hours=5)
    smtp_down.start()
    assert deliver(clinic).sent == 0  # failed stays failed: visible, not retried forever

    assert outbox.retry(clinic, SYSTEM) == 2
    assert deliver(clinic).sent == 2
    assert outbox.retry(clinic, SYSTEM) == 0
    assert deliver(clinic).sent == 0
    assert len(smtp_down.mailbox.messages) == 2


def test_retry_of_an_address_less_reminder_uses_the_new_address(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    from hms_desktop.services.people import patients

    use_smtp(clinic, smtp_server.port)
    pid = _two_reminders(clinic, clock)[0]
    row = patients.get_patient(clinic, SYSTEM, pid)
    patients.edit_patient(clinic, SYSTEM, pid, patients.PatientForm(full_name=row.full_name))
    run_job(clinic, "reminders", trigger="schedule")
    [bad] = outbox.list_messages(clinic, SYSTEM, statuses=["undeliverable"])

    assert outbox.retry(clinic, SYSTEM, [bad.id]) == 0  # still no address: stays visible
    patients.edit_patient(
        clinic, SYSTEM, pid, patients.PatientForm(full_name=row.full_name, email="new@mail.test")
    )
    assert outbox.retry(clinic, SYSTEM, [bad.id]) == 1
    assert deliver(clinic).sent == 1
    assert smtp_server.mailbox.recipients[-1] == "new@mail.test"


def test_a_delivery_interrupted_by_a_crash_is_not_resent_automatically(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port)
    _two_reminders(clinic, clock)
    set_settings(clinic, smtp_host="")  # queue only
    run_job(clinic, "reminders", trigger="schedule")
    first = outbox.list_messages(clinic, SYSTEM)[-1]
    # The app claims a message and dies before recording the outcome.
    assert outbox._claim(clinic, first.id) is not None
    use_smtp(clinic, smtp_server.port)

    clock.advance(minutes=11)
    assert deliver(clinic).sent == 1  # only the other one
    [interrupted] = outbox.list_messages(clinic, SYSTEM, statuses=["failed"])
    assert interrupted.id == first.id
    assert "may or may not have arrived" in interrupted.last_error


def test_a_reminder_for_a_cancelled_visit_is_not_sent(
    clinic: Clinic, clock: FakeClock, smtp_down: SmtpServer
) -> None:
    from hms_desktop.services.scheduling import booking

    use_smtp(clinic, smtp_down.port)
    _two_reminders(clinic, clock)
    run_job(clinic, "reminders", trigger="schedule")
    victim = outbox.list_messages(clinic, SYSTEM)[0]
    assert victim.appointment_id is not None
    booking.cancel(clinic, SYSTEM, victim.appointment_id)
    smtp_down.start()
    clock.advance(minutes=2)

    result = deliver(clinic)

    assert (result.sent, result.expired) == (1, 1)
    assert outbox.list_messages(clinic, SYSTEM, statuses=["expired"])[0].id == victim.id


def test_an_address_the_server_cannot_take_fails_alone_and_the_rest_are_sent(
    clinic: Clinic, clock: FakeClock, smtp_port: int
) -> None:
    from hms_desktop.services.people import patients as patient_service
    from tests.jobs.conftest import SmtpServer

    server = SmtpServer(smtp_port, smtputf8=False)  # an older mail server: ASCII only
    server.start()
    try:
        use_smtp(clinic, server.port)
        ids = _two_reminders(clinic, clock)
        jurgen = patient_service.get_patient(clinic, SYSTEM, ids[0])
        patient_service.edit_patient(
            clinic,
            SYSTEM,
            ids[0],
            patient_service.PatientForm(full_name=jurgen.full_name, email="jürgen@müller.de"),
        )
        result = run_job(clinic, "reminders", trigger="schedule")
        assert (result.counts["sent"], result.counts["failed"]) == (1, 1)
        by_patient = {r.patient_id: r for r in outbox.list_messages(clinic, SYSTEM)}
        assert by_patient[ids[1]].status == "sent"
        assert by_patient[ids[0]].status == "failed"  # for good: retrying cannot help
        assert "cannot take this message" in by_patient[ids[0]].last_error
        assert len(server.mailbox.messages) == 1
    finally:
        server.stop()


def test_a_reminder_says_where_the_visit_is_now_and_none_comes_after_it_began(
    clinic: Clinic, clock: FakeClock, smtp_down: SmtpServer
) -> None:
    use_smtp(clinic, smtp_down.port)
    dept = factories.department(clinic)
    ada = factories.doctor(clinic, dept, "Dr. Ada Lovelace")
    alan = factories.doctor(clinic, dept, "Dr. Alan Turing")
    early, late = factories.patient(clinic), factories.patient(clinic)
    first, second = book_on(clinic, clock, ada, [early, late], DAY, start="10:30")  # and 11:00
    factories.open_day(clinic, alan, DAY, "15:00", "18:00")
    clock.set(at(DAY, "08:00"))
    run_job(clinic, "reminders", trigger="schedule")  # queued; the mail server is down
    # At 08:30 the desk moves the 11:00 visit to 16:30 with Dr. Turing.
    clock.set(at(DAY, "08:30"))
    booking.reschedule(clinic, SYSTEM, second, day=DAY, at="16:30", doctor_id=alan)
    clock.set(at(DAY, "10:45"))  # the server is back at 10:45
    smtp_down.start()
    result = deliver(clinic)
    assert (result.sent, result.expired) == (1, 1)
    [mail] = smtp_down.mailbox.messages
    assert "16:30" in mail.subject and "Dr. Alan Turing" in mail.subject
    rows = {r.appointment_id: r for r in outbox.list_messages(clinic, SYSTEM)}
    assert rows[first].status == "expired"  # its visit began at 10:30
    assert "16:30" in rows[second].subject  # the outbox shows what was sent
