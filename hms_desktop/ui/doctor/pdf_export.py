"""Render report HTML to a PDF file with Qt (``QPdfWriter``).

A monthly report is laid out for print by :mod:`report_pages` (summary page first,
headers repeated, rows kept whole, words wrapped at their boundaries); other HTML is
printed as a ``QTextDocument``. The file is written under a partial-file name the
cleaners recognise and renamed when complete.

The report viewer calls :func:`write_pdf` directly. The ``hms`` command may not
import Qt (import-linter: "No Qt below ui" covers the CLI), so it runs this module
as a child process instead, ``python -m hms_desktop.ui.doctor.pdf_export IN.html OUT.pdf``,
on the offscreen platform: one renderer, the same PDF from the window and the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import (
    QGuiApplication,
    QPagedPaintDevice,
    QTextDocument,
)

from hms_desktop.errors import HmsError
from hms_desktop.ui.doctor.report_pages import paint_report, parse_report
from hms_desktop.ui.exports.history_pdf import write_pdf_atomically


def print_report(html: str, device: QPagedPaintDevice, *, title: str = "") -> None:
    """Print report HTML onto a PDF writer or a printer: a monthly report laid out for
    print (see :mod:`report_pages`), any other HTML as a text document."""
    content = parse_report(html)
    if content is not None:
        paint_report(content, device, title=title)
        return
    document = QTextDocument()
    document.setHtml(html)
    document.print_(device)


def write_pdf(html: str, path: Path, *, title: str = "", keep_existing: bool = False) -> Path:
    """Render an HTML report to a PDF file (needs a QGuiApplication); with
    ``keep_existing`` a file at ``path`` stays and the PDF takes the first free "(2)" name.
    Returns where the PDF went.

    Raises:
        OSError: the folder is missing or not writable.
        ValidationError: ``path`` is a folder or a device.
    """
    return write_pdf_atomically(
        Path(path),
        lambda writer: print_report(html, writer, title=title),
        title,
        keep_existing=keep_existing,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hms_desktop.ui.doctor.pdf_export")
    parser.add_argument("html", type=Path, help="the HTML file to render")
    parser.add_argument("pdf", type=Path, help="the PDF file to write")
    parser.add_argument("--title", default="", help="the PDF's title")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    try:
        write_pdf(args.html.read_text(encoding="utf-8"), args.pdf, title=args.title)
    except (OSError, HmsError) as err:
        print(f"cannot write {args.pdf}: {err}", file=sys.stderr)
        return 1
    finally:
        del app
    return 0


if __name__ == "__main__":  # pragma: no cover - run by the CLI as a child process
    sys.exit(main())
