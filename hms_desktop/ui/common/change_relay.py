"""The clinic's change events as a debounced Qt signal on the UI thread, so views refresh after a write."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from hms_desktop.services.clinic import Clinic


class ChangeRelay(QObject):
    """Clinic change events as a debounced Qt signal on the UI thread.

    Services announce writes from whichever thread made them; the relay collects
    the topics and emits :attr:`changed` once per burst, on the UI thread.
    """

    changed = Signal(object)  # frozenset of topics
    _arrived = Signal(str)

    def __init__(self, clinic: Clinic, parent: QObject | None = None, delay_ms: int = 150) -> None:
        super().__init__(parent)
        self._topics: set[str] = set()
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._flush)
        # Queued: the signal may be emitted on a worker thread.
        self._arrived.connect(self._collect, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = clinic.changes.subscribe(self._arrived.emit)

    @Slot(str)
    def _collect(self, topic: str) -> None:
        if self._closed:
            return
        self._topics.add(topic)
        self._timer.start()

    @Slot()
    def _flush(self) -> None:
        topics, self._topics = frozenset(self._topics), set()
        if topics:
            self.changed.emit(topics)

    def close(self) -> None:
        """Stop relaying: events already queued for the UI thread are dropped too."""
        self._closed = True
        self._unsubscribe()
        self._timer.stop()
