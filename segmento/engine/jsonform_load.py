"""Build rule nodes from a JSON document that has passed the rule schema.

The schema has already checked the shape. This step converts values to their Python
types: dates and datetimes parsed, strings NFC, numbers exact ``Decimal`` or ``int``.
It also collects every value that the schema cannot judge, such as 30 February.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from segmento.engine.ast import (
    GROUP_KINDS,
    Comparison,
    Condition,
    EventCondition,
    Group,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.condition_kinds import ConditionKind
from segmento.engine.errors import Location, RuleSchemaError
from segmento.engine.jsonform_messages import json_kind, show
from segmento.engine.text import normalize
from segmento.engine.types import coerce_scalar
from segmento.engine.values import CalendarPeriod, Duration

TYPE_ALIASES: Final[dict[str, str]] = {"decimal": "number"}
"""Accepted spellings of a ``type`` and the canonical name they stand for."""

_DURATION_TEXT: Final = re.compile(r"^([1-9][0-9]*) (minute|hour|day|week)s?$")


class DocumentBuilder:
    """Convert schema-valid JSON nodes into rule nodes, collecting conversion problems.

    Each ``build_*`` method returns a node even when a value failed to convert, with a
    placeholder value, so that one pass finds every problem. Callers raise ``problems``
    when it is not empty.
    """

    def __init__(self, kinds: Mapping[str, ConditionKind] | None = None) -> None:
        self.problems: list[RuleSchemaError] = []
        self.kinds: Mapping[str, ConditionKind] = kinds if kinds is not None else {}
        """Plugin condition kinds by JSON key."""

    def _plugin_condition(self, node: Mapping[str, Any], location: Location) -> Any:
        for key, kind in self.kinds.items():
            if key in node:
                try:
                    return kind.from_json(node[key], location)
                except RuleSchemaError as error:
                    self.problems.append(error)
                    return Group("all", (), loc=location)
        return None

    def build_segment(self, node: Mapping[str, Any], location: Location) -> Segment:
        return Segment(
            id=node["id"],
            name=normalize(node["name"]),
            description=normalize(node.get("description", "")),
            condition=self.build_condition(node["condition"], location.child("condition")),
            loc=location,
        )

    def build_condition(self, node: Mapping[str, Any], location: Location) -> Condition:
        for kind in GROUP_KINDS:
            if kind in node:
                children = tuple(
                    self.build_condition(child, location.child(kind, index)) for index, child in enumerate(node[kind])
                )
                return Group(kind, children, negated=bool(node.get("not", False)), loc=location)
        if "field" in node:
            return self._comparison(node, location)
        if "event" in node:
            return self._event(node, location)
        if "segment" not in node:
            plugin_node = self._plugin_condition(node, location)
            if plugin_node is not None:
                return plugin_node
        return SegmentRef(node["segment"], negated=bool(node.get("not", False)), loc=location)

    def _comparison(self, node: Mapping[str, Any], location: Location) -> Comparison:
        include = node.get("include")
        return Comparison(
            field=normalize(node["field"]),
            operator=normalize(node["operator"]),
            value=self._value(node, location),
            include=self._keys(include) if include is not None else None,
            options=TextOptions(
                ignore_case=bool(node.get("ignore_case", False)),
                ignore_accents=bool(node.get("ignore_accents", False)),
            ),
            loc=location,
        )

    def _event(self, node: Mapping[str, Any], location: Location) -> EventCondition:
        include = node.get("include", {})
        window: Duration | CalendarPeriod | None = None
        if "in_last" in node:
            window = self._duration(node["in_last"], location.child("in_last"))
        elif "in_period" in node:
            window = CalendarPeriod(node["in_period"])
        return EventCondition(
            event=normalize(node["event"]),
            aggregate=node["aggregate"],
            operator=node["operator"],
            value=self._value(node, location),
            measure=node.get("measure"),
            products=self._keys(include["products"]) if "products" in include else None,
            categories=self._keys(include["categories"]) if "categories" in include else None,
            window=window,
            loc=location,
        )

    def _value(self, node: Mapping[str, Any], location: Location) -> Any:
        raw = node.get("value")
        if raw is None:
            return None
        type_name = TYPE_ALIASES.get(node["type"], node["type"])
        where = location.child("value")
        if isinstance(raw, (list, tuple)):
            if type_name == "list":
                item_type = self._list_item_type(raw, where)
                if item_type is None:
                    return tuple(raw)
                type_name = item_type
            return tuple(self._scalar(type_name, item, where.child(index)) for index, item in enumerate(raw))
        if type_name == "duration":
            return self._duration(raw, where)
        if type_name == "period":
            return CalendarPeriod(raw)
        return self._scalar(type_name, raw, where)

    def _scalar(self, type_name: str, raw: Any, location: Location) -> Any:
        try:
            if type_name == "string":
                return coerce_scalar("string", raw)
            if type_name == "integer":
                return coerce_scalar("integer", raw)
            if type_name == "number":
                number = coerce_scalar("decimal", raw)
                return number if isinstance(number, Decimal) else Decimal(number)
            if type_name == "boolean":
                return coerce_scalar("boolean", raw)
        except TypeError as error:
            return self._problem(
                f'{show(raw)} does not fit "type": "{type_name}": {error}',
                location,
                raw,
                code="value_type_mismatch",
                hint=f'Write a value of type {type_name}, or change "type"',
            )
        if type_name == "date":
            return self._parse_time(date.fromisoformat, raw, location, "date", "YYYY-MM-DD")
        if type_name == "datetime":
            return self._parse_time(datetime.fromisoformat, raw, location, "date and time", "YYYY-MM-DDTHH:MM:SS")
        return self._problem(
            f'a list cannot hold values of "type": "{type_name}"',
            location,
            raw,
            code="value_type_mismatch",
            hint="Lists hold strings, integers, numbers, booleans, dates or datetimes",
        )

    def _parse_time(self, parse: Any, raw: str, location: Location, noun: str, form: str) -> Any:
        try:
            return parse(raw)
        except ValueError as error:
            code = "invalid_date" if noun == "date" else "invalid_datetime"
            return self._problem(
                f"{show(raw)} is not a valid {noun}: {error}",
                location,
                raw,
                code=code,
                hint=f"Write a real calendar {noun} as {form}",
            )

    def _duration(self, raw: Mapping[str, Any] | str, location: Location) -> Duration:
        try:
            return read_duration(raw, location)
        except RuleSchemaError as error:
            self.problems.append(error)
            return Duration(1, "days")

    def _list_item_type(self, items: Sequence[Any], location: Location) -> str | None:
        """Return the item type of a ``"type": "list"`` value from its JSON items, or None when they mix types."""
        kinds = {_json_item_kind(item) for item in items}
        if not kinds:
            return "string"
        if kinds <= {"integer", "number"}:
            return "number" if "number" in kinds else "integer"
        if len(kinds) == 1:
            return kinds.pop()
        # The problem points at the first item whose type differs from the first item's.
        numeric = {"integer", "number"}
        first = _json_item_kind(items[0])
        differing = next(
            index
            for index, item in enumerate(items)
            if _json_item_kind(item) != first and not {_json_item_kind(item), first} <= numeric
        )
        self._problem(
            "the list mixes " + " and ".join(sorted(f"{kind}s" for kind in kinds)),
            location.child(differing),
            list(items),
            code="mixed_list",
            hint='Make every item the same type, or give the item type in "type" ("string", "integer", ...)',
        )
        return None

    def _keys(self, keys: Sequence[str | int]) -> tuple[str, ...]:
        return tuple(normalize(key) if isinstance(key, str) else str(int(key)) for key in keys)

    def _problem(self, message: str, location: Location, value: Any, *, code: str, hint: str) -> None:
        self.problems.append(
            RuleSchemaError(message, location=location, value=value, hint=hint, code=code, params={"value": value})
        )


def _json_item_kind(item: Any) -> str:
    if isinstance(item, bool):
        return "boolean"
    if isinstance(item, int):
        return "integer"
    if isinstance(item, (float, Decimal)):
        return "number"
    if isinstance(item, str):
        return "string"
    return json_kind(item)


def read_duration(raw: Mapping[str, Any] | str, location: Location) -> Duration:
    """Return the ``Duration`` of a schema-valid JSON duration; raise ``RuleSchemaError`` for bad text."""
    if not isinstance(raw, str):
        return Duration(int(raw["amount"]), raw["unit"])
    match = _DURATION_TEXT.match(raw)
    if match is None:
        raise RuleSchemaError(
            f"{show(raw)} is not a duration",
            location=location,
            value=raw,
            hint='Write a duration as "7 days" or {"amount": 7, "unit": "days"}',
            code="invalid_format",
            params={"value": raw},
        )
    return Duration(int(match.group(1)), match.group(2) + "s")  # type: ignore[arg-type]
