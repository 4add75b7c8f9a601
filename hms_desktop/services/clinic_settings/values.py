"""The clinic-wide settings: what they are, their defaults, and how each is checked.

One :class:`ClinicSettings` holds every value the whole clinic shares (stored in the
``clinic_settings`` table, so every PC on one database agrees). Each value is checked
by :func:`parse_value`, which raises a one-line :class:`ValidationError` naming the
setting and what to type instead.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hms_desktop.config import data_dir, parse_hhmm
from hms_desktop.errors import ValidationError

TLS_MODES = ("starttls", "ssl", "none")
REMINDER_LEADS = ("same_day", "day_before")


@dataclass(frozen=True)
class ClinicSettings:
    """Every clinic-wide setting, typed. Immutable: use :meth:`replace`.

    ``smtp_password`` is the one value not stored in the database: it stays in this
    PC's keyring or ``HMS_SMTP_PASSWORD`` and is added when the clinic is opened.
    """

    timezone: str = "UTC"
    clinic_name: str = ""
    clinic_address: str = ""
    #: The appointment grid: new availability windows offer a slot every N minutes.
    slot_minutes: int = 30
    #: How many days ahead a visit may be booked.
    booking_horizon_days: int = 90
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    #: Minutes without input before the window locks (the accounts work reads it).
    idle_lock_minutes: int = 5
    #: How long after a doctor's last visit with a patient the doctor still counts as
    #: treating them (the accounts work reads it).
    care_window_days: int = 365
    reminder_time: str = "08:00"
    #: "same_day" sends on the morning of the visit; "day_before" the morning before.
    reminder_lead: str = "same_day"
    monthly_report_time: str = "00:00"
    backup_dir: str = ""
    backup_retention: int = 7
    backup_time: str = "22:00"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: str = ""
    smtp_from: str = ""
    send_booking_confirmation: bool = False
    smtp_password: str = field(default="", repr=False, compare=False)

    def replace(self, **changes: Any) -> ClinicSettings:
        return dataclasses.replace(self, **changes)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def reminder_clock(self) -> time:
        return parse_hhmm(self.reminder_time, "reminder_time")

    @property
    def effective_backup_dir(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else data_dir() / "backups"

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)


#: The settings stored in the database, in the order ``hms clinic show`` lists them.
KEYS: tuple[str, ...] = tuple(f.name for f in fields(ClinicSettings) if f.name != "smtp_password")
_TYPES = {f.name: f.type for f in fields(ClinicSettings)}
#: Whole-number settings and their allowed range, with the word for the unit.
_RANGES: dict[str, tuple[int, int, str]] = {
    "slot_minutes": (5, 240, "minutes"),
    "booking_horizon_days": (1, 730, "days"),
    "lockout_threshold": (1, 100, "failed sign-ins"),
    "lockout_minutes": (1, 1440, "minutes"),
    "idle_lock_minutes": (1, 240, "minutes"),
    "care_window_days": (1, 3650, "days"),
    "backup_retention": (0, 365, "backups"),
    "smtp_port": (1, 65535, ""),
}
_CHOICES = {"smtp_tls": TLS_MODES, "reminder_lead": REMINDER_LEADS}
_TIMES = ("reminder_time", "monthly_report_time", "backup_time")
_TEXT_LIMITS = {"clinic_name": 120, "clinic_address": 500, "backup_dir": 1000}


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_zone(name: str) -> str:
    """The zone name if Python knows it; else :class:`ValidationError`."""
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder
        raise ValidationError(
            f"timezone: unknown time zone {_shown(name)}; use a name like Europe/Berlin.",
            field="timezone",
        ) from None
    return name


def parse_value(key: str, raw: Any) -> Any:
    """``raw`` (typed, or text from the command line or a file) as setting ``key`` holds it.

    Raises:
        ValidationError: an unknown setting, or a value it cannot hold (one line that
            names the setting and what is allowed).
    """
    if key not in KEYS:
        raise ValidationError(
            f"There is no clinic setting {_shown(key)}; see 'hms clinic show'.", field="key"
        )
    kind = _TYPES[key]
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValidationError(f"{key} must be yes or no, not {_shown(raw)}.", field=key)
    if kind == "int":
        low, high, unit = _RANGES[key]
        try:
            number = raw if isinstance(raw, int) and not isinstance(raw, bool) else int(str(raw))
        except ValueError:
            raise ValidationError(
                f"{key} must be a whole number, not {_shown(raw)}.", field=key
            ) from None
        if not low <= number <= high:
            raise ValidationError(f"{key} must be {low} to {high} {unit}.".strip(), field=key)
        return number
    text = str(raw).strip()
    if key == "timezone":
        return check_zone(text)
    if key in _TIMES:
        at = parse_hhmm(text, key)
        return f"{at:%H:%M}"
    if key in _CHOICES:
        if text not in _CHOICES[key]:
            raise ValidationError(f"{key} must be {' or '.join(_CHOICES[key])}.", field=key)
        return text
    if any(ch in text for ch in "\r\n\x00") and key != "clinic_address":
        raise ValidationError(f"{key} must be one line.", field=key)
    if len(text) > _TEXT_LIMITS.get(key, 254):
        raise ValidationError(
            f"{key} must be at most {_TEXT_LIMITS.get(key, 254)} characters.", field=key
        )
    return text


def from_mapping(values: Mapping[str, Any], base: ClinicSettings | None = None) -> ClinicSettings:
    """Settings from ``base`` (the defaults) with the known keys of ``values`` parsed in."""
    parsed = {key: parse_value(key, raw) for key, raw in values.items() if key in KEYS}
    return (base or ClinicSettings()).replace(**parsed)


def env_name(key: str) -> str:
    return f"HMS_{key.upper()}"


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Clinic values an operator set on this PC with ``HMS_<KEY>`` (they win on this PC)."""
    return {
        key: parse_value(key, environ[env_name(key)])
        for key in KEYS
        if environ.get(env_name(key), "") != ""
    }


def local_zone_name() -> str:
    """This PC's time zone name (the first run's default); "UTC" only if the PC says so."""
    from_env = os.environ.get("TZ", "").lstrip(":")
    candidates = [from_env] if from_env else []
    try:
        import tzlocal

        candidates.append(tzlocal.get_localzone_name() or "")
    except Exception:  # no zone database entry for this PC: ask the person instead
        pass
    for name in candidates:
        try:
            return check_zone(name)
        except ValidationError:
            continue
    return "UTC"
