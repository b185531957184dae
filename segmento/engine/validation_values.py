"""Checks of rule values that do not depend on the field: shapes, durations, periods, ranges.

Shared by the checks of field tests and event tests in ``validation_leaves``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from segmento.engine.ast import Comparison, EventCondition
from segmento.engine.catalog import closest
from segmento.engine.errors import Location, RuleSemanticError
from segmento.engine.jsonform_messages import show
from segmento.engine.operators import COMPARISON_SYMBOLS, OperatorSpec
from segmento.engine.validation_wording import from_dsl, operator_label, operator_labels, shape_words
from segmento.engine.values import DURATION_UNITS, PERIOD_NAMES, CalendarPeriod, Duration

_SYMBOL_NAMES: Final[dict[str, str]] = {symbol: name for name, symbol in COMPARISON_SYMBOLS.items()} | {
    "==": "eq",
    "<>": "ne",
}


def name_list(names: Iterable[str], limit: int = 20) -> str:
    """Return sorted ``names`` joined for a hint, cut after ``limit`` names with a count of the rest."""
    ordered = sorted(names)
    if len(ordered) <= limit:
        return ", ".join(ordered)
    return ", ".join(ordered[:limit]) + f" and {len(ordered) - limit} more"


def problem(
    message: str, location: Location, code: str, *, value: Any = None, hint: str | None = None, **params: Any
) -> RuleSemanticError:
    """Return a semantic error; ``params`` go to the translation catalogue with ``code``."""
    return RuleSemanticError(message, location=location, value=value, hint=hint, code=code, params=params)


def at(location: Location, *tokens: str | int) -> Location:
    """Return the location of a member of the node at ``location``.

    A JSON node gets a child pointer. A DSL node keeps no position for its members,
    so they share the node's own line and column. A leaf's value has its own position,
    given by ``value_location``.
    """
    return location.child(*tokens) if location.pointer is not None else location


def value_location(leaf: Comparison | EventCondition, *index: int) -> Location:
    """Return the location of a leaf's value, or of item ``index`` of a list or ``between`` value.

    A JSON leaf gets a pointer below its ``value`` member. A DSL leaf gets the line and
    column where the value or the item is written, and its own position when the parser
    recorded none.
    """
    if leaf.loc.pointer is not None:
        return leaf.loc.child("value", *index)
    written = leaf.value_loc
    if written is None:
        return leaf.loc
    if index and 0 <= index[0] < len(written.items):
        return written.items[index[0]]
    return written.start


def unknown_operator_problem(
    name: str, allowed: Iterable[str], known: Iterable[str], location: Location
) -> RuleSemanticError:
    """Return the problem of an operator no plugin registers, suggesting the closest allowed one.

    A comparison symbol such as ">=" in a JSON rule suggests its name ("gte").
    """
    symbol_name = None if from_dsl(location) else _SYMBOL_NAMES.get(name)
    suggestion = symbol_name or closest(name, allowed) or closest(name, known)
    prefix = f'Did you mean "{operator_label(suggestion, location)}"? ' if suggestion else ""
    return problem(
        f'unknown operator "{operator_label(name, location)}"',
        at(location, "operator"),
        "unknown_operator",
        value=name,
        hint=f"{prefix}Operators allowed here: {operator_labels(allowed, location)}",
        operator=name,
        suggestion=suggestion,
        allowed=sorted(allowed),
    )


def shape_problem(operator: OperatorSpec, value: Any, location: Location) -> RuleSemanticError | None:
    """Return the problem when ``value`` is not the kind of value ``operator`` takes, else None."""
    name = operator.name
    label = operator_label(name, location)
    if operator.shape == "none":
        if value is None:
            return None
        return problem(
            f'operator "{label}" takes no value, but {show(value)} is given',
            location,
            "unexpected_value",
            value=value,
            hint="Remove the value",
            operator=name,
        )
    expected = shape_words(operator.shape, location)
    if value is None:
        return problem(
            f'operator "{label}" needs a value', location, "missing_value", hint=f"Give {expected}", operator=name
        )
    is_list = isinstance(value, tuple)
    fits = {
        "scalar": not is_list and not isinstance(value, (Duration, CalendarPeriod)),
        "pair": is_list and len(value) == 2,
        "list": is_list,
        "duration": isinstance(value, Duration),
        "period": isinstance(value, CalendarPeriod),
    }.get(operator.shape, not is_list)
    if not fits:
        return problem(
            f'operator "{label}" takes {expected}, not {show(value)}',
            location,
            "wrong_value_shape",
            value=value,
            hint=f"Give {expected}",
            operator=name,
            shape=operator.shape,
        )
    if operator.shape == "list" and not value:
        return problem(
            f'operator "{label}" needs at least one value, but the list is empty',
            location,
            "empty_list",
            hint="Add values to the list, or remove the condition",
            operator=name,
        )
    return None


def duration_problems(value: Duration, location: Location) -> Iterator[RuleSemanticError]:
    """Yield the problems of a duration: an unknown unit, an amount below 1."""
    known_unit = value.unit in DURATION_UNITS
    if not known_unit:
        yield problem(
            f'unknown duration unit "{value.unit}"',
            location,
            "invalid_duration_unit",
            value=value.unit,
            hint="Use one of: " + ", ".join(DURATION_UNITS),
        )
    if isinstance(value.amount, bool) or not isinstance(value.amount, int) or value.amount <= 0:
        # The text of a Duration has the singular unit for an amount of 1: "1 day", "0 days".
        least = str(Duration(1, value.unit)) if known_unit else f"1 {value.unit}"
        written = str(value) if known_unit and type(value.amount) is int else show(value.amount)
        yield problem(
            f"a duration must be at least {least}, not {written}",
            location,
            "duration_not_positive",
            value=value.amount,
            hint="Use a positive whole number, such as 7 days",
        )


def period_problems(value: CalendarPeriod, location: Location) -> Iterator[RuleSemanticError]:
    """Yield a problem when the calendar period's name is unknown."""
    if value.name in PERIOD_NAMES:
        return
    suggestion = closest(value.name, PERIOD_NAMES)
    prefix = f'Did you mean "{suggestion}"? ' if suggestion else ""
    yield problem(
        f'unknown calendar period "{value.name}"',
        location,
        "unknown_period",
        value=value.name,
        hint=f"{prefix}Periods: {', '.join(PERIOD_NAMES)}",
    )


def whole_number_problems(
    value: Any, allowed: range, location: Location, code: str, expected: str
) -> Iterator[RuleSemanticError]:
    """Yield a problem unless ``value`` is a whole number in ``allowed``."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        yield problem(
            f"{show(value)} is out of range: expected {expected}", location, code, value=value, hint=f"Give {expected}"
        )


def repeated_key_problems(
    keys: Sequence[str], location: Location, list_name: str, item: str, **params: Any
) -> Iterator[RuleSemanticError]:
    """Yield a problem at the second occurrence of each key that a key list repeats.

    Key lists (include keys, event products and categories) name each key once. A value
    list of ``in`` or ``contains_any`` may repeat a value, because it is a set.
    ``location`` is the list's own location, ``list_name`` names it in the message and
    ``item`` names one of its keys in the hint.
    """
    seen: set[str] = set()
    reported: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen and key not in reported:
            reported.add(key)
            yield problem(
                f"{show(key)} is listed more than once in {list_name}",
                at(location, index),
                "duplicate_key",
                value=key,
                hint=f"Remove the repeated {show(key)}. The list names each {item} only once",
                key=key,
                **params,
            )
        seen.add(key)


def bounds_order_problems(lower: Any, upper: Any, location: Location) -> Iterator[RuleSemanticError]:
    """Yield a problem when the lower bound of ``between`` is above the upper bound."""
    try:
        reversed_bounds = lower > upper
    except TypeError:
        # NOTE: a local datetime and one with an offset cannot be ordered without the shop's time zone.
        return
    if reversed_bounds:
        yield problem(
            f"the lower bound {show(lower)} is above the upper bound {show(upper)}",
            location,
            "between_bounds_reversed",
            value=[lower, upper],
            hint="Write the lower bound first",
            lower=lower,
            upper=upper,
        )
