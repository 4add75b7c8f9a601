"""Plain, immutable rows the services return. No ORM object leaves a session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

#: How statuses and visit types read on screen, in exports, reports and emails (one place).
STATUS_LABELS = {
    "booked": "Booked",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
#: The stored statuses and where a booked visit is on its day (arrived, with the doctor).
FLOW_LABELS = {
    **STATUS_LABELS,
    "arrived": "Arrived",
    "in_consultation": "In consultation",
}
VISIT_LABELS = {
    "consultation": "Consultation",
    "follow_up": "Follow-up",
    "check_up": "Check-up",
    "emergency": "Emergency",
    "procedure": "Procedure",
}


def _plain_day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b} {day.year}"


_day_text: Callable[[dt.date], str] = _plain_day


def use_day_text(formatter: Callable[[dt.date], str]) -> None:
    """Say days in messages the way the screens do (the window passes its locale's)."""
    global _day_text
    _day_text = formatter


def day_words(day: dt.date) -> str:
    """A day as a message to a person says it: "Mon 15 Jun 2026", or the window's style."""
    return _day_text(day)


def to_json(row: Any) -> dict[str, Any]:
    """A JSON-ready dict: dates as YYYY-MM-DD, times as HH:MM, timestamps ISO 8601."""
    out: dict[str, Any] = {}
    for key, value in asdict(row).items():
        if isinstance(value, (dt.datetime, dt.date)):
            out[key] = value.isoformat()
        elif isinstance(value, dt.time):
            out[key] = value.strftime("%H:%M")
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class DepartmentRow:
    id: int
    name: str
    description: str
    doctor_count: int = 0


@dataclass(frozen=True)
class DoctorRow:
    id: int
    full_name: str
    department_id: int
    department: str
    qualification: str
    email: str
    phone: str
    blacklisted: bool
    user_id: int | None = None
    username: str = ""


@dataclass(frozen=True)
class PatientRow:
    id: int
    full_name: str
    date_of_birth: dt.date | None
    gender: str
    phone: str
    email: str
    address: str
    blacklisted: bool
    reminders_opt_out: bool
    user_id: int | None = None
    username: str = ""


@dataclass(frozen=True)
class Slot:
    doctor_id: int
    date: dt.date
    time: dt.time
    end_time: dt.time


@dataclass(frozen=True)
class AvailabilityWindow:
    date: dt.date
    start_time: dt.time
    end_time: dt.time


@dataclass(frozen=True)
class AppointmentRow:
    id: int
    date: dt.date
    time: dt.time
    doctor_id: int
    doctor: str
    department: str
    patient_id: int
    patient: str
    visit_type: str
    status: str
    reason: str
    has_treatment: bool = False
    diagnosis: str = ""
    prescription: str = ""
    #: When the visit ends (its length comes from the visit type).
    end_time: dt.time | None = None


@dataclass(frozen=True)
class TreatmentRow:
    id: int
    appointment_id: int
    symptoms: str
    diagnosis: str
    treatment_given: str
    prescription: str
    notes: str
    updated_at: dt.datetime


class HistoryRow(NamedTuple):
    """One treatment in a patient's history (the export's row). A named tuple: a history
    is read often and long, and a tuple is made from a result row in one step."""

    patient_id: int
    patient_name: str
    appointment_id: int
    doctor: str
    department: str
    date: dt.date
    time: dt.time
    visit_type: str
    symptoms: str
    diagnosis: str
    treatment_given: str
    prescription: str
    notes: str
    #: Earlier versions kept by amendments (0: never amended).
    earlier_versions: int = 0


@dataclass(frozen=True)
class WaitingRow:
    """A patient in the waiting room (checked in, or with the doctor)."""

    appointment_id: int
    patient_id: int
    patient: str
    doctor_id: int
    doctor: str
    time: dt.time  # the booked start
    status: str  # "arrived" or "in_consultation"
    arrived_at: dt.datetime  # UTC
    consultation_at: dt.datetime | None
    waited_minutes: int  # since arrival, to now or to being called in
    overbooked: bool = False


@dataclass(frozen=True)
class WaitlistRow:
    """A patient's request for an earlier time."""

    id: int
    patient_id: int
    patient: str
    doctor_id: int | None
    doctor: str
    department_id: int | None
    department: str
    days: str
    time_from: dt.time | None
    time_to: dt.time | None
    until: dt.date | None
    minutes: int
    note: str
    created_at: dt.datetime
    #: Tells namesakes on the waitlist apart (with the id), see ``ui/common/patient_text``.
    patient_born: dt.date | None = None
