"""SQL implementations of the built-in positive operators on scalar fields.

Each implementation is an ``SqlOperator``: ``(column, rule_value, options, context)``.
Every condition starts with ``column IS NOT NULL``, so it is false, never NULL, on a
missing value and ``NOT`` of it is the exact complement.
"""

from __future__ import annotations

import operator as python_operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.ast import TextOptions
from segmento.engine.errors import RuleSemanticError
from segmento.engine.temporal import Window
from segmento.plugins.sql.bounds import compare_number
from segmento.plugins.sql.context import SqlContext, SqlOperator
from segmento.plugins.sql.dialects import char_length, position

# Constants of the query's shape are rendered inline. Rule values stay bound parameters.
_ZERO: Final = sa.literal_column("0", sa.Integer())
_ONE: Final = sa.literal_column("1", sa.Integer())
_HUNDRED: Final = sa.literal_column("100", sa.Integer())

_COMPARISONS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "eq": python_operator.eq,
    "gt": python_operator.gt,
    "gte": python_operator.ge,
    "lt": python_operator.lt,
    "lte": python_operator.le,
}

# --- scalars --------------------------------------------------------------------------


def _compare(column: ColumnElement[Any], operator: str, value: Any, context: SqlContext) -> ColumnElement[bool]:
    """Return ``column <operator> value`` for eq, gt, gte, lt, lte, between and in."""
    if context.kind in ("integer", "decimal"):
        return sa.and_(column.is_not(None), compare_number(column, operator, value, context.kind))
    if context.kind == "datetime":
        value = _instants(value, context)
    if operator == "between":
        low, high = value
        return sa.and_(column.is_not(None), column >= low, column <= high)
    if operator == "in":
        return sa.and_(column.is_not(None), column.in_(list(value)))
    return sa.and_(column.is_not(None), _COMPARISONS[operator](column, value))


def _instants(value: Any, context: SqlContext) -> Any:
    """Return rule datetimes as UTC instants; a datetime without offset is local shop time."""
    if isinstance(value, tuple):
        return tuple(_instants(item, context) for item in value)
    if isinstance(value, datetime):
        return context.clock.instant(value)
    return value


def equal(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return _compare(column, "eq", value, context)


def greater(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return _compare(column, "gt", value, context)


def greater_or_equal(
    column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    return _compare(column, "gte", value, context)


def less(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return _compare(column, "lt", value, context)


def less_or_equal(
    column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    return _compare(column, "lte", value, context)


def between(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return _compare(column, "between", value, context)


def one_of(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return _compare(column, "in", value, context)


def is_set(column: ColumnElement[Any], value: None, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return column.is_not(None)


# --- strings: substring tests on code points, values taken literally -------------------


def contains(column: ColumnElement[Any], value: str, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    return sa.and_(column.is_not(None), position(column, sa.bindparam(None, value, type_=column.type)) > _ZERO)


def starts_with(
    column: ColumnElement[Any], value: str, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    # The first occurrence is at 1 exactly when the text starts with the value.
    return sa.and_(column.is_not(None), position(column, sa.bindparam(None, value, type_=column.type)) == _ONE)


def ends_with(column: ColumnElement[Any], value: str, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
    # The last len(value) characters. When the text is shorter, substr returns a
    # shorter piece of it on every dialect, which cannot equal the value.
    start = char_length(column) - sa.bindparam(None, len(value), type_=sa.Integer()) + _ONE
    return sa.and_(column.is_not(None), sa.func.substr(column, start) == value)


# --- time -----------------------------------------------------------------------------


def _within(column: ColumnElement[Any], window: Window) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = [column.is_not(None)]
    if window.low is not None:
        parts.append(column >= window.low if window.low_closed else column > window.low)
    if window.high is not None:
        parts.append(column <= window.high if window.high_closed else column < window.high)
    return sa.and_(*parts)


def time_test(operator: str) -> SqlOperator:
    """Return the implementation of time operator ``operator``, on the bounds of ``Clock.time_window``."""

    def test(column: ColumnElement[Any], value: Any, options: TextOptions, context: SqlContext) -> ColumnElement[bool]:
        try:
            window = context.clock.time_window(operator, value, context.kind)
        except RuleSemanticError as error:
            raise RuleSemanticError(
                error.message, location=context.node.loc, value=error.value, hint=error.hint, code=error.code
            ) from error
        if window is None:
            raise RuleSemanticError(
                f"operator {operator!r} cannot take the value {value!r} on a {context.kind} field",
                location=context.node.loc,
                value=value,
                hint="Validate the rule before compiling it",
                code="invalid_time_value",
            )
        return _within(column, window)

    return test


# --- birthdays ------------------------------------------------------------------------


def _month_day(column: ColumnElement[Any]) -> ColumnElement[Any]:
    # EXTRACT is rendered by SQLAlchemy per dialect (strftime on SQLite).
    return sa.extract("month", column) * _HUNDRED + sa.extract("day", column)


def _birthday_among(column: ColumnElement[Any], days: frozenset[tuple[int, int]]) -> ColumnElement[bool]:
    codes = sorted(month * 100 + day for month, day in days)
    return sa.and_(column.is_not(None), _month_day(column).in_(codes))


def birthday_in_next(
    column: ColumnElement[Any], value: int, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    return _birthday_among(column, context.clock.birthdays_in_next(int(value)))


def birthday_today(
    column: ColumnElement[Any], value: None, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    return _birthday_among(column, context.clock.birthdays_in_next(0))


def birthday_in_month(
    column: ColumnElement[Any], value: int, options: TextOptions, context: SqlContext
) -> ColumnElement[bool]:
    return sa.and_(column.is_not(None), sa.extract("month", column) == int(value))


def age_condition(column: ColumnElement[Any], operator: str, value: Any, context: SqlContext) -> ColumnElement[bool]:
    """Return the test on ``column`` (the birthday) for ``age <operator> value``.

    Each age test is a range of birth dates: ``Clock.birth_dates_for_age``.
    """
    if operator == "is_set":
        return column.is_not(None)
    if operator == "in":
        return sa.or_(sa.false(), *(age_condition(column, "eq", item, context) for item in value))
    after_date, until_date = context.clock.birth_dates_for_age(operator, value)
    return _within(column, Window(after_date, until_date, low_closed=False))


SCALAR_OPERATORS: Final[Mapping[str, SqlOperator]] = {
    "eq": equal,
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
    "before": time_test("before"),
    "after": time_test("after"),
    "on": time_test("on"),
    "in_last": time_test("in_last"),
    "in_next": time_test("in_next"),
    "in_period": time_test("in_period"),
    "birthday_in_next": birthday_in_next,
    "birthday_today": birthday_today,
    "birthday_in_month": birthday_in_month,
}
"""Built-in positive operators on scalar columns, registered for target ``sql``."""

