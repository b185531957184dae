"""Literals of the rule DSL: reading token text into Python values and writing them back.

Reading and writing live side by side so that each writer's output is what the
matching reader accepts: ``read_x(write_x(value)) == value`` for every value the rule
model holds.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from segmento.engine.text import normalize

_SIMPLE_ESCAPES: Final[dict[str, str]] = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "`": "`"}
_WRITTEN_ESCAPES: Final[dict[str, str]] = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}

# Characters written as \u escapes: controls, invisible format characters (bidirectional
# overrides among them, which could make a reviewed rule read differently from what it
# does), surrogates and line or paragraph separators.
_ESCAPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

INTEGER_SEPARATOR_FROM: Final = 10_000
"""Integers whose absolute value reaches this are written with ``_`` thousands separators."""


class LiteralError(ValueError):
    """Token text that lexes but is not a valid value: a bad escape or an impossible date.

    ``offset`` is the index in the token text where the problem starts.
    """

    def __init__(self, message: str, *, code: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.offset = offset
        self.hint = hint


# --- reading ---------------------------------------------------------------------------


def read_quoted(token: str) -> str:
    """Return the text of a quoted string or backtick name, escapes resolved, in NFC."""
    body = token[1:-1]
    if "\\" not in body:
        return normalize(body)
    parts: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            parts.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape in _SIMPLE_ESCAPES:
            parts.append(_SIMPLE_ESCAPES[escape])
            index += 2
        elif escape in ("u", "U"):
            width = 4 if escape == "u" else 8
            parts.append(_read_code_point(body, index, width))
            index += 2 + width
        else:
            raise LiteralError(
                f"invalid escape \\{escape}",
                code="invalid_escape",
                offset=index + 1,
                hint='Use \\" \\\\ \\n \\t \\r, \\uXXXX or \\UXXXXXXXX; write a backslash as \\\\',
            )
    return normalize("".join(parts))


def _read_code_point(body: str, index: int, width: int) -> str:
    digits = body[index + 2 : index + 2 + width]
    hint = f"Write exactly {width} hexadecimal digits after \\{body[index + 1]}"
    if len(digits) != width or any(char not in "0123456789abcdefABCDEF" for char in digits):
        raise LiteralError("invalid Unicode escape", code="invalid_escape", offset=index + 1, hint=hint)
    code_point = int(digits, 16)
    if code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
        raise LiteralError(
            f"\\{body[index + 1]}{digits} is not a Unicode character",
            code="invalid_escape",
            offset=index + 1,
            hint="Use a code point up to 10FFFF outside the surrogate range D800-DFFF",
        )
    return chr(code_point)


def read_integer(text: str) -> int:
    return int(text.replace("_", ""))


def read_decimal(text: str) -> Decimal:
    return Decimal(text.replace("_", ""))


def read_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LiteralError(
            f"{text} is not a valid date",
            code="invalid_date",
            hint="Write a real calendar date as YYYY-MM-DD, for example 2024-02-29",
        ) from None


def read_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise LiteralError(
            f"{text} is not a valid date and time",
            code="invalid_datetime",
            hint="Write YYYY-MM-DDTHH:MM:SS with a real date and time, then Z or an offset such as +07:00 if needed",
        ) from None


# --- writing ---------------------------------------------------------------------------


def escape(text: str, quote: str) -> str:
    """Return ``text`` with the escapes it needs inside ``quote`` characters, and no others."""
    parts: list[str] = []
    for char in text:
        if char == quote:
            parts.append("\\" + char)
        elif char in _WRITTEN_ESCAPES:
            parts.append(_WRITTEN_ESCAPES[char])
        elif unicodedata.category(char) in _ESCAPED_CATEGORIES:
            code_point = ord(char)
            parts.append(f"\\u{code_point:04x}" if code_point <= 0xFFFF else f"\\U{code_point:08x}")
        else:
            parts.append(char)
    return "".join(parts)


def write_string(text: str) -> str:
    return '"' + escape(text, '"') + '"'


def write_integer(number: int) -> str:
    if abs(number) >= INTEGER_SEPARATOR_FROM:
        return f"{number:_}"
    return str(number)


def write_decimal(number: Decimal) -> str:
    """Return ``number`` in plain notation with at least one fractional digit, so it reads back as a Decimal."""
    if not number.is_finite():
        raise ValueError(f"{number} cannot be written in a rule: only finite numbers can")
    text = format(number, "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    return f"{sign}{write_integer(int(whole))}.{fraction or '0'}"


def write_datetime(moment: datetime) -> str:
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    offset = moment.utcoffset()
    if offset is not None:
        text += _write_offset(offset)
    return text


def _write_offset(offset: timedelta) -> str:
    if not offset:
        return "Z"
    if offset.microseconds:
        raise ValueError(f"UTC offset {offset} cannot be written in a rule: use whole seconds")
    sign = "-" if offset < timedelta(0) else "+"
    seconds = int(abs(offset).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def is_scalar(value: Any) -> bool:
    """Return whether ``value`` is one of the scalar types a rule value can be."""
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, (str, bool, int, date))


def write_scalar(value: Any) -> str:
    """Return the DSL text of a string, number, boolean, date or datetime."""
    if isinstance(value, str):
        return write_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return write_integer(value)
    if isinstance(value, Decimal):
        return write_decimal(value)
    if isinstance(value, datetime):
        return write_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value cannot be written in a rule")
