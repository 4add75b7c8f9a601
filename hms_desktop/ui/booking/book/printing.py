"""Printing the book: what it shows (its doctors, department and day) to a printer or a
PDF. A PDF is suggested in the PC's export folder under a dated name that never
overwrites an earlier one ("schedule-2026-12-07-cardiology.pdf", then "... (2).pdf").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo
from PySide6.QtWidgets import QDialog, QFileDialog

from hms_desktop.errors import HmsError
from hms_desktop.services.files.placement import first_free
from hms_desktop.ui.booking.book.dialogs import day_schedule_html, write_pdf
from hms_desktop.ui.common.dates import day_text, file_date
from hms_desktop.ui.common.operations import user_message
from hms_desktop.ui.exports.history_pdf import dated_pdf_name

if TYPE_CHECKING:
    from hms_desktop.ui.booking.book.view import BookView


def pdf_path(folder: Path, day: date, label: str = "") -> Path:
    """``folder/schedule-2026-12-07-cardiology.pdf``, or the first free "(2)" name."""
    return first_free(dated_pdf_name(folder, "schedule", file_date(day), label))


class BookPrinting:
    """Prints what a :class:`~.view.BookView` shows; owned by it."""

    def __init__(self, view: BookView) -> None:
        self.view = view
        #: The print dialog while it is open (tests answer it).
        self.dialog: QPrintDialog | None = None

    def day(self) -> date:
        """The day printed: the one under the cursor (a week shows seven)."""
        view = self.view
        index = view.table.currentIndex()
        if view.model.week and index.isValid():
            return view.model.column_day(index.column())
        return view.day

    def shown_doctors(self) -> list[int]:
        """The doctors the book shows, left to right."""
        model = self.view.model
        ids: list[int] = []
        for column in range(model.columnCount()):
            doctor_id = model.column_doctor(column).doctor_id
            if doctor_id not in ids:
                ids.append(doctor_id)
        return ids

    def label(self, doctor_ids: list[int]) -> str:
        """What the file name says besides the date: the department, or the one doctor."""
        view = self.view
        if len(doctor_ids) == 1:
            for column in range(view.model.columnCount()):
                if view.model.column_doctor(column).doctor_id == doctor_ids[0]:
                    return view.model.column_doctor(column).doctor.removeprefix("Dr. ")
        if view.controls.department.currentData() is not None:
            return view.controls.department.currentText()
        return ""

    def html(self, doctor_ids: list[int] | None) -> str:
        """The schedule of ``doctor_ids`` (None: the doctors the book shows)."""
        view = self.view
        chosen = doctor_ids or self.shown_doctors()
        return day_schedule_html(view.clinic, view.actor, self.day(), chosen)

    def suggested_path(self, doctor_ids: list[int] | None) -> Path:
        folder = self.view.clinic.pc.effective_export_dir
        return pdf_path(folder, self.day(), self.label(doctor_ids or self.shown_doctors()))

    def save_pdf(self, path: Path, doctor_ids: list[int] | None = None) -> None:
        """The printed day's schedule as a PDF."""
        write_pdf(self.html(doctor_ids), path, title=f"Schedule {file_date(self.day())}")

    def print_day(self, doctor_ids: list[int] | None) -> QPrintDialog | None:
        """Ask for a printer (the dialog offers PDF, named in the export folder) and
        print the day's schedule of ``doctor_ids`` (None: what the book shows)."""
        view = self.view
        day = self.day()
        try:
            html = self.html(doctor_ids)
        except HmsError as err:
            view.say(user_message(err))
            return None
        suggested = self.suggested_path(doctor_ids)
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(suggested.stem)
        if not QPrinterInfo.availablePrinterNames():
            printer.setOutputFileName(str(suggested))  # no printer: a PDF, named here
        dialog = QPrintDialog(printer, view)
        dialog.setWindowTitle(f"Print the schedule of {day_text(day)}")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            if result != QDialog.DialogCode.Accepted:
                return
            pdf = printer.outputFormat() == QPrinter.OutputFormat.PdfFormat
            if pdf and not printer.outputFileName():
                name, _ = QFileDialog.getSaveFileName(
                    view, "Save schedule", str(suggested), "PDF (*.pdf)"
                )
                if not name:
                    return
                printer.setOutputFileName(name)
            suggested.parent.mkdir(parents=True, exist_ok=True)
            document = QTextDocument()
            document.setHtml(html)
            document.print_(printer)
            where = f" to {printer.outputFileName()}" if pdf else ""
            view.say(f"Printed the schedule of {day_text(day)}{where}.")

        dialog.finished.connect(finished)
        QDialog.open(dialog)  # the print dialog's own open() wants a receiver
        return dialog
