"""``hms-desktop``: start the desktop application.

Start-up is kept lean (it is benchmarked against a bare PySide6 window): Qt
widgets and the services load here, while QtCharts, openpyxl and the demo data
generator load only when first used.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from hms_desktop import APP_ID, APP_NAME, __version__, config
from hms_desktop.db.engine import sqlite_path
from hms_desktop.errors import HmsError

log = logging.getLogger("hms_desktop")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hms-desktop", description=f"{APP_NAME}: clinic front-desk management."
    )
    parser.add_argument("--version", action="version", version=f"hms-desktop {__version__}")
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


def setup_logging(verbose: bool = False) -> Path | None:
    """Log to the rotating log file (and stderr when verbose); return the file's path."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s")
    path: Path | None = config.log_file()
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:  # a read-only home: log to stderr rather than not start
        path, handler = None, logging.StreamHandler()
    handler.setFormatter(fmt)
    root.addHandler(handler)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        root.addHandler(stream)
    return path


def _install_excepthook() -> None:
    """A bug in a slot is logged and shown as a message, not printed as a traceback."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.critical("unhandled error", exc_info=(kind, value, tb))
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            from hms_desktop.ui.operations import user_message

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
    setup_logging(args.verbose)
    log.info("%s %s starting", APP_NAME, __version__)
    _install_excepthook()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_ID)
    app.setDesktopFileName(APP_ID)
    app.setQuitOnLastWindowClosed(False)  # the start-up decides when the app ends

    from hms_desktop.ui.style import apply_style

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

    from hms_desktop.ui.startup import StartOptions, Startup

    db_file = sqlite_path(settings.database_url)
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
    QTimer.singleShot(0, startup.start)
    code = app.exec()
    # A queued callback may have started work after the last window closed: wait for it,
    # or Qt aborts when the interpreter destroys a running thread.
    # The last chance before the interpreter exits: wait as long as a database write may
    # (a SQLite writer waits up to 30 s for a lock), or Qt aborts on a running thread.
    startup.stop_workers(timeout_ms=120_000)
    log.info("%s exits with %s", APP_NAME, code)
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
