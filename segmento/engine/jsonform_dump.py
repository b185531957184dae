"""Canonical JSON form of rules: AST in, plain dicts and JSON text out.

The canonical form leaves out keys that carry a default (no ``"not": false``, no empty
description). It writes the item type of lists instead of ``"list"``, durations as
``{"amount", "unit"}`` and numbers as exact ``Decimal``. ``encode_json`` writes
``Decimal`` as a JSON number, never through ``float``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from segmento.engine.ast import Comparison, Condition, EventCondition, Group, SegmentRef, Segment
from segmento.engine.condition_kinds import kind_of
from segmento.engine.errors import UNKNOWN_LOCATION, RuleSemanticError
from segmento.engine.values import CalendarPeriod, Duration

_INLINE_WIDTH: Final = 72


def dump_segment(segment: Segment) -> dict[str, Any]:
    """Return the canonical JSON form of ``segment`` as a dict (numbers stay ``Decimal``)."""
    document: dict[str, Any] = {"id": segment.id, "name": segment.name}
    if segment.description:
        document["description"] = segment.description
    document["condition"] = dump_condition(segment.condition)
    return document


def dump_segments(segments: Iterable[Segment]) -> list[dict[str, Any]]:
    """Return the canonical JSON form of several segments, in order."""
    return [dump_segment(segment) for segment in segments]


def dump_condition(condition: Condition) -> dict[str, Any]:
    """Return the canonical JSON form of one condition."""
    if isinstance(condition, Group):
        group: dict[str, Any] = {condition.kind: [dump_condition(child) for child in condition.conditions]}
        if condition.negated:
            group["not"] = True
        return group
    if isinstance(condition, Comparison):
        return _dump_comparison(condition)
    if isinstance(condition, EventCondition):
        return _dump_event(condition)
    if isinstance(condition, SegmentRef):
        reference: dict[str, Any] = {"segment": condition.segment}
        if condition.negated:
            reference["not"] = True
        return reference
    kind = kind_of(condition)
    if kind is not None:
        return {kind.key: kind.to_json(condition)}
    raise TypeError(f"cannot write {type(condition).__name__} in the JSON form")


def _dump_comparison(leaf: Comparison) -> dict[str, Any]:
    document: dict[str, Any] = {"field": leaf.field}
    if leaf.include is not None:
        document["include"] = list(leaf.include)
    document["operator"] = leaf.operator
    if leaf.value is not None:
        document["type"] = value_type_name(leaf.value, leaf)
        document["value"] = _dump_value(leaf.value)
    if leaf.options.ignore_case:
        document["ignore_case"] = True
    if leaf.options.ignore_accents:
        document["ignore_accents"] = True
    return document


def _dump_event(leaf: EventCondition) -> dict[str, Any]:
    document: dict[str, Any] = {"event": leaf.event, "aggregate": leaf.aggregate}
    if leaf.measure is not None:
        document["measure"] = leaf.measure
    document["operator"] = leaf.operator
    document["type"] = value_type_name(leaf.value, leaf)
    document["value"] = _dump_value(leaf.value)
    include: dict[str, list[str]] = {}
    if leaf.products is not None:
        include["products"] = list(leaf.products)
    if leaf.categories is not None:
        include["categories"] = list(leaf.categories)
    if include:
        document["include"] = include
    if isinstance(leaf.window, Duration):
        document["in_last"] = _dump_value(leaf.window)
    elif isinstance(leaf.window, CalendarPeriod):
        document["in_period"] = leaf.window.name
    return document


# Checked in order: bool before int and datetime before date, because each is a subclass of the next.
_SCALAR_TYPE_ORDER: Final[tuple[tuple[type, str], ...]] = (
    (bool, "boolean"),
    (int, "integer"),
    (Decimal, "number"),
    (str, "string"),
    (datetime, "datetime"),
    (date, "date"),
    (Duration, "duration"),
    (CalendarPeriod, "period"),
)


def value_type_name(value: Any, node: Comparison | EventCondition | None = None) -> str:
    """Return the JSON form's ``type`` for a rule value, or for the items of a list value.

    A list of integers and decimals is written as ``number``; an empty list as ``list``.
    Raises ``RuleSemanticError`` for a list that mixes other kinds, which no type can name.
    """
    if isinstance(value, (tuple, list)):
        names = {value_type_name(item, node) for item in value}
        if not names:
            return "list"
        if names == {"integer", "number"}:
            return "number"
        if len(names) == 1:
            return names.pop()
        raise RuleSemanticError(
            "a list value mixes items of different types: " + ", ".join(sorted(names)),
            location=node.loc if node is not None else UNKNOWN_LOCATION,
            value=value,
            hint="Make every item of the list the same type",
            code="mixed_list",
            params={"types": sorted(names)},
        )
    for kind, name in _SCALAR_TYPE_ORDER:
        if isinstance(value, kind):
            return name
    raise TypeError(f"cannot write a value of type {type(value).__name__} in the JSON form")


def _dump_value(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_dump_value(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Duration):
        return {"amount": value.amount, "unit": value.unit}
    if isinstance(value, CalendarPeriod):
        return value.name
    return value


def encode_json(document: Any, *, indent: int | None = 2) -> str:
    """Return ``document`` as JSON text, with ``Decimal`` written as an exact JSON number.

    With ``indent``, a list or object of scalars stays on one line when it fits in 72
    characters. ``indent=None`` writes everything on one line. Text keeps its
    characters instead of ``\\u`` escapes. A date or another value that JSON has no
    form for is written as its text.
    """
    return _encode(document, indent, 0)


def _encode(value: Any, indent: int | None, level: int) -> str:
    if isinstance(value, Mapping):
        items = [f"{_encode_scalar(str(key))}: {_encode(item, indent, level + 1)}" for key, item in value.items()]
        return _join(items, "{", "}", indent, level, _is_flat(value.values()))
    if isinstance(value, (list, tuple)):
        items = [_encode(item, indent, level + 1) for item in value]
        return _join(items, "[", "]", indent, level, _is_flat(value))
    return _encode_scalar(value)


def _encode_scalar(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal) and value.is_finite():
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, (datetime, date)):
        return json.dumps(value.isoformat())
    return json.dumps(str(value), ensure_ascii=False)


def _is_flat(values: Iterable[Any]) -> bool:
    return not any(isinstance(item, (Mapping, list, tuple)) for item in values)


def _join(items: list[str], opening: str, closing: str, indent: int | None, level: int, flat: bool) -> str:
    if not items:
        return opening + closing
    inline = opening + ", ".join(items) + closing
    if indent is None or (flat and len(inline) + indent * level <= _INLINE_WIDTH):
        return inline
    inner = " " * (indent * (level + 1))
    outer = " " * (indent * level)
    return opening + "\n" + ",\n".join(inner + item for item in items) + "\n" + outer + closing
