"""A dialog that shows a stored monthly report, with Print and Save as PDF.

QtWebEngine is not part of the application, so the report is shown by
``QTextBrowser`` and printed by the same ``QTextDocument``; the template keeps to
the HTML and CSS subset Qt's rich text supports.

Save as PDF asks nothing, as the book's printing does: the PDF goes to the PC's export
folder under a dated name ("report-2026-11-ada-lovelace.pdf") and never replaces an
earlier one ("... (2).pdf"); the line under the report says where, with Open PDF and
Open folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hms_desktop.errors import HmsError
from hms_desktop.services.files.placement import first_free
from hms_desktop.ui.common.layout import add_key
from hms_desktop.ui.common.messages import show_error
from hms_desktop.ui.doctor.pdf_export import print_report, write_pdf
from hms_desktop.ui.exports.history_pdf import dated_pdf_name

log = logging.getLogger(__name__)


def report_pdf_name(folder: Path, month: str, doctor: str) -> Path:
    """``folder/report-2026-11-ada-lovelace.pdf``: a monthly report's PDF, named as the
    book's printed days are ("schedule-2026-12-07-cardiology.pdf")."""
    return dated_pdf_name(folder, "report", month, doctor.removeprefix("Dr. "))


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
        self, html: str, title: str, parent: QWidget | None = None, *, pdf_path: Path | None = None
    ) -> None:
        """``pdf_path``: where Save as PDF puts the report (see :func:`report_pdf_name`), or
        its first free "(2)" name; None: no Save as PDF."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.pdf_path = pdf_path
        #: Where the last Save as PDF went (None: not saved yet).
        self.saved_path: Path | None = None
        #: The print dialog while it is open (tests answer it).
        self.print_dialog: QPrintDialog | None = None
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
        self.status.setWordWrap(True)  # an export folder's path can be long
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_pdf_button = QPushButton("&Open PDF", self)
        self.open_pdf_button.setToolTip("Open the saved PDF")
        self.open_pdf_button.clicked.connect(lambda: self._open(self.saved_path))
        self.open_folder_button = QPushButton("Open &folder", self)
        self.open_folder_button.setToolTip("Open the folder the PDF was saved in")
        self.open_folder_button.clicked.connect(
            lambda: self._open(self.saved_path.parent if self.saved_path else None)
        )
        for button in (self.open_pdf_button, self.open_folder_button):
            button.hide()

        buttons = QDialogButtonBox(self)
        self.print_button = QPushButton("&Print…", self)
        add_key(self.print_button, QKeySequence.StandardKey.Print)
        self.print_button.setToolTip("Print the report (Ctrl+P)")
        self.pdf_button = QPushButton("Save as P&DF", self)
        add_key(self.pdf_button, QKeySequence.StandardKey.Save)
        folder = f" in {pdf_path.parent}" if pdf_path is not None else ""
        self.pdf_button.setToolTip(f"Save the report as a PDF{folder} (Ctrl+S)")
        self.pdf_button.setEnabled(pdf_path is not None)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.pdf_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.print_button.clicked.connect(self.on_print)
        self.pdf_button.clicked.connect(self.on_save_pdf)

        saved = QHBoxLayout()
        saved.addWidget(self.status, 1)
        saved.addWidget(self.open_pdf_button)
        saved.addWidget(self.open_folder_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addLayout(saved)
        layout.addWidget(buttons)
        self.browser.setFocus()

    @property
    def html(self) -> str:
        return self.browser.toHtml()

    def plain_text(self) -> str:
        return self.browser.toPlainText()

    # --- actions ---------------------------------------------------------------------------
    def save_pdf(self, path: Path, *, keep_existing: bool = False) -> Path:
        """Write the report as shown to ``path`` (``.pdf`` added when missing); with
        ``keep_existing`` a file there stays and the PDF takes the first free "(2)" name.
        Returns where it went.

        Raises:
            OSError: the file cannot be written.
            HmsError: the path is a folder or a device.
        """
        path = Path(path)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        saved = write_pdf(self.source_html, path, title=self.title, keep_existing=keep_existing)
        log.info("report %r saved as %s", self.title, saved)
        return saved

    def on_save_pdf(self) -> Path | None:
        """Save as PDF: into the export folder under the report's dated name (a "(2)" name
        when taken), then say where, with Open PDF and Open folder. A failure says what to
        do and leaves no file behind."""
        if self.pdf_path is None:
            return None
        return self._save_to(self.pdf_path, keep_existing=True)

    def _save_to(self, target: Path, *, keep_existing: bool) -> Path | None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            path = self.save_pdf(target, keep_existing=keep_existing)
        except HmsError as err:
            show_error(self, "Save as PDF", err)
            return None
        except OSError as err:
            reason = err.strerror or type(err).__name__
            log.warning("saving the report in %s failed: %r", target.parent, err)
            message = (
                f"Could not save the report in {target.parent} ({reason}). Choose another "
                "export folder under File > Settings, or ask for this one to be made writable."
            )
            show_error(self, "Save as PDF", HmsError(message))
            return None
        self.saved_path = path
        kept = f" (the {target.name} already there is kept)" if path != target else ""
        self.status.setText(f"Saved as {path.name} in {path.parent}{kept}.")
        self.status.setToolTip(str(path))
        for button in (self.open_pdf_button, self.open_folder_button):
            button.show()
        return path

    def _open(self, path: Path | None) -> None:
        """Hand ``path`` to the desktop (the PDF viewer, the file manager)."""
        if path is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.status.setText(f"No program opened {path}. Open it from your file manager.")

    def print_to(self, printer: QPrinter) -> None:
        print_report(self.source_html, printer, title=self.title)

    def on_print(self) -> QPrintDialog:
        """Ask for a printer and print. With no printer installed the dialog offers a PDF
        named as Save as PDF names it; a PDF is written whole or not at all, and the line
        under the report says where it went."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.title)
        offered = ""
        if self.pdf_path is not None and not QPrinterInfo.availablePrinterNames():
            offered = str(first_free(self.pdf_path))
            printer.setOutputFileName(offered)
        dialog = QPrintDialog(printer, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.print_dialog = dialog

        def finished(result: int) -> None:
            self.print_dialog = None
            if result != QDialog.DialogCode.Accepted:
                return
            if printer.outputFormat() != QPrinter.OutputFormat.PdfFormat:
                self.print_to(printer)
                self.status.setText("Sent to the printer.")
                return
            # A name the person chose replaces what is there (the dialog asked); the name
            # offered here never does, even if another PC took it meanwhile.
            chosen = printer.outputFileName()
            target = Path(chosen) if chosen else self.pdf_path
            if target is not None:
                self._save_to(target, keep_existing=chosen in ("", offered))

        dialog.finished.connect(finished)
        QDialog.open(dialog)  # the print dialog's own open() wants a receiver
        return dialog
