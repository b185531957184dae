"""Behavioural conditions: a count or sum of a profile's events.

``count(...) >= 1`` is a plain semijoin on the events, and any other comparison false
at 0 a semijoin on the events grouped by profile. A comparison
true at 0 stays a correlated scalar subquery, because profiles without events pass it.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.ast import EventCondition
from segmento.engine.temporal import Clock
from segmento.engine.values import CalendarPeriod, Duration
from segmento.plugins.sql.bounds import NumberKind, compare_number, false_at_zero, in_grouped, means_at_least_one
from segmento.plugins.sql.dialects import position
from segmento.plugins.sql.model import ProfileModel

MEASURE_KINDS: Final[dict[str, NumberKind]] = {"value": "decimal", "price": "decimal", "quantity": "decimal"}
"""Event measures that ``sum`` adds up, with the kind of their column."""


def event_filters(node: EventCondition, model: ProfileModel, clock: Clock) -> list[ColumnElement[bool]]:
    """Return the conditions that select the events ``node`` counts, of every profile."""
    events = model.events
    filters: list[ColumnElement[bool]] = [
        events.c.kind == node.event,
        # Events after as_of have not happened yet for this evaluation.
        events.c.time <= clock.as_of,
    ]
    if node.products is not None:
        filters.append(events.c.product_id.in_(list(node.products)))
    if node.categories is not None:
        filters.append(sa.or_(sa.false(), *(_in_category(events.c.category, name) for name in node.categories)))
    if isinstance(node.window, Duration):
        start, end = clock.last(node.window)
        filters.extend((events.c.time > start, events.c.time <= end))
    elif isinstance(node.window, CalendarPeriod):
        start, end = clock.period(node.window)
        filters.extend((events.c.time >= start, events.c.time < end))
    return filters


def _in_category(category: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    # A category matches itself and its subcategories: "shoes" matches "shoes.running".
    return sa.or_(category == name, position(category, name + ".") == sa.literal_column("1", sa.Integer()))


def event_condition(node: EventCondition, operator: str, model: ProfileModel, clock: Clock) -> ColumnElement[bool]:
    """Return ``count(...)`` or ``sum(...)`` of ``node`` compared with its value by ``operator``.

    No matching event counts and sums 0; a missing measure adds 0.
    """
    events = model.events
    filters = event_filters(node, model, clock)
    if node.aggregate == "count":
        kind: NumberKind = "integer"
        aggregate: ColumnElement[Any] = sa.func.count()
    else:
        measure = node.measure or "value"
        kind = MEASURE_KINDS[measure]
        aggregate = sa.func.coalesce(sa.func.sum(events.c[measure]), 0)
    if node.aggregate == "count" and means_at_least_one(operator, node.value):
        # An existence test: the database may run it as a semijoin on the events index.
        return in_grouped(model.profiles.c.id, events.c.profile_id, filters)
    if false_at_zero(operator, node.value, kind):
        having = compare_number(aggregate, operator, node.value, kind)
        return in_grouped(model.profiles.c.id, events.c.profile_id, filters, having)
    of_profile = events.c.profile_id == model.profiles.c.id
    total = sa.select(aggregate).select_from(events).where(of_profile, *filters).scalar_subquery()
    return compare_number(total, operator, node.value, kind)
