"""Dashboard figures: cached for the TTL on the clinic clock, fresh after a write, true to the data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import exc, func, select

from hms_desktop.db.engine import driver_errors
from hms_desktop.db.models import Appointment, Doctor, Patient
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.people import patients
from hms_desktop.services.records.stats import CHART_DAYS, StatsService
from hms_desktop.services.scheduling import booking
from tests import factories as f
from tests.factories import set_settings


@pytest.fixture
def service(clinic: Clinic) -> Iterator[StatsService]:
    set_settings(clinic, cache_ttl_seconds=300)
    svc = StatsService(clinic)
    yield svc
    svc.close()


def _truth(clinic: Clinic) -> dict[str, object]:
    """The same figures, counted the plain way."""
    today = clinic.today()
    with clinic.db.read() as session:

        def count(model: type, *where: object) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "doctors": count(Doctor),
            "patients": count(Patient),
            "appointments": count(Appointment),
            "today_appointments": count(Appointment, Appointment.day == today),
            "booked": count(Appointment, Appointment.status == "booked"),
            "cancelled": count(Appointment, Appointment.status == "cancelled"),
            "completed": count(Appointment, Appointment.status == "completed"),
            "today_completed": count(
                Appointment, Appointment.day == today, Appointment.status == "completed"
            ),
        }


def _figures(service: StatsService) -> dict[str, object]:
    s = service.dashboard(f.RECEPTION).stats
    return {
        "doctors": s.doctors,
        "patients": s.patients,
        "appointments": s.appointments,
        "today_appointments": s.today_appointments,
        "booked": s.by_status["booked"],
        "cancelled": s.by_status["cancelled"],
        "completed": s.by_status["completed"],
        "today_completed": s.today_by_status["completed"],
    }


def test_cached_within_the_ttl_fresh_after_it(
    clinic: Clinic, world: f.World, clock: FakeClock, service: StatsService
) -> None:
    first = service.dashboard(f.RECEPTION)
    assert (first.from_cache, service.queries) == (False, 1)
    clock.advance(seconds=299)
    second = service.dashboard(f.RECEPTION)
    assert (second.from_cache, service.queries, second.age_seconds) == (True, 1, 299.0)
    assert second.stats == first.stats
    clock.advance(seconds=2)
    third = service.dashboard(f.RECEPTION)
    assert (third.from_cache, service.queries) == (False, 2)
    assert service.dashboard(f.RECEPTION, refresh=True).from_cache is False
    assert service.queries == 3


def test_a_booking_makes_the_next_call_fresh(
    clinic: Clinic, world: f.World, service: StatsService
) -> None:
    before = service.dashboard(f.RECEPTION).stats
    assert service.dashboard(f.RECEPTION).from_cache
    booking.book(
        clinic,
        f.RECEPTION,
        patient_id=world.patient_id,
        doctor_id=world.doctor_id,
        day=world.day,
        at="09:00",
    )
    after = service.dashboard(f.RECEPTION)
    assert (after.from_cache, service.queries) == (False, 2)
    assert (before.appointments, after.stats.appointments) == (0, 1)
    patients.register_patient(clinic, f.RECEPTION, patients.PatientForm("New Patient"))
    assert service.dashboard(f.RECEPTION).stats.patients == 3
    # Any committed write empties the cache, whichever code made it (another PC's
    # arrives by NOTIFY: tests/core/test_live_changes.py).
    with clinic.db.write() as session:
        session.add(Patient(full_name="Imported", name_key="imported"))
    assert service.dashboard(f.RECEPTION).stats.patients == 4


def test_the_figures_match_the_database(
    clinic: Clinic, world: f.World, clock: FakeClock, service: StatsService
) -> None:
    today = clinic.today()
    f.open_day(clinic, world.doctor_id, today, "10:00", "12:00")
    plan = [  # (patient, doctor, day, time)
        (world.patient_id, world.doctor_id, today, "10:00"),
        (world.other_patient_id, world.doctor_id, today, "10:30"),
        (world.patient_id, world.doctor_id, world.day, "09:00"),
        (world.other_patient_id, world.other_doctor_id, world.day, "11:00"),
    ]
    ids = [
        booking.book(clinic, f.RECEPTION, patient_id=p, doctor_id=d, day=day, at=t)
        for p, d, day, t in plan
    ]
    booking.complete(clinic, f.RECEPTION, ids[0], early_close=True)  # seen before 10:00
    booking.cancel(clinic, f.RECEPTION, ids[2])
    figures = _figures(service)
    assert figures == _truth(clinic)
    assert (figures["appointments"], figures["booked"], figures["cancelled"]) == (4, 2, 1)
    assert (figures["today_appointments"], figures["today_completed"]) == (2, 1)
    s = service.dashboard(f.RECEPTION).stats
    assert s.today == today
    assert len(s.per_day) == CHART_DAYS
    assert s.per_day[-1] == (today, 2)
    assert s.per_day[0][0] == today - timedelta(days=CHART_DAYS - 1)
    assert s.per_department == [("General Medicine", 2)]  # tomorrow's are not in the chart yet
    # At midnight "today" moves on, even inside the TTL.
    clock.advance(days=1)
    moved = service.dashboard(f.RECEPTION)
    assert not moved.from_cache
    assert _figures(service) == _truth(clinic)
    assert moved.stats.today_appointments == 2  # tomorrow's two, one of them cancelled


def test_an_error_on_the_figures_raw_cursor_is_raised_as_sqlalchemy_raises_it(
    clinic: Clinic,
) -> None:
    # The dashboard's figures and the monthly rows run on the DBAPI cursor directly;
    # their errors still reach translate_errors as SQLAlchemy's own (a lost server or
    # a damaged file then reads as a message), not as the driver's bare exception.
    with pytest.raises(exc.DBAPIError) as caught, clinic.db.read() as session:
        connection = session.connection()
        with driver_errors(connection):
            connection.connection.cursor().execute("SELECT n FROM no_such_table")
    assert isinstance(caught.value.orig, connection.dialect.loaded_dbapi.Error)
    assert "no_such_table" in str(caught.value)
