"""``hms-desktop`` where Qt cannot open a window: one line that says what to do, exit 1.

Without the check Qt aborts (exit 134) with a message that can name a library that is
present. Each test starts the real application in a fresh interpreter on the X11
plugin (``xcb``) and makes one thing fail for real: a library the plugin needs, the
display, or the X server behind the display.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import PySide6
import pytest

from hms_desktop.ui.shell import platform_check

ROOT = Path(__file__).resolve().parents[2]
QT_LIB = Path(PySide6.__file__).resolve().parent / "Qt" / "lib"


def _start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    base.pop("QT_QPA_PLATFORM", None)
    base.update(
        HMS_DATA_DIR=str(tmp_path / "data"),
        HMS_CONFIG_DIR=str(tmp_path / "config"),
        QT_QPA_PLATFORM="xcb",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "hms_desktop.app", "--demo", "--quit-after-show"],
        env=base,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fake_display() -> Iterator[str]:
    """A local display whose "X server" hangs up at once (Linux's abstract socket)."""
    number = 4000 + os.getpid() % 5000
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(f"\0/tmp/.X11-unix/X{number}")
    server.listen(8)

    def hang_up() -> None:
        while True:
            try:
                peer, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            peer.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    yield f":{number}"
    server.shutdown(socket.SHUT_RDWR)
    server.close()
    thread.join(5)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == platform_check.EXIT_NO_WINDOW, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    return lines[0]


def test_a_missing_library_of_the_x11_plugin_is_named_with_its_install_command(
    tmp_path, fake_display
) -> None:
    # Qt's X11 library, made to need a library that no system has: the dynamic loader
    # finds this copy first (LD_LIBRARY_PATH beats the plugin's RUNPATH), as it would
    # find a system without libxcb-icccm4.
    lib = tmp_path / "lib"
    lib.mkdir()
    qpa = (QT_LIB / "libQt6XcbQpa.so.6").read_bytes()
    assert b"libxcb-icccm.so.4\0" in qpa
    (lib / "libQt6XcbQpa.so.6").write_bytes(
        qpa.replace(b"libxcb-icccm.so.4\0", b"libxcb-icccm.so.9\0")
    )
    done = _start(tmp_path, DISPLAY=fake_display, LD_LIBRARY_PATH=str(lib))
    line = _one_line(done)
    assert line.startswith("hms-desktop: Qt cannot open a window: libxcb-icccm.so.9 is missing")
    assert "libxcb-icccm4" in line  # the Debian package (or xcb-util-wm, Fedora's)
    assert "apt-get install" in line or "dnf install" in line
    log = (tmp_path / "data" / "logs" / "hms-desktop.log").read_text(encoding="utf-8")
    assert "libxcb-icccm.so.9 is missing" in log


def test_no_display_is_one_line_not_an_abort(tmp_path) -> None:
    line = _one_line(_start(tmp_path))
    assert line.startswith("hms-desktop: no display to open a window on (DISPLAY is not set)")


def test_a_display_with_no_x_server_is_one_line(tmp_path) -> None:
    number = 4000 + (os.getpid() + 1) % 5000  # nothing listens there
    line = _one_line(_start(tmp_path, DISPLAY=f":{number}"))
    assert f"no X server answers at DISPLAY=:{number}" in line


def test_qt_failing_after_the_check_still_ends_in_one_line(tmp_path, fake_display) -> None:
    # The socket answers, so the check passes; Qt then fails to talk X11 and would abort.
    line = _one_line(_start(tmp_path, DISPLAY=fake_display))
    assert line.startswith(
        f"hms-desktop: no display to open a window on: the X server at DISPLAY={fake_display}"
    )


def test_the_hint_names_packages_or_falls_back_to_the_usual_list() -> None:
    known = platform_check.install_hint(["libxcb-keysyms.so.1", "libxcb-cursor.so.0"])
    assert "libxcb-keysyms.so.1, libxcb-cursor.so.0 are missing" in known
    assert "libxcb-keysyms1 libxcb-cursor0" in known or "xcb-util-keysyms xcb-util-cursor" in known
    unknown = platform_check.install_hint(["libsomething-new.so.3"])
    assert "libsomething-new.so.3 is missing" in unknown
    assert platform_check.COMMON_DEBIAN in unknown or platform_check.COMMON_FEDORA in unknown


def test_the_readme_names_the_same_packages_in_one_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if "sudo apt-get install" in ln)
    assert f"sudo apt-get install {platform_check.COMMON_DEBIAN}`" in line
    assert f"sudo dnf install {platform_check.COMMON_FEDORA}`" in line
