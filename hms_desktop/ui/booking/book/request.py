"""What the book reads: a day of some doctors, or dates of one doctor (no Qt: it runs
on a worker thread), and a cell named by what it shows so it survives a reload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from hms_desktop.services.actor import Actor
from hms_desktop.services.clinic import Clinic
from hms_desktop.services.scheduling import book
from hms_desktop.services.scheduling.book import DayBook

#: A cell by what it shows, so it survives a reload: (doctor id, date, time).
CellKey = tuple[int, date, time]


@dataclass(frozen=True)
class BookRequest:
    """What to read: a day of some doctors, or ``days`` dates of one doctor."""

    day: date
    doctor_ids: tuple[int, ...] | None = None
    department_id: int | None = None
    #: One doctor's dates (the week view); None for the day view.
    week_doctor: int | None = None
    #: The week view's first date; None: the Monday of ``day``'s week.
    first: date | None = None
    days: int = 7


def read_books(clinic: Clinic, actor: Actor, request: BookRequest) -> list[DayBook]:
    """The books ``request`` asks for (runs on a worker thread).

    Raises:
        PermissionDeniedError, ValidationError: as :func:`book.day_book`.
    """
    if request.week_doctor is not None:
        if request.first is None:
            return book.week_books(clinic, actor, request.week_doctor, request.day)
        return book.days_books(clinic, actor, request.week_doctor, request.first, request.days)
    ids = list(request.doctor_ids) if request.doctor_ids is not None else None
    return [
        book.day_book(
            clinic, actor, request.day, doctor_ids=ids, department_id=request.department_id
        )
    ]
