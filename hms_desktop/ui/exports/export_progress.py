"""The lower half of the export dialog: progress while it runs, then the result.

A progress bar and a line of text while rows are written; afterwards what was
written (rows, size, time) with "Open file" and "Open folder", which hand the path
to the desktop through :class:`QDesktopServices`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.services.files.exports import ExportResult


def human_size(size: int) -> str:
    """1536 -> "1.5 KB"."""
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024:
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class ExportProgressPanel(QWidget):
    """Progress, outcome and the "open" buttons of one export at a time."""

    def __init__(self, parent: QWidget, on_error: Callable[[str], None]) -> None:
        super().__init__(parent)
        self._on_error = on_error
        self._result: ExportResult | None = None
        # Never squeezed below its natural height: the dialog grows when the result shows.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.hide()
        layout.addWidget(self.status_label)
        self.open_file_button = QPushButton("&Open file", self)
        self.open_folder_button = QPushButton("Open f&older", self)
        self.open_file_button.clicked.connect(self.on_open_file)
        self.open_folder_button.clicked.connect(self.on_open_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_file_button)
        buttons.addWidget(self.open_folder_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.open_file_button.hide()
        self.open_folder_button.hide()

    @property
    def result(self) -> ExportResult | None:
        """The last completed export, or None."""
        return self._result

    def _say(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def start(self) -> None:
        self._result = None
        self.open_file_button.hide()
        self.open_folder_button.hide()
        self.progress_bar.setRange(0, 0)  # busy until the first report gives a total
        self.progress_bar.show()
        self._say("Starting the export…")

    def show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
            self._say(f"Exported {done:,} of {total:,} rows…")
        else:
            self._say(f"Exported {done:,} rows…")

    def show_done(self, result: ExportResult) -> None:
        self._result = result
        self.progress_bar.setRange(0, max(1, result.rows))
        self.progress_bar.setValue(max(1, result.rows))
        rows = "1 row" if result.rows == 1 else f"{result.rows:,} rows"
        text = (
            f"Exported {rows} to {result.path.name} "
            f"({human_size(result.bytes)}, {result.seconds:.1f} s)."
        )
        if result.instead_of is not None:
            # Never lost, but not where they asked: say so plainly.
            text += (
                f" {result.instead_of.name} is open in another program or locked, so the "
                f"export was saved as {result.path.name} instead."
            )
        self._say(text)
        self.status_label.setToolTip(str(result.path))
        self.open_file_button.show()
        self.open_folder_button.show()
        self.open_file_button.setFocus()

    def show_cancelling(self) -> None:
        self._say("Cancelling…")

    def show_cancelled(self) -> None:
        self.progress_bar.hide()
        self._say("Export cancelled; no file was written.")

    def clear(self) -> None:
        self.progress_bar.hide()
        self._say("")

    def _open(self, path: Path) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self._on_error(f"No program opened {path}. Open it from your file manager.")

    def on_open_file(self) -> None:
        if self._result is not None:
            self._open(self._result.path)

    def on_open_folder(self) -> None:
        if self._result is not None:
            self._open(self._result.path.parent)
