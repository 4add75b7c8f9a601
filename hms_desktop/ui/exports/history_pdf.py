"""Render a printable history (:mod:`services.files.history_pdf`) to a paginated PDF with Qt.

Each A4 page gets the header (clinic and patient) at the top and "Page n of N" at
the bottom; the body is laid out once by ``QTextDocument`` and painted page by page.
The Patient tab calls :func:`write_history_pdf` directly. The ``hms`` command may
not import Qt (import-linter: "No Qt below ui"), so it runs this module as a child
process instead, ``python -m hms_desktop.ui.exports.history_pdf IN.json OUT.pdf``,
on the offscreen platform: one renderer for the window and the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextBlock,
    QTextBlockFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from hms_desktop.services.files.atomic_file import partial_file, regular_target
from hms_desktop.services.files.history_pdf import PrintableHistory
from hms_desktop.services.files.placement import move_as_new

#: Enough for crisp text; higher only makes the file bigger.
PDF_DPI = 300
#: Header and footer bands, in points (1/72 inch).
BAND_PT = 22
#: A heading starts a new page unless this many lines of what it heads fit under it.
KEEP_LINES = 2


def a4_pdf_writer(
    path: Path, title: str, *, margin_mm: tuple[float, float] = (15, 15)
) -> QPdfWriter:
    """An A4 portrait PDF writer at ``PDF_DPI``, ``margin_mm`` = (sides, top and bottom):
    every PDF the application writes (histories, reports, day schedules) is set up here."""
    writer = QPdfWriter(str(path))
    writer.setResolution(PDF_DPI)
    writer.setTitle(title)
    writer.setCreator("HMS Desktop")
    side, edge = margin_mm
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(side, edge, side, edge),
            QPageLayout.Unit.Millimeter,
        )
    )
    return writer


def write_pdf_atomically(
    path: Path, paint: Callable[[QPdfWriter], object], title: str, *, keep_existing: bool = False
) -> Path:
    """Paint an A4 PDF into a partial file beside ``path``, check it is a PDF, then move it
    into place: a failure leaves no file, and never half a file. With ``keep_existing``
    a file already at ``path`` stays: the PDF goes to the first free "name (2).pdf".
    Returns where the PDF went.

    Raises:
        OSError: the folder cannot be written, or Qt wrote no PDF.
        ValidationError: ``path`` is a folder or a device (unless ``keep_existing``).
    """
    path = Path(path).absolute() if keep_existing else regular_target(path)
    with partial_file(path, ".pdf") as tmp:
        writer = a4_pdf_writer(tmp, title)
        paint(writer)
        del writer  # the PDF trailer is written when the writer goes away
        if tmp.stat().st_size == 0 or not tmp.read_bytes()[:5] == b"%PDF-":
            raise OSError(f"Qt wrote no PDF to {tmp}")
        if keep_existing:
            return move_as_new(tmp, path)
        os.replace(tmp, path)
        return path


def dated_pdf_name(folder: Path, kind: str, when: str, label: str = "") -> Path:
    """``folder/schedule-2026-12-07-cardiology.pdf``, ``folder/report-2026-11-ada-lovelace.pdf``:
    how a PDF made for the person is named in the export folder (``when`` an ISO date or
    month, ``label`` what it is about, reduced to letters, digits and "-")."""
    slug = re.sub(r"[^\w]+", "-", label.lower(), flags=re.UNICODE).strip("-")
    return folder / f"{kind}-{when}{'-' + slug if slug else ''}.pdf"


def _lines_bottom(document: QTextDocument, block: QTextBlock, lines: int) -> float:
    """Where the first ``lines`` lines of ``block`` end (document coordinates)."""
    rect = document.documentLayout().blockBoundingRect(block)
    layout = block.layout()
    count = min(lines, layout.lineCount())
    if count == 0:
        return float(rect.bottom())
    return float(rect.top() + layout.lineAt(count - 1).rect().bottom())


def keep_headings_with_their_text(document: QTextDocument, page_height: float) -> int:
    """Move each heading that would end a page to the next one; return how many moved.

    Qt's text layout breaks pages anywhere, and has no "keep with next": a visit's
    heading could stand alone at the foot of a page with its visit on the next. A
    heading whose first :data:`KEEP_LINES` lines of text under it (of each cell of a
    table's first row) start on a later page gets a page break before it. The layout
    of what follows changes with each break, so headings are checked in order.
    """
    moved = 0
    block = document.begin()
    while block.isValid():
        heading = block
        block = block.next()
        if not heading.blockFormat().headingLevel() or not block.isValid():
            continue
        table = QTextCursor(block).currentTable()
        under = (
            [table.cellAt(0, c).firstCursorPosition().block() for c in range(table.columns())]
            if table is not None
            else [block]
        )
        top = document.documentLayout().blockBoundingRect(heading).top()
        end = max(_lines_bottom(document, b, KEEP_LINES) for b in under)
        if int(top // page_height) != int((end - 0.01) // page_height):
            fmt = QTextBlockFormat()
            fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
            QTextCursor(heading).mergeBlockFormat(fmt)
            moved += 1
    return moved


def write_history_pdf(history: PrintableHistory, path: Path) -> None:
    """Write ``history`` as a PDF at ``path`` (needs a QGuiApplication).

    Raises:
        OSError: the PDF could not be written.
    """
    writer = a4_pdf_writer(path, history.title, margin_mm=(15, 12))
    page = writer.pageLayout().paintRectPixels(PDF_DPI)
    band = BAND_PT * PDF_DPI / 72
    body_height = page.height() - 2 * band

    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)  # lay out in the PDF's own units
    document.setHtml(history.html)
    document.setPageSize(QSizeF(page.width(), body_height))
    keep_headings_with_their_text(document, body_height)
    pages = max(1, document.pageCount())

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write a PDF at {path}")
    try:
        small = QFont("sans-serif", 8)
        for number in range(pages):
            if number:
                writer.newPage()
            painter.setFont(small)
            painter.drawText(
                QRectF(0, 0, page.width(), band * 0.8),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                history.header,
            )
            painter.drawLine(0, int(band * 0.85), int(page.width()), int(band * 0.85))
            painter.drawText(
                QRectF(0, page.height() - band * 0.8, page.width(), band * 0.8),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom),
                f"Page {number + 1} of {pages}",
            )
            painter.save()
            painter.translate(0, band - number * body_height)
            document.drawContents(
                painter, QRectF(0, number * body_height, page.width(), body_height)
            )
            painter.restore()
    finally:
        painter.end()
    del writer  # the PDF trailer is written when the writer goes away
    if not path.exists() or not path.read_bytes()[:5] == b"%PDF-":
        raise OSError(f"Qt wrote no PDF to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hms_desktop.ui.exports.history_pdf")
    parser.add_argument("source", type=Path, help="JSON with html, header and title")
    parser.add_argument("pdf", type=Path, help="the PDF file to write")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    try:
        data = json.loads(args.source.read_text(encoding="utf-8"))
        write_history_pdf(PrintableHistory(data["html"], data["header"], data["title"]), args.pdf)
    except (OSError, ValueError, KeyError) as err:
        print(f"cannot write {args.pdf}: {err}", file=sys.stderr)
        return 1
    finally:
        del app
    return 0


if __name__ == "__main__":  # pragma: no cover - run by the CLI as a child process
    sys.exit(main())
