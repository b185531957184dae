"""Tables this package adds to the workspace's store, and the watermark of each copied table.

- ``shopdb_watermarks``: per source and table role, the ``(watermark, key)`` of the
  last row copied. It is written in the transaction that stores the rows, so after an
  interruption it is never ahead of the data.
- ``shopdb_keys``: the key of every shop row an import has read (stored, skipped or
  rejected), with a digest of what the row's copy depends on. Reconciliation
  (``reconcile``) compares it with the shop's keys to find deleted and missed rows.
- ``shopdb_reconciliations``: when each source was last reconciled.
- ``segment_evaluations`` and ``changed_fields``: what ``changes`` needs to skip
  segments whose inputs did not change.

Revision 0003 of the store migrations creates these tables, and ``migrations.schema``
lists them, so a change here needs a new revision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa

from segmento.adapters.ingest.model import ID_LENGTH, Timestamp
from segmento.adapters.shopdb.convert import utc_now
from segmento.adapters.shopdb.mapping import Role
from segmento.plugins.sql.types import KEY_LENGTH

metadata = sa.MetaData()

watermarks = sa.Table(
    "shopdb_watermarks",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True, doc="source name from the workspace config"),
    sa.Column("role", sa.String(16), primary_key=True, doc="customers, products, orders or order_lines"),
    sa.Column("columns", sa.String(255), nullable=False, doc="the watermark columns, comma-separated"),
    sa.Column("value", sa.Text, nullable=False, doc="JSON list of the last copied row's watermark values"),
    sa.Column("updated_at", Timestamp, nullable=False),
)

copied_keys = sa.Table(
    "shopdb_keys",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True, doc="source name from the workspace config"),
    sa.Column("role", sa.String(16), primary_key=True, doc="customers, orders or categories"),
    sa.Column("key", sa.String(KEY_LENGTH), primary_key=True, doc="the shop row's key as text"),
    sa.Column(
        "digest",
        sa.String(64),
        doc="orders: SHA-256 of the sorted keys of the lines read with the order; categories: of the category path",
    ),
)
"""Keys of the shop rows that imports have read, whether stored, skipped or rejected."""

reconciliations = sa.Table(
    "shopdb_reconciliations",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("import_id", sa.Integer, nullable=False, doc="the import that ran the reconciliation"),
    sa.Column("finished_at", Timestamp, nullable=False),
)

segment_evaluations = sa.Table(
    "segment_evaluations",
    metadata,
    sa.Column("segment_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("rule_hash", sa.String(64), nullable=False, doc="SHA-256 of the rule's canonical JSON"),
    sa.Column("as_of", Timestamp, nullable=False, doc="UTC instant the segment was last evaluated as of"),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
)

changed_fields = sa.Table(
    "changed_fields",
    metadata,
    sa.Column("field", sa.String(ID_LENGTH), primary_key=True, doc="a profile field, 'events', or '*' for every field"),
    sa.Column("noted_at", Timestamp, nullable=False),
)
"""Fields changed by profile builds whose segments were not evaluated yet."""

KEY_CHUNK: Final = 500
"""Keys per ``IN`` list and per ``DELETE`` of ``shopdb_keys``."""


def check_state_tables(connection: sa.Connection) -> None:
    """Raise ``SchemaError`` when the store lacks this package's tables, so its schema is older than this segmento."""
    # Imported here so that importing this module does not import Alembic.
    from segmento.adapters.migrations.catalog import SchemaError

    inspector = sa.inspect(connection)
    missing = [table.name for table in metadata.sorted_tables if not inspector.has_table(table.name)]
    if missing:
        raise SchemaError(
            f"the store has no table {missing[0]}: its schema is older than this segmento",
            value=missing[0],
            hint="Run 'segmento db upgrade', or open the store with SqlProfileStore.create_schema() before importing",
        )


@dataclass(frozen=True)
class Watermark:
    """The position after which rows are new: the values of ``columns`` of the last row copied."""

    columns: tuple[str, ...]
    values: tuple[Any, ...]


def read_watermark(connection: sa.Connection, source: str, role: Role, columns: tuple[str, ...]) -> Watermark | None:
    """Return the stored watermark, or ``None`` when none is stored for these columns.

    A watermark stored for other columns (the mapping changed) counts as none, so the
    table is copied again from the start. Copies replace rows, so nothing is doubled.
    """
    row = connection.execute(
        sa.select(watermarks.c.columns, watermarks.c.value).where(watermarks.c.source == source, watermarks.c.role == role)
    ).first()
    if row is None or tuple(row.columns.split(",")) != columns:
        return None
    return Watermark(columns, tuple(_decode(item) for item in json.loads(row.value)))


def write_watermark(connection: sa.Connection, source: str, role: Role, mark: Watermark) -> None:
    """Store ``mark`` for ``source`` and ``role``, replacing the previous one."""
    values = {
        "columns": ",".join(mark.columns),
        "value": json.dumps([_encode(item) for item in mark.values]),
        "updated_at": utc_now(),
    }
    updated = connection.execute(
        sa.update(watermarks).where(watermarks.c.source == source, watermarks.c.role == role).values(**values)
    ).rowcount
    if not updated:
        connection.execute(watermarks.insert().values(source=source, role=role, **values))


# --- the keys read -------------------------------------------------------------------------


def digest(parts: Iterable[str]) -> str:
    """Return the SHA-256 of ``parts`` sorted, so the same set of texts gives the same digest in any order."""
    return hashlib.sha256("\n".join(sorted(parts)).encode("utf-8")).hexdigest()


def record_keys(connection: sa.Connection, source: str, role: Role, entries: Mapping[str, str | None]) -> None:
    """Store the keys of ``entries`` with their digests, replacing what is stored for them.

    NOTE: a key longer than the column (191 characters) is not stored, so every
    reconciliation copies such a row again.
    """
    rows = [{"source": source, "role": role, "key": key, "digest": value} for key, value in entries.items() if len(key) <= KEY_LENGTH]
    forget_keys(connection, source, role, [row["key"] for row in rows])
    if rows:
        connection.execute(copied_keys.insert(), rows)


def forget_keys(connection: sa.Connection, source: str, role: Role, keys: Sequence[str]) -> None:
    """Remove ``keys`` from the keys stored for ``source`` and ``role``."""
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = list(keys[start : start + KEY_CHUNK])
        connection.execute(sa.delete(copied_keys).where(_of(source, role), copied_keys.c.key.in_(chunk)))


def stored_digests(connection: sa.Connection, source: str, role: Role, keys: Sequence[str] | None = None) -> dict[str, str | None]:
    """Return the stored digest of each of ``keys`` that is stored; every key of ``role`` when ``keys`` is ``None``."""
    statement = sa.select(copied_keys.c.key, copied_keys.c.digest).where(_of(source, role))
    if keys is None:
        return {row.key: row.digest for row in connection.execute(statement)}
    found: dict[str, str | None] = {}
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = list(keys[start : start + KEY_CHUNK])
        found.update((row.key, row.digest) for row in connection.execute(statement.where(copied_keys.c.key.in_(chunk))))
    return found


def keys_after(connection: sa.Connection, source: str, role: Role, after: str | None, limit: int) -> list[str]:
    """Return up to ``limit`` stored keys of ``role`` after ``after``, in the store's order."""
    statement = sa.select(copied_keys.c.key).where(_of(source, role))
    if after is not None:
        statement = statement.where(copied_keys.c.key > after)
    return list(connection.scalars(statement.order_by(copied_keys.c.key).limit(limit)))


def _of(source: str, role: Role) -> sa.ColumnElement[bool]:
    return sa.and_(copied_keys.c.source == source, copied_keys.c.role == role)


# --- reconciliations -----------------------------------------------------------------------


def last_reconciled(connection: sa.Connection, source: str) -> datetime | None:
    """Return the naive UTC time the last reconciliation of ``source`` finished, or ``None``."""
    return connection.scalar(sa.select(reconciliations.c.finished_at).where(reconciliations.c.source == source))


def record_reconciliation(connection: sa.Connection, source: str, import_id: int) -> None:
    connection.execute(sa.delete(reconciliations).where(reconciliations.c.source == source))
    connection.execute(reconciliations.insert().values(source=source, import_id=import_id, finished_at=utc_now()))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "decimal" in value:
            return Decimal(value["decimal"])
    return value
