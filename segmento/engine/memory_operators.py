"""Operator implementations of the in-memory target, registered under ``memory``.

Every implementation is ``(value, rule_value, options) -> bool`` and is called only
with a present value, because the evaluator decides a missing value itself. The evaluator
prepares ``rule_value`` once per rule, so nothing here parses, looks up or folds a
constant per profile:

- strings are NFC, and already folded by ``text.fold_for`` when ``options`` ask for it.
  ``options`` is ``EXACT`` for anything but strings, so numbers are never folded;
- ``in`` and the list operators get a ``frozenset``;
- datetime literals are aware UTC instants (a literal without offset was local time);
- time operators (``before``, ``after``, ``on``, ``in_last``, ``in_next``,
  ``in_period``) get a ``Window`` of constants for the rule's clock, and
  ``birthday_in_next`` / ``birthday_today`` the set of ``(month, day)`` pairs to match.

Operators a plugin adds get the rule's value exactly as the rule node holds it.

The readers at the end take from a profile the value that a leaf tests: a field, the
sum or best rank of a keyed test, or the count or sum of matching events.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from typing import Any, Final

from segmento.engine.ast import EventCondition, TextOptions
from segmento.engine.temporal import Window
from segmento.engine.text import fold_for
from segmento.engine.values import Duration

Profile = Mapping[str, Any]
Reader = Callable[[Profile], Any]
MemoryImplementation = Callable[[Any, Any, TextOptions], bool]
Check = Callable[[Any], bool]


def folded(value: str, options: TextOptions) -> str:
    """Return ``value`` in the form the text options compare (unchanged when exact)."""
    if options.exact:
        return value
    return fold_for(value, options.ignore_case, options.ignore_accents)


# --- scalars ------------------------------------------------------------------------


def equals(value: Any, rule_value: Any, options: TextOptions) -> bool:
    if options.exact:
        return value == rule_value  # type: ignore[no-any-return]
    return folded(value, options) == rule_value


def greater(value: Any, rule_value: Any, options: TextOptions) -> bool:
    return value > rule_value


def greater_or_equal(value: Any, rule_value: Any, options: TextOptions) -> bool:
    return value >= rule_value


def less(value: Any, rule_value: Any, options: TextOptions) -> bool:
    return value < rule_value


def less_or_equal(value: Any, rule_value: Any, options: TextOptions) -> bool:
    return value <= rule_value


def between(value: Any, rule_value: tuple[Any, Any], options: TextOptions) -> bool:
    low, high = rule_value
    return low <= value <= high


def one_of(value: Any, rule_value: Collection[Any], options: TextOptions) -> bool:
    if options.exact:
        return value in rule_value
    return folded(value, options) in rule_value


def is_set(value: Any, rule_value: None, options: TextOptions) -> bool:
    return True


# --- strings ------------------------------------------------------------------------


def contains(value: str, rule_value: str, options: TextOptions) -> bool:
    return rule_value in folded(value, options)


def starts_with(value: str, rule_value: str, options: TextOptions) -> bool:
    return folded(value, options).startswith(rule_value)


def ends_with(value: str, rule_value: str, options: TextOptions) -> bool:
    return folded(value, options).endswith(rule_value)


# --- lists and maps (a map's members are its keys) ------------------------------------


def contains_any(value: Collection[Any], rule_value: frozenset[Any], options: TextOptions) -> bool:
    if options.exact:
        return not rule_value.isdisjoint(value)
    return any(folded(member, options) in rule_value for member in value)


def contains_all(value: Collection[Any], rule_value: frozenset[Any], options: TextOptions) -> bool:
    if options.exact:
        return rule_value.issubset(value)
    return rule_value.issubset({folded(member, options) for member in value})


def is_empty(value: Collection[Any], rule_value: None, options: TextOptions) -> bool:
    return len(value) == 0


# --- time ---------------------------------------------------------------------------


def within(value: Any, rule_value: Window, options: TextOptions) -> bool:
    return rule_value.contains(value)


def birthday_in(value: Any, rule_value: frozenset[tuple[int, int]], options: TextOptions) -> bool:
    return (value.month, value.day) in rule_value


def birthday_in_month(value: Any, rule_value: int, options: TextOptions) -> bool:
    return value.month == rule_value


MEMORY_OPERATORS: Final[Mapping[str, MemoryImplementation]] = {
    "eq": equals,
    "gt": greater,
    "gte": greater_or_equal,
    "lt": less,
    "lte": less_or_equal,
    "between": between,
    "in": one_of,
    "is_set": is_set,
    "contains": contains,
    "starts_with": starts_with,
    "ends_with": ends_with,
    "contains_any": contains_any,
    "contains_all": contains_all,
    "is_empty": is_empty,
    "before": within,
    "after": within,
    "on": within,
    "in_last": within,
    "in_next": within,
    "in_period": within,
    "birthday_in_next": birthday_in,
    "birthday_today": birthday_in,
    "birthday_in_month": birthday_in_month,
}
"""Implementations of the built-in positive operators, by operator name."""

_REVERSED_COMPARISONS: Final[Mapping[MemoryImplementation, Callable[[Any, Any], Any]]] = {
    equals: operator.eq,
    greater: operator.lt,
    greater_or_equal: operator.le,
    less: operator.gt,
    less_or_equal: operator.ge,
}
"""``value op x`` written as ``x op' value``, so the rule value can be bound first."""


def bind_check(function: MemoryImplementation, rule_value: Any, options: TextOptions) -> Check | None:
    """Return ``function`` with ``rule_value`` and ``options`` bound, when a built-in C callable does it.

    The result is a one-argument check equal to ``function(value, rule_value, options)``
    without a Python frame per call. ``None`` means the caller calls ``function`` itself.
    """
    if not options.exact:
        return None
    reversed_comparison = _REVERSED_COMPARISONS.get(function)
    if reversed_comparison is not None:
        return partial(reversed_comparison, rule_value)
    if function is one_of and isinstance(rule_value, frozenset):
        return rule_value.__contains__
    return None


# --- readers: the value a leaf tests; ``None`` means the profile has no value ------------


def field_reader(name: str) -> Reader:
    return lambda profile: profile.get(name)


def collection_reader(name: str) -> Reader:
    """Read a list or map field; an empty one is missing, like ``null``."""
    return lambda profile: profile.get(name) or None


def sum_reader(name: str, keys: tuple[str, ...]) -> Reader:
    """Read the sum of the values of ``keys`` in a count or score map; a missing key is 0."""
    if len(keys) == 1:
        (key,) = keys
        return lambda profile: (profile.get(name) or {}).get(key, 0)

    def total(profile: Profile) -> Any:
        mapping = profile.get(name) or {}
        return sum(mapping.get(key, 0) for key in keys)

    return total


def best_rank_reader(name: str, keys: frozenset[str]) -> Reader:
    """Read the best (smallest) rank of ``keys`` in a ranked list, or ``None`` when none is ranked.

    Ranks count from 1 in list order, so the first listed key found is the best.
    """

    def best_rank(profile: Profile) -> int | None:
        for rank, member in enumerate(profile.get(name) or (), start=1):
            if member in keys:
                return rank
        return None

    return best_rank


def event_reader(node: EventCondition, window: Window, events_key: str = "events") -> Reader:
    """Read the count, or the sum of the measure, of the events that ``node`` selects.

    ``window`` bounds the event times and must already exclude events after ``as_of``.
    The result is 0 when no event matches, so it is never missing.
    """
    matches = _event_filter(node, window)
    if node.aggregate == "count":

        def count(profile: Profile) -> int:
            result = 0
            for event in profile.get(events_key) or ():
                if matches(event):
                    result += 1
            return result

        return count
    measure = _measure_reader(node.measure or "value")

    def total(profile: Profile) -> Any:
        result: Any = 0
        for event in profile.get(events_key) or ():
            if matches(event):
                amount = measure(event)
                if amount is not None:
                    result += amount
        return result

    return total


def _event_filter(node: EventCondition, window: Window) -> Callable[[Mapping[str, Any]], bool]:
    kind = node.event
    products = frozenset(node.products) if node.products is not None else None
    categories = frozenset(node.categories) if node.categories is not None else None
    prefixes = tuple(f"{name}." for name in node.categories or ())
    low, high, low_closed, high_closed = window.low, window.high, window.low_closed, window.high_closed

    def matches(event: Mapping[str, Any]) -> bool:
        if event.get("kind") != kind:
            return False
        time = event.get("time")
        if time is None:
            return False
        # The window's bounds are read from locals: this runs once per event of every profile.
        if low is not None and (time < low if low_closed else time <= low):
            return False
        if high is not None and (time > high if high_closed else time >= high):
            return False
        if products is not None and event.get("product_id") not in products:
            return False
        if categories is not None:
            category = event.get("category")
            if category is None or not (category in categories or category.startswith(prefixes)):
                return False
        return True

    return matches


def _measure_reader(measure: str) -> Callable[[Mapping[str, Any]], Any]:
    if measure != "value":
        return lambda event: event.get(measure)

    def value(event: Mapping[str, Any]) -> Any:
        amount = event.get("value")
        if amount is None:
            price, quantity = event.get("price"), event.get("quantity")
            if price is not None and quantity is not None:
                return price * quantity
        return amount

    return value


def event_subject(node: EventCondition) -> str:
    """Return what an event leaf measures, as people read it: ``count(add_to_cart) in last 7 days``."""
    if node.aggregate == "count":
        text = f"count({node.event})"
    else:
        text = f"sum({node.event}.{node.measure or 'value'})"
    if node.products is not None:
        text += f" of products {_listing(node.products)}"
    if node.categories is not None:
        text += f" in categories {_listing(node.categories)}"
    if isinstance(node.window, Duration):
        text += f" in last {node.window}"
    elif node.window is not None:
        text += f" {node.window}"
    return text


def _listing(items: Iterable[str]) -> str:
    return ", ".join(items)
