"""The README's two commands work on a fresh machine: a copy of the repository, a new venv.

Each test copies the git-tracked files to a temporary folder (so an untracked file
cannot make it pass), then runs the command fenced under the README heading
verbatim with ``sh``. pip's cache keeps the install fast. The app command runs
with ``HMS_QUIT_AFTER_SHOW=1`` (the window quits once shown) offscreen, with its
data and settings in temporary folders. The test command's install part runs
verbatim; instead of the whole suite again (it is running already) the fresh venv
then collects it, which proves the suite installs and imports.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 1200

pytestmark = pytest.mark.slow


def readme_command(heading: str) -> str:
    """The first fenced code block under the ``## heading...`` section of README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(
        rf"^##\s+{re.escape(heading)}[^\n]*\n(?:(?!^##\s).)*?^```[a-z]*\n(.*?)^```",
        text,
        flags=re.MULTILINE | re.DOTALL,
    )
    assert match, f"README.md has no fenced command under a '## {heading}' heading"
    lines = [ln for ln in match.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1, f"expected exactly one command under '{heading}', got {lines}"
    return lines[0].strip()


def copy_tracked_files(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = [name for name in listed.split("\0") if name]
    assert "pyproject.toml" in files and "README.md" in files
    for name in files:
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in this work tree is skipped
            dest = target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
    return target


def clean_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The user's environment without this test run's venv or HMS settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HMS_", "PYTEST", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    )
    env.update(
        HMS_DATA_DIR=str(tmp_path / "data"),
        HMS_CONFIG_DIR=str(tmp_path / "config"),
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        **extra,
    )
    return env


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )


def test_readme_has_the_two_commands() -> None:
    app = readme_command("Try it")
    tests = readme_command("Run the tests")
    assert "python3 -m venv .venv" in app and "hms-desktop --demo" in app
    assert "python3 -m venv .venv" in tests and tests.endswith("-m pytest")


def test_try_it_installs_and_starts_the_demo_app(tmp_path: Path) -> None:
    command = readme_command("Try it")
    repo = copy_tracked_files(tmp_path / "repo")
    env = clean_environment(tmp_path, HMS_QUIT_AFTER_SHOW="1")
    result = run_shell(command, repo, env)
    assert result.returncode == 0, (
        f"'{command}' exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # --demo made a demo clinic in the data folder it was given.
    demo = tmp_path / "data" / "demo-clinic.sqlite3"
    assert demo.exists(), sorted(p.name for p in (tmp_path / "data").glob("*"))
    with sqlite3.connect(demo) as conn:
        patients = conn.execute("SELECT count(*) FROM patients").fetchone()[0]
        appointments = conn.execute("SELECT count(*) FROM appointments").fetchone()[0]
    conn.close()
    assert patients > 0 and appointments > 0


def test_run_the_tests_installs_and_collects_the_suite(tmp_path: Path) -> None:
    command = readme_command("Run the tests")
    install, _, run = command.rpartition(" && ")
    assert run.startswith(".venv/bin/python -m pytest"), command
    repo = copy_tracked_files(tmp_path / "repo")
    env = clean_environment(tmp_path)
    installed = run_shell(install, repo, env)
    assert installed.returncode == 0, f"'{install}' failed:\n{installed.stderr[-3000:]}"
    collected = run_shell(".venv/bin/python -m pytest --collect-only -q", repo, env)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    summary = collected.stdout.strip().splitlines()[-1]
    count = re.match(r"(\d+) tests? collected", summary)
    assert count and int(count.group(1)) > 50, summary
    assert "tests/cli/test_core_commands.py::" in collected.stdout
    assert "tests/test_readme_commands.py::" in collected.stdout
