"""Smoke test of the PyInstaller build in dist/hms-desktop: it starts without Python.

Build first (``packaging/ci-build.sh`` builds and then runs this file with
``HMS_REQUIRE_FROZEN=1``). In a normal test run these tests skip, with the reason,
when there is no build or the build is older than the sources; under
``HMS_REQUIRE_FROZEN=1`` a missing build fails instead.

Every run uses its own data and config folders, an environment without any
``PYTHON*``/``HMS_*`` variable of this test process, and an empty time-zone search
path, so the zone data must come from the bundled ``tzdata`` as on Windows.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hms_desktop import config
from hms_desktop.db.migrate import MIGRATIONS_DIR, head_revision
from tests.packaging.paths import DIST, EXE_SUFFIX, PACKAGING, ROOT

pytestmark = pytest.mark.slow

REQUIRE_BUILD = os.environ.get("HMS_REQUIRE_FROZEN") == "1"
#: Generous: a cold start of the frozen app on a loaded 2-core machine.
TIMEOUT_S = 180
#: What the frozen app must never log or print.
BAD_LOG = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")
#: What the bundle must contain besides Python code, relative to its _internal folder.
LINUX_QT_PLUGINS = (
    "platforms/libqoffscreen.so",
    "platforms/libqxcb.so",
    "platforms/libqwayland.so",
    "imageformats/libqsvg.so",
    "iconengines/libqsvgicon.so",
    "printsupport/libcupsprintersupport.so",
)


def _sources_newer_than(built: float) -> Path | None:
    roots = [ROOT / "hms_desktop", ROOT / "resources", PACKAGING / "launchers"]
    files = [PACKAGING / "hms-desktop.spec", *(p for r in roots for p in r.rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts and path.stat().st_mtime > built:
            return path
    return None


@pytest.fixture(scope="module")
def dist() -> Path:
    """The one-folder build; skip (or fail under HMS_REQUIRE_FROZEN=1) without a usable one."""
    exe = DIST / f"hms-desktop{EXE_SUFFIX}"
    if not exe.is_file():
        reason = f"no PyInstaller build at {DIST}: run packaging/ci-build.sh to build and test it"
        if REQUIRE_BUILD:
            pytest.fail(reason)
        pytest.skip(reason)
    if not REQUIRE_BUILD:
        newer = _sources_newer_than(exe.stat().st_mtime)
        if newer is not None:
            pytest.skip(f"the build in {DIST} is older than {newer}: run packaging/ci-build.sh")
    return DIST


def frozen_env(**extra: str) -> dict[str, str]:
    """This process's environment minus anything that could point the app at the venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "HMS_", "QT_", "VIRTUAL_ENV"))
    }
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HMS_DATA_DIR=str(config.data_dir()),  # per-test folders from tests/conftest.py
        HMS_CONFIG_DIR=str(config.config_dir()),
        HMS_TIMEZONE="Europe/Berlin",
        PYTHONTZPATH="",  # no system zone files: only the bundled tzdata can answer
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.update(extra)
    return env


def run(
    dist: Path,
    program: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(dist / f"{program}{EXE_SUFFIX}"), *args],
        env=dict(env or frozen_env()),
        input=stdin,
        cwd=cwd,  # not the checkout: nothing may be imported from the source tree
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def sqlite_revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_bundle_holds_plugins_migrations_resources_and_zone_data(dist: Path) -> None:
    internal = dist / "_internal"
    if sys.platform.startswith("linux"):
        plugins = internal / "PySide6" / "Qt" / "plugins"
        missing = [p for p in LINUX_QT_PLUGINS if not (plugins / p).is_file()]
        assert not missing, f"Qt plugins missing from the bundle: {missing}"
        assert list(internal.glob("PySide6/QtCharts.*")), "QtCharts bindings"
        assert not list(internal.glob("PySide6/QtWebEngine*")), "WebEngine must stay out"
        assert not list(internal.rglob("libQt6Quick.so*")), "Qt Quick must stay out"
    bundled_migrations = internal / "hms_desktop" / "db" / "migrations"
    for source in MIGRATIONS_DIR.rglob("*.py"):
        if "__pycache__" not in source.parts:
            target = bundled_migrations / source.relative_to(MIGRATIONS_DIR)
            assert target.read_bytes() == source.read_bytes(), f"{target} differs or is missing"
    for source in (ROOT / "resources").rglob("*"):
        if source.is_file():
            assert (internal / "resources" / source.relative_to(ROOT / "resources")).is_file()
    assert (internal / "tzdata" / "zoneinfo" / "Europe" / "Berlin").is_file()
    version = metadata.version("hms-desktop")
    assert (internal / f"hms_desktop-{version}.dist-info" / "METADATA").is_file()


def test_both_executables_report_the_package_version(dist: Path, tmp_path: Path) -> None:
    version = metadata.version("hms-desktop")
    assert version != "0.0.0+source", "pip install -e . so the metadata exists"
    cli = run(dist, "hms", "--version", cwd=tmp_path)
    assert (cli.returncode, cli.stdout.strip()) == (0, f"hms {version}"), output(cli)
    gui = run(dist, "hms-desktop", "--version", cwd=tmp_path)
    assert (gui.returncode, gui.stdout.strip()) == (0, f"hms-desktop {version}"), output(gui)


def test_cli_init_migrates_and_hashes_passwords_with_argon2(dist: Path, tmp_path: Path) -> None:
    database = config.data_dir() / "clinic.sqlite3"
    init = run(dist, "hms", "init", cwd=tmp_path)
    assert init.returncode == 0, output(init)
    assert sqlite_revision(database) == head_revision()
    again = run(dist, "hms", "init", cwd=tmp_path)
    assert again.returncode == 0, output(again)
    add = run(
        dist,
        "hms",
        "user",
        "add",
        "--role",
        "admin",
        "--username",
        "boss",
        "--password-stdin",
        stdin="correct horse battery\n",
        cwd=tmp_path,
    )
    assert add.returncode == 0, output(add)
    with sqlite3.connect(database) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE username='boss'").fetchone()
    assert stored.startswith("$argon2id$")


@pytest.fixture
def empty_pg_schema() -> Iterator[str]:
    """A URL whose search_path is a new, empty PostgreSQL schema (dropped afterwards)."""
    base = (
        os.environ.get("HMS_TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"hms_frozen_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:
        engine.dispose()
        if os.environ.get("CI") or REQUIRE_BUILD:
            pytest.fail(f"PostgreSQL at {base} is required here but unreachable: {err}")
        pytest.skip(f"PostgreSQL at {base} is not reachable ({type(err).__name__})")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_cli_init_on_postgresql_uses_the_bundled_psycopg(
    dist: Path, tmp_path: Path, empty_pg_schema: str
) -> None:
    url = empty_pg_schema.replace("+psycopg", "")  # the app picks psycopg 3 itself
    init = run(dist, "hms", "--database", url, "init", cwd=tmp_path)
    assert init.returncode == 0, output(init)
    engine = create_engine(empty_pg_schema)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert revision == head_revision()


def assert_clean_log(result: subprocess.CompletedProcess[str]) -> None:
    log_file = config.log_file()
    assert log_file.is_file(), f"no log at {log_file}\n{output(result)}"
    log = log_file.read_text(encoding="utf-8")
    bad = [line for line in log.splitlines() if BAD_LOG.search(line)]
    assert not bad, "\n".join(bad)
    assert "Traceback" not in result.stderr, output(result)


def test_window_starts_offscreen_creates_the_database_and_logs_no_error(
    dist: Path, tmp_path: Path
) -> None:
    database = config.data_dir() / "clinic.sqlite3"
    assert not database.exists()
    first = run(dist, "hms-desktop", "--quit-after-show", cwd=tmp_path)
    assert first.returncode == 0, output(first)
    assert database.is_file(), f"no database in the user data dir {config.data_dir()}"
    assert sqlite_revision(database) == head_revision()
    assert_clean_log(first)
    # Second start: the same database, already at head, asked to quit by environment.
    second = run(dist, "hms-desktop", env=frozen_env(HMS_QUIT_AFTER_SHOW="1"), cwd=tmp_path)
    assert second.returncode == 0, output(second)
    assert sqlite_revision(database) == head_revision()
    assert_clean_log(second)
