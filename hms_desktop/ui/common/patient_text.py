"""One way to name a patient on screen, so that two patients of one name are told apart."""

from __future__ import annotations

from datetime import date


def patient_text(name: str, patient_id: int, born: date | None = None) -> str:
    """ "Anna Hoffmann (born 1987, #42)"; "Anna Hoffmann (#42)" when the birth date is unknown.

    Wherever the desk confirms or is about to act for a patient (the booking dialog, the
    finder's choice, a booking's confirmation), it names them this way: the year and
    the number tell namesakes apart without opening their record.
    """
    year = f"born {born:%Y}, " if born is not None else ""
    return f"{name} ({year}#{patient_id})"
