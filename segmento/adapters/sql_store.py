"""Profile store on a SQL database: SQLite (the embedded default), MySQL/MariaDB, PostgreSQL.

The store writes profiles into the tables of a ``ProfileModel`` and selects segment
members with a query from the SQL compiler, so the database does the selecting::

    store = SqlProfileStore("sqlite:///segmento.db")
    store.create_schema()
    store.write_profiles(profiles)
    store.members(segment, as_of=datetime(2024, 5, 1, tzinfo=UTC))

For MySQL and MariaDB use a ``mysql+pymysql://...?charset=utf8mb4`` URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo
from itertools import islice
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from segmento.adapters.ingest.bulk import insert_rows
from segmento.adapters.urls import create_engine, mask_url
from segmento.engine.ast import Condition, Segment
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import Registry, get_registry
from segmento.engine.temporal import DEFAULT_TIMEZONE
from segmento.plugins.sql.compiler import compile_segment
from segmento.plugins.sql.dialects import DialectName, dialect_name
from segmento.plugins.sql.model import ProfileModel
from segmento.plugins.sql.rows import profile_rows

if TYPE_CHECKING:
    from segmento.adapters.migrations import SchemaChange

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000
"""Profiles written per transaction by ``write_profiles``."""


class SqlProfileStore:
    """Profiles, their events and segment memberships in one SQL database.

    ``url_or_engine`` is a SQLAlchemy URL or an ``Engine``; the store does not dispose
    of an engine it was given.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | sa.Engine,
        registry: Registry | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_engine(url_or_engine)
        self.registry = registry or get_registry()
        self.model = ProfileModel(self.registry)
        self.dialect: DialectName = dialect_name(self.engine.dialect.name)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size

    def create_schema(self) -> SchemaChange:
        """Create or upgrade the store's schema and return what changed.

        Runs the versioned migrations, then adds the profile tables and columns of this
        store's field catalog that the database lacks (``segmento.adapters.migrations``).
        Nothing is dropped; a store that is up to date is only read.
        """
        from segmento.adapters.migrations import upgrade_store

        change = upgrade_store(self.engine, self.model)
        logger.info("store schema ready on %s (revision %s)", mask_url(self.engine.url), change.after)
        return change

    def create_profile_tables(self) -> None:
        """Create only the model's tables that do not exist yet, without migrations.

        For scratch databases that are dropped after use, such as the one of
        ``segmento match --backend``; a workspace's store needs ``create_schema``.
        """
        self.model.metadata.create_all(self.engine)

    def write_profiles(self, profiles: Iterable[Mapping[str, Any]]) -> int:
        """Write ``profiles`` (JSON form or coerced) and return how many were written.

        Each profile replaces every row stored for its id: fields, list members, events
        and, when the profile has a ``segments`` key, its memberships. A profile without
        that key keeps the memberships computed for it. Profiles are written in batches
        of ``batch_size``, one transaction each, so a profile is never half written.
        Raises ``DataError`` naming the profile and the value that cannot be stored
        exactly; the batch holding it is not written.
        """
        written = 0
        for batch in _batches(profiles, self.batch_size):
            coerced: dict[str, Mapping[str, Any]] = {}
            for raw in batch:
                profile = coerce_profile(raw, self.registry)
                coerced[str(profile["id"])] = profile
            rows = profile_rows(coerced, self.model)
            with self.engine.begin() as connection:
                self._delete(connection, rows.ids, rows.ids_with_segments)
                for table in self.model.tables():
                    insert_rows(connection, table, rows.tables.get(table.name, ()))
            written += len(coerced)
            logger.debug("wrote %d profiles (%d so far)", len(coerced), written)
        logger.info("wrote %d profiles", written)
        return written

    def _delete(self, connection: sa.Connection, ids: list[str], ids_with_segments: list[str]) -> None:
        model = self.model
        connection.execute(sa.delete(model.profiles).where(model.profiles.c.id.in_(ids)))
        for members in model.collections.values():
            connection.execute(sa.delete(members.table).where(members.table.c.profile_id.in_(ids)))
        connection.execute(sa.delete(model.events).where(model.events.c.profile_id.in_(ids)))
        if ids_with_segments:
            memberships = model.memberships
            connection.execute(sa.delete(memberships).where(memberships.c.profile_id.in_(ids_with_segments)))

    def members(
        self,
        segment: Segment | Condition,
        *,
        as_of: datetime | None = None,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
    ) -> list[str]:
        """Return the sorted ids of the stored profiles in ``segment`` as of ``as_of`` (default now).

        Raises ``UnsupportedError`` when the rule cannot be expressed in SQL.
        """
        statement = compile_segment(
            segment, self.model, dialect=self.dialect, as_of=as_of, timezone=timezone, registry=self.registry
        )
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        return sorted(ids)

    def set_memberships(self, segment_id: str, ids: Iterable[str]) -> None:
        """Replace the members of segment ``segment_id`` with ``ids``, in one transaction."""
        memberships = self.model.memberships
        unique_ids = list(dict.fromkeys(str(item) for item in ids))
        with self.engine.begin() as connection:
            connection.execute(sa.delete(memberships).where(memberships.c.segment_id == segment_id))
            for start in range(0, len(unique_ids), self.batch_size):
                chunk = unique_ids[start : start + self.batch_size]
                connection.execute(
                    memberships.insert(), [{"profile_id": item, "segment_id": segment_id} for item in chunk]
                )
        logger.info("segment %s now has %d members", segment_id, len(unique_ids))


def _batches(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
