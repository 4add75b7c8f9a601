"""The fake clock moves in UTC, as real time does, across DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hms_desktop.services.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")


def test_two_minutes_after_0159_on_spring_forward_night_is_0301_summer_time() -> None:
    clock = FakeClock(datetime(2026, 3, 29, 1, 59, tzinfo=BERLIN))

    clock.advance(minutes=2)

    now = clock.now()
    assert (now.hour, now.minute) == (3, 1)
    assert now.utcoffset() == timedelta(hours=2)
    assert now.tzinfo is BERLIN
    assert clock.monotonic() == 1000.0 + 120


def test_an_hour_after_0230_summer_time_on_fall_back_night_is_0230_winter_time() -> None:
    clock = FakeClock(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN))  # the first 02:30 (+02)
    assert clock.now().utcoffset() == timedelta(hours=2)

    clock.advance(timedelta(hours=1))

    now = clock.now()
    assert (now.hour, now.minute, now.fold) == (2, 30, 1)
    assert now.utcoffset() == timedelta(hours=1)
    assert now - datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("UTC")) == timedelta(hours=1)


def test_a_day_across_the_change_is_24_real_hours() -> None:
    clock = FakeClock(datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN))

    clock.advance(days=1)

    assert clock.now().hour == 13  # 24 hours later, the wall clock has jumped one hour
    assert clock.now().utcoffset() == timedelta(hours=2)
