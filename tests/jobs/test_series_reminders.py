"""A recurring series gets a reminder per occurrence, each on its own day."""

from __future__ import annotations

from datetime import timedelta

from hms_desktop.jobs.runner import run_job
from hms_desktop.services.actor import SYSTEM
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.messaging import outbox
from hms_desktop.services.scheduling import hours, series
from tests import factories
from tests.jobs.helpers import at


def test_each_occurrence_of_a_series_is_reminded_on_its_day(
    clinic: Clinic, clock: FakeClock
) -> None:
    dept = factories.department(clinic)
    doctor = factories.doctor(clinic, dept)
    patient = factories.patient(clinic, "Rita Recurring")
    first = clinic.today() + timedelta(days=1)
    hours.set_weekly(clinic, SYSTEM, doctor, first.weekday(), [("09:00", "12:00")])
    dates = series.occurrence_dates(first, "weekly", count=3)
    result = series.book_series(
        clinic, SYSTEM, patient_id=patient, doctor_id=doctor, dates=dates, at="10:00"
    )
    assert len(result.booked) == 3 and result.conflicts == ()
    for day, appointment_id in zip(dates, result.booked, strict=True):
        clock.set(at(day, "08:00"))
        run = run_job(clinic, "reminders", trigger="cli")
        assert run.counts["queued"] == 1, (day, run.counts)
        [message] = [
            m for m in outbox.list_messages(clinic, SYSTEM) if m.appointment_id == appointment_id
        ]
        assert message.kind == "reminder" and "Rita Recurring" in message.body
