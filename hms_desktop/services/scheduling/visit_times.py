"""When a visit starts and ends, as moments in the clinic's time zone.

Appointments store the clinic's wall-clock day, start and end (from the visit
type's length); :func:`visit_minutes` turns those into a length.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def visit_minutes(start: time, end: time) -> int:
    """A visit's length in minutes, from the start and end it stores (migration 0006)."""
    return int(
        (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() // 60
    )


def visit_span(day: date, start: time, minutes: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Aware start and end of a visit in ``tz``.

    The end is the wall-clock start plus the length, so a 09:00 visit of 30 minutes
    ends at 09:30 on either side of a daylight-saving change.
    """
    begin = datetime.combine(day, start)
    return begin.replace(tzinfo=tz), (begin + timedelta(minutes=minutes)).replace(tzinfo=tz)
