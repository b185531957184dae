"""Attach the ``#`` comments of DSL text to the rule nodes parsed from it.

The grammar keeps comments inside its line-break tokens. ``find_comments`` takes them
out with their positions, and the ``attach_*`` functions give each one a place:

- A comment after code on the same line belongs to the condition whose last token
  comes right before it, or to the group whose ``{`` ends the line, or to the segment
  whose header is on that line (``inline_comment``).
- A comment inside a condition that spans lines, such as a list written one member per
  line, moves above that condition (``comments``), because the formatter prints every
  condition on one line.
- Any other comment belongs to what follows it: the next condition or segment header
  (``comments``), else the ``}`` of the enclosing group (``Group.trailing_comments``),
  else the end of the file (``Segment.trailing_comments`` of the last segment). The
  comment after a group's ``}`` follows that rule too.
- Comments directly below a segment, with a blank line after them, stay with that
  segment (``Segment.trailing_comments``) instead of going to the next one.

An empty string in a comment tuple is a blank line, kept where the text has one or
more blank lines next to a comment:

- between two comments of the same place;
- between the last comment and the node below it;
- above the first comment, when that comment follows another condition of the same
  group or comes after the last segment.

Other blank lines are dropped.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from lark import Token

from segmento.engine.ast import Condition, Group, Node, Segment
from segmento.engine.dsl.lexicon import COMMENT

Position = tuple[int, int]
"""A line and a column, both counted from 1 as Lark counts them."""

_Place = Literal["above", "inside", "closing", "after"]


@dataclass(frozen=True, slots=True)
class SourceComment:
    """A comment of DSL text: where its ``#`` is, its text from ``#`` on, and whether it is alone on its line."""

    line: int
    column: int
    text: str
    own_line: bool

    @property
    def position(self) -> Position:
        return (self.line, self.column)


def find_comments(line_breaks: Iterable[Token], lines: Sequence[str]) -> list[SourceComment]:
    """Return the comments inside the grammar's line-break tokens, in text order.

    ``lines`` is the parsed text split at ``\\n``. Each text loses its trailing
    whitespace, including the ``\\r`` of a CRLF line end.
    """
    found = []
    for token in line_breaks:
        value = str(token.value)
        for match in COMMENT.finditer(value):
            offset = match.start()
            line = (token.line or 1) + value.count("\n", 0, offset)
            line_start = value.rfind("\n", 0, offset)
            column = offset - line_start if line_start >= 0 else (token.column or 1) + offset
            code_before = lines[line - 1][: column - 1].strip()
            found.append(SourceComment(line, column, match.group().rstrip(), own_line=not code_before))
    return found


def attach_to_segments(
    segments: list[Segment], comments: Sequence[SourceComment], ends: Mapping[Position, Position], lines: Sequence[str]
) -> list[Segment]:
    """Return ``segments`` with every comment attached. A text without segments keeps none.

    ``ends`` maps the start of every node to the position just after its last token.
    """
    if not comments or not segments:
        return segments
    placement = _Placement(lines, ends)
    for segment in segments:
        placement.index_segment(segment)
    placement.add_anchor(_end_of_text(lines), "after", _start(segments[-1]))
    placement.place_all(comments)
    return placement.rebuild_segments(segments)


def attach_to_condition(
    condition: Condition, comments: Sequence[SourceComment], ends: Mapping[Position, Position], lines: Sequence[str]
) -> Condition:
    """Return ``condition`` with every comment attached.

    Comments after a group's ``}`` move before it, into ``trailing_comments``.

    NOTE: comments after a condition that is a single leaf have no place in the rule
    model and are dropped.
    """
    if not comments:
        return condition
    placement = _Placement(lines, ends)
    placement.index_condition(condition)
    if isinstance(condition, Group):
        placement.add_anchor(_end_of_text(lines), "closing", _start(condition))
    placement.place_all(comments)
    return placement.rebuild_condition(condition, first=True)


def loose_comment_texts(comments: Sequence[SourceComment], lines: Sequence[str]) -> tuple[str, ...]:
    """Return the texts of comments that belong to no node, such as those of a file without segments.

    An empty string stands for the blank lines between two comments.
    """
    return _Placement(lines, {})._texts(list(comments), blank_before=False, next_line=None)


def _start(node: Node) -> Position:
    return (node.loc.line or 1, node.loc.column or 1)


def _end_of_text(lines: Sequence[str]) -> Position:
    return (len(lines) + 1, 1)


class _Placement:
    """The nodes' positions, the comments found for each place, and the rebuilt nodes."""

    def __init__(self, lines: Sequence[str], ends: Mapping[Position, Position]) -> None:
        self.lines = lines
        self.ends = ends
        # Places that own the comment lines before them, in text order: (position, place, node start).
        self.anchors: list[tuple[Position, _Place, Position]] = []
        # Conditions by the line they end on: (end column, start, whether an inline comment fits).
        self.ending_on: dict[int, list[tuple[int, Position, bool]]] = defaultdict(list)
        # Groups written on several lines, by the line of their `{`: (start column, start).
        self.opening_on: dict[int, list[tuple[int, Position]]] = defaultdict(list)
        # Leaves written on several lines, by every line they cover but the last.
        self.spanning: dict[int, list[Position]] = defaultdict(list)
        self.headers: dict[int, Position] = {}
        self.found: dict[tuple[_Place, Position], list[SourceComment]] = defaultdict(list)
        self.inline: dict[Position, str] = {}

    # --- where the nodes are ---------------------------------------------------------------

    def add_anchor(self, position: Position, place: _Place, node: Position) -> None:
        self.anchors.append((position, place, node))

    def index_segment(self, segment: Segment) -> None:
        start = _start(segment)
        self.headers[start[0]] = start
        self.add_anchor(start, "above", start)
        self.index_condition(segment.condition)

    def index_condition(self, condition: Condition) -> None:
        start = _start(condition)
        end_line, end_column = self.ends[start]
        one_line = start[0] == end_line
        self.add_anchor(start, "above", start)
        if isinstance(condition, Group):
            for child in condition.conditions:
                self.index_condition(child)
            self.add_anchor((end_line, end_column - 1), "closing", start)
            if not one_line:
                self.opening_on[start[0]].append((start[1], start))
        else:
            for line in range(start[0], end_line):
                self.spanning[line].append(start)
        inline_fits = one_line or not isinstance(condition, Group)
        self.ending_on[end_line].append((end_column, start, inline_fits))

    # --- where the comments go -------------------------------------------------------------

    def place_all(self, comments: Sequence[SourceComment]) -> None:
        self.anchors.sort()
        positions = [position for position, _, _ in self.anchors]
        for comment in comments:
            if not comment.own_line and self._place_at_line_end(comment):
                continue
            index = bisect.bisect_right(positions, comment.position)
            if index < len(self.anchors):
                _, place, node = self.anchors[index]
                self.found[(place, node)].append(comment)

    def _place_at_line_end(self, comment: SourceComment) -> bool:
        """Attach a comment that follows code on its line; return ``False`` when it belongs to what follows."""
        line, column = comment.position
        for start in self.spanning.get(line, ()):
            if start < comment.position < self.ends[start]:
                self.found[("inside", start)].append(comment)
                return True
        before = [entry for entry in self.ending_on.get(line, ()) if entry[0] <= column]
        if before:
            _, start, inline_fits = max(before)
            return inline_fits and self._set_inline(start, comment)
        openers = [entry for entry in self.opening_on.get(line, ()) if entry[0] < column]
        if openers:
            return self._set_inline(max(openers)[1], comment)
        header = self.headers.get(line)
        return header is not None and self._set_inline(header, comment)

    def _set_inline(self, start: Position, comment: SourceComment) -> bool:
        if start in self.inline:
            return False
        self.inline[start] = comment.text
        return True

    # --- the nodes with their comments -----------------------------------------------------

    def rebuild_segments(self, segments: list[Segment]) -> list[Segment]:
        above = [self.found[("above", _start(segment))] for segment in segments]
        after: list[list[SourceComment]] = [[] for _ in segments]
        for index in range(1, len(segments)):
            below_previous = self._kept_by_previous(above[index], segments[index - 1], segments[index])
            after[index - 1], above[index] = above[index][:below_previous], above[index][below_previous:]
        after[-1] = self.found[("after", _start(segments[-1]))]
        rebuilt = []
        for index, segment in enumerate(segments):
            start = _start(segment)
            last = index == len(segments) - 1
            changes: dict[str, Any] = {
                "comments": self._texts(above[index], blank_before=False, next_line=start[0]),
                "inline_comment": self.inline.get(start),
                "trailing_comments": self._texts(after[index], blank_before=last, next_line=None),
            }
            condition = self.rebuild_condition(segment.condition, first=True)
            if condition is not segment.condition:
                changes["condition"] = condition
            rebuilt.append(_with_changes(segment, changes))
        return rebuilt

    def _kept_by_previous(self, found: list[SourceComment], previous: Segment, following: Segment) -> int:
        """Return how many of the comments above ``following`` stay below ``previous`` instead.

        Those are the comments on the lines right after ``previous``, up to a blank line.
        """
        line = self.ends[_start(previous)][0]
        count = 0
        while count < len(found) and found[count].line <= line + 1:
            line = found[count].line
            count += 1
        next_line = found[count].line if count < len(found) else _start(following)[0]
        return count if count and self._blank_between(line, next_line) else 0

    def rebuild_condition(self, condition: Condition, first: bool) -> Condition:
        start = _start(condition)
        above = self._texts(self.found[("above", start)], blank_before=not first, next_line=start[0])
        inside = tuple(comment.text for comment in self.found[("inside", start)])
        changes: dict[str, Any] = {"comments": above + inside, "inline_comment": self.inline.get(start)}
        if isinstance(condition, Group):
            children = tuple(
                self.rebuild_condition(child, first=index == 0) for index, child in enumerate(condition.conditions)
            )
            if any(new is not old for new, old in zip(children, condition.conditions, strict=True)):
                changes["conditions"] = children
            closing = self.found[("closing", start)]
            changes["trailing_comments"] = self._texts(closing, blank_before=bool(children), next_line=None)
        return _with_changes(condition, changes)

    def _texts(self, found: list[SourceComment], *, blank_before: bool, next_line: int | None) -> tuple[str, ...]:
        """Return the texts of ``found`` with an empty string for each kept blank line."""
        texts: list[str] = []
        previous: int | None = None
        for comment in found:
            if previous is None:
                if blank_before and comment.own_line and self._blank_between(comment.line - 2, comment.line):
                    texts.append("")
            elif self._blank_between(previous, comment.line):
                texts.append("")
            texts.append(comment.text)
            previous = comment.line
        if previous is not None and next_line is not None and self._blank_between(previous, next_line):
            texts.append("")
        return tuple(texts)

    def _blank_between(self, first: int, last: int) -> bool:
        """Return whether a blank line lies strictly between lines ``first`` and ``last``."""
        return any(
            not self.lines[number - 1].strip() for number in range(max(first + 1, 1), min(last, len(self.lines) + 1))
        )


def _with_changes(node: Any, changes: dict[str, Any]) -> Any:
    """Return ``node`` with the non-empty ``changes``, or ``node`` itself when there are none."""
    present = {name: value for name, value in changes.items() if value}
    return replace(node, **present) if present else node
