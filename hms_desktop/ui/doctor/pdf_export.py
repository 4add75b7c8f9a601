"""Render report HTML to a PDF file with Qt (``QTextDocument`` + ``QPdfWriter``).

The report viewer calls :func:`write_pdf` directly. The ``hms`` command may not
import Qt (import-linter: "No Qt below ui" covers the CLI), so it runs this module
as a child process instead, ``python -m hms_desktop.ui.doctor.pdf_export IN.html OUT.pdf``,
on the offscreen platform: one renderer, the same PDF from the window and the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

#: Enough for crisp text; higher only makes the file bigger.
PDF_DPI = 300


def render(document: QTextDocument, path: Path, *, title: str = "") -> None:
    """Print ``document`` to a PDF at ``path``, written atomically (temp file, then rename).

    Raises:
        OSError: the folder is missing or not writable.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=".report-", suffix=".pdf.tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = QPdfWriter(str(tmp))
        writer.setResolution(PDF_DPI)
        writer.setTitle(title)
        writer.setCreator("HMS Desktop")
        writer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Portrait,
                QMarginsF(15, 15, 15, 15),
                QPageLayout.Unit.Millimeter,
            )
        )
        document.print_(writer)
        del writer  # the PDF trailer is written when the writer goes away
        if tmp.stat().st_size == 0 or not tmp.read_bytes()[:5] == b"%PDF-":
            raise OSError(f"Qt wrote no PDF to {tmp}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_pdf(html: str, path: Path, *, title: str = "") -> None:
    """Render an HTML report to a PDF file (needs a QGuiApplication)."""
    document = QTextDocument()
    document.setHtml(html)
    render(document, path, title=title)


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
    except OSError as err:
        print(f"cannot write {args.pdf}: {err}", file=sys.stderr)
        return 1
    finally:
        del app
    return 0


if __name__ == "__main__":  # pragma: no cover - run by the CLI as a child process
    sys.exit(main())
