"""Tests on list, map and ranked fields, as subqueries on the field's member table.

A test that fails every profile without a matching member is a semijoin,
``profiles.id IN (SELECT profile_id ...)``, so the database can scan the member table
once. Every other test is an ``EXISTS`` or a comparison of a scalar subquery that is
never NULL where it matters. ``profile_id`` is NOT NULL, so ``NOT`` of any test is
its exact complement.
"""

from __future__ import annotations

import functools
import operator as operator_module
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.ast import TextOptions
from segmento.plugins.sql.bounds import compare_number, false_at_zero, in_grouped, on_grid
from segmento.plugins.sql.model import CollectionTable


def _of_profile(members: CollectionTable, profile_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return members.table.c.profile_id == profile_id


def member_values(members: CollectionTable, values: Sequence[Any]) -> list[Any]:
    """Return the distinct rule values that a member of ``members`` can equal, in rule order."""
    result: list[Any] = []
    for value in values:
        if members.member in ("integer", "decimal"):
            value = on_grid(value, members.member)
            if value is None:
                continue
        if value not in result:
            result.append(value)
    return result


def contains_any(
    members: CollectionTable, values: Sequence[Any], options: TextOptions, profile_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """Return: some member (some key of a map) equals one of ``values``."""
    key = members.key_column(options)
    return in_grouped(profile_id, members.table.c.profile_id, [key.in_(member_values(members, values))])


def contains_all(
    members: CollectionTable, values: Sequence[Any], options: TextOptions, profile_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """Return: every one of ``values`` is a member (a key of a map)."""
    distinct_values = member_values(members, values)
    if len(distinct_values) < len(set(values)):
        # A value no member can hold (a number off the decimal grid) is never present.
        return sa.false()
    if not distinct_values:
        return is_not_empty(members, profile_id)
    if len(distinct_values) == 1:
        return contains_any(members, distinct_values, options, profile_id)
    key = members.key_column(options)
    found = sa.func.count(sa.distinct(key)) == len(distinct_values)
    return in_grouped(profile_id, members.table.c.profile_id, [key.in_(distinct_values)], found)


def is_empty(members: CollectionTable, profile_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """Return: the field has no member; a missing list is empty."""
    return ~is_not_empty(members, profile_id)


def is_not_empty(members: CollectionTable, profile_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return sa.exists().where(_of_profile(members, profile_id))


def keyed(
    members: CollectionTable,
    keys: Sequence[str],
    operator: str,
    value: Any,
    profile_id: ColumnElement[Any],
) -> ColumnElement[bool]:
    """Return ``field[keys] <operator> value`` for eq, gt, gte, lt, lte and between.

    On a map the sum of the listed keys' values is compared, a missing key counting 0.
    On a ranked list the best (smallest) rank among the keys is compared, and the test
    is false when none of the keys is ranked.
    """
    table = members.table
    listed = table.c.key.in_(list(dict.fromkeys(keys)))
    if members.layout == "map":
        kind = members.value or "integer"
        if false_at_zero(operator, value, kind):
            # Every profile in the group has a listed key, and values are NOT NULL.
            having = compare_number(_grouped_sum(members, keys), operator, value, kind)
            return in_grouped(profile_id, table.c.profile_id, [listed], having)
        return compare_number(_sum_of_keys(members, keys, profile_id), operator, value, kind)
    # A profile with none of the keys ranked fails the test whatever the comparison.
    having = compare_number(sa.func.min(table.c.rank), operator, value, "integer")
    return in_grouped(profile_id, table.c.profile_id, [listed], having)


def _grouped_sum(members: CollectionTable, keys: Sequence[str]) -> ColumnElement[Any]:
    """Return the sum of the values of ``keys`` in a group of one profile's rows, a key listed twice counting twice."""
    table = members.table
    repeated = [(table.c.key.in_(listed), table.c.value * count) for count, listed in _keys_by_count(keys) if count > 1]
    term = sa.case(*repeated, else_=table.c.value) if repeated else table.c.value
    return sa.type_coerce(sa.func.sum(term), table.c.value.type)


def _keys_by_count(keys: Sequence[str]) -> list[tuple[int, list[str]]]:
    by_count: dict[int, list[str]] = {}
    for key, count in Counter(keys).items():
        by_count.setdefault(count, []).append(key)
    return sorted(by_count.items())


def _sum_of_keys(members: CollectionTable, keys: Sequence[str], profile_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the sum of the values of ``keys``, 0 for a missing key; a key listed twice counts twice."""
    table = members.table
    terms: list[ColumnElement[Any]] = []
    for count, listed in _keys_by_count(keys):
        selected = sa.and_(_of_profile(members, profile_id), table.c.key.in_(listed))
        total = sa.func.coalesce(sa.select(sa.func.sum(table.c.value)).where(selected).scalar_subquery(), 0)
        terms.append(total if count == 1 else total * count)
    # Arithmetic on a decorated type yields the plain impl type; coercing back keeps the
    # bound parameters in the column's exact form (integer units on SQLite).
    return sa.type_coerce(functools.reduce(operator_module.add, terms), table.c.value.type)
