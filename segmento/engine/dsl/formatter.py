"""Print rule nodes as canonical DSL text.

Canonical text has one condition per line, two spaces of indentation per group level,
integers from 10_000 up with ``_`` thousands separators, strings with only the escapes
they need, and keys and list members in their original order. A group whose only
child is a leaf fits on one line: ``none { status = "lapsed" }``.

``parse(format(node)) == node`` holds for every well-formed node. An operator whose
value does not fit its usual spelling, and any operator a plugin adds, is written by
name: ``score @matches_pattern "x"``.

Comments go back where ``comments.py`` finds them:

- a node's ``comments`` on the lines above it, at its indentation;
- its ``inline_comment`` two spaces after its line, or after the ``{`` of a group
  written on several lines;
- a group's ``trailing_comments`` before its ``}``, and a segment's after its condition.

A group with a comment on its only leaf, or with trailing comments, is written on
several lines. Comment texts are written as given, without surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final, TypeGuard

from segmento.engine.ast import (
    AGGREGATES,
    Comparison,
    Condition,
    EventCondition,
    Group,
    Node,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.condition_kinds import kind_of
from segmento.engine.dsl.lexicon import BIRTHDAY_FIELD, IDENTIFIER, OPERATOR_PHRASES, format_name
from segmento.engine.dsl.literals import is_scalar, write_integer, write_scalar, write_string
from segmento.engine.jsonform_dump import encode_json
from segmento.engine.operators import BUILTIN_OPERATORS, ValueShape
from segmento.engine.values import DURATION_UNITS, PERIOD_NAMES, CalendarPeriod, Duration

INDENT: Final = "  "

# Value shapes of the built-in operators spelled after a field; the birthday tests have their own spelling.
_SHAPES: Final[dict[str, ValueShape]] = {
    spec.name: spec.shape for spec in BUILTIN_OPERATORS if not spec.name.startswith("birthday_")
}
_EVENT_OPERATORS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between", "in", "not_in"})


def format_segments(segments: Iterable[Segment]) -> str:
    """Return the text of a DSL file holding ``segments``, separated by blank lines."""
    many = list(segments)
    return "\n".join(_segment_text(segment, last=index == len(many) - 1) for index, segment in enumerate(many))


def format_segment(segment: Segment) -> str:
    """Return the canonical DSL text of one segment, ending with a line break."""
    return _segment_text(segment, last=True)


def format_condition(condition: Condition) -> str:
    """Return the canonical DSL text of one condition, without a final line break."""
    return "\n".join(_condition_lines(condition, 0, first=True))


def _segment_text(segment: Segment, last: bool) -> str:
    lines = _comment_lines(segment.comments, "", blank_before=False, blank_after=True)
    header = f"segment {format_name(segment.id)} {write_string(segment.name)}"
    lines.append(header + _inline(segment.inline_comment))
    if segment.description:
        lines.append(f"description {write_string(segment.description)}")
    lines.extend(_condition_lines(segment.condition, 0, first=True))
    trailing = segment.trailing_comments
    if not last:
        # A blank line here would hand the comments after it to the next segment.
        trailing = tuple(comment for comment in trailing if comment.strip())
    lines.extend(_comment_lines(trailing, "", blank_before=last, blank_after=False))
    return "\n".join(lines) + "\n"


def _condition_lines(condition: Condition, level: int, first: bool) -> list[str]:
    """Return the lines of ``condition`` with its comments. ``first``: no condition of its group comes before it."""
    indent = INDENT * level
    lines = _comment_lines(condition.comments, indent, blank_before=not first, blank_after=True)
    inline = _inline(condition.inline_comment)
    if not isinstance(condition, Group):
        lines.append(indent + _format_leaf(condition) + inline)
        return lines
    head = f"{'not ' if condition.negated else ''}{condition.kind} {{"
    children = condition.conditions
    closing = _comment_lines(
        condition.trailing_comments, indent + INDENT, blank_before=bool(children), blank_after=False
    )
    if not children and not closing:
        lines.append(f"{indent}{head}}}{inline}")
    elif len(children) == 1 and not isinstance(children[0], Group) and not closing and not _has_comments(children[0]):
        lines.append(f"{indent}{head} {_format_leaf(children[0])} }}{inline}")
    else:
        lines.append(indent + head + inline)
        for index, child in enumerate(children):
            lines.extend(_condition_lines(child, level + 1, first=index == 0))
        lines.extend(closing)
        lines.append(indent + "}")
    return lines


# --- comments ------------------------------------------------------------------------------


def _comment_lines(comments: Sequence[str], indent: str, *, blank_before: bool, blank_after: bool) -> list[str]:
    """Return comment lines at ``indent``, an empty string standing for a blank line.

    A blank line is kept only next to a comment: between two, and before the first or
    after the last where ``blank_before`` or ``blank_after`` allows. Blank lines in a
    row count as one.
    """
    texts = [_comment_text(comment) for comment in comments]
    lines: list[str] = []
    for index, text in enumerate(texts):
        if text:
            lines.append(indent + text)
            continue
        comment_follows = any(texts[index + 1 :])
        if lines and lines[-1] and (comment_follows or blank_after):
            lines.append("")
        elif not lines and comment_follows and blank_before:
            lines.append("")
    return lines


def _inline(comment: str | None) -> str:
    if comment is None:
        return ""
    text = _comment_text(comment)
    return f"  {text}" if text else ""


def _comment_text(comment: str) -> str:
    """Return ``comment`` without surrounding whitespace, or raise ``ValueError`` if it is not one comment line."""
    text = comment.strip()
    if text and (not text.startswith("#") or "\n" in text):
        raise ValueError(f"comment {comment!r} cannot be written in a rule: a comment is one line that starts with #")
    return text


def _has_comments(node: Node) -> bool:
    return any(comment.strip() for comment in node.comments) or bool(_inline(node.inline_comment))


def _format_leaf(condition: Condition) -> str:
    if isinstance(condition, Comparison):
        return _format_comparison(condition)
    if isinstance(condition, EventCondition):
        return _format_event(condition)
    if isinstance(condition, SegmentRef):
        return f"{'not ' if condition.negated else ''}in segment {format_name(condition.segment)}"
    kind = kind_of(condition)
    if kind is not None:
        # Plugin kinds share one form: the kind's name and its JSON value on one line.
        return f"use {format_name(kind.name)} {encode_json(kind.to_json(condition), indent=None)}"
    raise TypeError(f"cannot format {type(condition).__name__} as a leaf condition")


# --- comparisons ---------------------------------------------------------------------------


def _format_comparison(comparison: Comparison) -> str:
    birthday = _format_birthday(comparison)
    if birthday is not None:
        return birthday
    test = _spell_test(comparison.operator, comparison.value)
    if test is None:
        test = _spell_by_name(comparison.operator, comparison.value)
    # A bare `birthday in next` is the birthday test, so the field itself needs quotes there.
    if comparison.field == BIRTHDAY_FIELD and not test.startswith("in next "):
        field = BIRTHDAY_FIELD
    else:
        field = format_name(comparison.field)
    if comparison.include is not None:
        field += _format_keys(comparison.include)
    return f"{field} {test}{_format_options(comparison.options)}"


def _format_birthday(comparison: Comparison) -> str | None:
    """Return the short birthday spelling, or ``None`` when the node needs the general one."""
    if comparison.include is not None or not comparison.options.exact:
        return None
    operator, value = comparison.operator, comparison.value
    if operator == "birthday_today" and value is None:
        test = "today"
    elif operator == "birthday_in_next" and _is_integer(value):
        test = f"in next {_format_duration(Duration(value, 'days'))}"
    elif operator == "birthday_in_month" and _is_integer(value):
        test = f"in month {write_integer(value)}"
    else:
        return None
    if comparison.field == BIRTHDAY_FIELD:
        return f"birthday {test}"
    return f"birthday({format_name(comparison.field)}) {test}"


def _spell_test(operator: str, value: Any) -> str | None:
    """Return the usual spelling of a built-in operator and its value, or ``None`` if they do not fit it."""
    shape = _SHAPES.get(operator)
    if shape is None:
        return None
    phrase = OPERATOR_PHRASES[operator]
    if shape == "scalar" and _is_value(value):
        return f"{phrase} {_format_value(value)}"
    if shape == "list" and _is_list(value):
        return f"{phrase} {_format_value(value)}"
    if shape == "pair" and _is_list(value) and len(value) == 2:
        low, high = value
        return f"{phrase} {_format_value(low)} and {_format_value(high)}"
    if shape == "none" and value is None:
        return phrase
    if shape == "duration" and _is_duration(value):
        return f"{phrase} {_format_duration(value)}"
    if shape == "period" and _is_period(value):
        return f"{phrase} {_format_period(value)}"
    return None


def _spell_by_name(operator: str, value: Any) -> str:
    if IDENTIFIER.fullmatch(operator) is None:
        raise ValueError(f"operator {operator!r} cannot be written in a rule: an operator name must be an identifier")
    if value is None:
        return f"@{operator}"
    return f"@{operator} {_format_operand(value)}"


def _format_options(options: TextOptions) -> str:
    words = [word for word, on in (("case", options.ignore_case), ("accents", options.ignore_accents)) if on]
    return f" ignoring {', '.join(words)}" if words else ""


# --- events --------------------------------------------------------------------------------


def _format_event(event: EventCondition) -> str:
    if event.aggregate not in AGGREGATES:
        raise ValueError(f"aggregate {event.aggregate!r} cannot be written in a rule: use count or sum")
    inside = format_name(event.event)
    if event.measure is not None:
        inside += f".{format_name(event.measure)}"
    if event.products is not None:
        inside += f" of products {_format_keys(event.products)}"
        if event.categories is not None:
            inside += f" and categories {_format_keys(event.categories)}"
    elif event.categories is not None:
        inside += f" of categories {_format_keys(event.categories)}"
    test = None
    if event.operator in _EVENT_OPERATORS:
        test = _spell_test(event.operator, event.value)
    if test is None:
        test = _spell_by_name(event.operator, event.value)
    text = f"{event.aggregate}({inside}) {test}"
    if event.window is not None:
        text += f" in {_format_window(event.window)}"
    return text


def _format_window(window: Duration | CalendarPeriod) -> str:
    if _is_duration(window):
        return f"last {_format_duration(window)}"
    if _is_period(window):
        return _format_period(window)
    raise ValueError(f"event window {window!r} cannot be written in a rule: use a Duration or a CalendarPeriod")


# --- values --------------------------------------------------------------------------------


def _format_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    return write_scalar(value)


def _format_operand(value: Any) -> str:
    if _is_duration(value):
        return _format_duration(value)
    if _is_period(value):
        return _format_period(value)
    if _is_value(value):
        return _format_value(value)
    if isinstance(value, float):
        reason = "write fractional numbers as Decimal"
    elif isinstance(value, Decimal):
        reason = "only finite numbers can"
    else:
        reason = "values are strings, numbers, booleans, dates, datetimes, tuples, durations or calendar periods"
    raise ValueError(f"{type(value).__name__} value {value!r} cannot be written in a rule: {reason}")


def _format_keys(keys: tuple[str, ...]) -> str:
    return "[" + ", ".join(key if key.isascii() and key.isdigit() else write_string(key) for key in keys) + "]"


def _format_duration(duration: Duration) -> str:
    unit = duration.unit if duration.amount != 1 else duration.unit[:-1]
    return f"{write_integer(duration.amount)} {unit}"


def _format_period(period: CalendarPeriod) -> str:
    return period.name.replace("_", " ")


def _is_value(value: Any) -> bool:
    return is_scalar(value) or _is_list(value)


def _is_list(value: Any) -> bool:
    return isinstance(value, tuple) and all(_is_value(item) for item in value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_duration(value: Any) -> TypeGuard[Duration]:
    return isinstance(value, Duration) and _is_integer(value.amount) and value.unit in DURATION_UNITS


def _is_period(value: Any) -> TypeGuard[CalendarPeriod]:
    return isinstance(value, CalendarPeriod) and value.name in PERIOD_NAMES
