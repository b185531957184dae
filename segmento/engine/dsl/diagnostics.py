"""Friendly syntax errors: turn Lark's parse failures into ``RuleSyntaxError``.

Each error gets a ``code`` that the web editor translates, the line and column, the
source line for a caret display, and a hint. A character that does not lex is
explained here, and a token the parser cannot take in ``token_errors``.
"""

from __future__ import annotations

import unicodedata

from lark import UnexpectedCharacters, UnexpectedToken

from segmento.engine.dsl.failures import ParseFailure, syntax_error
from segmento.engine.dsl.number_errors import number_around_character, number_error
from segmento.engine.dsl.token_errors import explain_token
from segmento.engine.errors import RuleSyntaxError


def explain(failure: ParseFailure) -> RuleSyntaxError:
    """Return the friendliest ``RuleSyntaxError`` for a Lark parse failure."""
    error = failure.error
    if isinstance(error, UnexpectedCharacters):
        return _explain_character(failure, error)
    if isinstance(error, UnexpectedToken):
        return explain_token(failure, error)
    line = getattr(error, "line", 1)
    column = getattr(error, "column", 1)
    return syntax_error(failure.text, line, column, "invalid rule text", code="syntax", source=failure.source)


# --- characters --------------------------------------------------------------------------


def _explain_character(failure: ParseFailure, error: UnexpectedCharacters) -> RuleSyntaxError:
    char = error.char
    number = number_around_character(failure.text, error.pos_in_stream)
    if number is not None:
        return number_error(failure.text, number, failure.source)
    if char == '"':
        message, code = "unclosed string", "unclosed_string"
        hint = 'Add the closing " on the same line. Write a line break inside a string as \\n'
    elif char == "`":
        message, code = "unclosed quoted name", "unclosed_name"
        hint = "Add the closing ` on the same line"
    else:
        message, code = f"unexpected character {_describe_character(char)}", "stray_character"
        hint = _stray_character_hint(char)
    return syntax_error(
        failure.text,
        error.line,
        error.column,
        message,
        code=code,
        source=failure.source,
        hint=hint,
        value=char,
        params={"character": char} if code == "stray_character" else None,
    )


def _stray_character_hint(char: str) -> str:
    if char == "'":
        return 'Write strings in double quotes: "Hà Nội"'
    if char == "@":
        return "Follow @ with an operator name, for example @matches_domain"
    if unicodedata.category(char) in ("Zs", "Cf"):
        return "Replace it with a plain space or delete it"
    return "Delete it, or put it inside a string in double quotes"


def _describe_character(char: str) -> str:
    if char.isprintable() and not char.isspace():
        return f"`{char}`"
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()
