"""Segment type: behaviour (purchases combined with other events over time).

Besides the ``purchase`` event kind, this plugin adds the ``sequence`` condition
through the public hooks only: a customer has a ``first`` event (an ``add_to_cart``)
that no ``then_not`` event (a ``purchase``) followed within ``within``. The exact
semantics are in docs/semantics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from segmento.engine.ast import Node
from segmento.engine.catalog import EventSpec
from segmento.engine.condition_kinds import ConditionKind
from segmento.engine.errors import Location, RuleSemanticError
from segmento.engine.hookspecs import hookimpl
from segmento.engine.jsonform_load import read_duration
from segmento.engine.registry import Registry
from segmento.engine.text import normalize
from segmento.engine.values import CalendarPeriod, Duration

KIND: Final = "sequence"


@dataclass(frozen=True, slots=True)
class SequenceCondition(Node):
    """A ``first`` event in ``window`` that no ``then_not`` event followed within ``within``.

    ``window`` bounds the ``first`` events as for event counts (``None`` is the whole
    history). With ``same_product`` only a ``then_not`` event of the same product
    counts as a follow-up.
    """

    first: str
    then_not: str
    within: Duration
    window: Duration | CalendarPeriod | None = None
    same_product: bool = False

SCHEMA: Final[Mapping[str, Any]] = {
    "description": (
        'A first event not followed by another within a time: {"first": "add_to_cart", '
        '"then_not": "purchase", "within": "3 days"}. "in_last" or "in_period" bounds the first '
        'events; "same_product": true counts only a follow-up of the same product.'
    ),
    "type": "object",
    "required": ["first", "then_not", "within"],
    "properties": {
        "first": {"$ref": "#/$defs/name"},
        "then_not": {"$ref": "#/$defs/name"},
        "within": {"$ref": "#/$defs/duration"},
        "in_last": {"$ref": "#/$defs/duration"},
        "in_period": {"$ref": "#/$defs/period"},
        "same_product": {"type": "boolean"},
    },
    "additionalProperties": False,
    "not": {"required": ["in_last", "in_period"]},
}


def sequence_from_json(value: Mapping[str, Any], location: Location) -> Node:
    """Build the node from its JSON value.

    ``location`` is the condition's, whose ``sequence`` key contains ``value``.
    """
    window: Duration | CalendarPeriod | None = None
    if "in_last" in value:
        window = read_duration(value["in_last"], location.child(KIND, "in_last"))
    elif "in_period" in value:
        window = CalendarPeriod(value["in_period"])
    return SequenceCondition(
        first=normalize(value["first"]),
        then_not=normalize(value["then_not"]),
        within=read_duration(value["within"], location.child(KIND, "within")),
        window=window,
        same_product=bool(value.get("same_product", False)),
        loc=location,
    )


def sequence_to_json(node: Node) -> dict[str, Any]:
    """Return the canonical JSON value of a sequence node: durations as objects, defaults left out."""
    if not isinstance(node, SequenceCondition):
        raise TypeError(f"not a sequence condition: {type(node).__name__}")
    document: dict[str, Any] = {
        "first": node.first,
        "then_not": node.then_not,
        "within": {"amount": node.within.amount, "unit": node.within.unit},
    }
    if isinstance(node.window, Duration):
        document["in_last"] = {"amount": node.window.amount, "unit": node.window.unit}
    elif isinstance(node.window, CalendarPeriod):
        document["in_period"] = node.window.name
    if node.same_product:
        document["same_product"] = True
    return document


def sequence_problems(node: Node, registry: Registry) -> Sequence[RuleSemanticError]:
    """Return the problems of a sequence node: unknown event kinds, or the same kind twice."""
    if not isinstance(node, SequenceCondition):
        return ()
    problems = []
    events = registry.catalog.events
    for key, name in (("first", node.first), ("then_not", node.then_not)):
        if name not in events:
            suggestion = registry.catalog.suggest_event(name)
            hint = f'Did you mean "{suggestion}"?' if suggestion else "Use an event kind of the catalog: " + ", ".join(
                sorted(events)
            )
            problems.append(
                RuleSemanticError(
                    f'unknown event kind "{name}" in "{key}"',
                    location=node.loc,
                    value=name,
                    hint=hint,
                    code="unknown_event",
                    params={"event": name, "suggestion": suggestion},
                )
            )
    if node.first == node.then_not:
        problems.append(
            RuleSemanticError(
                f'"first" and "then_not" are both "{node.first}"',
                location=node.loc,
                value=node.first,
                hint="Name two different event kinds, such as add_to_cart and purchase",
                code="sequence_same_event",
                params={"event": node.first},
            )
        )
    return problems


SEQUENCE: Final = ConditionKind(
    name=KIND,
    key=KIND,
    node=SequenceCondition,
    from_json=sequence_from_json,
    to_json=sequence_to_json,
    schema=SCHEMA,
    validate=sequence_problems,
    description="a first event not followed by another within a time (carts abandoned, ...)",
)


@hookimpl
def segmento_events() -> Sequence[EventSpec]:
    return (EventSpec("purchase", "an order line was bought"),)


@hookimpl
def segmento_condition_kinds() -> Sequence[ConditionKind]:
    return (SEQUENCE,)


@hookimpl
def segmento_condition_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    if target == "memory":
        from segmento.plugins.sequence_memory import sequence_predicate

        return {KIND: sequence_predicate}
    if target == "sql":
        from segmento.plugins.sequence_sql import sequence_condition

        return {KIND: sequence_condition}
    return None
