"""Exact numeric comparisons against columns that hold a fixed grid of values.

An integer column stores whole numbers and an ``ExactDecimal`` column multiples of
1/10 000. A rule value between two grid points is rounded to the grid point that gives
the same result (``count > 2.5`` is ``count > 2``, ``count >= 2.5`` is ``count >= 3``),
and a value beyond what the column can hold is clamped, so every bound parameter is
exact on every database, SQLite's integer units included.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.plugins.sql.types import DECIMAL_UNIT, INTEGER_LIMIT, SUM_LIMIT

NumberKind = Literal["integer", "decimal"]
Comparison = Literal["eq", "gt", "gte", "lt", "lte"]

_ROUNDING: Final[dict[str, str]] = {"gt": ROUND_FLOOR, "lte": ROUND_FLOOR, "gte": ROUND_CEILING, "lt": ROUND_CEILING}


def _grid(kind: NumberKind) -> tuple[Decimal, Decimal]:
    if kind == "integer":
        return Decimal(1), Decimal(INTEGER_LIMIT)
    return DECIMAL_UNIT, SUM_LIMIT


def _to_kind(value: Decimal, kind: NumberKind) -> int | Decimal:
    return int(value) if kind == "integer" else value


def on_grid(value: int | Decimal, kind: NumberKind) -> int | Decimal | None:
    """Return ``value`` as a grid value of ``kind``, or ``None`` when no stored value can equal it."""
    step, limit = _grid(kind)
    number = Decimal(value)
    if abs(number) > limit:
        return None
    rounded = number.quantize(step, rounding=ROUND_FLOOR)
    if rounded != number:
        return None
    return _to_kind(rounded, kind)


def rounded_bound(value: int | Decimal, operator: Comparison, kind: NumberKind) -> int | Decimal:
    """Return the grid value that makes ``column <operator> value`` exact for ``gt gte lt lte``."""
    step, limit = _grid(kind)
    number = Decimal(value)
    # Clamping keeps the parameter representable. Stored values lie strictly inside
    # (-limit, limit), so a clamped bound gives the same result as the original.
    number = min(max(number, -limit), limit)
    rounded = number.quantize(step, rounding=_ROUNDING[operator])
    return _to_kind(rounded, kind)


def compare_number(
    expression: ColumnElement[Any], operator: str, value: Any, kind: NumberKind
) -> ColumnElement[bool]:
    """Return ``expression <operator> value`` for ``eq gt gte lt lte between in``, exactly.

    ``expression`` must not be NULL where the result matters: callers guard nullable
    columns with ``IS NOT NULL``.
    """
    if operator == "between":
        low, high = value
        return sa.and_(
            expression >= _parameter(rounded_bound(low, "gte", kind), kind),
            expression <= _parameter(rounded_bound(high, "lte", kind), kind),
        )
    if operator == "in":
        values = _grid_values(value, kind)
        if kind == "integer":
            return expression.in_(sa.bindparam(None, values, type_=sa.BigInteger(), expanding=True))
        return expression.in_(values)
    if operator == "eq":
        exact = on_grid(value, kind)
        return sa.false() if exact is None else expression == _parameter(exact, kind)
    if operator not in _ROUNDING:
        raise ValueError(f"compare_number got operator {operator!r}, expected eq, gt, gte, lt, lte, between or in")
    bound = _parameter(rounded_bound(value, operator, kind), kind)  # type: ignore[arg-type]
    if operator == "gt":
        return expression > bound
    if operator == "gte":
        return expression >= bound
    if operator == "lt":
        return expression < bound
    return expression <= bound


def _parameter(value: int | Decimal, kind: NumberKind) -> Any:
    """Return ``value`` as a bound parameter; integers are bound as 64-bit.

    Counts and ranks are 32-bit in SQLAlchemy's types, and PostgreSQL rejects a larger
    parameter cast to INTEGER. A decimal takes the type of the expression it is compared
    with, so SQLite gets it in integer units.
    """
    if kind == "integer":
        return sa.bindparam(None, value, type_=sa.BigInteger())
    return value

def _grid_values(values: Iterable[Any], kind: NumberKind) -> list[int | Decimal]:
    result: list[int | Decimal] = []
    for value in values:
        exact = on_grid(value, kind)
        if exact is not None and exact not in result:
            result.append(exact)
    return result


def false_at_zero(operator: str, value: Any, kind: NumberKind) -> bool:
    """Return whether ``compare_number(0, operator, value, kind)`` is false.

    A count or sum over no rows is 0. A test false at 0 therefore fails every profile
    without a matching row, so it may be written ``profiles.id IN (SELECT profile_id ...
    GROUP BY profile_id HAVING ...)``. A test true at 0 (``= 0``, ``< 3``, ``between 0
    and 2``) keeps the correlated subquery.
    """
    if operator == "between":
        low, high = value
        return not rounded_bound(low, "gte", kind) <= 0 <= rounded_bound(high, "lte", kind)
    if operator == "in":
        return 0 not in _grid_values(value, kind)
    if operator == "eq":
        return on_grid(value, kind) != 0
    if operator not in _ROUNDING:
        return False
    bound = rounded_bound(value, operator, kind)  # type: ignore[arg-type]
    tests = {"gt": 0 > bound, "gte": 0 >= bound, "lt": 0 < bound, "lte": 0 <= bound}
    return not tests[operator]


def means_at_least_one(operator: str, value: Any) -> bool:
    """Return whether ``count <operator> value`` is true exactly for the counts 1 and more.

    Such a count test (``>= 1``, ``> 0``, ``>= 0.5``) only tests whether a matching row
    exists, so it needs no ``GROUP BY ... HAVING``.
    """
    if operator == "gte":
        return rounded_bound(value, "gte", "integer") == 1
    if operator == "gt":
        return rounded_bound(value, "gt", "integer") == 0
    return False


def in_grouped(
    profile_id: ColumnElement[Any],
    owner: ColumnElement[Any],
    filters: Iterable[ColumnElement[bool]],
    having: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """Return ``profile_id IN (SELECT owner ... WHERE filters [GROUP BY owner HAVING having])``.

    ``owner`` must be NOT NULL, so the test and its ``NOT`` stay two-valued. On
    PostgreSQL the compiler negates it as ``NOT EXISTS`` (``selection.anti_join``).
    """
    selection = sa.select(owner).where(*filters)
    if having is not None:
        selection = selection.group_by(owner).having(having)
    return profile_id.in_(selection)
