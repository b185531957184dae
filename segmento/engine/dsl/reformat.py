"""Rewrite DSL text in canonical form, keeping every comment: what ``segmento fmt`` does to a file."""

from __future__ import annotations

from segmento.engine.dsl.comments import find_comments, loose_comment_texts
from segmento.engine.dsl.formatter import format_segments
from segmento.engine.dsl.parser import dsl_parser, parse_segments


def reformat(text: str, source: str | None = None) -> str:
    """Return the canonical form of the DSL file ``text``, comments included. Raises ``RuleSyntaxError``.

    A text without segments comes back as its comments alone. The formatter cannot
    print those, because they belong to no node. ``source`` names the file in errors.
    """
    segments = parse_segments(text, source)
    if segments:
        return format_segments(segments)
    text = text.removeprefix("\ufeff")
    # The comments are in the line-break tokens.
    line_breaks = [token for token in dsl_parser().lex(text) if token.type == "_NL"]
    comments = find_comments(line_breaks, text.split("\n"))
    texts = loose_comment_texts(comments, text.split("\n"))
    return "\n".join(texts) + "\n" if texts else ""
