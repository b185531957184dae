"""Error types of segmento, one subclass per phase.

Every error carries where the problem is (a JSON pointer or a DSL line and column),
the offending value, and a hint about what to do next. ``code`` and ``params`` identify
the message in the translation catalogue, so the web editor can show it in Vietnamese
or English; ``str(error)`` is the English text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    """Position of a node or a problem: a JSON pointer, or a line and column of DSL text.

    Lines and columns count from 1. ``source`` names the file or input, when known.
    """

    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.source or ""
        if self.line is not None:
            position = f"{self.line}:{self.column or 1}"
            return f"{where}:{position}" if where else f"line {position}"
        if self.pointer is not None:
            pointer = self.pointer or "/"
            return f"{where}#{pointer}" if where else pointer
        return where or "<unknown>"

    def child(self, *tokens: str | int) -> Location:
        """Return the location of a member of this JSON node, escaping each token (RFC 6901)."""
        pointer = self.pointer or ""
        for token in tokens:
            escaped = str(token).replace("~", "~0").replace("/", "~1")
            pointer = f"{pointer}/{escaped}"
        return Location(pointer=pointer, source=self.source)


UNKNOWN_LOCATION = Location()


class SegmentoError(Exception):
    """Root of every error segmento raises on purpose."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        location: Location = UNKNOWN_LOCATION,
        value: Any = None,
        hint: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.value = value
        self.hint = hint
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = dict(params or {})
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location != UNKNOWN_LOCATION else self.message
        if self.hint:
            text = f"{text}. {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description, as the API and the CLI's JSON output send it."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "pointer": self.location.pointer,
            "line": self.location.line,
            "column": self.location.column,
            "source": self.location.source,
            "params": {key: _jsonable(value) for key, value in self.params.items()},
        }


class RuleError(SegmentoError, ValueError):
    """A rule is invalid. Raised while reading or checking a rule, before any query runs."""


class RuleSyntaxError(RuleError):
    """DSL text does not parse. The location has the line and column.

    ``source_line`` is the offending line of text, for a caret display.
    """

    code = "syntax"

    def __init__(self, message: str, *, source_line: str = "", **kwargs: Any) -> None:
        self.source_line = source_line
        super().__init__(message, **kwargs)

    def __str__(self) -> str:
        text = super().__str__()
        if self.source_line and self.location.column:
            caret = " " * (self.location.column - 1) + "^"
            text = f"{text}\n  {self.source_line}\n  {caret}"
        return text


class RuleSchemaError(RuleError):
    """A JSON rule document does not match the rule schema. The location has the JSON pointer."""

    code = "schema"


class RuleSemanticError(RuleError):
    """A rule is well formed but wrong for the field catalog: unknown field, bad operator or value."""

    code = "semantic"


class RuleErrors(RuleError):
    """Several problems found in one rule, the most useful first.

    ``errors`` contains the individual problems, and the message is the first one's.
    """

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors: list[RuleError] = list(errors)
        if not self.errors:
            raise ValueError("RuleErrors needs at least one error")
        first = self.errors[0]
        self.code = first.code
        super().__init__(
            first.message,
            location=first.location,
            value=first.value,
            hint=first.hint,
            params=first.params,
        )

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return str(self.errors[0])
        more = len(self.errors) - 1
        lines = [str(error) for error in self.errors]
        return f"{lines[0]}\n(and {more} more problem{'s' if more > 1 else ''})\n" + "\n".join(lines[1:])


class UnsupportedError(SegmentoError, ValueError):
    """A target cannot express a rule. Names the rule's location, the operator and the target."""

    code = "unsupported"


class PluginError(SegmentoError):
    """A plugin is broken: a hook it cannot implement, or a name two plugins both claim."""

    code = "plugin"


class DataError(SegmentoError, ValueError):
    """Input data (a profile, an event or an import file) is malformed. Names file and line."""

    code = "data"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
