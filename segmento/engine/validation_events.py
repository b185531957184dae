"""Checks of event tests: the event kind, count or sum, measure, compared value and window."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

from segmento.engine.ast import AGGREGATES, EventCondition
from segmento.engine.catalog import EVENT_MEASURES, closest
from segmento.engine.errors import RuleSemanticError
from segmento.engine.jsonform_messages import show
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Registry
from segmento.engine.validation_values import (
    at,
    bounds_order_problems,
    duration_problems,
    name_list,
    period_problems,
    problem,
    repeated_key_problems,
    shape_problem,
    unknown_operator_problem,
    value_location,
)
from segmento.engine.validation_wording import operator_label, operator_labels, period_example
from segmento.engine.values import CalendarPeriod, Duration

EVENT_OPERATORS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between"})
"""Operators that compare an event count or sum with a number."""


def event_problems(leaf: EventCondition, registry: Registry) -> Iterator[RuleSemanticError]:
    """Yield every problem of an event test: its kind, aggregate and measure, operator, value and window."""
    catalog = registry.catalog
    if leaf.event not in catalog.events:
        suggestion = catalog.suggest_event(leaf.event)
        if suggestion:
            hint = f'Did you mean "{suggestion}"?'
        else:
            hint = "Use an event kind of the catalog: " + name_list(catalog.events)
        yield problem(
            f'unknown event kind "{leaf.event}"',
            at(leaf.loc, "event"),
            "unknown_event",
            value=leaf.event,
            hint=hint,
            event=leaf.event,
            suggestion=suggestion,
        )
    yield from _aggregate_problems(leaf)
    operator = registry.operators.get(leaf.operator)
    if operator is None:
        yield unknown_operator_problem(leaf.operator, EVENT_OPERATORS, registry.operators, leaf.loc)
    elif leaf.operator not in EVENT_OPERATORS:
        yield problem(
            f'operator "{operator_label(leaf.operator, leaf.loc)}" does not compare an event {leaf.aggregate}',
            at(leaf.loc, "operator"),
            "operator_not_allowed",
            value=leaf.operator,
            hint=f"Operators allowed here: {operator_labels(EVENT_OPERATORS, leaf.loc)}",
            operator=leaf.operator,
            allowed=sorted(EVENT_OPERATORS),
        )
    else:
        yield from _event_value_problems(leaf, operator)
    for key, item, names in (("products", "product", leaf.products), ("categories", "category", leaf.categories)):
        if names is not None and not names:
            yield problem(
                f"the {key} list is empty",
                at(leaf.loc, "include", key),
                "empty_include",
                hint=f"List the {key} to count, or remove the list",
            )
        elif names is not None:
            yield from repeated_key_problems(names, at(leaf.loc, "include", key), f"the {key} list", item, list=key)
    if isinstance(leaf.window, Duration):
        yield from duration_problems(leaf.window, at(leaf.loc, "in_last"))
    elif isinstance(leaf.window, CalendarPeriod):
        yield from period_problems(leaf.window, at(leaf.loc, "in_period"))
    elif leaf.window is not None:
        yield problem(
            f"invalid event window {show(leaf.window)}",
            leaf.loc,
            "invalid_window",
            hint=f"Use a duration such as 7 days, a calendar period such as {period_example(leaf.loc)}, or no window",
        )


def _aggregate_problems(leaf: EventCondition) -> Iterator[RuleSemanticError]:
    if leaf.aggregate not in AGGREGATES:
        yield problem(
            f'unknown aggregate "{leaf.aggregate}"',
            at(leaf.loc, "aggregate"),
            "unknown_aggregate",
            value=leaf.aggregate,
            hint="Use count or sum",
        )
    elif leaf.aggregate == "sum" and leaf.measure is None:
        yield problem(
            "sum needs a measure to add up",
            leaf.loc,
            "measure_required",
            hint="Name the measure: " + ", ".join(EVENT_MEASURES),
        )
    elif leaf.aggregate == "count" and leaf.measure is not None:
        yield problem(
            f'count takes no measure, but "{leaf.measure}" is given',
            at(leaf.loc, "measure"),
            "measure_not_allowed",
            value=leaf.measure,
            hint="Remove the measure, or use sum to add it up",
        )
    if leaf.measure is not None and leaf.measure not in EVENT_MEASURES:
        suggestion = closest(leaf.measure, EVENT_MEASURES)
        prefix = f'Did you mean "{suggestion}"? ' if suggestion else ""
        yield problem(
            f'unknown measure "{leaf.measure}"',
            at(leaf.loc, "measure"),
            "unknown_measure",
            value=leaf.measure,
            hint=f"{prefix}Measures: {', '.join(EVENT_MEASURES)}",
        )


def _event_value_problems(leaf: EventCondition, operator: OperatorSpec) -> Iterator[RuleSemanticError]:
    where = value_location(leaf)
    wrong_shape = shape_problem(operator, leaf.value, where)
    if wrong_shape is not None:
        yield wrong_shape
        return
    if isinstance(leaf.value, tuple):
        items = [(item, value_location(leaf, index)) for index, item in enumerate(leaf.value)]
    else:
        items = [(leaf.value, where)]
    whole = leaf.aggregate == "count"
    expected = "a whole number of at least 0" if whole else "a number of at least 0"
    for item, place in items:
        if not _is_event_number(item, whole):
            yield problem(
                f"an event {leaf.aggregate} is compared with {show(item)}, but needs {expected}",
                place,
                "invalid_event_value",
                value=item,
                hint=f"Compare the {leaf.aggregate} with {expected}",
                aggregate=leaf.aggregate,
            )
    if operator.shape == "pair" and len(items) == 2:
        yield from bounds_order_problems(items[0][0], items[1][0], where)


def _is_event_number(value: Any, whole: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return False
    if isinstance(value, Decimal) and not value.is_finite():
        return False
    return value >= 0 and (not whole or value == int(value))
