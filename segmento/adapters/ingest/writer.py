"""Store the parsed batches of one import, skipping rows whose id is already stored.

A batch goes through two steps. ``BatchPreparer`` runs in the parsing thread: it drops
repeated ids, stamps the rows with the import and source, and prepares them for the
driver (``prepared.InsertPlan``). ``BatchWriter`` runs on the import's connection: it
looks the ids up, inserts the rows that are new, and counts what was stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Table, select, update

from segmento.adapters.ingest.bulk import existing_ids, insert_rows
from segmento.adapters.ingest.items import Item, Parsed, Rejected, Row
from segmento.adapters.ingest.model import customers, dirty_profiles, order_lines, orders, rejects, tracked_events
from segmento.adapters.ingest.prepared import InsertPlan

if TYPE_CHECKING:
    from segmento.adapters.ingest.loader import ImportResult

DIRTY_CHUNK: Final = 5000
"""Customers added to ``dirty_profiles`` per statement."""


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """Rows of one table from a batch, without repeated ids, and the same rows prepared for the driver."""

    rows: list[Row]
    prepared: list[Any]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A parsed batch, ready for ``BatchWriter.write``."""

    size: int
    parsed: list[Parsed]
    rejected: list[Rejected]
    orders: PreparedRows
    order_lines: PreparedRows
    events: PreparedRows
    customers: list[Row]


@dataclass(frozen=True)
class BatchPreparer:
    """Turns a list of parsed items into a ``PreparedBatch``, in the parsing thread."""

    import_id: int
    source: str
    orders: InsertPlan
    order_lines: InsertPlan
    events: InsertPlan

    def __call__(self, items: list[Item]) -> PreparedBatch:
        parsed = [item for item in items if isinstance(item, Parsed)]
        rejected = [item for item in items if isinstance(item, Rejected)]
        return PreparedBatch(
            size=len(items),
            parsed=parsed,
            rejected=rejected,
            orders=self._prepare(self.orders, (row for item in parsed for row in item.orders), source=self.source),
            order_lines=self._prepare(self.order_lines, (row for item in parsed for row in item.order_lines)),
            events=self._prepare(self.events, (row for item in parsed for row in item.events), source=self.source),
            customers=[row for item in parsed for row in item.customers],
        )

    def _prepare(self, plan: InsertPlan, rows: Iterable[Row], **extra: Any) -> PreparedRows:
        unique = _unique(rows)
        for row in unique:
            row["import_id"] = self.import_id
            row.update(extra)
        return PreparedRows(unique, plan.prepare(unique))


class BatchWriter:
    """Writes prepared batches on ``connection``, inside the import's transaction."""

    def __init__(
        self, connection: Connection, import_id: int, source: str, file_name: str, result: ImportResult
    ) -> None:
        self.connection = connection
        self.import_id = import_id
        self.file_name = file_name
        self.result = result
        self._orders_seen: set[str] = set()
        self._plans = {table.name: InsertPlan(connection, table) for table in (orders, order_lines, tracked_events)}
        self.preparer = BatchPreparer(
            import_id,
            source,
            self._plans[orders.name],
            self._plans[order_lines.name],
            self._plans[tracked_events.name],
        )

    def close(self) -> None:
        for plan in self._plans.values():
            plan.close()

    def write(self, batch: PreparedBatch) -> None:
        self._write_rejects(batch.rejected)
        self.result.read += batch.size
        if not batch.parsed:
            return
        new_orders = self._new_rows(orders, batch.orders, self._orders_seen)
        new_lines = self._new_rows(order_lines, batch.order_lines)
        new_events = self._new_rows(tracked_events, batch.events)
        new_customers = self._upsert_customers(batch.customers)
        for table, prepared, positions in (
            (orders, batch.orders, new_orders),
            (order_lines, batch.order_lines, new_lines),
            (tracked_events, batch.events, new_events),
        ):
            self._plans[table.name].insert(self.connection, [prepared.prepared[position] for position in positions])
        line_rows = [batch.order_lines.rows[position] for position in new_lines]
        event_rows = [batch.events.rows[position] for position in new_events]
        stored_ids = {
            order_lines.name: {row["id"] for row in line_rows},
            tracked_events.name: {row["id"] for row in event_rows},
            customers.name: new_customers,
        }
        stored = sum(1 for item in batch.parsed if item.key[1] in stored_ids.get(item.key[0], ()))
        self.result.stored += stored
        self.result.known += len(batch.parsed) - stored
        for rows in (line_rows, event_rows):
            self.result.touched.update(row["customer_id"] for row in rows if row.get("customer_id"))
        self.result.touched.update(new_customers)

    def mark_dirty(self) -> None:
        """Add the customers this import touched to ``dirty_profiles``."""
        ids = sorted(self.result.touched)
        for start in range(0, len(ids), DIRTY_CHUNK):
            chunk = ids[start : start + DIRTY_CHUNK]
            known = existing_ids(self.connection, dirty_profiles.c.customer_id, chunk)
            rows = [
                {"customer_id": customer_id, "import_id": self.import_id}
                for customer_id in chunk
                if customer_id not in known
            ]
            insert_rows(self.connection, dirty_profiles, rows)

    def _new_rows(self, table: Table, batch_rows: PreparedRows, seen: set[str] | None = None) -> list[int]:
        """Return the positions in ``batch_rows`` of the rows whose id is neither stored nor in ``seen``."""
        rows = batch_rows.rows
        positions = range(len(rows))
        if seen is not None:
            positions = [position for position in positions if rows[position]["id"] not in seen]
        if not positions:
            return []
        ids = [rows[position]["id"] for position in positions]
        known = existing_ids(self.connection, table.c.id, ids)
        if seen is not None:
            seen.update(ids)
        return [position for position in positions if rows[position]["id"] not in known]

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
        new = [dict(row, import_id=self.import_id) for customer_id, row in latest.items() if customer_id not in stored]
        insert_rows(self.connection, customers, new)
        changed = {row["id"] for row in new}
        for customer_id, row in latest.items():
            if customer_id in stored and row["updated_at"] > stored[customer_id]:
                values = dict(row, import_id=self.import_id)
                self.connection.execute(update(customers).where(customers.c.id == customer_id).values(**values))
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
