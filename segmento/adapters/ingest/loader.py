"""Import one source file into the event and order tables, in one transaction.

The import is idempotent: a file whose checksum was imported before is skipped
without a write, and rows whose deterministic id is already stored are counted as
known and not written again. Rows are parsed as a stream and written in batches with
``executemany``. Every row that is not stored goes to ``rejects`` with its line number
and reason. A problem with the file as a whole (``DataError``) rolls the transaction
back, so nothing of that file is half-written.

Customers whose rows were stored are added to ``dirty_profiles``, so the profile
builder rebuilds only them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, select, update

from segmento.adapters.ingest import jsonl, online_retail, rees46
from segmento.adapters.ingest.bulk import existing_ids, insert_rows
from segmento.adapters.ingest.items import Item, Parsed, Rejected, Row
from segmento.adapters.ingest.model import (
    customers,
    dirty_profiles,
    imports,
    naive_utc,
    order_lines,
    orders,
    rejects,
    tracked_events,
)
from segmento.adapters.ingest.progress import Progress
from segmento.adapters.ingest.readers import SourceFile, TextSource, inspect_file
from segmento.engine.errors import DataError, Location
from segmento.engine.temporal import load_timezone

logger = logging.getLogger(__name__)

BATCH_SIZE: Final = 5000
FORMATS: Final[tuple[str, ...]] = (online_retail.FORMAT, rees46.FORMAT, jsonl.FORMAT)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One input of a workspace: a file of a known format.

    ``timezone`` is the zone of local times in the file that carry no offset.
    """

    name: str
    format: str
    path: Path
    timezone: str = "UTC"


@dataclass
class ImportResult:
    """Counts of one import. ``skipped`` is true when the file's checksum was imported before."""

    source: str
    file_name: str
    checksum: str
    skipped: bool = False
    import_id: int | None = None
    read: int = 0
    stored: int = 0
    known: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    touched: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file_name,
            "checksum": self.checksum,
            "skipped": self.skipped,
            "import_id": self.import_id,
            "rows_read": self.read,
            "rows_stored": self.stored,
            "rows_known": self.known,
            "rows_rejected": self.rejected,
            "reject_reasons": dict(sorted(self.reasons.items())),
            "customers_touched": len(self.touched),
            "seconds": round(self.seconds, 3),
        }


def parse_source(spec: SourceSpec, text: TextSource) -> Iterator[Item]:
    """Return the item stream of ``text`` for the format that ``spec`` names."""
    if spec.format == online_retail.FORMAT:
        return online_retail.parse(text, load_timezone(spec.timezone))
    if spec.format == rees46.FORMAT:
        return rees46.parse(text)
    if spec.format == jsonl.FORMAT:
        return jsonl.parse(text, load_timezone(spec.timezone))
    raise DataError(
        f"unknown source format {spec.format!r}",
        location=Location(source=str(spec.path)),
        value=spec.format,
        hint="Use one of: " + ", ".join(FORMATS),
        code="unknown_format",
    )


def import_source(engine: Engine, spec: SourceSpec, progress: Progress | None = None) -> ImportResult:
    """Import ``spec``'s file unless its checksum was imported before; return what was done."""
    started = time.perf_counter()
    source = inspect_file(spec.path)
    result = ImportResult(spec.name, source.name, source.checksum)
    with engine.connect() as connection:
        previous = connection.execute(
            select(imports.c.id, imports.c.finished_at).where(
                imports.c.checksum == source.checksum, imports.c.format == spec.format
            )
        ).first()
    if previous is not None:
        result.skipped = True
        result.import_id = previous.id
        result.seconds = time.perf_counter() - started
        logger.info("import skipped: %s was imported before (import %d)", source.name, previous.id)
        return result
    with engine.begin() as connection:
        _run_import(connection, spec, source, result, progress)
    result.seconds = time.perf_counter() - started
    logger.info(
        "import done source=%s file=%s read=%d stored=%d known=%d rejected=%d customers=%d seconds=%.1f",
        spec.name,
        source.name,
        result.read,
        result.stored,
        result.known,
        result.rejected,
        len(result.touched),
        result.seconds,
    )
    return result


def _run_import(
    connection: Connection, spec: SourceSpec, source: SourceFile, result: ImportResult, progress: Progress | None
) -> None:
    now = naive_utc(datetime.now(UTC))
    import_id = connection.execute(
        imports.insert().values(
            source=spec.name,
            format=spec.format,
            file_name=source.name,
            checksum=source.checksum,
            started_at=now,
            finished_at=now,
        )
    ).inserted_primary_key[0]
    result.import_id = import_id
    writer = _BatchWriter(connection, import_id, spec.name, source.name, result)
    if progress is not None:
        progress.start(source.name, source.size)
    try:
        with TextSource(source) as text:
            batch: list[Item] = []
            for item in parse_source(spec, text):
                batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    writer.write(batch)
                    batch = []
                    if progress is not None:
                        progress.update(text.position, result.read, result.rejected)
            writer.write(batch)
            if progress is not None:
                progress.update(source.size, result.read, result.rejected)
    finally:
        if progress is not None:
            progress.finish()
    writer.mark_dirty()
    connection.execute(
        update(imports)
        .where(imports.c.id == import_id)
        .values(
            rows_read=result.read,
            rows_stored=result.stored,
            rows_known=result.known,
            rows_rejected=result.rejected,
            customers_touched=len(result.touched),
            finished_at=naive_utc(datetime.now(UTC)),
        )
    )


class _BatchWriter:
    """Writes parsed items batch by batch, skipping rows whose id is already stored."""

    def __init__(self, connection: Connection, import_id: int, source: str, file_name: str, result: ImportResult) -> None:
        self.connection = connection
        self.import_id = import_id
        self.source = source
        self.file_name = file_name
        self.result = result
        self._orders_seen: set[str] = set()

    def write(self, items: list[Item]) -> None:
        parsed = [item for item in items if isinstance(item, Parsed)]
        self._write_rejects([item for item in items if isinstance(item, Rejected)])
        self.result.read += len(items)
        if not parsed:
            return
        new_orders = self._new_rows(orders, _unique(row for item in parsed for row in item.orders), self._orders_seen)
        new_lines = self._new_rows(order_lines, [row for item in parsed for row in item.order_lines])
        new_events = self._new_rows(tracked_events, [row for item in parsed for row in item.events])
        new_customers = self._upsert_customers([row for item in parsed for row in item.customers])
        self._insert(orders, new_orders, source=self.source)
        self._insert(order_lines, new_lines)
        self._insert(tracked_events, new_events, source=self.source)
        stored_keys = {("order_lines", row["id"]) for row in new_lines}
        stored_keys |= {("tracked_events", row["id"]) for row in new_events}
        stored_keys |= {("customers", customer_id) for customer_id in new_customers}
        for item in parsed:
            if item.key in stored_keys:
                self.result.stored += 1
            else:
                self.result.known += 1
        for rows in (new_lines, new_events):
            self.result.touched.update(row["customer_id"] for row in rows if row.get("customer_id"))
        self.result.touched.update(new_customers)

    def mark_dirty(self) -> None:
        """Add the customers this import touched to ``dirty_profiles``."""
        ids = sorted(self.result.touched)
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            known = existing_ids(self.connection, dirty_profiles.c.customer_id, chunk)
            rows = [{"customer_id": customer_id, "import_id": self.import_id} for customer_id in chunk if customer_id not in known]
            insert_rows(self.connection, dirty_profiles, rows)

    def _new_rows(self, table: Table, rows: list[Row], seen: set[str] | None = None) -> list[Row]:
        rows = _unique(rows)
        if seen is not None:
            rows = [row for row in rows if row["id"] not in seen]
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        known = existing_ids(self.connection, table.c.id, ids)
        if seen is not None:
            seen.update(ids)
        return [row for row in rows if row["id"] not in known]

    def _insert(self, table: Table, rows: list[Row], **extra: Any) -> None:
        if not rows:
            return
        for row in rows:
            row["import_id"] = self.import_id
            row.update(extra)
        insert_rows(self.connection, table, rows)

    def _upsert_customers(self, rows: list[Row]) -> set[str]:
        """Store identify records newer than the stored ones; return the ids changed."""
        latest: dict[str, Row] = {}
        for row in rows:
            current = latest.get(row["id"])
            if current is None or row["updated_at"] >= current["updated_at"]:
                latest[row["id"]] = row
        if not latest:
            return set()
        stored = {
            row.id: row.updated_at
            for row in self.connection.execute(
                select(customers.c.id, customers.c.updated_at).where(customers.c.id.in_(list(latest)))
            )
        }
        changed: set[str] = set()
        for customer_id, row in latest.items():
            row = dict(row, import_id=self.import_id)
            if customer_id not in stored:
                self.connection.execute(customers.insert(), [row])
            elif row["updated_at"] > stored[customer_id]:
                self.connection.execute(update(customers).where(customers.c.id == customer_id).values(**row))
            else:
                continue
            changed.add(customer_id)
        return changed

    def _write_rejects(self, items: list[Rejected]) -> None:
        if not items:
            return
        self.result.rejected += len(items)
        self.result.reasons.update(item.reason for item in items)
        insert_rows(
            self.connection,
            rejects,
            [
                {
                    "import_id": self.import_id,
                    "source_file": self.file_name,
                    "line": item.line,
                    "raw_row": item.raw,
                    "reason": item.reason,
                    "detail": item.detail[:500],
                }
                for item in items
            ],
        )


def _unique(rows: Iterable[Row]) -> list[Row]:
    """Return ``rows`` without repeated ids, keeping the first of each."""
    result: dict[str, Row] = {}
    for row in rows:
        result.setdefault(row["id"], row)
    return list(result.values())


