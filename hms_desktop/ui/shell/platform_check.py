"""Before the first window: can Qt open one here? One line that says what to install if not.

Qt aborts the process (exit 134, sometimes a core dump) when its window-system plugin
cannot be loaded, and its own message often names a library that is present. On Linux
with the X11 plugin (``xcb``) the check below runs before the ``QApplication`` exists:

* no display at all (``DISPLAY`` unset, or a local display with no X server behind it);
* the plugin's libraries: one ``dlopen`` of the plugin, which Qt would do a moment later
  anyway (so a working PC pays nothing noticeable); only when it fails does ``ldd`` list
  every missing library, mapped to the distribution's package names.

A safety net, :func:`fatal_platform_guard`, catches what the check did not foresee: Qt's
fatal "could not load the platform plugin" message becomes the same kind of one line and
exit 1 instead of an abort.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Exit status when no window can be opened here (a bad setting is 2).
EXIT_NO_WINDOW = 1

#: Library (soname without its version) -> (Debian/Ubuntu package, Fedora package).
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-util.so": ("libxcb-util1", "xcb-util"),
    "libxcb-image.so": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-randr.so": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so": ("libxcb-xkb1", "libxcb"),
    "libxcb.so": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so": ("libx11-6", "libX11"),
    "libGL.so": ("libgl1", "libglvnd-glx"),
    "libEGL.so": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so": ("libfontconfig1", "fontconfig"),
    "libfreetype.so": ("libfreetype6", "freetype"),
    "libglib-2.0.so": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so": ("libglib2.0-0", "glib2"),
    "libdbus-1.so": ("libdbus-1-3", "dbus-libs"),
}
#: What a fresh desktop install usually lacks: named when a library we do not know is
#: missing (the README's "Try it" section names the same).
COMMON_DEBIAN = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 "
    "libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
)
COMMON_FEDORA = (
    "xcb-util-cursor xcb-util-wm xcb-util-image xcb-util-keysyms xcb-util-renderutil "
    "libxkbcommon-x11 libglvnd-egl libglvnd-glx fontconfig dbus-libs"
)
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.MULTILINE)
_DLERROR = re.compile(r"(lib[^\s:/]+\.so[.\d]*): cannot open shared object file")


class NoWindowSystemError(Exception):
    """Qt cannot open a window here; ``str()`` is the one line that says what to do."""


def _platforms() -> list[str]:
    """The platform plugins Qt will try, in order (``QT_QPA_PLATFORM``, or its default)."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if not chosen:
        # Qt's Linux default: Wayland first in a Wayland session, X11 otherwise.
        return ["wayland", "xcb"] if os.environ.get("WAYLAND_DISPLAY") else ["xcb"]
    return [name.split(":", 1)[0].strip() for name in chosen.split(";") if name.strip()]


def needs_check() -> bool:
    """True when the next QApplication will depend on the X11 plugin (Linux only)."""
    return sys.platform.startswith("linux") and _platforms()[:1] == ["xcb"]


def _package(library: str) -> tuple[str, str] | None:
    stem = re.sub(r"(\.so)[.\d]*$", r"\1", library)
    return PACKAGES.get(stem)


def _distribution() -> str:
    """ "debian", "fedora" or "" from /etc/os-release (ID and ID_LIKE)."""
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return ""
    ids = " ".join(re.findall(r'^(?:ID|ID_LIKE)="?([^"\n]*)"?', text, re.MULTILINE)).split()
    if {"debian", "ubuntu"} & set(ids):
        return "debian"
    if {"fedora", "rhel", "centos"} & set(ids):
        return "fedora"
    return ""


def install_hint(missing: list[str]) -> str:
    """The one line naming the missing libraries and the command that installs them."""
    known = [p for p in map(_package, missing) if p is not None]
    unknown = [lib for lib in missing if _package(lib) is None]
    debian = " ".join(dict.fromkeys(p[0] for p in known)) if not unknown else COMMON_DEBIAN
    fedora = " ".join(dict.fromkeys(p[1] for p in known)) if not unknown else COMMON_FEDORA
    commands = {
        "debian": f"sudo apt-get install {debian}",
        "fedora": f"sudo dnf install {fedora}",
    }
    distro = _distribution()
    how = commands.get(distro) or (
        f"{commands['debian']} (Debian/Ubuntu) or {commands['fedora']} (Fedora)"
    )
    verb = "is" if len(missing) == 1 else "are"
    return (
        f"hms-desktop: Qt cannot open a window: {', '.join(missing)} {verb} missing. "
        f"Install with: {how}"
    )


def _plugin_file() -> Path | None:
    """The X11 plugin file Qt will load: its own override paths first, then its default."""
    from PySide6.QtCore import QLibraryInfo

    folders = [os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")]
    folders += [
        os.path.join(p, "platforms") for p in os.environ.get("QT_PLUGIN_PATH", "").split(":") if p
    ]
    folders.append(
        os.path.join(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath), "platforms")
    )
    for folder in filter(None, folders):
        candidate = Path(folder) / "libqxcb.so"
        if candidate.is_file():
            return candidate
    return None


def _load(path: Path) -> None:
    """dlopen ``path`` as Qt will (lazily bound); OSError names the first missing library.

    ``_ctypes.dlopen`` rather than ``ctypes.CDLL``: importing the ctypes package and its
    immediate binding of every symbol cost ten times the load itself, on every start.
    """
    try:
        from _ctypes import dlopen
    except ImportError:  # another Python: the public way, slower
        import ctypes

        ctypes.CDLL(str(path))
        return
    dlopen(str(path), os.RTLD_LAZY | os.RTLD_LOCAL)


def missing_libraries(plugin: Path) -> list[str]:
    """The libraries ``plugin`` needs that cannot be loaded; empty when it loads.

    The plugin is loaded here for real (Qt loads the same file right after, so this costs
    next to nothing when it works); ``ldd`` is asked only when it does not.
    """
    try:
        _load(plugin)
        return []
    except OSError as err:
        first = _DLERROR.search(str(err))
        reason = first.group(1) if first else str(err).strip()
    import subprocess

    try:
        listed = subprocess.run(
            ["ldd", str(plugin)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    return list(dict.fromkeys(_NOT_FOUND.findall(listed))) or [reason]


def _x_socket_reachable(display: str) -> bool:
    """False only when ``display`` is a local X display with no server listening."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display.strip())
    if match is None:
        return True  # a remote or unusual display: Qt finds out (the guard catches it)
    path = f"/tmp/.X11-unix/X{match.group(1)}"
    if os.path.exists(path):
        return True  # the usual case, without a connection (a stale file: the guard)
    import socket  # only now: the module costs more than the whole check above

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect("\0" + path)  # Linux's abstract socket, which X servers open too
            return True
        except OSError:
            return False


def display_problem() -> str | None:
    """One line when the X11 plugin has no display to open, else None."""
    display = os.environ.get("DISPLAY", "")
    if not display:
        return (
            "hms-desktop: no display to open a window on (DISPLAY is not set): start it "
            "from a desktop session, or over SSH with X forwarding (ssh -X)"
        )
    if not _x_socket_reachable(display):
        return (
            f"hms-desktop: no display to open a window on: no X server answers at "
            f"DISPLAY={display}; start it from a desktop session or set DISPLAY to a running one"
        )
    return None


def check_window_system() -> None:
    """Raise :class:`NoWindowSystemError` when the X11 plugin cannot start here.

    Call it before the QApplication; it does nothing off Linux or with another plugin
    (``offscreen``, ``wayland``). Raises:
        NoWindowSystemError: no display, or libraries the plugin needs are missing.
    """
    if not needs_check():
        return
    problem = display_problem()
    if problem:
        raise NoWindowSystemError(problem)
    plugin = _plugin_file()
    if plugin is None:
        return  # a build without the plugin: Qt says so (and the guard catches it)
    missing = missing_libraries(plugin)
    if missing:
        raise NoWindowSystemError(install_hint(missing))


def import_problem(err: ImportError) -> str:
    """The one line for Qt's own libraries failing to load (``libGL.so.1`` missing, say)."""
    found = _DLERROR.search(str(err))
    return install_hint([found.group(1)]) if found else f"hms-desktop: Qt cannot load: {err}"


def explain_failure(qt_messages: list[str]) -> str:
    """The one line for Qt's fatal platform error, from what Qt said just before it."""
    said = "\n".join(qt_messages)
    display = re.search(r"could not connect to display (\S*)", said)
    if display:
        return (
            f"hms-desktop: no display to open a window on: the X server at "
            f"DISPLAY={display.group(1)} does not answer; start it from a desktop session "
            "or set DISPLAY to a running one"
        )
    if needs_check():
        try:
            check_window_system()
        except NoWindowSystemError as err:
            return str(err)
    last = qt_messages[-1].strip().splitlines()[0] if qt_messages else "no details"
    return f"hms-desktop: Qt cannot open a window here ({last}); QT_DEBUG_PLUGINS=1 shows why"


@contextmanager
def fatal_platform_guard(on_exit: Callable[[], object]) -> Iterator[None]:
    """While creating the QApplication, turn Qt's fatal platform error into one line + exit 1.

    Qt calls the message handler before it aborts; the handler prints the line, runs
    ``on_exit`` (flush the log) and ends the process with :data:`EXIT_NO_WINDOW`. Qt's
    other messages meanwhile are held back (on failure they would bury the one line, and
    name a library that is present) and printed once the application exists.
    """
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    held: list[str] = []

    def handler(kind: QtMsgType, _context: object, message: str) -> None:
        held.append(message)
        if kind == QtMsgType.QtFatalMsg:
            line = explain_failure(held)
            logging.getLogger("hms_desktop").error("%s (Qt: %s)", line, " | ".join(held))
            print(line, file=sys.stderr, flush=True)
            on_exit()
            os._exit(EXIT_NO_WINDOW)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)  # None: Qt's own
        for message in held:
            print(message, file=sys.stderr)
