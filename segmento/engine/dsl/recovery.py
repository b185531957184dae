"""Parse a DSL file that has syntax errors, to report a problem in each of its segments.

The LALR parser stops at the first token it cannot take, and ``parse_segments`` raises
the first problem. To find more, the file is split into blocks, each starting at a
segment header line, and each block is parsed alone. A segment header line starts,
after optional blanks, with ``segment``, a name and the opening ``"`` of the segment's
title. Each block is parsed with the lines of the other blocks left blank, so lines and
columns are those of the whole file.

Within one block, parsing still stops at the first token the parser cannot take, so a
block gives at most one such problem. Values that lex but cannot be read (an impossible
date, a bad escape, a number with a leading zero) are all reported.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Final

from segmento.engine.ast import Segment
from segmento.engine.dsl.parser import parse_segments, parse_segments_or_problems
from segmento.engine.errors import RuleError
from segmento.engine.registry import Registry

logger = logging.getLogger(__name__)

# The same name patterns as the grammar's NAME and QUOTED_NAME terminals.
SEGMENT_HEADER: Final = re.compile(r'[\t \f]*segment[\t \f]+([^\W\d][\w\u0300-\u036f]*|`(?:[^`\\\n]|\\.)*`)[\t \f]+"')


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The readable part of a DSL file: the segments of the blocks that parse, and every problem found."""

    segments: list[Segment]
    problems: list[RuleError] = field(default_factory=list)


def parse_segments_recovering(text: str, source: str | None = None, *, registry: Registry | None = None) -> ParsedFile:
    """Parse a DSL file as ``parse_segments`` does, but report a problem in each segment that has one.

    Without problems, ``segments`` are those of ``parse_segments``. With problems, they
    are the segments of the blocks that parse, and ``problems`` are in file order.
    """
    try:
        return ParsedFile(parse_segments(text, source, registry=registry))
    except RuleError as error:
        first = error
    if first.location.line is None:
        return ParsedFile([], [first])
    lines = text.split("\n")
    segments: list[Segment] = []
    problems: list[RuleError] = []
    for start, end in segment_blocks(lines):
        block = "\n" * start + "\n".join(lines[start:end])
        found, block_problems = parse_segments_or_problems(block, source, registry)
        if start < first.location.line <= end and not block_problems:
            # Parsed alone, the block that the first problem is in should fail too; keep that problem if it does not.
            block_problems = [first]
        segments.extend(found)
        problems.extend(block_problems)
    problems.sort(key=lambda problem: (problem.location.line or 0, problem.location.column or 0))
    logger.debug("recovered %d segments and %d problems from %s", len(segments), len(problems), source or "text")
    return ParsedFile(segments, problems)


def segment_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Return the line ranges ``[start, end)`` of the blocks of a file, each from a segment header to the next.

    A block starts at the comment lines right above its header, if any, as the parser
    attaches them to that segment. The first block holds the lines before the first
    header, when there are any.
    """
    starts = []
    for index, line in enumerate(lines):
        if SEGMENT_HEADER.match(line):
            while index > 0 and lines[index - 1].lstrip().startswith("#"):
                index -= 1
            starts.append(index)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    ends = [*starts[1:], len(lines)]
    return list(zip(starts, ends))
