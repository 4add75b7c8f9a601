"""Time as the clinic sees it. Tests and schedules use a fake clock; nothing else does."""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> datetime:
        """The current time, aware, in the clinic's time zone."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, for cache ages and durations."""
        ...


class SystemClock:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def monotonic(self) -> float:
        return _time.monotonic()


class FakeClock:
    """A clock that only moves when told to (tests, demos, catch-up simulations)."""

    def __init__(self, start: datetime, tz: ZoneInfo | None = None) -> None:
        self.tz = tz or (start.tzinfo if isinstance(start.tzinfo, ZoneInfo) else ZoneInfo("UTC"))
        self._now = start if start.tzinfo else start.replace(tzinfo=self.tz)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float | timedelta = 0.0, **delta: float) -> None:
        """Move forward by a timedelta, by seconds, or by ``days=``/``hours=``/... ."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        step += timedelta(**delta)
        self._now += step
        self._mono += step.total_seconds()

    def set(self, moment: datetime) -> None:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=self.tz)
        self._mono += max(0.0, (moment - self._now).total_seconds())
        self._now = moment


def today(clock: Clock) -> date:
    return clock.now().date()
