"""Explanations of numbers written in another notation: ``1e3``, ``5.000.000``, ``5,000``, ``1,5``.

The DSL writes a number as ASCII digits with an optional ``-``, ``_`` between digit
groups and ``.`` before a fraction (the grammar's INTEGER and DECIMAL terminals):
``5_000_000``, ``-3``, ``19.99``. Other notations lex as several tokens, so the parser
fails somewhere after the number. This module finds the whole text the user meant as
one number, describes what is wrong with it and, where the meaning is clear, gives the
number to write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from lark import Token

from segmento.engine.dsl.failures import syntax_error
from segmento.engine.dsl.literals import write_decimal, write_integer
from segmento.engine.errors import RuleSyntaxError

NUMBER_TERMINALS: Final = frozenset({"INTEGER", "DECIMAL"})

_VALID: Final = re.compile(r"-?[0-9]+(_[0-9]+)*(\.[0-9]+(_[0-9]+)*)?")
_EXPONENT: Final = re.compile(r"[-+]?[0-9][0-9_]*(\.[0-9_]+)?[eE][-+]?[0-9]+")
_DOT_GROUPS: Final = re.compile(r"-?[0-9]{1,3}(\.[0-9]{3}){2,}")
_COMMA_GROUPS: Final = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+")
_SPACE_GROUPS: Final = re.compile(r"-?[0-9]{1,3}([ \u00a0\u202f\u2009][0-9]{3})+")
_DOT_GROUPS_COMMA_FRACTION: Final = re.compile(r"-?[0-9]{1,3}(\.[0-9]{3})+,[0-9]+")
_COMMA_GROUPS_DOT_FRACTION: Final = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+\.[0-9]+")
_DECIMAL_COMMA: Final = re.compile(r"-?[0-9]+,[0-9]+")
_LEADING_DOT: Final = re.compile(r"-?\.[0-9]+")
_TRAILING_DOT: Final = re.compile(r"-?[0-9][0-9_]*\.")
_PLUS_SIGN: Final = re.compile(r"\+[0-9][0-9_]*(\.[0-9_]+)?")
_UNDERSCORES: Final = re.compile(r"-?[0-9_]+(\.[0-9_]+)?")
_LETTERS: Final = re.compile(r"-?[0-9][0-9_.]*[^\W\d_]\w*")
_LEADING_ZERO: Final = re.compile(r"-?0[0-9_]")

# Space characters that some keyboards and spreadsheets put between digit groups.
_GROUP_SPACES: Final = frozenset(" \u00a0\u202f\u2009")

SYNTAX_HINT: Final = "Write digits with `_` between digit groups and `.` before a fraction, as in 5_000_000 or 19.99"


@dataclass(frozen=True, slots=True)
class NumberProblem:
    """A number the DSL cannot read: its text, what is wrong and how to write it."""

    text: str
    start: int
    """Offset of ``text`` in the rule text."""
    reason: str
    suggestion: str | None

    @property
    def message(self) -> str:
        return f"`{self.text}` is not a valid number: {self.reason}"

    @property
    def hint(self) -> str:
        return f"Write {self.suggestion}" if self.suggestion else SYNTAX_HINT


def number_after_token(text: str, tokens: list[Token], index: int) -> NumberProblem | None:
    """Return the problem when the token at ``index``, which the parser cannot take, continues a number.

    That is a token glued to the number before it (``1e3``, ``5.000.000``, ``5,000``,
    ``5tr``), a ``.`` glued to the digits after it (``.5``), or three digits after a
    number and one space (``5 000 000``).
    """
    token = tokens[index] if index < len(tokens) else None
    previous = tokens[index - 1] if index > 0 else None
    if token is None or token.start_pos is None:
        return None
    if previous is not None and previous.type in NUMBER_TERMINALS and previous.end_pos == token.start_pos:
        return number_at(text, previous.start_pos or 0)
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if token.type == "DOT" and following is not None and following.type == "INTEGER":
        if following.start_pos == token.end_pos:
            return number_at(text, token.start_pos)
    if token.type == "INTEGER" and previous is not None and previous.type in NUMBER_TERMINALS:
        between = text[previous.end_pos : token.start_pos]
        if len(between) == 1 and between in _GROUP_SPACES and previous.line == token.line:
            return number_at(text, previous.start_pos or 0)
    return None


def number_around_character(text: str, position: int) -> NumberProblem | None:
    """Return the problem when the character at ``position``, which does not lex, belongs to a number.

    That is the sign in ``1e+3`` and ``+5``, or a no-break space between digit groups.
    """
    char = text[position]
    if char == "+" and text[position + 1 : position + 2].isdigit() and not _word_before(text, position):
        return number_at(text, position)
    start = _number_start_before(text, position)
    if start is None:
        return None
    found = number_at(text, start)
    if found is None or found.start + len(found.text) <= position:
        return None
    return found


def number_at(text: str, start: int) -> NumberProblem | None:
    """Return the problem of the number-like text that starts at ``start``, or ``None`` if it is valid."""
    written = _number_text(text, start)
    if not written or _VALID.fullmatch(written):
        return None
    reason, suggestion = _diagnose(written)
    return NumberProblem(written, start, reason, suggestion)


def _diagnose(written: str) -> tuple[str, str | None]:
    """Return what is wrong with ``written`` and the number to write instead, when it is clear."""
    if _EXPONENT.fullmatch(written):
        return "the rule language has no exponent notation", _plain(Decimal(written.replace("_", "")))

    if _DOT_GROUPS.fullmatch(written):
        return "`.` is the decimal point, so it cannot separate thousands", _grouped(written, ".")
    if _COMMA_GROUPS.fullmatch(written):
        return "`,` cannot separate thousands", _grouped(written, ",")
    if _SPACE_GROUPS.fullmatch(written):
        return "a space cannot separate thousands", _grouped(written, "".join(_GROUP_SPACES))
    if _DOT_GROUPS_COMMA_FRACTION.fullmatch(written):
        whole, fraction = written.replace(".", "").split(",")
        return (
            "the rule language writes `.` before the fraction and `_` between digit groups",
            _with_fraction(whole, fraction),
        )
    if _COMMA_GROUPS_DOT_FRACTION.fullmatch(written):
        whole, fraction = written.replace(",", "").split(".")
        return "`,` cannot separate thousands", _with_fraction(whole, fraction)

    if _DECIMAL_COMMA.fullmatch(written):
        return "the decimal point is `.`, not `,`", written.replace(",", ".")
    if _LEADING_DOT.fullmatch(written):
        return "a digit must come before the decimal point", written.replace(".", "0.", 1)
    if _TRAILING_DOT.fullmatch(written):
        whole = written[:-1]
        return "a digit must follow the decimal point", f"{whole} or {whole}.0"

    if _PLUS_SIGN.fullmatch(written):
        return "a number has no `+` sign", written[1:]
    if _UNDERSCORES.fullmatch(written):
        return "`_` may only stand between two digits", _plain_or_none(written.replace("_", ""))
    if _LETTERS.fullmatch(written):
        return (
            "a number has only digits",
            "the whole amount in digits, for example 5_000_000 for 5 million",
        )
    return "it is not written as the rule language writes numbers", None


def _number_text(text: str, start: int) -> str:
    """Return the text from ``start`` that reads as one number in some notation.

    It takes word characters, ``.`` and ``_``, the sign of an exponent, and ``,`` or a
    space when digits follow it: three digits for a thousands separator, any digits for a
    decimal comma right after the first digits.
    """
    index = start
    if index < len(text) and text[index] in "+-":
        index += 1
    commas = 0
    while index < len(text):
        char = text[index]
        if char == "." or char == "_" or (char.isalnum() and char.isascii()) or _is_letter(char):
            index += 1
        elif char in "+-" and text[index - 1] in "eE" and text[index + 1 : index + 2].isdigit():
            index += 1
        elif char in _GROUP_SPACES and _three_digits_follow(text, index) and text[index - 1].isdigit():
            index += 1
        elif char == "," and text[index - 1].isdigit() and text[index + 1 : index + 2].isdigit():
            if not _three_digits_follow(text, index):
                commas += 1
                if commas > 1:
                    break
            index += 1
        else:
            break
    return text[start:index].rstrip(",")


def _three_digits_follow(text: str, index: int) -> bool:
    group = text[index + 1 : index + 4]
    after = text[index + 4 : index + 5]
    return len(group) == 3 and group.isdigit() and not (after.isalnum() or after == "_")


def _is_letter(char: str) -> bool:
    return char.isalpha() or "\u0300" <= char <= "\u036f"


def _word_before(text: str, position: int) -> bool:
    return position > 0 and (text[position - 1].isalnum() or text[position - 1] == "_")


def _number_start_before(text: str, position: int) -> int | None:
    """Return where the number that runs up to ``position`` starts: its first digit or its ``-``."""
    index = position
    while index > 0 and (text[index - 1].isalnum() or text[index - 1] in "._,"):
        index -= 1
    while index < position and not text[index].isdigit():
        if text[index] == "." and text[index + 1 : index + 2].isdigit():
            break
        index += 1
    if index >= position or (index > 0 and _is_letter(text[index - 1])):
        return None
    if index > 0 and text[index - 1] == "-":
        index -= 1
    return index


def _grouped(written: str, separators: str) -> str:
    digits = "".join(char for char in written if char not in separators)
    number = int(digits)
    return f"{number:_} or {number}"


def _with_fraction(whole: str, fraction: str) -> str:
    return write_decimal(Decimal(f"{whole}.{fraction}"))


def _plain(number: Decimal) -> str:
    if number == number.to_integral_value():
        return write_integer(int(number))
    return format(number.normalize(), "f")


def _plain_or_none(digits: str) -> str | None:
    try:
        return _plain(Decimal(digits))
    except InvalidOperation:
        return None


def number_error(text: str, found: NumberProblem, source: str | None) -> RuleSyntaxError:
    """Return the syntax error of ``found``, placed at the start of the number in ``text``."""
    line = text.count("\n", 0, found.start) + 1
    column = found.start - (text.rfind("\n", 0, found.start) + 1) + 1
    return syntax_error(
        text,
        line,
        column,
        found.message,
        code="invalid_number",
        source=source,
        hint=found.hint,
        value=found.text,
        params={"text": found.text, "suggestion": found.suggestion},
    )


def has_leading_zero(written: str) -> bool:
    """Return whether INTEGER or DECIMAL token text starts with a zero followed by more digits (``007``)."""
    return _LEADING_ZERO.match(written) is not None


def leading_zero_error(text: str, token: Token, source: str | None) -> RuleSyntaxError:
    """Return the error of a number token written with a leading zero, such as the ``000`` of ``[5,000]``.

    Because ``,`` separates list items, ``[5,000,000]`` lexes as the valid list 5, 0, 0.
    A leading zero is rejected, as JSON and Python 3 reject it, so that this list does not
    pass unnoticed.
    """
    written = str(token.value)
    start = token.start_pos or 0
    grouped_start = _number_start_before(text, start)
    grouped = number_at(text, grouped_start) if grouped_start is not None else None
    if grouped is not None and grouped.start < start and "," in grouped.text:
        hint = f"`,` separates list items, so {grouped.text} reads as several numbers. {grouped.hint}"
    else:
        plain = _plain_or_none(written.replace("_", "")) or written.lstrip("0")
        hint = f'Write {plain} without the leading zero, or "{written}" in quotes if it is text'
    return syntax_error(
        text,
        token.line or 1,
        token.column or 1,
        f"`{written}` is not a valid number: it starts with 0",
        code="invalid_number",
        source=source,
        hint=hint,
        value=written,
        params={"text": written},
    )
