"""This PC's own settings: the database URL and the preferences of this PC.

Precedence, highest first: command line > environment (``HMS_*``) > the settings
file in the user config dir > defaults. The SMTP password is never written to the
settings file: it comes from ``HMS_SMTP_PASSWORD`` or the system keyring.

Clinic-wide settings (time zone, grid, policies, SMTP server...) live in the clinic
database (:mod:`hms_desktop.services.clinic_settings`). Settings files written by
older versions still hold some of them: :func:`legacy_clinic_values` reads those
once, so the first administrator start or ``hms init`` can move them into the
database.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any

import platformdirs

from hms_desktop import APP_ID
from hms_desktop.errors import ValidationError

SETTINGS_FILE_NAME = "settings.json"


def config_dir() -> Path:
    """The folder of the settings file (``HMS_CONFIG_DIR`` overrides it)."""
    return Path(os.environ.get("HMS_CONFIG_DIR") or platformdirs.user_config_dir(APP_ID, False))


def data_dir() -> Path:
    """The folder of the default database, logs and exports (``HMS_DATA_DIR`` overrides it)."""
    return Path(os.environ.get("HMS_DATA_DIR") or platformdirs.user_data_dir(APP_ID, False))


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for memory or a server), without SQLAlchemy.

    The start-up needs it before the window is shown (to lock the file, or ask before
    creating it), and importing SQLAlchemy takes longer than showing the window. It reads
    a URL as ``sqlalchemy.make_url`` does (a test holds the two together).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite" or not rest.startswith("/"):
        return None
    database = rest[1:].split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'clinic.sqlite3'}"


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'demo-clinic.sqlite3'}"


def log_file() -> Path:
    return data_dir() / "logs" / "hms-desktop.log"


def writable_folder(folder: Path) -> bool:
    """Create ``folder`` and its missing parents 0700 (as the data folders); whether this
    user can then write in it. Never raises: False when it cannot be made or written."""
    missing: list[Path] = []
    step = folder
    try:
        while not step.exists() and step.parent != step:
            missing.append(step)
            step = step.parent
        for part in reversed(missing):
            part.mkdir(mode=0o700, exist_ok=True)
        return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


@dataclass(frozen=True)
class Settings:
    """What belongs to this PC alone. Immutable: use :meth:`replace`."""

    database_url: str = ""
    #: How long the dashboard's figures are kept before they are counted again.
    cache_ttl_seconds: float = 300.0
    #: This PC's keyring or environment keeps it; never written to the file.
    smtp_password: str = field(default="", repr=False)
    #: Where this PC's exports go by default.
    export_dir: str = ""
    #: The CSV delimiter chosen on this PC ("," ";" or tab); empty: from the PC's locale.
    csv_delimiter: str = ""
    #: The doctors the appointment book shows on this PC ("3,5,8"); empty: every doctor.
    book_doctors: str = ""

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def effective_export_dir(self) -> Path:
        """The folder every save dialog suggests its file in: the PC's export folder, or
        ``exports`` in the data folder, created 0700 if missing; the user's home when it
        cannot be created or written.

        Qt's print and file dialogs refuse a suggested file in a missing folder ("is not
        writable"), so on a fresh install the folder must exist before a dialog opens.
        """
        folder = Path(self.export_dir) if self.export_dir else data_dir() / "exports"
        return folder if writable_folder(folder) else Path.home()


#: Settings never written to the settings file.
_SECRET_FIELDS = frozenset({"smtp_password"})
_ENV_PREFIX = "HMS_"


def _shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut short, so a message never quotes a whole pasted page."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def parse_hhmm(value: str, name: str = "time") -> time:
    """Parse ``HH:MM``; raise :class:`ValidationError` naming the setting otherwise."""
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ValidationError(
            f"{name} must be a time like 08:00, not {_shown(value)}.", field=name
        ) from None


def _coerce(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "bool":
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValidationError(f"Setting {name} must be on or off, not {_shown(raw)}.", field=name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise ValidationError(
            f"Setting {name} must be a number, not {_shown(raw)}.", field=name
        ) from None
    return str(raw)


def validate(settings: Settings) -> Settings:
    """Check values that would break the application later; return them unchanged."""
    if not settings.cache_ttl_seconds >= 0:  # also refuses NaN
        raise ValidationError("The cache time must not be negative.", field="cache_ttl_seconds")
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:  # a folder or file this user may not read: one line, no traceback
        raise ValidationError(
            f"The settings file {path} cannot be read ({exc.strerror or exc}); give this user "
            "access to it or its folder, or set HMS_CONFIG_DIR to another folder."
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # RecursionError: absurdly nested JSON; the message must stay short either way.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
        raise ValidationError(
            f"The settings file {path} cannot be read ({reason}); fix or delete it."
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"The settings file {path} must hold a JSON object.")
    return data


def legacy_clinic_values(
    names: frozenset[str], *, settings_file: Path | None = None
) -> dict[str, Any]:
    """Clinic-wide values an older version kept in this PC's settings file (``names`` only).

    Raises:
        ValidationError: the file cannot be read.
    """
    data = _read_file(settings_file or config_dir() / SETTINGS_FILE_NAME)
    return {key: value for key, value in data.items() if key in names}


def keyring_password(user: str) -> str:
    """The SMTP password this PC's keyring keeps for ``user`` ("" when none)."""
    return _keyring_password(user)


def _keyring_password(user: str) -> str:
    if not user:
        return ""
    try:
        import keyring

        return keyring.get_password(APP_ID, f"smtp:{user}") or ""
    except Exception:  # no keyring backend on this machine: the password stays unset
        return ""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    settings_file: Path | None = None,
) -> Settings:
    """Build the settings: ``overrides`` (command line) > environment > file > defaults.

    Raises:
        ValidationError: a value is malformed (the message names the setting).
    """
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in _read_file(settings_file or config_dir() / SETTINGS_FILE_NAME).items():
        if key in names and key not in _SECRET_FIELDS:
            values[key] = _coerce(key, raw)
    for name in names:
        raw_env = env.get(_ENV_PREFIX + name.upper())
        if raw_env not in (None, ""):
            values[name] = _coerce(name, raw_env)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = _coerce(key, raw)
    settings = Settings(**values)
    if not settings.database_url:
        settings = settings.replace(database_url=default_database_url())
    return validate(settings)


def save_settings(settings: Settings, *, settings_file: Path | None = None) -> Path:
    """Write the non-secret settings atomically; return the file's path."""
    validate(settings)
    path = settings_file or config_dir() / SETTINGS_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        f.name: getattr(settings, f.name)
        for f in fields(Settings)
        if f.name not in _SECRET_FIELDS and getattr(settings, f.name) != f.default
    }
    # Clinic values an older version wrote stay in the file until the database holds
    # them (moved by the first administrator start or 'hms init'), so none is lost.
    names = {f.name for f in fields(Settings)}
    for key, value in _read_file(path).items():
        if key not in names:
            data.setdefault(key, value)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_preferences(*, settings_file: Path | None = None, **changes: Any) -> Settings:
    """Remember UI preferences of this PC (e.g. ``csv_delimiter``) in the settings file.

    Starts from the file alone, so command-line and environment values of this run
    are not written into it. Returns the settings as stored.

    Raises:
        ValidationError: a value is malformed.
        OSError: the file cannot be written.
    """
    stored = load_settings(environ={}, settings_file=settings_file)
    if stored.database_url == default_database_url():
        stored = stored.replace(database_url="")
    updated = stored.replace(**changes)
    save_settings(updated, settings_file=settings_file)
    return updated


def store_smtp_password(user: str, password: str) -> bool:
    """Keep the SMTP password in the system keyring; False when there is no keyring.

    Read back after writing: the "null" keyring (the fallback on machines without one)
    accepts a password silently and keeps nothing.
    """
    try:
        import keyring

        keyring.set_password(APP_ID, f"smtp:{user}", password)
        return keyring.get_password(APP_ID, f"smtp:{user}") == password
    except Exception:
        return False
