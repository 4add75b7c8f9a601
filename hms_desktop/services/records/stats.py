"""Dashboard figures, served from a thread-safe ``cachetools.TTLCache``.

The cache lives ``clinic.pc.cache_ttl_seconds`` (5 minutes by default), measured on
the clinic clock's monotonic timer (a fake one in tests). A write that changes the
figures in this process empties it at once; other PCs' writes show after the TTL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Date, Dialect, bindparam, func, select

from hms_desktop.db.engine import driver_errors
from hms_desktop.db.models import (
    STATUSES,
    Appointment,
    AppointmentCount,
    Department,
    Doctor,
    TableCount,
)
from hms_desktop.services.actor import Actor, require_staff
from hms_desktop.services.clinic import Clinic

#: Changes to these topics alter the figures.
_INVALIDATING = frozenset({"appointments", "patients", "doctors", "departments"})
CHART_DAYS = 30


@dataclass(frozen=True)
class DashboardStats:
    today: date
    doctors: int
    patients: int
    appointments: int
    today_appointments: int
    by_status: dict[str, int]
    today_by_status: dict[str, int]
    #: (day, count) for each of the last 30 days, today included, oldest first.
    per_day: list[tuple[date, int]]
    #: (department name, appointment count), largest first.
    per_department: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class StatsResult:
    stats: DashboardStats
    from_cache: bool
    #: Seconds since the figures were computed.
    age_seconds: float


# The statements, built once and compiled once per database (_driver): building them
# and finding their compiled form per call was a third of the fresh figures' time once
# the totals came from the kept counts.
_FIRST, _TODAY = bindparam("first_day", type_=Date), bindparam("today", type_=Date)
_PEOPLE = select(
    select(func.count()).select_from(Doctor).scalar_subquery(),
    # The number of patients the database keeps (migration 0014), not a count(*).
    select(TableCount.n).where(TableCount.name == "patients").scalar_subquery(),
)
_TOTALS = select(AppointmentCount.status, func.sum(AppointmentCount.n)).group_by(
    AppointmentCount.status
)
_DAYS = select(AppointmentCount.day, AppointmentCount.status, AppointmentCount.n).where(
    AppointmentCount.day >= _FIRST, AppointmentCount.day <= _TODAY
)
_DEPARTMENTS = (
    select(Department.name, func.count(Appointment.id))
    .join(Doctor, Doctor.department_id == Department.id)
    .join(Appointment, Appointment.doctor_id == Doctor.id)
    .where(Appointment.day >= _FIRST, Appointment.day <= _TODAY)
    .group_by(Department.name)
    .order_by(func.count(Appointment.id).desc(), Department.name)
)


@dataclass(frozen=True)
class _Driver:
    """The four statements as one database's driver takes them, compiled once.

    The figures are four small statements whose own work is ~4 ms on SQLite at a
    million visits; SQLAlchemy's execution path (an execution context, a result and a
    Row per row, per statement) added half as much again. So they run on the session's
    own DBAPI connection, inside its transaction, as the driver's SQL with the dates as
    parameters; the few values that need it are converted as SQLAlchemy would.
    """

    people: str
    totals: str
    days: str
    departments: str
    #: The order of the date parameters (positional paramstyles), or None (named).
    date_order: tuple[str, ...] | None
    bind_date: Callable[[Any], Any] | None
    result_date: Callable[[Any], Any] | None

    def dates(self, first_day: date, today: date) -> Any:
        values = {"first_day": first_day, "today": today}
        if self.bind_date is not None:
            values = {k: self.bind_date(v) for k, v in values.items()}
        if self.date_order is None:
            return values
        return tuple(values[name] for name in self.date_order)


_DRIVERS: dict[tuple[str, str, str], _Driver] = {}


def _driver(dialect: Dialect) -> _Driver:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _DRIVERS.get(key)
    if found is None:
        # The constant (the name 'patients') is rendered inline; the dates stay parameters.
        people, totals = (
            str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            for stmt in (_PEOPLE, _TOTALS)
        )
        days, departments = (stmt.compile(dialect=dialect) for stmt in (_DAYS, _DEPARTMENTS))
        orders = {tuple(c.positiontup or ()) for c in (days, departments)}
        if len(orders) != 1:  # both take (first_day, today) in the same order
            raise RuntimeError(f"unexpected parameter order: {orders}")
        date_type = Date().dialect_impl(dialect)
        found = _DRIVERS[key] = _Driver(
            people,
            totals,
            days.string,
            departments.string,
            orders.pop() if dialect.positional else None,
            date_type.bind_processor(dialect),
            date_type.result_processor(dialect, None),
        )
    return found


def compute_stats(clinic: Clinic) -> DashboardStats:
    """The figures, fresh from the database: the kept counts and a handful of indexed
    queries over the last 30 days, so the cost does not grow with the history."""
    today = clinic.today()
    first_day = today - timedelta(days=CHART_DAYS - 1)
    with clinic.db.read() as session:
        connection = session.connection()
        sql = _driver(connection.dialect)
        dates = sql.dates(first_day, today)
        with driver_errors(connection):
            cursor = connection.connection.cursor()
            try:
                cursor.execute(sql.people)
                ((doctors, patients),) = cursor.fetchall()
                # The totals and the per-day figures come from the counts the database
                # keeps per day and status (migration 0014): a few thousand small rows
                # however long the clinic's history, never a scan of every appointment.
                cursor.execute(sql.totals)
                totals = cursor.fetchall()
                cursor.execute(sql.days, dates)
                days = cursor.fetchall()
                cursor.execute(sql.departments, dates)
                departments = cursor.fetchall()
            finally:
                cursor.close()
    by_status = dict.fromkeys(STATUSES, 0)
    for status, n in totals:
        by_status[status] = int(n or 0)
    today_by_status = dict.fromkeys(STATUSES, 0)
    per_day_raw: dict[date, int] = {}
    to_date = sql.result_date
    for raw_day, status, n in days:
        day = raw_day if to_date is None else to_date(raw_day)
        per_day_raw[day] = per_day_raw.get(day, 0) + int(n)
        if day == today:
            today_by_status[status] = int(n)
    chart_days = [first_day + timedelta(days=i) for i in range(CHART_DAYS)]
    return DashboardStats(
        today=today,
        doctors=int(doctors),
        patients=int(patients or 0),
        appointments=sum(by_status.values()),
        today_appointments=sum(today_by_status.values()),
        by_status=by_status,
        today_by_status=today_by_status,
        per_day=[(day, per_day_raw.get(day, 0)) for day in chart_days],
        per_department=[(name, int(n)) for name, n in departments],
    )


class StatsService:
    """One per clinic: the dashboard's cache, emptied by writes in this process."""

    _KEY = "dashboard"

    def __init__(self, clinic: Clinic) -> None:
        self._clinic = clinic
        self._lock = threading.Lock()
        self._cache: TTLCache[str, tuple[DashboardStats, float]] = TTLCache(
            maxsize=4, ttl=clinic.pc.cache_ttl_seconds, timer=clinic.clock.monotonic
        )
        self.queries = 0  #: how many times the figures were computed (for tests and benchmarks)
        #: Bumped by every invalidation, so figures computed across a write are not cached.
        self._generation = 0
        self._unsubscribe = clinic.changes.subscribe(self._on_change)

    def _on_change(self, topic: str) -> None:
        if topic in _INVALIDATING:
            self.invalidate()

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def set_ttl(self, seconds: float) -> None:
        with self._lock:
            self._cache = TTLCache(maxsize=4, ttl=seconds, timer=self._clinic.clock.monotonic)

    def dashboard(self, actor: Actor, *, refresh: bool = False) -> StatsResult:
        """The figures, from the cache when fresh enough, else computed and cached.

        ``refresh`` forces a new computation (the dashboard's Refresh action).
        """
        require_staff(actor, "see the dashboard")
        now = self._clinic.clock.monotonic()
        with self._lock:
            hit = None if refresh else self._cache.get(self._KEY)
            # The cached day must still be today: at midnight "today" moves on.
            if hit is not None and hit[0].today == self._clinic.today():
                stats, computed_at = hit
                return StatsResult(stats, from_cache=True, age_seconds=max(0.0, now - computed_at))
            generation = self._generation
        stats = compute_stats(self._clinic)
        with self._lock:
            self.queries += 1
            # A write committed while computing may be missing from these figures: show
            # them once, but do not serve them from the cache.
            if generation == self._generation:
                self._cache[self._KEY] = (stats, now)
        return StatsResult(stats, from_cache=False, age_seconds=0.0)

    def close(self) -> None:
        self._unsubscribe()
