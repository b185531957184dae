"""Run the profile computations on a SQL database and write the profiles to the store.

The computations (``segmento.engine.computations``) are data, and this module runs
them on a SQL store. Grouping and aggregation over the large relations run in the
database through SQLAlchemy Core (``profile_queries``). The per-customer steps that
read a few values (ratios, weights, rankings, the status) run in Python on the
aggregated rows. Money is summed
as integer micro-units and becomes ``Decimal``; interest weights are applied to
per-kind counts in Python, so scores are exact on every database.

A build is incremental: it rebuilds the customers that imports marked dirty, plus
those whose time-dependent fields (status, short-term interests) can change between
the previous build's ``as_of`` and this one. A first build, a build with other
settings, or ``full=True`` rebuilds everyone.

The profiles' events are copied from ``tracked_events`` with ``INSERT ... SELECT``, so
those rows never travel to Python and back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from segmento.adapters.ingest.model import (
    MONEY_SCALE,
    dirty_profiles,
    naive_utc,
    profile_builds,
    tracked_events,
)
from segmento.adapters.profile_queries import ProfileQueries, Scope, population, relation
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.computations import (
    POPULATION,
    PROFILE_COMPUTATIONS,
    Computation,
    ProfileSettings,
    time_windows,
)
from segmento.plugins.sql.types import DECIMAL_SCALE

logger = logging.getLogger(__name__)

CHUNK_SIZE: Final = 2000
"""Customers computed and written together; bounds memory on large shops."""


@dataclass
class BuildResult:
    """Counts and timing of one profile build."""

    full: bool
    built: int
    removed: int
    seconds: float
    as_of: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "profiles_built": self.built,
            "profiles_removed": self.removed,
            "seconds": round(self.seconds, 3),
            "as_of": self.as_of.isoformat(),
        }


def build_profiles(
    store: SqlProfileStore,
    settings: ProfileSettings,
    as_of: datetime,
    *,
    full: bool = False,
    computations: tuple[Computation, ...] = PROFILE_COMPUTATIONS,
) -> BuildResult:
    """Rebuild the profiles whose data or time-dependent fields changed, as of ``as_of``."""
    started = time.perf_counter()
    engine = store.engine
    as_of = as_of.astimezone(UTC)
    fingerprint = settings.fingerprint()

    with engine.connect() as connection:
        previous = connection.execute(
            sa.select(profile_builds.c.as_of, profile_builds.c.settings_hash).order_by(profile_builds.c.id.desc()).limit(1)
        ).first()
        if full or previous is None or previous.settings_hash != fingerprint:
            full = True
            ids = _all_customers(connection)
        else:
            ids = _changed_customers(connection, previous.as_of.replace(tzinfo=UTC), as_of, settings)

    queries = ProfileQueries(settings, as_of, computations)
    built = removed = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        profiles = _compute_chunk(engine, queries, chunk)
        written, deleted = _write_chunk(store, profiles, chunk)
        built += written
        removed += deleted
        logger.debug("profiles built: %d of %d", start + len(chunk), len(ids))

    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        _clear_dirty(connection, ids)
        connection.execute(
            profile_builds.insert().values(
                as_of=naive_utc(as_of),
                settings_hash=fingerprint,
                profiles_built=built,
                profiles_removed=removed,
                full=full,
                seconds=seconds,
                finished_at=naive_utc(datetime.now(UTC)),
            )
        )
    logger.info("profiles built=%d removed=%d full=%s seconds=%.1f", built, removed, full, seconds)
    return BuildResult(full, built, removed, seconds, as_of)


def _compute_chunk(engine: sa.Engine, queries: ProfileQueries, chunk: Sequence[str]) -> dict[str, dict[str, Any]]:
    scope = Scope(chunk, queries.as_of)
    with engine.connect() as connection:
        members = population(connection, scope)
        return queries.run(connection, scope, members)


def _write_chunk(store: SqlProfileStore, profiles: dict[str, dict[str, Any]], chunk: Sequence[str]) -> tuple[int, int]:
    """Write ``profiles``, their events, and remove the profiles of ``chunk`` that have no data.

    ``write_profiles`` replaces each written profile's events with those the profile
    lists, so the events are copied from ``tracked_events`` after it, in the store's
    ``events`` table.
    """
    store.write_profiles(profiles.values())
    without_data = [customer_id for customer_id in chunk if customer_id not in profiles]
    with store.engine.begin() as connection:
        if without_data:
            _delete_profiles(connection, store, without_data)
        if profiles:
            connection.execute(_copy_events(store, list(profiles)))
    return len(profiles), len(without_data)


def _copy_events(store: SqlProfileStore, ids: list[str]) -> sa.Insert:
    """Return an ``INSERT ... SELECT`` of every tracked event of the customers ``ids`` into the store's ``events``.

    The money and quantity columns are converted in SQL to what the store's
    ``ExactDecimal`` columns hold, so the stored values equal those that binding the
    same numbers as ``Decimal`` stores (``tests/test_import_backends.py`` compares both).
    NOTE: InnoDB reads the selected rows with shared locks under REPEATABLE READ, so an
    import that writes tracked events of these customers meanwhile waits for the commit.
    """
    columns = tracked_events.c
    query = sa.select(
        columns.customer_id,
        columns.kind,
        columns.time,
        columns.product_id,
        columns.category,
        _stored_money(columns.price_micros, store.dialect),
        _stored_quantity(columns.quantity, store.dialect),
        _stored_money(columns.value_micros, store.dialect),
    ).where(columns.customer_id.in_(ids))
    targets = ["profile_id", "kind", "time", "product_id", "category", "price", "quantity", "value"]
    return store.model.events.insert().from_select(targets, query)


def _stored_money(micros: sa.ColumnElement[int], dialect: str) -> sa.ColumnElement[Any]:
    """Return money in micro-units as the value an ``ExactDecimal`` column stores."""
    if dialect == "sqlite":
        # ExactDecimal stores whole 10**-4 units on SQLite. Importers reject prices with
        # more than MONEY_PLACES (at most DECIMAL_SCALE) decimal places, so micro-units
        # divide exactly.
        return micros // 10 ** (MONEY_SCALE - DECIMAL_SCALE)
    # The cast keeps six decimal places whatever MySQL's div_precision_increment is,
    # and 19 integer digits hold any 64-bit count of micro-units.
    return sa.cast(micros, sa.Numeric(19 + MONEY_SCALE, MONEY_SCALE)) / 10**MONEY_SCALE


def _stored_quantity(quantity: sa.ColumnElement[int], dialect: str) -> sa.ColumnElement[Any]:
    """Return an integer quantity as the value an ``ExactDecimal`` column stores."""
    if dialect == "sqlite":
        return quantity * 10**DECIMAL_SCALE
    return quantity


def _delete_profiles(connection: sa.Connection, store: SqlProfileStore, ids: list[str]) -> None:
    # NOTE: the store has no delete API, so this removes the rows of its model directly.
    model = store.model
    connection.execute(sa.delete(model.profiles).where(model.profiles.c.id.in_(ids)))
    for members in model.collections.values():
        connection.execute(sa.delete(members.table).where(members.table.c.profile_id.in_(ids)))
    connection.execute(sa.delete(model.events).where(model.events.c.profile_id.in_(ids)))
    # Memberships stay until the next evaluation, which records the profiles leaving.


def _all_customers(connection: sa.Connection) -> list[str]:
    """Return every customer with a row in any input relation, sorted."""
    ids: set[str] = set()
    for name in POPULATION:
        table = relation(name)
        ids.update(connection.scalars(sa.select(table.c.customer_id).where(table.c.customer_id.is_not(None)).distinct()))
    return sorted(ids)


def _changed_customers(
    connection: sa.Connection, previous: datetime, as_of: datetime, settings: ProfileSettings
) -> list[str]:
    """Return the dirty customers and those with a row whose time or time plus a window lies between the two builds."""
    ids = set(connection.scalars(sa.select(dirty_profiles.c.customer_id)))
    if previous != as_of:
        low, high = sorted((naive_utc(previous), naive_utc(as_of)))
        for window in (timedelta(0), *time_windows(settings)):
            for name in POPULATION:
                table = relation(name)
                condition = sa.and_(
                    table.c.customer_id.is_not(None),
                    table.c.time > low - window,
                    table.c.time <= high - window,
                )
                ids.update(connection.scalars(sa.select(table.c.customer_id).where(condition).distinct()))
    return sorted(ids)


def _clear_dirty(connection: sa.Connection, ids: Iterable[str]) -> None:
    batch: list[str] = []
    for customer_id in ids:
        batch.append(customer_id)
        if len(batch) >= 500:
            connection.execute(sa.delete(dirty_profiles).where(dirty_profiles.c.customer_id.in_(batch)))
            batch = []
    if batch:
        connection.execute(sa.delete(dirty_profiles).where(dirty_profiles.c.customer_id.in_(batch)))
