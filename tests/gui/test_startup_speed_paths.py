"""The start-up's fast paths: what loads before the window, and the start check's demo log-in.

The window (with the sign-in page) is shown before any database code is imported; the
start check (``--quit-after-show --demo``) then signs in on the worker thread, so argon2
runs while the UI thread loads the screens; the screens, Alembic and the demo generator
are not imported before the worker starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from hms_desktop import config
from hms_desktop.services.actor import Actor
from hms_desktop.ui.shell.sign_in import DemoAccount
from hms_desktop.ui.shell.startup import (
    EXIT_FAILED,
    EXIT_OK,
    SHOWN_MESSAGE,
    WINDOW_MESSAGE,
    StartOptions,
    Startup,
)
from hms_desktop.ui.shell.startup_open import demo_accounts_file, demo_logins

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60_000  # building the demo clinic on a busy shared machine

#: Loaded only after the window is shown (the database code, the screens), on upgrade
#: only (Alembic), or only for a new demo clinic (its generator), never by importing the
#: start-up itself.
LATE_MODULES = (
    "sqlalchemy",
    "argon2",
    "psycopg",
    "hms_desktop.db",
    "hms_desktop.services.people.accounts",
    "hms_desktop.services.clinic",
    "alembic",
    "mako",
    "openpyxl",
    "apscheduler",
    "PySide6.QtCharts",
    "hms_desktop.services.demo.generator",
    "hms_desktop.ui.shell.main_window",
    "hms_desktop.ui.admin.admin_tab",
    "hms_desktop.ui.patient.patient_tab",
    "hms_desktop.ui.shell.first_run",
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HMS_DATA_DIR": str(tmp_path / "data"),
        "HMS_CONFIG_DIR": str(tmp_path / "config"),
        "QT_QPA_PLATFORM": "offscreen",
    }


def _python(tmp_path: Path, code: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with this test's data folders, offscreen."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _early(loaded: set[str]) -> list[str]:
    """The modules in ``loaded`` that must wait until after the window is shown."""
    return sorted(m for m in loaded if any(m == x or m.startswith(x + ".") for x in LATE_MODULES))


def test_importing_the_start_up_loads_no_screen_migration_or_generator_code(tmp_path) -> None:
    probe = (
        "import json, sys\n"
        "import hms_desktop.app, hms_desktop.ui.shell.startup, hms_desktop.ui.shell.style\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = _python(tmp_path, probe, timeout=120)
    done.check_returncode()
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "hms_desktop.ui.shell.app_window" in loaded  # the window's code is there
    assert _early(loaded) == []


def test_the_window_is_shown_before_any_database_code_is_loaded(tmp_path) -> None:
    # What was imported at the moment the start check says the window is up.
    probe = (
        "import json, sys\n"
        "import hms_desktop.ui.shell.startup as startup\n"
        "from hms_desktop.app import main\n"
        "def report(message):\n"
        "    if message == startup.WINDOW_MESSAGE:\n"
        "        print('AT-SHOW', json.dumps(sorted(sys.modules)), flush=True)\n"
        "    print(message, flush=True)\n"
        "startup._report = report\n"
        "sys.exit(main(['--demo', '--quit-after-show']))\n"
    )
    done = _python(tmp_path, probe, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    at_show = next(line for line in lines if line.startswith("AT-SHOW "))
    loaded = set(json.loads(at_show.removeprefix("AT-SHOW ")))
    assert _early(loaded) == []
    assert "importlib.metadata" not in loaded  # the version is read after the show
    # Then the clinic was opened and the demo administrator signed in, in that order.
    assert lines.index(WINDOW_MESSAGE) < lines.index(SHOWN_MESSAGE)


def test_a_repeated_start_check_signs_in_without_importing_alembic(tmp_path) -> None:
    def start() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "hms_desktop.app", "--demo"],
            env={**_env(tmp_path), "HMS_QUIT_AFTER_SHOW": "1"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )

    def imported(run: subprocess.CompletedProcess[str]) -> set[str]:
        return {
            line.rsplit("|", 1)[1].strip()
            for line in run.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2
        }

    first, second = start(), start()
    assert (first.returncode, second.returncode) == (0, 0), second.stderr[-2000:]
    # Each run says once that its window is up (the benchmark times the start by it).
    assert [r.stdout.splitlines().count(SHOWN_MESSAGE) for r in (first, second)] == [1, 1]
    assert "alembic" in imported(first)  # the new demo clinic was created with Alembic
    assert "alembic" not in imported(second)  # and found current the second time
    assert "hms_desktop.services.demo.generator" not in imported(second)
    assert "hms_desktop.ui.shell.main_window" in imported(second)  # the window was reached
    log = (tmp_path / "data" / "logs" / "hms-desktop.log").read_text(encoding="utf-8")
    assert log.count("signed in as admin (admin)") == 2


def _run_start_check(qtbot, url: str, path: Path) -> tuple[list[Actor], list[int]]:
    startup = Startup(
        config.Settings(database_url=url),
        StartOptions(demo=True, quit_after_show=True, database_file=path),
    )
    shown: list[Actor] = []
    # The window deletes itself on closing: keep who signed in, not the window.
    startup.main_window_shown.connect(lambda window: shown.append(window.actor))
    with qtbot.waitSignal(startup.finished, timeout=WAIT) as done:
        startup.start()
    qtbot.waitUntil(lambda: not startup.ops.busy, timeout=WAIT)
    startup.stop_workers()
    QApplication.processEvents()  # let the closed window be deleted
    return shown, done.args


@pytest.mark.slow
def test_the_start_check_signs_in_on_the_worker_and_reports_a_bad_log_in(
    qtbot, tmp_path, capsys
) -> None:
    path = tmp_path / "demo.sqlite3"
    url = f"sqlite:///{path}"
    # A new clinic: the worker builds it, remembers the log-ins and signs in as admin.
    shown, args = _run_start_check(qtbot, url, path)
    assert args == [EXIT_OK]
    assert [(a.username, a.role) for a in shown] == [("admin", "admin")]
    store = demo_accounts_file(path)
    remembered = json.loads(store.read_text(encoding="utf-8"))
    assert {a["role"] for a in remembered} >= {"admin", "receptionist", "doctor", "patient"}
    # An existing clinic: the remembered log-in is used.
    shown, args = _run_start_check(qtbot, url, path)
    assert args == [EXIT_OK] and [(a.username, a.role) for a in shown] == [("admin", "admin")]
    assert capsys.readouterr().out.splitlines().count(SHOWN_MESSAGE) == 2  # once per start
    # A wrong remembered password: the start check fails with exit 1, not a traceback,
    # and the database is left unlocked for the next program.
    for entry in remembered:
        entry["password"] = "not-the-password"
    store.write_text(json.dumps(remembered), encoding="utf-8")
    shown, args = _run_start_check(qtbot, url, path)
    assert args == [EXIT_FAILED] and shown == []
    assert SHOWN_MESSAGE not in capsys.readouterr().out  # only a shown window is reported
    from hms_desktop.services.safety.instance_lock import InstanceLock

    with InstanceLock(path):
        pass


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps([{"username": "admin"}]),
        json.dumps([{"username": "admin", "password": "x" * 12, "role": "admin", "extra": 1}]),
        json.dumps([{"username": 1, "password": "x" * 12, "role": "admin"}]),
        json.dumps({"username": "admin", "password": "x" * 12, "role": "admin"}),
    ],
)
def test_a_broken_log_in_store_lists_the_standard_demo_log_ins(
    sqlite_clinic, tmp_path, content: str
) -> None:
    from hms_desktop.services.demo.generator import DEMO_PASSWORD

    path = tmp_path / "demo.sqlite3"
    demo_accounts_file(path).write_text(content, encoding="utf-8")
    options = StartOptions(demo=True, database_file=path)
    found = demo_logins(sqlite_clinic, options, None, has_admin=True)  # type: ignore[arg-type]
    assert found == [
        ("admin", DEMO_PASSWORD, "admin"),
        ("reception", DEMO_PASSWORD, "receptionist"),
    ]


def test_a_good_log_in_store_is_listed_as_it_is(sqlite_clinic, tmp_path) -> None:
    path = tmp_path / "demo.sqlite3"
    rows = [
        {"username": "desk", "password": "p" * 12, "role": "receptionist"},
        {"username": "boss", "password": "q" * 12, "role": "admin"},
    ]
    demo_accounts_file(path).write_text(json.dumps(rows), encoding="utf-8")
    options = StartOptions(demo=True, database_file=path)
    found = demo_logins(sqlite_clinic, options, None, has_admin=True)  # type: ignore[arg-type]
    assert found == [("desk", "p" * 12, "receptionist"), ("boss", "q" * 12, "admin")]
    assert [DemoAccount(*login) for login in found][1].role == "admin"
