"""Write converted shop rows into the workspace's store, one transaction per batch.

Each batch replaces what is stored for its orders (orders, lines and their purchase
events) or its customers. In the same transaction it adds the customers it touched to
``dirty_profiles``, stores its rejects, records the keys it read in ``shopdb_keys``,
and the copy advances the watermark and updates the import's counts. So an
interrupted import leaves whole batches only, and the stored watermark never points
past the stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa

from segmento.adapters.ingest.bulk import existing_ids, insert_rows
from segmento.adapters.ingest.loader import ImportResult
from segmento.adapters.ingest.model import customers, dirty_profiles, imports, order_lines, orders, rejects, tracked_events
from segmento.adapters.shopdb.convert import utc_now
from segmento.adapters.shopdb.records import OrderBatch, Row, ShopReject, event_id
from segmento.adapters.shopdb.state import forget_keys, record_keys

DELETE_SIZE: Final = 500
"""Ids per ``DELETE ... IN`` statement."""


class StoreWriter:
    """Writes the batches of one import, counting into ``result``."""

    def __init__(self, import_id: int, result: ImportResult) -> None:
        self.import_id = import_id
        self.result = result

    def replace_orders(self, connection: sa.Connection, batch: OrderBatch) -> int:
        """Replace everything stored for ``batch.keys`` by the batch's rows.

        Returns how many stored lines it removed and did not store again.
        """
        previous = self._stored_customers(connection, batch.keys)
        line_ids = [
            line_id
            for chunk in _chunks(batch.keys)
            for line_id in connection.scalars(sa.select(order_lines.c.id).where(order_lines.c.order_id.in_(chunk)))
        ]
        event_ids = [event_id(self.result.source, line_id) for line_id in line_ids]
        for chunk in _chunks(event_ids):
            connection.execute(sa.delete(tracked_events).where(tracked_events.c.id.in_(chunk)))
        for chunk in _chunks(batch.keys):
            connection.execute(sa.delete(order_lines).where(order_lines.c.order_id.in_(chunk)))
            connection.execute(sa.delete(orders).where(orders.c.id.in_(chunk)))
        insert_rows(connection, orders, self._stamped(batch.orders))
        insert_rows(connection, order_lines, self._stamped(batch.lines))
        insert_rows(connection, tracked_events, self._stamped(batch.events))
        self.result.read += batch.read
        self.result.stored += len(batch.orders) + len(batch.lines)
        self.reject(connection, batch.rejects)
        self.mark_dirty(connection, previous | batch.customers)
        record_keys(connection, self.result.source, "orders", batch.digests)
        forget_keys(connection, self.result.source, "orders", [key for key in batch.keys if key not in batch.digests])
        kept_lines = {line["id"] for line in batch.lines}
        return sum(1 for line_id in line_ids if line_id not in kept_lines)

    def replace_customers(
        self, connection: sa.Connection, rows: list[Row], read: int, rejected: list[ShopReject], keys: Sequence[str]
    ) -> None:
        """Store ``rows`` in ``customers``, replacing the stored rows with the same ids.

        ``keys`` are the keys of the ``read`` shop rows, including those rejected.
        """
        ids = [row["id"] for row in rows]
        for chunk in _chunks(ids):
            connection.execute(sa.delete(customers).where(customers.c.id.in_(chunk)))
        insert_rows(connection, customers, self._stamped(rows))
        self.result.read += read
        self.result.stored += len(rows)
        self.reject(connection, rejected)
        self.mark_dirty(connection, set(ids))
        record_keys(connection, self.result.source, "customers", dict.fromkeys(keys))

    def remove_customers(self, connection: sa.Connection, keys: Sequence[str]) -> None:
        """Remove the customers ``keys``, deleted from the shop, and mark them for the next profile build."""
        for chunk in _chunks(keys):
            connection.execute(sa.delete(customers).where(customers.c.id.in_(chunk)))
        self.mark_dirty(connection, keys)
        forget_keys(connection, self.result.source, "customers", keys)

    def reject(self, connection: sa.Connection, items: Sequence[ShopReject]) -> None:
        if not items:
            return
        self.result.rejected += len(items)
        self.result.reasons.update(item.reason for item in items)
        insert_rows(
            connection,
            rejects,
            [
                {
                    "import_id": self.import_id,
                    "source_file": item.table,
                    "line": _line_number(item.key),
                    "raw_row": item.raw,
                    "reason": item.reason,
                    "detail": item.detail[:500],
                }
                for item in items
            ],
        )

    def mark_dirty(self, connection: sa.Connection, customer_ids: Iterable[str]) -> None:
        """Add ``customer_ids`` to ``dirty_profiles``, so the next build rebuilds them."""
        ids = sorted(set(customer_ids))
        if not ids:
            return
        self.result.touched.update(ids)
        known = existing_ids(connection, dirty_profiles.c.customer_id, ids)
        insert_rows(
            connection, dirty_profiles, [{"customer_id": item, "import_id": self.import_id} for item in ids if item not in known]
        )

    def update_counts(self, connection: sa.Connection) -> None:
        result = self.result
        connection.execute(
            sa.update(imports)
            .where(imports.c.id == self.import_id)
            .values(
                rows_read=result.read,
                rows_stored=result.stored,
                rows_known=result.known,
                rows_rejected=result.rejected,
                customers_touched=len(result.touched),
                finished_at=utc_now(),
            )
        )

    def _stored_customers(self, connection: sa.Connection, order_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(order_ids):
            statement = sa.select(orders.c.customer_id).where(orders.c.id.in_(chunk), orders.c.customer_id.is_not(None))
            found.update(connection.scalars(statement.distinct()))
        return found

    def _stamped(self, rows: list[Row]) -> list[Row]:
        for row in rows:
            row["import_id"] = self.import_id
        return rows


def start_import(connection: sa.Connection, source: str, database: str) -> int:
    """Insert the ``imports`` row of a shop database import and return its id."""
    now = utc_now()
    return int(
        connection.execute(
            imports.insert().values(
                source=source, format="shopdb", file_name=database[:255], checksum="", started_at=now, finished_at=now
            )
        ).inserted_primary_key[0]
    )


def _line_number(key: str) -> int:
    # The rejects table numbers rows by line; a shop row has its integer key instead, else 0.
    return int(key) if key.isdigit() and int(key) < 2**31 else 0


def _chunks(items: Sequence[Any]) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), DELETE_SIZE):
        yield items[start : start + DELETE_SIZE]
