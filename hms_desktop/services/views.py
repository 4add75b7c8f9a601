"""Plain, immutable rows the services return. No ORM object leaves a session."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

#: How statuses and visit types read on screen, in exports, reports and emails (one place).
STATUS_LABELS = {
    "booked": "Booked",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
VISIT_LABELS = {
    "consultation": "Consultation",
    "follow_up": "Follow-up",
    "check_up": "Check-up",
    "emergency": "Emergency",
    "procedure": "Procedure",
}


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


@dataclass(frozen=True)
class HistoryRow:
    """One treatment in a patient's history (the export's row)."""

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
