"""Cleaning and checking what people type. Each function raises ValidationError naming the field."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, time

from email_validator import EmailNotValidError, validate_email

from hms_desktop.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE_ALLOWED = re.compile(r"^[0-9+()\-./ ]*$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def clean_text(
    value: str | None, field: str, *, max_len: int = 4000, multiline: bool = True
) -> str:
    """Trim, drop control characters (keeping newlines and tabs in multi-line text), cap length."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > max_len:
        raise ValidationError(
            f"{_label(field)} is too long ({len(text)} characters; at most {max_len}).", field=field
        )
    return text


def clean_name(value: str | None, field: str = "full_name", *, max_len: int = 120) -> str:
    name = clean_text(value, field, max_len=max_len, multiline=False)
    if not name:
        raise ValidationError(f"{_label(field)} must not be empty.", field=field)
    if not any(ch.isalpha() for ch in name):
        raise ValidationError(f"{_label(field)} must contain letters.", field=field)
    if "<" in name or ">" in name:
        # No name has them, and Qt would render "<b>…" in a label as markup.
        raise ValidationError(f"{_label(field)} must not contain < or >.", field=field)
    return name


def clean_phone(value: str | None, *, required: bool = False) -> str:
    phone = clean_text(value, "phone", max_len=40, multiline=False)
    if not phone:
        if required:
            raise ValidationError("Phone must not be empty.", field="phone")
        return ""
    if not _PHONE_ALLOWED.match(phone) or sum(ch.isdigit() for ch in phone) < 5:
        raise ValidationError(
            "Phone must be digits (at least 5), optionally with + ( ) - . and spaces.",
            field="phone",
        )
    return phone


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def email_problem(address: str) -> str:
    """Why ``address`` cannot be sent to, or "" when it can.

    The syntax check is email-validator's (RFC 5321/5322 and internationalised
    addresses), not a pattern of ours; no DNS look-up is made, so it works offline.
    The outbox asks again before sending, for addresses saved before this check.
    """
    if not address:
        return "there is no email address"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:
        return str(err)
    return ""


def clean_email(value: str | None, *, required: bool = False) -> str:
    """The address as typed (trimmed), after checking that mail can be sent to it.

    Raises:
        ValidationError: empty when ``required``, or not a usable address.
    """
    email = clean_text(value, "email", max_len=254, multiline=False)
    if not email:
        if required:
            raise ValidationError("Email must not be empty.", field="email")
        return ""
    problem = email_problem(email)
    if problem:
        raise ValidationError(
            f"{shown(email)} is not an email address like name@example.com: {problem}",
            field="email",
        )
    return email


def clean_username(value: str | None) -> str:
    username = (value or "").strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError(
            "User name must be 3 to 64 characters: letters, digits, dot, dash or underscore, "
            "starting with a letter or digit.",
            field="username",
        )
    return username


#: Letters Unicode does not take apart into a plain letter and accents, as they are
#: usually written in plain letters, and apostrophes, dropped: "Łukasz", "Yılmaz",
#: "Søren", "O'Brien" are found by "lukasz", "yilmaz", "soren", "obrien" (and "o'b").
#: Lower case only: :func:`fold` case-folds first ("ß" and "ẞ" are "ss" already).
_PLAIN_LETTERS = str.maketrans(
    {
        "ł": "l",
        "ı": "i",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "ħ": "h",
        "'": None,
        "\u2019": None,  # ’ right single quotation mark, the typographic apostrophe
        "\u2018": None,  # ‘ left single quotation mark, often typed for one
        "\u02bc": None,  # ʼ modifier letter apostrophe
    }
)


def fold(text: str) -> str:
    """Lower-case, strip accents, spell special letters plainly and drop apostrophes:
    search keys, and the text searched for ("José" -> "jose", "Łukasz" -> "lukasz",
    "O’Brien" -> "obrien").

    Stored keys are made with it: a change here needs a migration that makes the
    keys of the names it changes again (0016 did for the letters above).
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # After decomposing: "Ǿ" is "ø" and an accent, "ŉ" is "ʼn".
    return plain.translate(_PLAIN_LETTERS)


#: The length of the stored search keys (``name_key``, ``surname_key``, word keys).
KEY_LENGTH = 120


def name_keys(name: str) -> tuple[str, str]:
    """A cleaned name's stored search keys: the folded name, and its last word (the
    surname way's key: "lopez" for "María García López"), each within its column
    (folding can lengthen text: "ﷺ" is 18 letters)."""
    folded = fold(name)
    return folded[:KEY_LENGTH], folded.rsplit(" ", 1)[-1][:KEY_LENGTH]


def name_words(name_key: str, surname_key: str) -> list[str]:
    """The words of a folded name that the search's word way finds the patient by
    (sorted, each once): "garcia" for "maria garcia lopez", "smith" and "hughes" for
    "anna smith-hughes".

    The name way finds the name's first word and the surname way its last, so those
    are left out; the words are split at spaces and hyphens, and a hyphenated word
    that is not the first nor the last is kept whole as well ("smith-h" finds "Anna
    Smith-Hughes Jones"). The parts of the last word go in although the surname way
    finds the first of them ("smith"): a word found twice is listed once by the ways.
    Made from the stored keys (so never longer than they are); migration 0018 holds a
    copy of this rule, and a test keeps the two alike.
    """
    spaced = name_key.split()
    if not spaced:
        return []
    parts = {part for word in spaced for part in word.split("-") if part}
    parts |= {word for word in spaced[1:] if "-" in word.strip("-")}
    return sorted(parts - {spaced[0], spaced[0].split("-")[0], surname_key})


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for quoting what someone typed in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def search_text(value: str | None, *, max_len: int = 200) -> str:
    """Search-box text: control characters (NUL...) dropped, spaces collapsed, length capped.

    Search never fails on what was typed; PostgreSQL refuses NUL in any parameter.
    """
    return " ".join(_CONTROL.sub("", value or "").split())[:max_len]


def parse_day(value: date | str | None, field: str = "date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_not_a_day(text, _label(field), shown(value)), field=field) from None


_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_ISO_SHAPE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
#: Day, month and year with dots, as much of Europe writes a date: unambiguous (no one
#: writes month first with dots), so the message can give the same date back written right.
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _not_a_day(text: str, label: str, given: str) -> str:
    """What to fix in ``text``, which is not a date written YYYY-MM-DD: the same date
    written that way, or which part of it cannot be."""
    iso, dotted = _ISO_SHAPE.fullmatch(text), _DOTTED.fullmatch(text)
    if iso is not None:
        year, month, day = (int(g) for g in iso.groups())
    elif dotted is not None:
        day, month, year = (int(g) for g in dotted.groups())
    if (iso is None and dotted is None) or year < 1:
        return f"{label} must be a real date written YYYY-MM-DD, not {given}."
    if not 1 <= month <= 12:
        return f"{label}: {given} is not a real date: there is no month {month}."
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        return (
            f"{label}: {given} is not a real date: {_MONTHS[month - 1]} {year} has {length} days."
        )
    return f"{label} must be written YYYY-MM-DD: {given} is {date(year, month, day).isoformat()}."


def parse_time(value: time | str | None, field: str = "time") -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        hours, minutes = (value or "").strip().split(":")
        if len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValidationError(
            f"{_label(field)} must be a time written HH:MM, not {shown(value)}.", field=field
        ) from None


def check_birth_date(value: date | None, today: date) -> date | None:
    if value is None:
        return None
    if value > today:
        raise ValidationError("Date of birth cannot be in the future.", field="date_of_birth")
    if value.year < today.year - 130:
        raise ValidationError("Date of birth is more than 130 years ago.", field="date_of_birth")
    return value


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()
