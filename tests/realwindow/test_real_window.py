"""The real-window tier: every screen in an X11 window at 1024x768 and at 1280x800.

The offscreen platform the other GUI tests use has its own font metrics and no window
manager, so a column cut to "2026-12-…" or a window taller than the screen passes there.
Here each size gets its own X server (Xvfb) with a window manager (openbox) and the
system's fonts, and ``tour.py`` runs in a fresh pytest on Qt's ``xcb`` plugin (one
process cannot switch platforms). The 1280x800 pictures are the README's screenshots.

Xvfb, openbox and the plugin's libraries come from Debian's packages (``.ci/run``
installs them). Without them the tier is skipped with the command that installs them,
except under CI, where it fails.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR = Path(__file__).with_name("tour.py")
README_SHOTS = ROOT / "docs" / "screenshots"
START_TIMEOUT_S = 30
APT = "apt-get install xvfb openbox fonts-dejavu-core and Qt's X11 libraries (see README)"

pytestmark = [pytest.mark.realwindow, pytest.mark.slow]


def _needs(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        message = f"the real-window tier needs {', '.join(missing)}: {APT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _read_line(stream: object, timeout: float, what: str) -> str:
    """One line from a child's pipe, or a failure naming ``what`` after ``timeout`` s."""
    assert hasattr(stream, "fileno") and hasattr(stream, "readline")
    ready, _, _ = select.select([stream], [], [], max(timeout, 0))
    if not ready:
        pytest.fail(f"{what} did not start within {timeout:.0f} s")
    return str(stream.readline()).strip()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def x_session(width: int, height: int) -> Iterator[str]:
    """A running X server of ``width`` x ``height`` with openbox managing it; yields DISPLAY."""
    _needs("Xvfb", "openbox")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    os.close(write_end)
    manager: subprocess.Popen[str] | None = None
    try:
        with os.fdopen(read_end, "r") as numbers:  # Xvfb writes its display number when ready
            display = ":" + _read_line(numbers, START_TIMEOUT_S, "Xvfb")
        # openbox runs --startup once it manages the screen: its "ready" is the signal.
        manager = subprocess.Popen(
            ["openbox", "--sm-disable", "--startup", "echo ready"],
            env={**os.environ, "DISPLAY": display},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while _read_line(manager.stdout, deadline - time.monotonic(), "openbox") != "ready":
            pass  # openbox's own notes ("Unable to find a valid menu file") come first
        yield display
    finally:
        if manager is not None:
            _stop(manager)
        _stop(server)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
def test_every_screen_reads_whole_in_a_real_window(size: tuple[int, int], tmp_path) -> None:
    width, height = size
    shots = README_SHOTS if size == (1280, 800) else tmp_path / "screenshots"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with x_session(width, height) as display:
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HMS_REALWINDOW_SHOTS=str(shots))
        env.pop("WAYLAND_DISPLAY", None)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(TOUR),
                "-q",
                "-p",
                "no:cacheprovider",
                "--basetemp",
                str(tmp_path / "tour"),
                "-W",
                "error",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert done.returncode == 0, (
        f"at {width}x{height}:\n{done.stdout[-12000:]}{done.stderr[-3000:]}"
    )
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
    for name in ("login", "admin", "admin_appointments", "doctor", "doctor_week", "book_day",
                 "patient", "booking_dialog"):  # fmt: skip
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
