"""All doctors' monthly figures in one pass: the same numbers and tables as one doctor at a time.

The monthly job reads every doctor's month with ``compute_all_stats`` (a constant
number of queries); ``compute_stats`` reads one doctor's. They must agree exactly,
on a demo practice plus visits on the first and last minutes of the months.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from hms_desktop.db.models import MonthlyReport, OutboxMessage
from hms_desktop.errors import ValidationError
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.clock import FakeClock
from hms_desktop.services.demo import generator as demo_data
from hms_desktop.services.records import reports
from hms_desktop.services.records.monthly_stats import (
    compute_all_stats,
    compute_stats,
    month_bounds,
    month_rows_statement,
)
from tests import factories
from tests.jobs.helpers import at, book_on, close_visit


def _practice(clinic: Clinic, clock: FakeClock) -> dict[str, int]:
    """A demo practice (clock: 2026-06-15) plus boundary visits and an idle doctor."""
    demo_data.generate(clinic, seed=11, doctors=6, patients=120, appointments=900, days_back=75)
    dept = factories.department(clinic, "Boundary care")
    edge = factories.doctor(clinic, dept, "Dr. Edge Case")
    idle = factories.doctor(clinic, dept, "Dr. Idle")
    # Two patients with the same name: patients seen are counted by person, not name.
    twin_a = factories.patient(clinic, "Sam Twin")
    twin_b = factories.patient(clinic, "Sam Twin")
    may1 = book_on(clinic, clock, edge, [twin_a, twin_b], date(2026, 5, 1), start="00:00")
    ids = {
        "apr30_late": book_on(clinic, clock, edge, [twin_a], date(2026, 4, 30), start="23:00")[0],
        "may1_midnight": may1[0],
        "may1_second": may1[1],
        "may31_late": book_on(clinic, clock, edge, [twin_b], date(2026, 5, 31), start="23:00")[0],
        "jun1_midnight": book_on(clinic, clock, edge, [twin_a], date(2026, 6, 1), start="00:00")[0],
    }
    clock.set(at(date(2026, 6, 2), "08:00"))
    close_visit(clinic, ids["apr30_late"], "completed", treat="April only")
    close_visit(clinic, ids["may1_midnight"], "completed", treat="First minute")
    close_visit(clinic, ids["may31_late"], "no_show")
    close_visit(clinic, ids["jun1_midnight"], "completed", treat="June only")
    return {"edge": edge, "idle": idle, **ids}


@pytest.mark.parametrize("month", ["2026-04", "2026-05", "2026-06", "2025-01"])
def test_every_doctor_gets_what_compute_stats_gives(
    clinic: Clinic, clock: FakeClock, month: str
) -> None:
    ids = _practice(clinic, clock)

    with clinic.db.read() as session:
        batch = compute_all_stats(session, month)
        one_by_one = [compute_stats(session, s.doctor_id, month) for s in batch]
        doctor_count = session.scalar(text("SELECT count(*) FROM doctors"))

    assert len(batch) == doctor_count == 8  # every doctor, the idle one too
    assert batch == one_by_one
    names = [(s.doctor, s.doctor_id) for s in batch]
    assert names == sorted(names)  # the order the job walks the doctors in
    by_id = {s.doctor_id: s for s in batch}
    assert by_id[ids["idle"]].total == 0
    assert by_id[ids["idle"]].appointments == ()
    if month != "2025-01":  # the demo practice's visits are in the past 75 days only
        assert sum(s.total for s in batch) > 100
        assert sum(s.treatments for s in batch) > 10


def test_boundary_visits_fall_in_their_own_month(clinic: Clinic, clock: FakeClock) -> None:
    ids = _practice(clinic, clock)

    with clinic.db.read() as session:
        may = {s.doctor_id: s for s in compute_all_stats(session, "2026-05")}
    edge = may[ids["edge"]]
    assert [a.id for a in edge.appointments] == [
        ids["may1_midnight"],
        ids["may1_second"],  # the other twin, left booked
        ids["may31_late"],
    ]
    assert [f"{a.date} {a.time:%H:%M}" for a in edge.appointments] == [
        "2026-05-01 00:00",
        "2026-05-01 00:30",
        "2026-05-31 23:00",
    ]
    assert (edge.total, edge.completed, edge.no_shows, edge.booked) == (3, 1, 1, 1)
    # Patients seen: only the Sam Twin whose visit was completed (the other one's May
    # visits were left booked and missed).
    assert edge.unique_patients == 1
    assert [t.diagnosis for t in edge.treatment_lines] == ["First minute"]
    assert all(t.patient == "Sam Twin" for t in edge.treatment_lines)


def test_a_malformed_month_is_refused(clinic: Clinic) -> None:
    with clinic.db.read() as session, pytest.raises(ValidationError):
        compute_all_stats(session, "2026-13")


def _month_plan(clinic: Clinic, month: str) -> str:
    first, last = month_bounds(month)
    stmt = month_rows_statement(first, last)
    with clinic.db.read() as session:
        sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        return " | ".join(
            str(row[-1])
            for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        )


def test_sqlite_reads_only_the_month_through_an_index(
    sqlite_clinic: Clinic, clock: FakeClock
) -> None:
    _practice(sqlite_clinic, clock)
    # As the application runs (it never runs ANALYZE): a range of an index led by day
    # (ix_appointments_day_time_id since migration 0003), then a sort of the month's
    # rows by doctor, which costs less than sorting them in Python afterwards.
    plan = _month_plan(sqlite_clinic, "2026-05")
    assert "SEARCH appointments USING INDEX ix_appointments_day_" in plan, plan
    assert "(day>? AND day<?)" in plan, plan
    assert "SCAN" not in plan, plan
    # With the statistics (the benchmark clinic has them), SQLite may rather read
    # ix_appointments_doctor_day doctor by doctor over the month's days: still only
    # the month's rows, never a scan of every appointment.
    with sqlite_clinic.db.write() as session:
        session.connection().exec_driver_sql("ANALYZE")
    plan = _month_plan(sqlite_clinic, "2026-05")
    assert "SEARCH appointments USING INDEX ix_appointments_" in plan, plan
    assert "day>? AND day<?)" in plan, plan
    assert "SCAN" not in plan, plan


def test_the_job_stores_the_batch_figures_and_skips_existing_reports(
    clinic: Clinic, clock: FakeClock
) -> None:
    ids = _practice(clinic, clock)
    with clinic.db.write() as session:  # a report made earlier (another PC, a crashed run)
        session.add(MonthlyReport(doctor_id=ids["edge"], month="2026-05", total=99, html="old"))

    made = reports.generate_reports(clinic, "2026-05", run_id=None)

    assert len(made) == 8
    assert [m.doctor_id for m in made if not m.created] == [ids["edge"]]
    with clinic.db.read() as session:
        stored = {r.doctor_id: r for r in session.scalars(select(MonthlyReport)).all()}
        mails = session.scalar(select(func.count()).select_from(OutboxMessage))
        expected = {s.doctor_id: s for s in compute_all_stats(session, "2026-05")}
        for doctor_id, report in stored.items():
            stats = expected[doctor_id]
            if doctor_id == ids["edge"]:
                assert (report.total, report.html) == (99, "old")  # left alone
                continue
            figures = (report.total, report.completed, report.cancelled, report.no_shows)
            assert figures == (stats.total, stats.completed, stats.cancelled, stats.no_shows)
            assert (report.treatments, report.unique_patients) == (
                stats.treatments,
                stats.unique_patients,
            )
            assert report.html == reports.render_html(stats, clinic.now())  # clock unmoved
    assert mails == 7  # one email per report made, none for the one that existed

    again = reports.generate_reports(clinic, "2026-05", run_id=None)

    assert not any(m.created for m in again)
    with clinic.db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 7
        assert session.scalar(select(func.count()).select_from(MonthlyReport)) == 8
