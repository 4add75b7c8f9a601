"""Text that spreadsheets must never run: formula injection and OOXML escaping.

A person can type ``=HYPERLINK(...)`` into a note. Excel, LibreOffice and Google
Sheets evaluate a cell that *starts* with ``=``, ``+``, ``-`` or ``@`` (and
some treat a leading tab or carriage return the same way), so every exported
text is neutralised before it reaches a file:

* CSV has no cell types, so the OWASP advice applies: prefix such text with a
  single quote. The quote is visible in the file; the text is never a formula.
* XLSX has cell types: text is written as an explicit inline-string cell, which
  no spreadsheet evaluates, so the text itself stays unchanged. OOXML cannot
  carry a carriage return or most control characters in XML, so those are
  written as the standard ``_xHHHH_`` escapes Excel itself uses.

Only text is touched: numbers and dates stay numbers and dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# Characters XML 1.0 cannot carry (or silently turns into "\n", like CR), and a literal
# "_xHHHH_" that a reader would otherwise decode: both get the ECMA-376 ST_Xstring escape.
_OOXML_NEEDS_ESCAPE = re.compile(
    r"[\x00-\x08\x0b\x0c\r\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)"
)


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula."""
    return text.startswith(FORMULA_TRIGGERS)


# A separator that starts every text in :func:`any_formula_like`'s joined screen.
_SEPARATOR = "\x1f"
_STARTS_LIKE_FORMULA = re.compile(
    re.escape(_SEPARATOR) + "[" + re.escape("".join(FORMULA_TRIGGERS)) + "]"
)


def any_formula_like(texts: Iterable[str]) -> bool:
    """False only when no text in ``texts`` could be read as a formula.

    A fast screen for a whole row: one join and one regex scan in C instead of a
    Python call per cell. It may answer True for a row without a risky cell (a text
    that contains the separator followed by a trigger), never False for a risky
    one, so a caller checks each cell with :func:`csv_text` only after a True.
    """
    return _STARTS_LIKE_FORMULA.search(_SEPARATOR + _SEPARATOR.join(texts)) is not None


def csv_text(text: str) -> str:
    """``text`` made safe for a CSV cell: a leading single quote when it looks like a formula."""
    return "'" + text if is_formula_like(text) else text


def _escape_char(match: re.Match[str]) -> str:
    return f"_x{ord(match.group(0)):04X}_"


def ooxml_text(text: str) -> str:
    """``text`` escaped for an XLSX string cell, so that Excel shows exactly ``text``.

    Tabs and line feeds pass unchanged; a carriage return becomes ``_x000D_`` (XML
    would turn a raw one into a line feed), other control characters likewise, and
    a literal ``_x0041_`` in the text is protected as ``_x005F_x0041_``.
    """
    return _OOXML_NEEDS_ESCAPE.sub(_escape_char, text)


_OOXML_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def ooxml_unescape(text: str) -> str:
    """The inverse of :func:`ooxml_text` (what Excel does when it reads a cell)."""
    return _OOXML_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
