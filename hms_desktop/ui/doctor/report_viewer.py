"""A dialog that shows a stored monthly report, with Print and Save as PDF.

QtWebEngine is not part of the application, so the report is shown by
``QTextBrowser`` and printed by the same ``QTextDocument``; the template keeps to
the HTML and CSS subset Qt's rich text supports.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.doctor.pdf_export import print_report, write_pdf

log = logging.getLogger(__name__)


def suggested_file_name(title: str) -> str:
    """A file name from a report title: "Monthly report 2026-11 Dr. Ada" -> "Monthly-report-...pdf"."""
    stem = re.sub(r"[^\w.-]+", "-", title, flags=re.UNICODE).strip("-.") or "report"
    return f"{stem}.pdf"


def fit_to_screen(widget: QWidget, width: int, height: int) -> QSize:
    """``width`` x ``height``, or less where the screen (minus its panels) is smaller."""
    screen = (widget.parentWidget() or widget).screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(width, height)
    room = screen.availableGeometry()
    return QSize(min(width, room.width() - 40), min(height, room.height() - 60))


class ReportViewer(QDialog):
    """Shows one report's HTML. Ctrl+P prints, Ctrl+S saves a PDF, Esc closes."""

    def __init__(
        self, html: str, title: str, parent: QWidget | None = None, *, folder: Path | None = None
    ) -> None:
        """``folder``: where Save as PDF starts (the PC's export folder), not the process's
        working folder."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.folder = folder
        self.resize(fit_to_screen(self, 860, 900))
        self.title = title
        #: The report as stored: printing lays it out from this, not from the browser's copy.
        self.source_html = html
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("reportView")
        self.browser.setOpenLinks(False)
        self.browser.setHtml(html)
        self.status = QLabel(self)
        self.status.setObjectName("reportStatus")

        buttons = QDialogButtonBox(self)
        self.print_button = QPushButton("&Print…", self)
        self.print_button.setShortcut(QKeySequence.StandardKey.Print)
        self.print_button.setToolTip("Print the report (Ctrl+P)")
        self.pdf_button = QPushButton("Save as P&DF…", self)
        self.pdf_button.setShortcut(QKeySequence.StandardKey.Save)
        self.pdf_button.setToolTip("Save the report as a PDF file (Ctrl+S)")
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.pdf_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.print_button.clicked.connect(self.on_print)
        self.pdf_button.clicked.connect(self.on_save_pdf)

        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.browser.setFocus()

    @property
    def html(self) -> str:
        return self.browser.toHtml()

    def plain_text(self) -> str:
        return self.browser.toPlainText()

    # --- actions ---------------------------------------------------------------------------
    def save_pdf(self, path: Path) -> Path:
        """Write the report as shown to ``path`` (``.pdf`` added when missing).

        Raises:
            OSError: the file cannot be written.
            HmsError: the path is a folder or a device.
        """
        path = Path(path)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        write_pdf(self.source_html, path, title=self.title)
        self.status.setText(f"Saved {path}")
        log.info("report %r saved as %s", self.title, path)
        return path

    def print_to(self, printer: QPrinter) -> None:
        print_report(self.source_html, printer, title=self.title)

    def on_save_pdf(self) -> None:
        suggested = suggested_file_name(self.title)
        start = str(self.folder / suggested) if self.folder is not None else suggested
        name, _ = QFileDialog.getSaveFileName(
            self, "Save report as PDF", start, "PDF files (*.pdf)"
        )
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() != ".pdf":
            # The file dialog asked about the name as typed, not about the .pdf added here.
            path = path.with_name(path.name + ".pdf")
            if path.exists():
                answer = QMessageBox.question(
                    self,
                    "Save as PDF",
                    f"{path.name} already exists in {path.parent}. Replace it?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                    QMessageBox.StandardButton.No,
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return
        try:
            self.save_pdf(path)
        except HmsError as err:
            show_error(self, "Save as PDF", err)
        except OSError as err:
            reason = err.strerror or type(err).__name__
            log.warning("saving %s failed: %r", path, err)
            message = (
                f"Could not save the report to {path} ({reason}). If the file is open in "
                "another program, close it there, or choose another name or folder."
            )
            show_error(self, "Save as PDF", HmsError(message))

    def on_print(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.title)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.print_to(printer)
            self.status.setText("Sent to the printer.")
