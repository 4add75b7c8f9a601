"""Job events from the scheduler's threads, delivered on the UI thread.

Pass :meth:`JobBridge.post` as the scheduler's ``on_event``: it may be called on
any thread. The bridge re-emits each event as :attr:`JobBridge.event_received`
on the UI thread and shows a desktop notification through the system tray when
there is one (``QSystemTrayIcon.isSystemTrayAvailable()``); without a tray it
emits :attr:`JobBridge.status_message` for the main window's status bar.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from hms_desktop.jobs.runner import JobEvent

log = logging.getLogger(__name__)

#: How long a tray notification stays up.
NOTIFY_MS = 10_000


class JobBridge(QObject):
    """Create on the UI thread; call :meth:`post` from anywhere."""

    #: Every job event, on the UI thread (the Jobs panel refreshes on it).
    event_received = Signal(object)
    #: A notification text for the status bar, when there is no system tray.
    status_message = Signal(str)
    #: The jobs that failed for good (out of retries, or unable to start), as one line
    #: for a lasting status-bar label; "" once each has finished since.
    problems_changed = Signal(str)
    #: Internal: crosses from the job's thread to the bridge's (queued connection).
    _posted = Signal(object)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        icon: QIcon | None = None,
        use_tray: bool | None = None,
    ) -> None:
        super().__init__(parent)
        self._posted.connect(self._on_posted, Qt.ConnectionType.QueuedConnection)
        if use_tray is None:
            use_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: QSystemTrayIcon | None = None
        self._failed: dict[str, str] = {}
        if use_tray:
            self.tray = QSystemTrayIcon(icon or _app_icon(), self)
            self.tray.setToolTip("HMS Desktop")
            self.tray.show()

    def post(self, event: JobEvent) -> None:
        """Thread-safe: hand an event over to the UI thread."""
        self._posted.emit(event)

    @property
    def problems(self) -> str:
        """What the status bar shows about failed jobs ("" when none)."""
        return " · ".join(self._failed.values())

    def _track(self, event: JobEvent) -> None:
        before = self.problems
        if event.kind == "failed":
            self._failed[event.job_name] = f"{event.title} failed ({event.period_key})"
        elif event.kind == "finished":
            self._failed.pop(event.job_name, None)
        if self.problems != before:
            self.problems_changed.emit(self.problems)

    @Slot(object)
    def _on_posted(self, event: JobEvent) -> None:
        self.event_received.emit(event)
        self._track(event)
        if event.kind == "skipped":
            return  # another PC or an earlier start did it: nothing to tell anyone
        self.notify(event.title, event.message, problem=event.is_problem)

    def notify(self, title: str, message: str, *, problem: bool = False) -> None:
        """Show a desktop notification, or ask the window to show the text."""
        if self.tray is not None and self.tray.supportsMessages():
            icon = (
                QSystemTrayIcon.MessageIcon.Warning
                if problem
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.tray.showMessage(title, message, icon, NOTIFY_MS)
        else:
            self.status_message.emit(message)

    def close(self) -> None:
        """Remove the tray icon (call when the window closes)."""
        if self.tray is not None:
            self.tray.hide()
            self.tray.deleteLater()
            self.tray = None


def _app_icon() -> QIcon:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        if not app.windowIcon().isNull():
            return app.windowIcon()
        return app.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
    return QIcon()
