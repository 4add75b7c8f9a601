"""``hms-desktop``: start the desktop application.

Start-up is kept lean (it is benchmarked against a bare PySide6 window): Qt
widgets and the services load here, while QtCharts, openpyxl and the demo data
generator load only when first used.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from hms_desktop import APP_ID, APP_NAME, config, file_safety
from hms_desktop.errors import HmsError

log = logging.getLogger("hms_desktop")


class _VersionAction(argparse.Action):
    """``--version``, reading the version only when asked (it costs tens of ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kw: object) -> None:
        from hms_desktop import __version__

        print(f"hms-desktop {__version__}")  # on standard output, as argparse's own does
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hms-desktop", description=f"{APP_NAME}: clinic front-desk management."
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="database URL (default: HMS_DATABASE_URL, the settings file, or the clinic file)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the demo clinic (created on first use in the user data folder)",
    )
    parser.add_argument(
        "--quit-after-show",
        action="store_true",
        help="exit as soon as the main window is shown (packaging and start-up checks; "
        "also HMS_QUIT_AFTER_SHOW=1)",
    )
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="do not run the background jobs (reminders, reports, backups) in this window; "
        "another PC on the same database may run them",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    return parser


class LogFile(logging.Handler):
    """The rotating log file, opened once the window is up; records before that wait here.

    ``logging.handlers`` (with the socket, pickle and queue modules it loads) costs a few
    milliseconds, and the window comes first: see :meth:`open`.
    """

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self._early: list[logging.LogRecord] = []
        self._target: logging.Handler | None = None
        #: The file written to; None before :meth:`open`, or when it could not be opened.
        self.path: Path | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._target is None:
            self._early.append(record)
        else:
            self._target.handle(record)

    def open(self) -> Path | None:
        """Open the file (once), write the records kept so far, and return its path."""
        import logging.handlers

        self.acquire()  # emit() holds the lock too: no record slips in between
        try:
            if self._target is not None:
                return self.path
            path = config.log_file()
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                target: logging.Handler = logging.handlers.RotatingFileHandler(
                    path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
                )
                if os.name == "posix":  # logs name patients: private, whatever the umask
                    path.chmod(0o600)
                self.path = path
            except OSError:  # a read-only home: log to stderr rather than not start
                target = logging.StreamHandler()
            target.setFormatter(self.formatter)
            for record in self._early:
                target.handle(record)
            self._early.clear()
            self._target = target
            return self.path
        finally:
            self.release()

    def flush(self) -> None:
        if self._target is not None:
            self._target.flush()

    def close(self) -> None:
        if self._target is not None:
            self._target.close()
        super().close()


def setup_logging(verbose: bool = False) -> LogFile:
    """Log to the rotating log file (and stderr when verbose); the file opens on ``open()``."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s")
    log_file = LogFile(fmt)
    root.addHandler(log_file)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        root.addHandler(stream)
    return log_file


def _install_excepthook() -> None:
    """A bug in a slot is logged and shown as a message, not printed as a traceback."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.critical("unhandled error", exc_info=(kind, value, tb))
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            from hms_desktop.ui.common.operations import user_message

            box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, user_message(value))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    sys.excepthook = hook
    threading.excepthook = lambda args: log.critical(
        "unhandled error in a thread",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    quit_after_show = args.quit_after_show or os.environ.get("HMS_QUIT_AFTER_SHOW") == "1"
    # Patient data: the database, backups, exports and logs this process writes are 0600.
    file_safety.private_process(config.data_dir())
    log_file = setup_logging(args.verbose)
    try:
        return _run(args, quit_after_show, log_file)
    finally:
        log_file.open()  # whatever happened, what was logged reaches the file


def _run(args: argparse.Namespace, quit_after_show: bool, log_file: LogFile) -> int:
    _install_excepthook()

    from hms_desktop.ui.shell import platform_check

    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMessageBox
    except ImportError as err:  # Qt's own libraries (libGL, libEGL...) are missing
        print(platform_check.import_problem(err), file=sys.stderr)
        return platform_check.EXIT_NO_WINDOW
    if QApplication.instance() is None:
        # Qt aborts when it cannot open a window; say why in one line instead.
        try:
            platform_check.check_window_system()
        except platform_check.NoWindowSystemError as err:
            log.error("%s", err)
            print(err, file=sys.stderr)
            return platform_check.EXIT_NO_WINDOW
    with platform_check.fatal_platform_guard(log_file.open):
        app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_ID)
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)  # the start-up decides when the app ends

    from hms_desktop.ui.shell.style import apply_style

    apply_style(app)

    database = args.database
    if args.demo and not database:
        database = config.demo_database_url()
    try:
        settings = config.load_settings({"database_url": database})
    except HmsError as err:
        log.error("bad settings: %s", err)
        if quit_after_show:
            print(f"hms-desktop: {err}", file=sys.stderr)
            return 2
        QMessageBox.critical(None, APP_NAME, str(err))
        return 2

    from hms_desktop.ui.shell.startup import StartOptions, Startup

    db_file = config.sqlite_file(settings.database_url)
    options = StartOptions(
        demo=args.demo,
        quit_after_show=quit_after_show,
        database_file=db_file.resolve() if db_file is not None else None,
        # The default and the demo files are created without asking; a named one is not.
        confirm_create=settings.database_url
        not in (config.default_database_url(), config.demo_database_url()),
        run_jobs=not args.no_jobs,
    )
    startup = Startup(settings, options)
    startup.finished.connect(app.exit)

    def after_show() -> None:
        from hms_desktop import __version__

        app.setApplicationVersion(__version__)
        log_file.open()
        log.info("%s %s started", APP_NAME, __version__)

    from hms_desktop.ui.common.main_thread_gc import MainThreadGarbageCollector

    # Before any worker thread runs Python: cycles are collected on this thread only.
    collector = MainThreadGarbageCollector(app)

    def start() -> None:
        startup.start()  # shows the window, then queues the database work
        QTimer.singleShot(0, after_show)

    QTimer.singleShot(0, start)
    code = app.exec()
    # A queued callback may have started work after the last window closed: wait for it,
    # or Qt aborts when the interpreter destroys a running thread.
    # The last chance before the interpreter exits: wait as long as a database write may
    # (a SQLite writer waits up to 30 s for a lock), or Qt aborts on a running thread.
    startup.stop_workers(timeout_ms=120_000)
    collector.stop()
    log.info("%s exits with %s", APP_NAME, code)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
