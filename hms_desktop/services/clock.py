"""Time as the clinic sees it. Tests and schedules use a fake clock; nothing else does."""

from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo
    #: True when this clock also stands in for the database server's clock (a fake world
    #: in tests); False when the server keeps its own time (PostgreSQL's ``now()``).
    drives_server: bool

    def now(self) -> datetime:
        """The current time, aware, in the clinic's time zone."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, for cache ages and durations."""
        ...


class SystemClock:
    drives_server = False

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def monotonic(self) -> float:
        return _time.monotonic()


class FakeClock:
    """A clock that only moves when told to (tests, demos, catch-up simulations).

    It moves in UTC, as real time does: two minutes after 01:59 on the night Europe/Berlin
    springs forward is 03:01+02:00 (02:01 does not exist), and after the autumn fold the
    offset changes back. Adding a timedelta to an aware datetime would instead add
    wall-clock time and give the impossible 02:01+01:00.

    Args:
        start: where the clock starts (naive: taken in ``tz``).
        tz: the clinic's zone (default: ``start``'s zone, else UTC).
        drives_server: whether the database server's clock is taken to follow this one.
            True (the default) is a fake world where PC and server agree; False keeps
            PostgreSQL's own ``now()``, so a test can set this PC's clock off the server's.
    """

    def __init__(
        self, start: datetime, tz: ZoneInfo | None = None, *, drives_server: bool = True
    ) -> None:
        self.tz = tz or (start.tzinfo if isinstance(start.tzinfo, ZoneInfo) else ZoneInfo("UTC"))
        self._now = start if start.tzinfo else start.replace(tzinfo=self.tz)
        self._mono = 1000.0
        self.drives_server = drives_server

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float | timedelta = 0.0, **delta: float) -> None:
        """Move forward by a timedelta, by seconds, or by ``days=``/``hours=``/... (in UTC)."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        step += timedelta(**delta)
        zone = self._now.tzinfo
        self._now = (self._now.astimezone(UTC) + step).astimezone(zone)
        self._mono += step.total_seconds()

    def set(self, moment: datetime) -> None:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=self.tz)
        self._mono += max(0.0, (moment - self._now).total_seconds())
        self._now = moment


def today(clock: Clock) -> date:
    return clock.now().date()
