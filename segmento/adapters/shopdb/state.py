"""Tables this package adds to the workspace's store, and the watermark of each copied table.

- ``shopdb_watermarks``: per source and table role, the ``(watermark, key)`` of the
  last row copied. It is written in the transaction that stores the rows, so after an
  interruption it is never ahead of the data.
- ``segment_evaluations`` and ``changed_fields``: what ``changes`` needs to skip
  segments whose inputs did not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from segmento.adapters.ingest.model import ID_LENGTH, Timestamp
from segmento.adapters.shopdb.convert import utc_now
from segmento.adapters.shopdb.mapping import Role

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


def create_state_tables(engine: sa.Engine) -> None:
    """Create this package's tables in the store when they do not exist."""
    metadata.create_all(engine)


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

