"""Print a monthly report page by page: a summary page, then tables that print well.

``QTextDocument`` prints a long table without its header on later pages, splits
rows across pages and breaks words anywhere in narrow cells. So the report is laid
out here instead, from its own HTML (:func:`parse_report` reads what
``services/records/reports.render_html`` writes), and painted with ``QPainter`` on a
PDF writer or a printer:

* page 1 is the summary: title, doctor and month, each figure with what it counts;
* each table starts on a new page; a page it continues on starts with the section
  name ("continued") and the table's header row;
* a row is never split across pages, unless it alone is taller than a page (a
  very long note), which then continues on the next page under the header again;
* text wraps at word boundaries; only a single word wider than its column is broken;
* every page has a footer with the title and "page N of M".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPagedPaintDevice,
    QPainter,
    QPen,
    QTextLayout,
    QTextLine,
    QTextOption,
)


@dataclass
class Table:
    heading: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""


@dataclass
class ReportContent:
    title: str = ""
    meta: str = ""
    #: (label, figure, what it counts)
    summary: list[list[str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


class _Reader(HTMLParser):
    """Collects the report's parts from the HTML the report service writes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.content = ReportContent()
        self._text: list[str] | None = None
        self._tag = ""
        self._classes: list[str] = []
        self._heading = ""
        self._row: list[str] | None = None
        self._header_row = False
        self._in_summary = False
        self._table: Table | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("h1", "h2", "p", "td", "th"):
            self._text, self._tag, self._classes = [], tag, classes
        elif tag == "table":
            if "summary" in classes:
                self._in_summary = True
            else:
                self._table = Table(self._heading)
        elif tag == "tr":
            self._row, self._header_row = [], False
        elif tag == "br" and self._text is not None:
            self._text.append("\n")

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._tag and self._text is not None:
            text = "".join(self._text).strip()
            self._text = None
            if tag == "h1":
                self.content.title = text
            elif tag == "h2":
                self._heading = text
            elif tag == "p" and "meta" in self._classes:
                self.content.meta = text
            elif tag == "p" and "empty" in self._classes:
                self.content.tables.append(Table(self._heading, empty=text))
            elif tag in ("td", "th") and self._row is not None:
                self._row.append(text)
                self._header_row = self._header_row or tag == "th"
        elif tag == "tr" and self._row is not None:
            if self._in_summary:
                self.content.summary.append(self._row)
            elif self._table is not None:
                if self._header_row:
                    self._table.headers = self._row
                else:
                    self._table.rows.append(self._row)
            self._row = None
        elif tag == "table":
            if self._in_summary:
                self._in_summary = False
            elif self._table is not None:
                self.content.tables.append(self._table)
                self._table = None


def parse_report(html: str) -> ReportContent | None:
    """The parts of a report page, or None for HTML that is not a report (no title)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.content if reader.content.title else None


# --- layout ---------------------------------------------------------------------------------

_MM_PER_INCH = 25.4
_GRID = QColor("#d0d7de")
_HEAD_FILL = QColor("#eaeef2")
_MUTED = QColor("#57606a")


@dataclass
class _Cell:
    layout: QTextLayout
    lines: list[QTextLine]
    x: float
    width: float


class _Pages:
    """Lays out and paints onto a paged device; :meth:`finish` writes the footers."""

    def __init__(
        self, device: QPagedPaintDevice, painter: QPainter | None, title: str, total: int = 0
    ) -> None:
        # painter None: a dry run that only counts the pages (for "page N of M").
        self.device, self.painter, self.title, self.total = device, painter, title, total
        dpi = device.logicalDpiY()
        self.mm = dpi / _MM_PER_INCH
        self.width = float(device.width())
        footer_font = self.font(7.5)
        self.footer_height = QFontMetricsF(footer_font, device).height() + 2 * self.mm
        self.bottom = float(device.height()) - self.footer_height
        self.y = 0.0
        self.page = 1

    def font(self, points: float, *, bold: bool = False) -> QFont:
        font = QFont("DejaVu Sans")
        font.setStyleHint(QFont.StyleHint.SansSerif)
        # No "fi"/"fl" ligature glyphs: text copied or searched in the PDF stays plain.
        font.setFeature(QFont.Tag("liga"), 0)
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def new_page(self) -> None:
        self.footer()
        if self.painter is not None:
            self.device.newPage()
        self.page += 1
        self.y = 0.0

    def footer(self) -> None:
        """The title and "page N of M" under the page's last line."""
        if self.painter is None:
            return
        self.painter.setFont(self.font(7.5))
        self.painter.setPen(_MUTED)
        rect = QRectF(0, self.bottom + self.mm, self.width, self.footer_height)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft), self.title)
        self.painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignRight), f"page {self.page} of {self.total}"
        )

    def set_pen(self, pen: QPen | QColor) -> None:
        if self.painter is not None:
            self.painter.setPen(pen)

    def fill(self, rect: QRectF, color: QColor) -> None:
        if self.painter is not None:
            self.painter.fillRect(rect, color)

    def rule(self, y: float, pen: QPen) -> None:
        if self.painter is not None:
            self.painter.setPen(pen)
            self.painter.drawLine(QPointF(0, y), QPointF(self.width, y))

    def text_block(self, text: str, font: QFont, *, color: QColor | None = None) -> None:
        """Paragraph text across the page width (word-wrapped)."""
        cell = self.layout_text(text, font, 0.0, self.width)
        height = self.cell_height(cell)
        if self.y + height > self.bottom and self.y > 0:
            self.new_page()
        self.set_pen(color or QColor("#1f2328"))
        self.draw_lines(cell, cell.lines, self.y)
        self.y += height

    def layout_text(self, text: str, font: QFont, x: float, width: float) -> _Cell:
        layout = QTextLayout(text, font, self.device)
        option = QTextOption()
        # Words wrap at their boundaries; only a word wider than the column is broken.
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        lines: list[QTextLine] = []
        layout.beginLayout()
        y = 0.0
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(max(width, 1.0))
            line.setPosition(QPointF(0.0, y))
            y += line.height()
            lines.append(line)
        layout.endLayout()
        return _Cell(layout, lines, x, width)

    @staticmethod
    def cell_height(cell: _Cell) -> float:
        return sum(line.height() for line in cell.lines)

    def draw_lines(self, cell: _Cell, lines: list[QTextLine], top: float) -> None:
        if self.painter is None:
            return
        y = top
        for line in lines:
            line.draw(self.painter, QPointF(cell.x, y - line.y()))
            y += line.height()


def _column_widths(pages: _Pages, table: Table, font: QFont, bold: QFont) -> list[float]:
    """Each column's width on the page.

    Every column is at least as wide as its longest word (up to a third of the page),
    so words wrap whole; what is left goes to the columns whose text is longer than
    that, in proportion to how much longer.
    """
    body = QFontMetricsF(font, pages.device)
    head = QFontMetricsF(bold, pages.device)
    pad = 3 * pages.mm
    natural, least = [], []
    for index, header in enumerate(table.headers):
        cells = [row[index] for row in table.rows if index < len(row)]
        natural.append(
            max([head.horizontalAdvance(header)] + [body.horizontalAdvance(c) for c in cells]) + pad
        )
        words = {w for c in cells for w in c.split()} | set(header.split())
        widest_word = max(
            [body.horizontalAdvance(w) for w in words]
            + [head.horizontalAdvance(w) for w in header.split()]
            + [0.0]
        )
        least.append(min(widest_word + pad, pages.width / 3, natural[-1]))
    if sum(natural) <= pages.width:
        total = sum(natural) or 1.0
        return [pages.width * n / total for n in natural]
    spare = max(pages.width - sum(least), 0.0)
    more = [n - m for n, m in zip(natural, least, strict=True)]
    total_more = sum(more) or 1.0
    widths = [m + spare * extra / total_more for m, extra in zip(least, more, strict=True)]
    scale = pages.width / (sum(widths) or 1.0)  # only when the words alone overfill the page
    return [w * min(scale, 1.0) for w in widths]


def _paint_table(pages: _Pages, table: Table, base: float) -> None:
    mm = pages.mm
    pad = 1.2 * mm
    font, bold = pages.font(base), pages.font(base, bold=True)
    heading_font = pages.font(base + 3, bold=True)
    if pages.y > 0:
        pages.new_page()  # each table starts on a page of its own
    pages.text_block(table.heading, heading_font)
    pages.y += 1.5 * mm
    if not table.rows:
        pages.text_block(table.empty or "Nothing this month.", pages.font(base), color=_MUTED)
        return
    widths = _column_widths(pages, table, font, bold)
    xs = [sum(widths[:i]) for i in range(len(widths))]

    def layout_row(values: list[str], row_font: QFont) -> list[_Cell]:
        return [
            pages.layout_text(value, row_font, x + pad, w - 2 * pad)
            for value, x, w in zip(values, xs, widths, strict=False)
        ]

    header = layout_row(table.headers, bold)
    header_height = max(pages.cell_height(c) for c in header) + 2 * pad

    def draw_header() -> None:
        pages.fill(QRectF(0, pages.y, pages.width, header_height), _HEAD_FILL)
        pages.set_pen(QColor("#1f2328"))
        for cell in header:
            pages.draw_lines(cell, cell.lines, pages.y + pad)
        pages.y += header_height

    def continue_on_new_page() -> None:
        pages.new_page()
        pages.text_block(f"{table.heading} (continued)", pages.font(base + 1, bold=True))
        pages.y += 1 * mm
        draw_header()

    draw_header()
    grid = QPen(_GRID)
    grid.setWidthF(0.2 * mm)
    for values in table.rows:
        cells = layout_row(values, font)
        height = max(pages.cell_height(c) for c in cells) + 2 * pad
        room = pages.bottom - header_height - 6 * mm  # what a fresh page offers a row
        if pages.y + height > pages.bottom and height <= room:
            continue_on_new_page()  # kept whole: the row moves to the next page
        # A row taller than a whole page is the one case that must continue.
        remaining = {id(c): list(c.lines) for c in cells}
        while True:
            top = pages.y + pad
            space = pages.bottom - top - pad
            drawn_height = 0.0
            pages.set_pen(QColor("#1f2328"))
            for cell in cells:
                lines, used = remaining[id(cell)], 0.0
                take = []
                for line in lines:
                    if used + line.height() > space:
                        break
                    take.append(line)
                    used += line.height()
                pages.draw_lines(cell, take, top)
                remaining[id(cell)] = lines[len(take) :]
                drawn_height = max(drawn_height, used)
            pages.y = top + drawn_height + pad
            pages.rule(pages.y, grid)
            if not any(remaining.values()):
                break
            continue_on_new_page()


def paint_report(content: ReportContent, device: QPagedPaintDevice, *, title: str = "") -> int:
    """Paint ``content`` onto ``device`` (a QPdfWriter or QPrinter); return the page count.

    Laid out twice: a dry run counts the pages, so each footer can say "page N of M".
    """
    total = _lay_out(content, _Pages(device, None, title or content.title))
    painter = QPainter(device)
    try:
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        return _lay_out(content, _Pages(device, painter, title or content.title, total))
    finally:
        painter.end()


def _lay_out(content: ReportContent, pages: _Pages) -> int:
    mm = pages.mm
    base = 8.5
    # Page 1: the summary, each figure with what it counts.
    pages.text_block(content.title, pages.font(base + 8, bold=True))
    pages.y += 1 * mm
    pages.text_block(content.meta, pages.font(base), color=_MUTED)
    pages.y += 6 * mm
    pages.text_block("Summary", pages.font(base + 3, bold=True))
    pages.y += 2 * mm
    widths = [0.3 * pages.width, 0.12 * pages.width, 0.58 * pages.width]
    figure_font, bold = pages.font(base + 1), pages.font(base + 1, bold=True)
    for row in content.summary:
        cells, x = [], 0.0
        for index, (value, width) in enumerate(zip(row, widths, strict=False)):
            font = bold if index == 1 else figure_font
            cells.append(pages.layout_text(value, font, x, width - 2 * mm))
            x += width
        for index, cell in enumerate(cells):
            pages.set_pen(_MUTED if index == 2 else QColor("#1f2328"))
            pages.draw_lines(cell, cell.lines, pages.y + 1 * mm)
        pages.y += max(pages.cell_height(c) for c in cells) + 2 * mm
    pages.y += 4 * mm
    if content.tables:
        parts = ", ".join(
            f"{t.heading} ({len(t.rows)} row{'' if len(t.rows) == 1 else 's'})"
            for t in content.tables
        )
        pages.text_block(f"On the next pages: {parts}.", pages.font(base), color=_MUTED)
    for table in content.tables:
        _paint_table(pages, table, base)
    pages.footer()
    return pages.page
