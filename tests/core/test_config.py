"""This PC's settings: command line > environment > file > defaults; clear errors; no secrets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hms_desktop.config import (
    Settings,
    default_database_url,
    legacy_clinic_values,
    load_settings,
    save_settings,
)
from hms_desktop.errors import ValidationError


def _file(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_precedence_command_line_environment_file_defaults(tmp_path: Path) -> None:
    settings_file = _file(
        tmp_path,
        {
            "cache_ttl_seconds": 60,
            "export_dir": "/from/file",
            "timezone": "Asia/Tokyo",  # a clinic value an old version wrote: not this PC's
            "unknown_key": "ignored",
        },
    )
    environ = {
        "HMS_EXPORT_DIR": "/from/env",
        "HMS_DATABASE_URL": "sqlite:////env/clinic.sqlite3",
        "HMS_CACHE_TTL_SECONDS": "",  # empty means "not set"
    }
    s = load_settings(
        {"export_dir": "/from/command/line", "database_url": None},
        environ=environ,
        settings_file=settings_file,
    )
    assert s.export_dir == "/from/command/line"  # command line beats all
    assert s.database_url == "sqlite:////env/clinic.sqlite3"  # a None override does not count
    assert s.cache_ttl_seconds == 60.0  # the file beats the defaults
    assert not hasattr(s, "timezone")  # clinic-wide: in the database, not on this PC
    s = load_settings(environ=environ, settings_file=settings_file)
    assert s.export_dir == "/from/env"  # environment beats the file


def test_the_real_environment_and_default_locations_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings()
    assert defaults.database_url == default_database_url()
    assert defaults.database_url.endswith("clinic.sqlite3")
    monkeypatch.setenv("HMS_CACHE_TTL_SECONDS", "12.5")
    monkeypatch.setenv("HMS_SMTP_PASSWORD", "from-env")
    s = load_settings()
    assert (s.cache_ttl_seconds, s.smtp_password) == (12.5, "from-env")
    assert "from-env" not in repr(s)


@pytest.mark.parametrize("source", ["override", "env", "file"])
def test_bad_values_name_the_setting(tmp_path: Path, source: str) -> None:
    name, value = "cache_ttl_seconds", "five minutes"
    overrides = {name: value} if source == "override" else {}
    environ = {f"HMS_{name.upper()}": str(value)} if source == "env" else {}
    settings_file = _file(tmp_path, {name: value} if source == "file" else {})
    with pytest.raises(ValidationError) as err:
        load_settings(overrides, environ=environ, settings_file=settings_file)
    assert err.value.field == name
    assert name in str(err.value)


def test_old_clinic_values_in_the_file_are_read_for_the_move_and_kept_on_save(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, {"timezone": "Asia/Tokyo", "slot_minutes": 20, "export_dir": "/x"})
    assert legacy_clinic_values(frozenset({"timezone", "slot_minutes"}), settings_file=path) == {
        "timezone": "Asia/Tokyo",
        "slot_minutes": 20,
    }
    save_settings(load_settings(environ={}, settings_file=path).replace(export_dir="/y"),
                  settings_file=path)  # fmt: skip
    saved = json.loads(path.read_text(encoding="utf-8"))
    # Kept until the first administrator start (or 'hms init') moves them into the database.
    assert (saved["timezone"], saved["slot_minutes"], saved["export_dir"]) == (
        "Asia/Tokyo",
        20,
        "/y",
    )


def test_an_unreadable_settings_file_says_which_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"settings\.json cannot be read"):
        load_settings(environ={}, settings_file=path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValidationError, match="must hold a JSON object"):
        load_settings(environ={}, settings_file=path)


def test_save_settings_never_writes_the_smtp_password(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    settings = Settings(
        database_url="sqlite:////data/clinic.sqlite3",
        export_dir="/exports",
        smtp_password="hunter2-very-secret",
    )
    assert save_settings(settings, settings_file=path) == path
    raw = path.read_text(encoding="utf-8")
    assert "hunter2" not in raw
    assert "smtp_password" not in raw
    assert json.loads(raw) == {
        "database_url": "sqlite:////data/clinic.sqlite3",
        "export_dir": "/exports",
    }
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temp file left
    # A password put into the file by hand is ignored, too.
    _file(path.parent, {**json.loads(raw), "smtp_password": "typed-in"})
    loaded = load_settings(environ={}, settings_file=path)
    assert (loaded.export_dir, loaded.smtp_password) == ("/exports", "")
    # An invalid value is refused before anything is written.
    with pytest.raises(ValidationError):
        save_settings(settings.replace(cache_ttl_seconds=-1.0), settings_file=path)
    assert json.loads(path.read_text(encoding="utf-8"))["export_dir"] == "/exports"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///clinic.sqlite3",
        "sqlite:////tmp/a clinic/clinic.sqlite3",
        "sqlite:////tmp/x.sqlite3?mode=ro",
        "sqlite+pysqlite:///rel/dir/x.db",
        "sqlite:///a%20b.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://u:p@h/sqlite.db",
    ],
)
def test_sqlite_file_reads_a_url_as_sqlalchemy_does(url: str) -> None:
    # The start-up reads the file without SQLAlchemy (it loads after the window shows).
    from hms_desktop.config import sqlite_file
    from hms_desktop.db.engine import sqlite_path

    assert sqlite_file(url) == sqlite_path(url)


def test_the_export_folder_exists_private_before_a_dialog_suggests_a_file_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh install: not even the data folder exists yet.
    data = tmp_path / "fresh" / "data"
    monkeypatch.setenv("HMS_DATA_DIR", str(data))
    folder = Settings().effective_export_dir
    assert folder == data / "exports" and folder.is_dir()
    if os.name == "posix":
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
    # A folder chosen on this PC is made too.
    chosen = tmp_path / "chosen" / "pdfs"
    assert Settings(export_dir=str(chosen)).effective_export_dir == chosen and chosen.is_dir()


def test_an_export_folder_that_cannot_be_made_suggests_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("HMS_DATA_DIR", str(blocker / "data"))
    assert Settings().effective_export_dir == Path.home()
    assert Settings(export_dir=str(blocker / "pdfs")).effective_export_dir == Path.home()
