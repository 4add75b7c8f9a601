"""Dates as the screens show them."""

from __future__ import annotations

from datetime import date, time


def day_text(day: date, today: date | None = None) -> str:
    """ "Today, Mon 15 Jun" / "Tue 16 Jun": how a day reads in lists."""
    label = f"{day:%a} {day.day} {day:%b}"
    if today is not None and day == today:
        return f"Today, {label}"
    if today is not None and (day - today).days == 1:
        return f"Tomorrow, {label}"
    return label


def when_text(day: date, at: time, today: date | None = None) -> str:
    """ "Tomorrow, Tue 16 Jun at 09:30": a visit's day and time in messages."""
    return f"{day_text(day, today)} at {at:%H:%M}"
