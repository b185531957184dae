"""SQL engine of the profile computations: one grouped query per computation input.

``ProfileQueries.run`` turns the definitions of ``segmento.engine.computations`` into
SQLAlchemy Core queries over the import tables, for the customers of one ``Scope``,
and assembles the profiles from the grouped rows. Aggregates over the same rows (the
same source and row conditions) share one query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from segmento.adapters.ingest.model import customers, from_micros, naive_utc, order_lines, orders, tracked_events, utc
from segmento.engine.computations import (
    POPULATION,
    Aggregate,
    Classify,
    Coalesce,
    Computation,
    Eq,
    FieldAtMost,
    FieldIsSet,
    FieldWithinDays,
    IsSet,
    KeyedCount,
    Latest,
    Param,
    ProfileCondition,
    ProfileSettings,
    Ratio,
    RelationName,
    Rollup,
    RowCondition,
    Source,
    TopKeys,
    WeightedScores,
    WithinDays,
)

MONEY_COLUMNS: Final = frozenset({"value", "price"})
"""Relation columns that hold money as micro-units."""


def relation(name: RelationName) -> FromClause:
    """Return input relation ``name`` with the column names the computations use."""
    if name == "order_lines":
        c = order_lines.c
        columns = [
            c.customer_id, c.order_id, c.time, c.is_cancellation, c.line_kind, c.product_id, c.category,
            c.quantity, c.value_micros.label("value"),
        ]  # fmt: skip
        return sa.select(*columns).subquery("order_lines")
    if name == "orders":
        c = orders.c
        return sa.select(c.id.label("order_id"), c.customer_id, c.time, c.country, c.is_cancellation).subquery("orders")
    if name == "events":
        c = tracked_events.c
        columns = [
            c.customer_id, c.kind, c.time, c.product_id, c.category, c.price_micros.label("price"), c.quantity,
            c.value_micros.label("value"),
        ]  # fmt: skip
        return sa.select(*columns).subquery("events")
    if name == "customers":
        c = customers.c
        columns = [
            c.id.label("customer_id"), c.updated_at.label("time"), c.name, c.gender, c.birthday, c.city, c.country,
            c.signed_up_at,
        ]  # fmt: skip
        return sa.select(*columns).subquery("customers")
    raise ValueError(f"unknown relation {name!r}")


@dataclass(frozen=True)
class Scope:
    """The customers a query covers and the instant after which rows do not count yet."""

    customer_ids: Sequence[str]
    as_of: datetime

    def conditions(self, table: FromClause) -> list[ColumnElement[bool]]:
        return [
            table.c.customer_id.in_(list(self.customer_ids)),
            table.c.time <= naive_utc(self.as_of),
        ]


def population(connection: sa.Connection, scope: Scope) -> set[str]:
    """Return the customers of ``scope`` with at least one row in a population relation."""
    ids: set[str] = set()
    for name in POPULATION:
        table = relation(name)
        ids.update(connection.scalars(sa.select(table.c.customer_id).where(*scope.conditions(table)).distinct()))
    return ids


class ProfileQueries:
    """Runs a tuple of computations for the customers of one scope at a time."""

    def __init__(self, settings: ProfileSettings, as_of: datetime, computations: Sequence[Computation]) -> None:
        self.settings = settings
        self.as_of = as_of
        self.computations = computations

    def run(self, connection: sa.Connection, scope: Scope, members: set[str]) -> dict[str, dict[str, Any]]:
        """Return the profiles of ``members`` by id, intermediate fields left out."""
        values: dict[str, dict[str, Any]] = {customer_id: {"id": customer_id} for customer_id in sorted(members)}
        kind_counts: dict[tuple[Any, ...], dict[str, dict[str, tuple[dict[str, int], datetime]]]] = {}
        aggregated: dict[str, dict[str, Any]] = {}
        for computation in self.computations:
            name = computation.field
            if isinstance(computation, Aggregate):
                if name not in aggregated:
                    aggregated.update(self._aggregates(connection, scope, self._aggregate_group(computation)))
                found = aggregated[name]
                for customer_id, profile in values.items():
                    profile[name] = found.get(customer_id, computation.default)
            elif isinstance(computation, KeyedCount):
                self._store(values, name, self._keyed_count(connection, scope, computation))
            elif isinstance(computation, (WeightedScores, TopKeys)):
                cache_key = (computation.source, computation.key, computation.where)
                if cache_key not in kind_counts:
                    kind_counts[cache_key] = self._kind_counts(connection, scope, computation)
                self._store(values, name, self._scores(computation, kind_counts[cache_key]))
            elif isinstance(computation, Latest):
                self._store(values, name, self._latest(connection, scope, computation))
            else:
                for profile in values.values():
                    profile[name] = self._derived(computation, profile)
        return {
            customer_id: {key: value for key, value in profile.items() if not key.startswith("_") and value is not None}
            for customer_id, profile in values.items()
        }

    # --- grouped queries ----------------------------------------------------------------

    def _source(self, scope: Scope, source: Source) -> tuple[FromClause, frozenset[str]]:
        """Return the scoped rows of ``source`` and the names of its money columns."""
        if isinstance(source, str):
            table = relation(source)
            rows = sa.select(table).where(*scope.conditions(table)).subquery()
            return rows, MONEY_COLUMNS
        return self._rollup(scope, source)

    def _rollup(self, scope: Scope, rollup: Rollup) -> tuple[FromClause, frozenset[str]]:
        table, money = self._source(scope, rollup.source)
        keys = [table.c.customer_id, *(table.c[name] for name in rollup.group_by)]
        columns = [_function(function, table.c[column]).label(out) for out, function, column in rollup.columns]
        statement = sa.select(*keys, *columns).where(*self._row_conditions(table, rollup.where)).group_by(*keys)
        money_out = frozenset(out for out, function, column in rollup.columns if column in money and function != "count")
        return statement.subquery(rollup.name), money_out

    def _aggregate_group(self, computation: Aggregate) -> list[Aggregate]:
        """Return the aggregates that share ``computation``'s source and row conditions."""
        return [
            other
            for other in self.computations
            if isinstance(other, Aggregate) and other.source == computation.source and other.where == computation.where
        ]

    def _aggregates(
        self, connection: sa.Connection, scope: Scope, group: Sequence[Aggregate]
    ) -> dict[str, dict[str, Any]]:
        """Return each aggregate's values by customer, from one grouped query over the rows they share.

        A rollup source is a grouped subquery, so one query for the group computes it
        once instead of once per aggregate.
        """
        table, money = self._source(scope, group[0].source)
        measures: list[ColumnElement[Any]] = []
        for index, computation in enumerate(group):
            if computation.function == "count":
                measure: ColumnElement[Any] = sa.func.count()
            else:
                measure = _function(computation.function, table.c[computation.argument or ""])
            measures.append(measure.label(f"measure_{index}"))
        statement = (
            sa.select(table.c.customer_id, *measures)
            .where(*self._row_conditions(table, group[0].where))
            .group_by(table.c.customer_id)
        )
        is_money = [computation.argument in money and computation.function != "count" for computation in group]
        results: list[dict[str, Any]] = [{} for _ in group]
        for customer_id, *row in connection.execute(statement):
            for index, value in enumerate(row):
                results[index][customer_id] = _convert(value, is_money[index])
        return {computation.field: result for computation, result in zip(group, results, strict=True)}

    def _keyed_count(self, connection: sa.Connection, scope: Scope, computation: KeyedCount) -> dict[str, Any]:
        table, _ = self._source(scope, computation.source)
        key = table.c[computation.key]
        statement = (
            sa.select(table.c.customer_id, key, sa.func.count())
            .where(*self._row_conditions(table, computation.where))
            .group_by(table.c.customer_id, key)
        )
        result: dict[str, dict[str, int]] = defaultdict(dict)
        for customer_id, value, count in connection.execute(statement):
            result[customer_id][str(value)] = int(count)
        return {customer_id: dict(sorted(counts.items())) for customer_id, counts in result.items()}

    def _kind_counts(
        self, connection: sa.Connection, scope: Scope, computation: WeightedScores | TopKeys
    ) -> dict[str, dict[str, tuple[dict[str, int], datetime]]]:
        """Return per customer and key: the number of rows of each kind and the latest time."""
        table, _ = self._source(scope, computation.source)
        key = table.c[computation.key]
        statement = (
            sa.select(table.c.customer_id, key, table.c.kind, sa.func.count(), sa.func.max(table.c.time))
            .where(*self._row_conditions(table, computation.where))
            .group_by(table.c.customer_id, key, table.c.kind)
        )
        result: dict[str, dict[str, tuple[dict[str, int], datetime]]] = defaultdict(dict)
        for customer_id, value, kind, count, latest in connection.execute(statement):
            counts, previous = result[customer_id].get(str(value), ({}, latest))
            counts[kind] = int(count)
            result[customer_id][str(value)] = (counts, max(previous, latest))
        return result

    def _latest(self, connection: sa.Connection, scope: Scope, computation: Latest) -> dict[str, Any]:
        table, _ = self._source(scope, computation.source)
        column = table.c[computation.column]
        statement = (
            sa.select(table.c.customer_id, column, sa.func.max(table.c.time))
            .where(column.is_not(None), *self._row_conditions(table, computation.where))
            .group_by(table.c.customer_id, column)
        )
        best: dict[str, tuple[datetime, Any]] = {}
        for customer_id, value, latest in connection.execute(statement):
            current = best.get(customer_id)
            if current is None or (latest, str(value)) > (current[0], str(current[1])):
                best[customer_id] = (latest, value)
        return {customer_id: value for customer_id, (_, value) in best.items()}

    def _row_conditions(self, table: FromClause, conditions: Sequence[RowCondition]) -> list[ColumnElement[bool]]:
        result: list[ColumnElement[bool]] = []
        for condition in conditions:
            if isinstance(condition, Eq):
                result.append(table.c[condition.column] == condition.value)
            elif isinstance(condition, IsSet):
                result.append(table.c[condition.column].is_not(None))
            elif isinstance(condition, WithinDays):
                start = self.as_of - timedelta(days=int(self._param(condition.days)))
                result.append(table.c[condition.column] > naive_utc(start))
            else:
                raise TypeError(f"unknown row condition {condition!r}")
        return result

    # --- per-customer steps -------------------------------------------------------------

    def _scores(
        self, computation: WeightedScores | TopKeys, counts: Mapping[str, Mapping[str, tuple[dict[str, int], datetime]]]
    ) -> dict[str, Any]:
        weights: Mapping[str, Decimal] = self._param(computation.weights)
        result: dict[str, Any] = {}
        for customer_id, by_key in counts.items():
            scores: dict[str, Decimal] = defaultdict(Decimal)
            latest: dict[str, datetime] = {}
            for key, (kinds, when) in by_key.items():
                score = sum((weights.get(kind, Decimal(0)) * count for kind, count in kinds.items()), Decimal(0))
                targets = _ancestors(key) if isinstance(computation, WeightedScores) and computation.ancestors else [key]
                for target in targets:
                    scores[target] += score
                    latest[target] = max(latest.get(target, when), when)
            positive = {key: score for key, score in scores.items() if score > 0}
            if isinstance(computation, WeightedScores):
                if positive:
                    result[customer_id] = {key: positive[key] for key in sorted(positive)}
                continue
            # Stable sorts, least important first: key, then latest row, then score.
            ranked = sorted(positive)
            ranked.sort(key=lambda item: latest[item], reverse=True)
            ranked.sort(key=lambda item: positive[item], reverse=True)
            limit = computation.limit if isinstance(computation.limit, int) else int(self._param(computation.limit))
            if ranked:
                result[customer_id] = ranked[0] if computation.single else ranked[:limit]
        return result

    def _derived(self, computation: Computation, profile: Mapping[str, Any]) -> Any:
        if isinstance(computation, Ratio):
            numerator = profile.get(computation.numerator)
            denominator = profile.get(computation.denominator)
            if numerator is None or not denominator:
                return None
            quotient = Decimal(numerator) / Decimal(denominator)
            return quotient.quantize(Decimal(1).scaleb(-computation.places), rounding=ROUND_HALF_EVEN)
        if isinstance(computation, Coalesce):
            return next((profile[name] for name in computation.fields if profile.get(name) is not None), None)
        if isinstance(computation, Classify):
            for case in computation.cases:
                if all(self._holds(condition, profile) for condition in case.when):
                    return case.value
            return None
        raise TypeError(f"unknown computation {computation!r}")

    def _holds(self, condition: ProfileCondition, profile: Mapping[str, Any]) -> bool:
        value = profile.get(condition.field)
        if value is None:
            return False
        if isinstance(condition, FieldWithinDays):
            return bool(value > self.as_of - timedelta(days=int(self._param(condition.days))))
        if isinstance(condition, FieldAtMost):
            return bool(value <= self._param(condition.limit))
        if isinstance(condition, FieldIsSet):
            return True
        raise TypeError(f"unknown profile condition {condition!r}")

    def _param(self, param: Param) -> Any:
        return self.settings.value(param.name)

    @staticmethod
    def _store(values: dict[str, dict[str, Any]], name: str, found: Mapping[str, Any]) -> None:
        for customer_id, profile in values.items():
            profile[name] = found.get(customer_id)


def _function(name: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    functions = {"sum": sa.func.sum, "min": sa.func.min, "max": sa.func.max, "count": sa.func.count}
    return functions[name](column)


def _convert(value: Any, is_money: bool) -> Any:
    if value is None:
        return None
    if is_money:
        return from_micros(int(value))
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    return value


def _ancestors(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[: index + 1]) for index in range(len(parts))]

