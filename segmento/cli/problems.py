"""How the rule commands print problems: one block per problem on standard error.

A block starts with the location, as compilers print it (``rules/vip.seg:3:5`` or
``rules/vip.json#/condition/field``), then the message. For DSL text it shows the source
line with a caret under the column, and it ends with the hint::

    rules/vip.seg:3:3: error: unknown field "citty"
        citty = "Hà Nội"
        ^
      hint: Did you mean "city"?

A problem that does not stop the command, such as a validation problem that ``fmt``
finds in a file it formats, is printed the same way with ``warning:`` in place of
``error:``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import click

from segmento.engine.errors import UNKNOWN_LOCATION, RuleErrors, RuleSyntaxError, SegmentoError

Mask = Callable[[str], str]
Severity = Literal["error", "warning"]


def keep_text(text: str) -> str:
    """Return ``text`` as it is: the mask of commands that handle no secret."""
    return text


def flatten(errors: Iterable[SegmentoError]) -> list[SegmentoError]:
    """Return the single problems of ``errors``, expanding each ``RuleErrors`` into its members."""
    problems: list[SegmentoError] = []
    for error in errors:
        if isinstance(error, RuleErrors):
            problems.extend(error.errors)
        else:
            problems.append(error)
    return problems


class ProblemPrinter:
    """Print problems with their location, source line and hint.

    ``remember`` keeps the text of each rule file read, so that problems found after
    parsing (an unknown field, a wrong value) can show their source line too. ``mask``
    rewrites every printed text, to hide a password that a message might contain.
    ``count`` is the number of errors printed and ``warnings`` the number of warnings.
    """

    def __init__(self, mask: Mask = keep_text) -> None:
        self.mask = mask
        self.sources: dict[str, str] = {}
        self.count = 0
        self.warnings = 0

    def remember(self, source: str, text: str) -> None:
        """Keep ``text`` as the content of ``source`` for source-line display."""
        self.sources[source] = text

    def echo(self, error: SegmentoError, severity: Severity = "error") -> None:
        """Print every problem of ``error`` to standard error, as errors or as warnings."""
        for problem in flatten([error]):
            click.echo(self.mask(self.describe(problem, severity)), err=True)
            if severity == "error":
                self.count += 1
            else:
                self.warnings += 1

    def describe(self, problem: SegmentoError, severity: Severity = "error") -> str:
        """Return the text block of one problem, without a final line break."""
        location = problem.location
        head = f"{location}: {severity}: " if location != UNKNOWN_LOCATION else f"{severity}: "
        lines = [head + problem.message]
        source_line = self._source_line(problem)
        if source_line is not None and location.column:
            lines.append("    " + source_line)
            lines.append("    " + " " * (location.column - 1) + "^")
        if problem.hint:
            lines.append(f"  hint: {problem.hint}")
        return "\n".join(lines)

    def to_dict(self, problem: SegmentoError) -> dict[str, Any]:
        """Return the JSON form of one problem: ``SegmentoError.to_dict`` plus the printed text."""
        document = problem.to_dict()
        document["text"] = self.describe(problem)
        return _masked(document, self.mask)

    def _source_line(self, problem: SegmentoError) -> str | None:
        if isinstance(problem, RuleSyntaxError) and problem.source_line:
            return problem.source_line
        location = problem.location
        text = self.sources.get(location.source or "")
        if text is None or location.line is None:
            return None
        lines = text.splitlines()
        if 1 <= location.line <= len(lines):
            return lines[location.line - 1]
        return None


def _masked(value: Any, mask: Mask) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {key: _masked(item, mask) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, mask) for item in value]
    return value
