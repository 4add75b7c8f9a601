"""Calendar invitations on a real SMTP server: book, move across a DST change, cancel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage

import icalendar
import pytest

from hms_desktop.jobs.runner import deliver
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import outbox
from hms_desktop.services.people import patients
from hms_desktop.services.scheduling import booking
from tests import factories
from tests.jobs.conftest import SmtpServer, use_smtp
from tests.jobs.helpers import at

#: Europe/Berlin leaves summer time on Sunday 2026-10-25 (CEST +02:00 -> CET +01:00).
BEFORE_DST_END = date(2026, 10, 23)
AFTER_DST_END = date(2026, 10, 26)


def _calendar(message: EmailMessage) -> tuple[icalendar.Calendar, str]:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    part = parts[0]
    cal = icalendar.Calendar.from_ical(part.get_content())  # type: ignore[attr-defined]
    return cal, str(part.get_param("method"))


def _event(cal: icalendar.Calendar) -> icalendar.Event:
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    return events[0]


def _setup(clinic: Clinic, clock: FakeClock, **patient_fields: object) -> tuple[int, int]:
    clock.set(at(date(2026, 10, 20), "08:00"))
    dept = factories.department(clinic, "Cardiology")
    doc = factories.doctor(clinic, dept, "Dr. Ada Lovelace")
    patient = factories.patient(clinic, "José Núñez", **patient_fields)
    factories.open_day(clinic, doc, BEFORE_DST_END)
    factories.open_day(clinic, doc, AFTER_DST_END)
    return doc, patient


def test_book_move_cancel_send_one_event_with_rising_sequence_across_dst(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(
        clinic,
        smtp_server.port,
        send_booking_confirmation=True,
        clinic_name="Praxis Mitte",
        clinic_address="Hauptstraße 1, 10115 Berlin",
    )
    doc, patient = _setup(clinic, clock)

    appt = booking.book(
        clinic, SYSTEM, patient_id=patient, doctor_id=doc, day=BEFORE_DST_END, at="09:00"
    )
    assert deliver(clinic).sent == 1
    booking.reschedule(clinic, SYSTEM, appt, day=AFTER_DST_END, at="10:30")
    assert deliver(clinic).sent == 1
    booking.cancel(clinic, SYSTEM, appt)
    assert deliver(clinic).sent == 1

    mails = smtp_server.mailbox.messages
    assert [m.subject.split(":")[0] for m in mails] == [
        "Appointment booked",
        "Appointment moved",
        "Appointment cancelled",
    ]
    parsed = [_calendar(m.message) for m in mails]
    methods = [method for _, method in parsed]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert [str(cal["METHOD"]) for cal, _ in parsed] == methods
    events = [_event(cal) for cal, _ in parsed]
    assert len({str(e["UID"]) for e in events}) == 1
    sequences = [int(e["SEQUENCE"]) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert str(events[2]["STATUS"]) == "CANCELLED"

    # Wall-clock times in the clinic's zone, the right instants on either side of the change.
    starts = [e.decoded("DTSTART") for e in events]
    ends = [e.decoded("DTEND") for e in events]
    assert [str(s.tzinfo) for s in starts] == ["Europe/Berlin"] * 3
    assert starts[0].astimezone(UTC) == datetime(2026, 10, 23, 7, 0, tzinfo=UTC)  # CEST
    assert starts[1].astimezone(UTC) == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)  # CET
    assert [(e - s).total_seconds() for s, e in zip(starts, ends, strict=True)] == [1800] * 3
    for cal, _ in parsed:
        zones = list(cal.walk("VTIMEZONE"))
        assert [str(z["TZID"]) for z in zones] == ["Europe/Berlin"]
        # The zone's own rules say the same as Python's: both offsets are in it.
        offsets = {sub["TZOFFSETTO"].td.total_seconds() for sub in zones[0].subcomponents}
        assert {3600, 7200} <= offsets
    event = events[0]
    assert str(event["LOCATION"]) == "Praxis Mitte, Hauptstraße 1, 10115 Berlin"
    assert str(event["ORGANIZER"]) == "mailto:desk@clinic.test"
    assert str(event["ATTENDEE"]).startswith("mailto:p")
    assert "Dr. Ada Lovelace" in str(event["SUMMARY"])


def test_reminder_carries_the_current_invitation(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    from hms_desktop.jobs.runner import run_job

    use_smtp(clinic, smtp_server.port)  # no booking confirmations
    doc, patient = _setup(clinic, clock)
    appt = booking.book(
        clinic, SYSTEM, patient_id=patient, doctor_id=doc, day=BEFORE_DST_END, at="09:00"
    )
    booking.reschedule(clinic, SYSTEM, appt, day=BEFORE_DST_END, at="10:00")
    assert deliver(clinic).sent == 1  # the move, though no confirmation was sent

    clock.set(at(BEFORE_DST_END, "08:00"))
    assert run_job(clinic, "reminders", trigger="schedule").status == "done"

    assert len(smtp_server.mailbox.messages) == 2
    move, reminder = (_calendar(m.message) for m in smtp_server.mailbox.messages)
    assert reminder[1] == "REQUEST"
    assert str(_event(reminder[0])["UID"]) == str(_event(move[0])["UID"])
    assert int(_event(reminder[0])["SEQUENCE"]) == int(_event(move[0])["SEQUENCE"]) == 1
    assert _event(reminder[0]).decoded("DTSTART").hour == 10


@pytest.mark.parametrize("opted_out", [True, False])
def test_opted_out_patients_get_no_calendar_mail(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer, opted_out: bool
) -> None:
    use_smtp(clinic, smtp_server.port, send_booking_confirmation=True)
    doc, patient = _setup(clinic, clock, reminders_opt_out=opted_out)
    appt = booking.book(
        clinic, SYSTEM, patient_id=patient, doctor_id=doc, day=BEFORE_DST_END, at="09:00"
    )
    booking.reschedule(clinic, SYSTEM, appt, day=AFTER_DST_END, at="09:00")
    booking.cancel(clinic, SYSTEM, appt)
    deliver(clinic)
    # Superseded messages are never sent: only the cancel goes out, when wanted at all.
    assert len(smtp_server.mailbox.messages) == (0 if opted_out else 1)
    statuses = sorted(r.status for r in outbox.list_messages(clinic, SYSTEM))
    assert statuses == ([] if opted_out else ["expired", "expired", "sent"])


def test_an_opt_out_saved_after_queuing_stops_the_message(
    clinic: Clinic, clock: FakeClock, smtp_server: SmtpServer
) -> None:
    use_smtp(clinic, smtp_server.port, send_booking_confirmation=True)
    doc, patient = _setup(clinic, clock)
    booking.book(clinic, SYSTEM, patient_id=patient, doctor_id=doc, day=BEFORE_DST_END, at="09:00")
    form = patients.get_patient(clinic, SYSTEM, patient)
    patients.edit_patient(
        clinic,
        SYSTEM,
        patient,
        patients.PatientForm(full_name=form.full_name, email=form.email, reminders_opt_out=True),
    )
    assert deliver(clinic).sent == 0
    assert smtp_server.mailbox.messages == []
    assert [r.status for r in outbox.list_messages(clinic, SYSTEM)] == ["expired"]
