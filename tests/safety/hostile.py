"""Hypothesis strategies for what a person (or a paste) can put into a field."""

from __future__ import annotations

import re
from datetime import date, time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hms_desktop.errors import HmsError

#: Every hostile-input test: 200 examples, no deadline (a write and an fsync vary),
#: one SQLite clinic per test function (the fixture is reused across examples on purpose).
HOSTILE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

NASTY = (
    "",
    " ",
    "\x00",
    "Ann\x00a",
    "\x00\x01\x02\x1b[31m",
    "Robert'); DROP TABLE patients;--",
    "' OR '1'='1",
    '" OR ""="',
    "1; DELETE FROM audit_log",
    "=1+2",
    '=HYPERLINK("http://evil.example","click")',
    "+49 30 1234567",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=cmd|' /C calc'!A0",
    "%",
    "_",
    "\\",
    "%_\\'\"",
    "\u202eevil\u202c",
    "\ufeffBOM",
    "\u200b",
    "𝕏 Ÿ",
    "ﷺ",
    "ß",
    "İ",
    "²",
    "١٢٣",
    "\U0010ffff",
    "\ud7ff",
    "\n\r\t\x0b\x0c\x85\u2028",
    "NULL",
    "None",
    "1e309",
    "9" * 40,
    "<script>alert(1)</script>",
    "x" * 5000,
    "é" * 130,
    "ﷺ" * 120,
)

_chars = st.characters(exclude_categories=["Cs"])  # a lone surrogate cannot be typed or pasted
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(_chars, max_size=60),
    st.text(st.characters(max_codepoint=0x7F), max_size=60),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(_chars, max_size=20)),
    st.integers(0, 9000).map(lambda n: "ab\n" * (n // 3)),
)

day_text = st.one_of(
    st.dates().map(date.isoformat),
    st.dates(),
    st.sampled_from(
        [
            "0000-00-00",
            "2026-02-30",
            "9999-12-31",
            "0001-01-01",
            "2026-06-16",
            "2026-06-17",
            "2026-6-16",
            "16/06/2026",
            "2026-06-16T10:00",
            "2026-W25-2",
            " 2026-06-16 ",
        ]
    ),
    hostile_text,
)
time_text = st.one_of(
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.times(),
    st.sampled_from(
        [
            "09:00",
            "09:30",
            "10:00",
            "11:30",
            "24:00",
            "23:60",
            "-1:30",
            "09:30:00",
            "9:30",
            "09:3",
            "٠٩:٣٠",
            " 09:30 ",
            "00:00",
            "23:59",
        ]
    ),
    hostile_text,
)
usernames = st.one_of(st.from_regex(r"\A[a-z0-9][a-z0-9._-]{2,20}\Z"), hostile_text)
passwords = st.one_of(st.text(_chars, min_size=8, max_size=40), hostile_text)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def expected_line(value: str) -> str:
    """What a single-line field must hold after saving: no control characters, one-spaced."""
    return " ".join(_CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).split())


def expected_block(value: str) -> str:
    """What a multi-line field must hold: newlines kept, other control characters gone."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def assert_clear(err: HmsError) -> None:
    """A message a receptionist can read: present, short, printable."""
    message = str(err)
    assert message.strip(), f"{type(err).__name__} without a message"
    assert len(message) <= 400, f"message too long ({len(message)}): {message[:120]}..."
    assert not _CONTROL.search(message), f"control characters in the message: {message!r}"


def as_time(value: time | str) -> str:
    return value.strftime("%H:%M") if isinstance(value, time) else value
