"""The in-memory implementation of the ``sequence`` condition of the behaviour plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from segmento.engine.errors import UnsupportedError
from segmento.engine.evaluator import EVENTS_KEY, MemoryCompiler, Predicate
from segmento.engine.temporal import Window
from segmento.engine.values import CalendarPeriod, Duration
from segmento.plugins.behaviour import SequenceCondition


def sequence_predicate(compiler: MemoryCompiler, node: SequenceCondition) -> Predicate:
    """Return whether a profile has a ``first`` event that no ``then_not`` event followed within ``within``."""
    if not isinstance(node, SequenceCondition):
        raise UnsupportedError(
            f"the sequence implementation got a {type(node).__name__}", location=node.loc, params={"target": "memory"}
        )
    clock = compiler.clock
    within = node.within.to_timedelta()
    # A cart counts only when its whole follow-up time has passed by as_of.
    latest = clock.as_of - within
    window = _first_window(node, clock.as_of, clock.last, clock.period)
    first, then_not, same_product = node.first, node.then_not, node.same_product

    def has_unfollowed(profile: Mapping[str, Any]) -> bool:
        events = profile.get(EVENTS_KEY) or ()
        follow_ups = [event for event in events if event.get("kind") == then_not]
        for event in events:
            if event.get("kind") != first:
                continue
            time: datetime = event["time"]
            if time > latest or not window.contains(time):
                continue
            if not any(_follows(event, other, within, same_product) for other in follow_ups):
                return True
        return False

    return has_unfollowed


def _follows(first: Mapping[str, Any], other: Mapping[str, Any], within: timedelta, same_product: bool) -> bool:
    """Tell whether ``other`` falls in ``(first, first + within]`` and, if asked, is of the same product."""
    if not first["time"] < other["time"] <= first["time"] + within:
        return False
    if not same_product:
        return True
    product = first.get("product_id")
    return product is not None and other.get("product_id") == product


def _first_window(
    node: SequenceCondition,
    as_of: datetime,
    last: Callable[[Duration], tuple[datetime, datetime]],
    period: Callable[[CalendarPeriod], tuple[datetime, datetime]],
) -> Window:
    """Return the times of ``first`` events that count, as for event counts: never after ``as_of``."""
    if isinstance(node.window, Duration):
        start, end = last(node.window)
        return Window(start, end, low_closed=False)
    if isinstance(node.window, CalendarPeriod):
        start, end = period(node.window)
        return Window(start, end, high_closed=False) if end <= as_of else Window(start, as_of)
    return Window(high=as_of)
