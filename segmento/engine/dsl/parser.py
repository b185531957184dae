"""Parse rule DSL text (``.seg`` files) into rule nodes.

The grammar is ``segmento_v1.lark``; the Lark parser is built once per process. Every
node carries the line and column where it starts and the ``#`` comments written beside
it (see ``comments.py`` for where each comment goes). Every syntax problem raises
``RuleSyntaxError`` with a ``code``, the line and column, and the source line.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput
from lark.exceptions import VisitError
from lark.lark import PostLex

from segmento.engine.ast import Condition, Segment
from segmento.engine.dsl.comments import attach_to_condition, attach_to_segments, find_comments
from segmento.engine.dsl.diagnostics import explain
from segmento.engine.dsl.failures import ParseFailure, syntax_error
from segmento.engine.dsl.lexicon import GRAMMAR_FILE
from segmento.engine.dsl.transformer import RuleBuilder
from segmento.engine.errors import RuleError
from segmento.engine.registry import Registry

logger = logging.getLogger(__name__)

GRAMMAR_PATH = Path(__file__).with_name(GRAMMAR_FILE)

# The line-break tokens, which contain the comments, of the parse running in this thread or
# task. The Lark parser is shared, so its lexer callback finds the current parse's list here.
_LINE_BREAKS: ContextVar[list[Token] | None] = ContextVar("segmento_dsl_line_breaks", default=None)


def _record_line_break(token: Token) -> Token:
    recorded = _LINE_BREAKS.get()
    if recorded is not None:
        recorded.append(token)
    return token


class _BracketLineBreaks(PostLex):
    """Drop line breaks inside ``[ ]`` and ``( )``, so that a long list may span lines.

    Line breaks elsewhere separate conditions, so they reach the parser.
    """

    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            if token.type in ("LSQB", "LPAR"):
                depth += 1
            elif token.type in ("RSQB", "RPAR"):
                depth = max(depth - 1, 0)
            elif token.type == "_NL" and depth:
                continue
            yield token


@functools.cache
def dsl_parser() -> Lark:
    """Return the Lark LALR parser of the DSL, built on first use."""
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",
        start=["start", "condition_only"],
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_BracketLineBreaks(),
        lexer_callbacks={"_NL": _record_line_break},
    )


def parse_segments(text: str, source: str | None = None, *, registry: Registry | None = None) -> list[Segment]:
    """Parse a DSL file that contains any number of segments, in file order.

    ``source`` names the file in error locations. ``registry`` (default: the installed
    plugins) gives the condition kinds that ``use <kind> {...}`` may name. Raises
    ``RuleSyntaxError``, or ``RuleSchemaError`` for the value of a ``use`` condition.

    NOTE: a text without any segment has no node for its comments, so they are
    dropped. ``reformat`` keeps them.
    """
    segments: list[Segment] = _parse(text, "start", source, registry)
    logger.debug("parsed %d segments from %s", len(segments), source or "text")
    return segments


def parse_segment(text: str, source: str | None = None, *, registry: Registry | None = None) -> Segment:
    """Parse DSL text that contains exactly one segment. Raises ``RuleSyntaxError``."""
    segments = parse_segments(text, source, registry=registry)
    if len(segments) == 1:
        return segments[0]
    if not segments:
        raise syntax_error(
            text,
            1,
            1,
            "no segment found",
            code="segment_count",
            source=source,
            hint='Write one segment, starting with a line such as: segment vip "Khách VIP"',
            params={"count": 0},
        )
    second = segments[1].loc
    raise syntax_error(
        text,
        second.line or 1,
        second.column or 1,
        f"expected one segment, found {len(segments)}",
        code="segment_count",
        source=source,
        hint="Put each segment in its own file, or read the file with parse_segments",
        params={"count": len(segments)},
    )


def parse_condition(text: str, source: str | None = None, *, registry: Registry | None = None) -> Condition:
    """Parse one condition, such as ``city = "Hà Nội"`` or a whole group. Raises ``RuleSyntaxError``.

    Comments after a group's ``}`` move before it. Comments after a single leaf are dropped.
    """
    condition: Condition = _parse(text, "condition_only", source, registry)
    return condition


def parse_segments_or_problems(
    text: str, source: str | None, registry: Registry | None = None
) -> tuple[list[Segment], list[RuleError]]:
    """Parse ``text`` as ``parse_segments`` does, returning its segments or every problem found.

    A token the parser cannot take stops the parse, so it gives one problem. Values that
    cannot be read (an impossible date, a bad escape) are all found. When there is a
    problem, no segment is returned.
    """
    problems: list[RuleError] = []
    try:
        segments: list[Segment] = _parse(text, "start", source, registry, problems)
    except RuleError as error:
        return [], [error]
    if problems:
        return [], problems
    return segments, []


def _parse(
    text: str, start: str, source: str | None, registry: Registry | None = None, problems: list[RuleError] | None = None
) -> Any:
    """Parse and build nodes. With ``problems``, errors in values are added there instead of raised.

    The result is then of no use when ``problems`` is not empty.
    """
    text = text.removeprefix("\ufeff")
    parser = dsl_parser()
    line_breaks: list[Token] = []
    recording = _LINE_BREAKS.set(line_breaks)
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as error:
        raise explain(ParseFailure(error, text, source, _lex_all(parser, text))) from None
    finally:
        _LINE_BREAKS.reset(recording)
    builder = RuleBuilder(text, source, registry, problems)
    try:
        parsed = builder.transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, RuleError):
            raise error.orig_exc from None
        raise
    if problems:
        return parsed
    lines = text.split("\n")
    comments = find_comments(line_breaks, lines)
    if isinstance(parsed, list):
        return attach_to_segments(parsed, comments, builder.ends, lines)
    return attach_to_condition(parsed, comments, builder.ends, lines)


def _lex_all(parser: Lark, text: str) -> list[Token]:
    """Return the tokens of ``text``, up to the first character that does not lex."""
    tokens: list[Token] = []
    try:
        for token in parser.lex(text):
            tokens.append(token)
    except UnexpectedCharacters:
        pass
    return tokens
