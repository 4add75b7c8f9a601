"""Dates and times as every screen shows them: one style, in the PC's language and order.

The style is the locale's own long date with short names ("Mon, 15 Jun 2026" in
British English, "Mon, Jun 15, 2026" in American English, "Mo., 15. Juni 2026" in
German), the year left out next to today's date when it is this year. Times follow
the locale too ("09:30", "9:30 AM"). Tables, dialogs and messages all call these
functions; no screen formats a date by hand.

File names are the one exception, on purpose: they take ISO dates (``2026-06-15``),
which sort by date in any file manager and contain no "/" (which locale dates do).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from PySide6.QtCore import QDate, QLocale, QTime
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QCalendarWidget, QDateEdit, QWidget


def _locale() -> QLocale:
    # The default locale: the system's, unless the application (or a test) set one.
    return QLocale()


def _medium_format(locale: QLocale, *, weekday: bool, year: bool) -> str:
    """The locale's long date pattern with short names; optionally without weekday or year."""
    fmt = locale.dateFormat(QLocale.FormatType.LongFormat)
    fmt = fmt.replace("dddd", "ddd").replace("MMMM", "MMM")
    if not weekday:
        if fmt.startswith("ddd"):
            fmt = re.sub(r"^ddd[\s,.]*", "", fmt)
        else:
            fmt = re.sub(r"[\s,]*ddd", "", fmt)
    if not year:
        if fmt.startswith("y"):
            fmt = re.sub(r"^y+[^dMy']*", "", fmt)
        else:  # with what joins it on: ", yyyy", " 'de' yyyy"
            fmt = re.sub(r"(\s*'[^']*')?[^dMy']*y+", "", fmt)
    return fmt.strip(" ,")


def day_text(day: date, today: date | None = None, *, weekday: bool = True) -> str:
    """ "Today, Mon, 15 Jun" / "Mon, 15 Jun 2026": how a day reads everywhere.

    With ``today`` the day is named Today or Tomorrow when it is, and the year is left
    out within today's year; without it the year is always there (lists of any age).
    """
    locale = _locale()
    same_year = today is not None and day.year == today.year
    label = locale.toString(
        QDate(day.year, day.month, day.day),
        _medium_format(locale, weekday=weekday, year=not same_year),
    )
    if today is not None and day == today:
        return f"Today, {label}"
    if today is not None and (day - today).days == 1:
        return f"Tomorrow, {label}"
    return label


def time_text(at: time) -> str:
    """ "09:30" or "9:30 AM", as the locale writes a time of day."""
    return _locale().toString(QTime(at.hour, at.minute), QLocale.FormatType.ShortFormat)


def when_text(day: date, at: time, today: date | None = None) -> str:
    """ "Tomorrow, Tue, 16 Jun at 09:30": a visit's day and time in messages."""
    return f"{day_text(day, today)} at {time_text(at)}"


def moment_text(moment: datetime) -> str:
    """A point in time (already in the zone to show): "Mon, 15 Jun 2026 09:30"."""
    return f"{day_text(moment.date())} {time_text(moment.time())}"


def birth_text(born: date) -> str:
    """A date of birth: "2 Mar 1987" (no weekday: nobody asks on which day one was born)."""
    return day_text(born, weekday=False)


def short_day_text(day: date) -> str:
    """ "15 Jun" / "Jun 15": a day on a chart axis (no weekday, no year)."""
    locale = _locale()
    return locale.toString(qdate(day), _medium_format(locale, weekday=False, year=False))


def week_day_text(day: date) -> str:
    """ "Mon, 15 Jun": a day heading a column of a week (no year: the title says it)."""
    locale = _locale()
    return locale.toString(qdate(day), _medium_format(locale, weekday=True, year=False))


def week_day_brief_text(day: date) -> str:
    """ "Mon 15": a week's column heading where "Mon, 15 Jun" does not fit (the range's
    title names the month)."""
    locale = _locale()
    return locale.toString(qdate(day), "ddd d")


def file_date(day: date) -> str:
    """``2026-06-15``: a date inside a file name (see the module docstring)."""
    return day.isoformat()


def qdate(day: date) -> QDate:
    """The same day as a QDate (for date pickers)."""
    return QDate(day.year, day.month, day.day)


def picker_format() -> str:
    """The display format for date pickers: the medium style ("Mon, 15 Jun 2026"), whose
    sections (weekday, day, short month name, year) stay typeable in a QDateEdit."""
    return _medium_format(_locale(), weekday=True, year=True)


def fit_calendar(calendar: QCalendarWidget) -> None:
    """Size a calendar so every weekday name, every date and the last week show whole
    (its own size hint leaves them "…" or clipped with larger fonts)."""
    metrics = calendar.fontMetrics()
    bold = QFont(calendar.font())
    bold.setBold(True)  # headers and today are bold
    wide = QFontMetrics(bold)
    locale = calendar.locale()
    names = [locale.dayName(d, QLocale.FormatType.ShortFormat) for d in range(1, 8)]
    cell = max([wide.horizontalAdvance(n) for n in names] + [wide.horizontalAdvance("00")])
    cell += 2 * metrics.averageCharWidth() + 4
    columns = 7 + (
        calendar.verticalHeaderFormat() != QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader
    )
    row = wide.height() + 8
    navigation = calendar.findChild(QWidget, "qt_calendar_navigationbar")
    top = navigation.sizeHint().height() if navigation is not None else wide.height() + 12
    hint = calendar.sizeHint()
    calendar.setMinimumSize(
        max(hint.width(), columns * cell + 8), max(hint.height(), top + 7 * row + 8)
    )


def date_edit(parent: QWidget | None = None, day: date | None = None) -> QDateEdit:
    """A date picker as every screen has it: the medium style, typeable, with a
    calendar popup wide and tall enough for its names and weeks."""
    edit = QDateEdit(parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(picker_format())
    if day is not None:
        edit.setDate(qdate(day))
    fit_calendar(edit.calendarWidget())
    return edit


__all__ = [
    "birth_text",
    "date_edit",
    "day_text",
    "file_date",
    "fit_calendar",
    "moment_text",
    "picker_format",
    "qdate",
    "short_day_text",
    "time_text",
    "week_day_brief_text",
    "week_day_text",
    "when_text",
]
