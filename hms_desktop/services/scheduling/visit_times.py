"""When a visit starts and ends, as moments in the clinic's time zone.

Appointments store the clinic's wall-clock day and start time. Their length is the
slot length of the doctor's availability window that holds them (fixed when the
window was published), else the clinic's slot setting. Until appointments store
their own end, :func:`visit_minutes` is the one place that says how long a visit is.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hms_desktop.db.models import Availability


def visit_minutes(session: Session, doctor_id: int, day: date, start: time, default: int) -> int:
    """The length of the visit at ``start``: the slot length of its availability window,
    or ``default`` (the clinic's slot setting) when no window holds it any more."""
    minutes = session.scalar(
        select(Availability.slot_minutes)
        .where(
            Availability.doctor_id == doctor_id,
            Availability.day == day,
            Availability.start_time <= start,
            Availability.end_time > start,
        )
        .limit(1)
    )
    return int(minutes or default)


def visit_span(day: date, start: time, minutes: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Aware start and end of a visit in ``tz``.

    The end is the wall-clock start plus the length, so a 09:00 visit of 30 minutes
    ends at 09:30 on either side of a daylight-saving change.
    """
    begin = datetime.combine(day, start)
    return begin.replace(tzinfo=tz), (begin + timedelta(minutes=minutes)).replace(tzinfo=tz)
