"""Which CSV delimiter this PC's Excel reads in columns.

Excel splits a CSV at the "list separator" of the Windows region settings: a comma
where the decimal separator is a point (English), a semicolon where the decimal
separator is a comma (German, French, ...). A comma-separated file opened in a
German Excel lands in one column. The user's choice is remembered per PC (the
``csv_delimiter`` setting); without one, the locale decides.
"""

from __future__ import annotations

import locale
import threading

from hms_desktop.errors import ValidationError
from hms_desktop.services.files.table_files import CSV_DELIMITERS

#: Names the command line and the settings file accept, and what they stand for.
DELIMITER_NAMES = {
    ",": ",",
    "comma": ",",
    ";": ";",
    "semicolon": ";",
    "tab": "\t",
    "\t": "\t",
    "\\t": "\t",
}
#: How each delimiter reads in the window.
DELIMITER_LABELS = {",": "Comma (,)", ";": "Semicolon (;)", "\t": "Tab"}

_locale_lock = threading.Lock()


def delimiter_for_decimal_point(decimal_point: str) -> str:
    """``;`` where numbers are written with a decimal comma, ``,`` otherwise."""
    return ";" if decimal_point == "," else ","


def system_decimal_point() -> str:
    """The decimal separator of the user's locale (the environment's LC_NUMERIC).

    Reads it without leaving the process's own number format changed (Python and
    Qt both expect the "C" locale for parsing).
    """
    with _locale_lock:
        before = locale.setlocale(locale.LC_NUMERIC)
        try:
            locale.setlocale(locale.LC_NUMERIC, "")
            return str(locale.localeconv()["decimal_point"] or ".")
        except locale.Error:  # an unknown locale in the environment: say nothing
            return "."
        finally:
            locale.setlocale(locale.LC_NUMERIC, before)


def parse_delimiter(value: str) -> str:
    """A delimiter from a name (``comma``, ``semicolon``, ``tab``) or the character.

    Raises:
        ValidationError: anything else.
    """
    found = DELIMITER_NAMES.get(value if value in DELIMITER_NAMES else value.strip().lower())
    if found is None:
        raise ValidationError(
            f"The CSV delimiter must be comma, semicolon or tab, not {value[:20]!r}.",
            field="delimiter",
        )
    return found


def default_delimiter(remembered: str = "", *, decimal_point: str | None = None) -> str:
    """The delimiter to offer: the one remembered on this PC, else the locale's.

    ``decimal_point`` overrides the locale's (the window passes Qt's system locale).
    """
    if remembered:
        try:
            return parse_delimiter(remembered)
        except ValidationError:
            pass  # a hand-edited settings file: fall back to the locale
    point = system_decimal_point() if decimal_point is None else decimal_point
    found = delimiter_for_decimal_point(point)
    assert found in CSV_DELIMITERS
    return found
