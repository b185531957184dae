"""Located syntax errors, and the parse failures they are explained from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lark import Token, UnexpectedInput

from segmento.engine.errors import Location, RuleSyntaxError


def syntax_error(
    text: str,
    line: int,
    column: int,
    message: str,
    *,
    code: str,
    source: str | None,
    hint: str | None = None,
    value: Any = None,
    params: Mapping[str, Any] | None = None,
) -> RuleSyntaxError:
    """Return a ``RuleSyntaxError`` at ``line``:``column`` of ``text``, with that line for the caret."""
    lines = text.split("\n")
    source_line = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    # A tab is one column wide for Lark; print it as one space so the caret lines up.
    return RuleSyntaxError(
        message,
        source_line=source_line.replace("\t", " "),
        location=Location(line=line, column=column, source=source),
        value=value,
        hint=hint,
        code=code,
        params=params,
    )


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A Lark failure with what is needed to explain it."""

    error: UnexpectedInput
    text: str
    source: str | None
    tokens: list[Token]
    """The tokens of the whole text, or up to the first character that does not lex."""

    def at(self, token: Token, message: str, *, code: str, hint: str | None = None, **params: Any) -> RuleSyntaxError:
        """Return an error placed on ``token``, whose text is the offending value."""
        line, column = token.line or 1, token.column or 1
        return syntax_error(
            self.text,
            line,
            column,
            message,
            code=code,
            source=self.source,
            hint=hint,
            value=str(token.value),
            params=params,
        )

    def after(
        self, token: Token, message: str, *, code: str, hint: str | None = None, **params: Any
    ) -> RuleSyntaxError:
        """Return an error placed just after ``token``, where something is missing."""
        line, column = token.end_line or 1, token.end_column or 1
        return syntax_error(self.text, line, column, message, code=code, source=self.source, hint=hint, params=params)
