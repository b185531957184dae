"""Reconcile the shop's keys with the keys imports have read: remove deleted rows, copy missed ones.

The watermark passes copy the rows whose update time moved past the stored watermark.
They cannot see a row deleted from the shop, a row whose watermark column is ``NULL``,
or a row that committed with an update time below a watermark already stored. For
customers and orders, reconciliation compares the shop's primary keys with
``shopdb_keys``, the keys of every row an import has read, in two directions:

1. The recorded keys, in the store's key order, ``batch_size`` at a time, each chunk
   looked up in the shop by primary key. A key the shop no longer has is removed: a
   customer's row, or an order with its lines and purchase events. Its customer is
   marked dirty, so the next profile build recomputes or removes the profile.
2. The shop's keys, in the shop's key order, ``batch_size`` at a time, each chunk
   looked up in ``shopdb_keys``. A key not recorded is copied. For orders, the digest
   of the keys of their lines is compared too, so an order whose lines were added or
   deleted is copied again, which replaces its stored lines.

Neither side is ever read whole: each step keeps one chunk of keys in memory. Every
chunk that changes the store is one transaction, with its key records and the
import's counts, so an interrupted reconciliation leaves whole chunks, and the next one
finds what is left. The two sides are not merged in one sorted order because they sort differently:
the shop sorts keys by the column's type and collation (numbers numerically, text
usually ignoring case), the store sorts their text form byte by byte.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from segmento.adapters.checkpoints import checkpoint
from segmento.adapters.shopdb.convert import key_text
from segmento.adapters.shopdb.mapping import Role, ShopMapping
from segmento.adapters.shopdb.reader import ShopReader
from segmento.adapters.shopdb.state import keys_after, record_reconciliation, stored_digests
from segmento.adapters.shopdb.writer import StoreWriter

logger = logging.getLogger(__name__)

CHECKPOINT: Final = "shopdb_reconcile_chunk"
"""Test checkpoint reached in every reconciliation transaction, before it commits."""


class Copier(Protocol):
    """The copy steps of an import that reconciliation reuses."""

    def copy_customers(self, connection: sa.Connection, rows: Sequence[RowMapping]) -> None: ...

    def copy_orders(self, connection: sa.Connection, keys: Sequence[Any], rows: Sequence[Any] | None = None) -> int: ...


@dataclass
class ReconcileCounts:
    """Counts of the changes one reconciliation made, by shop table name."""

    deleted: Counter[str] = field(default_factory=Counter)
    """Rows deleted from the shop: customers and orders by key, lines as the stored lines removed."""
    copied: Counter[str] = field(default_factory=Counter)
    """Rows that no watermark pass had copied."""
    changed_orders: int = 0
    """Orders copied again because a line was added or deleted."""

    @property
    def rows_deleted(self) -> int:
        """Rows removed from the store because the shop no longer has them, lines included."""
        return sum(self.deleted.values())

    @property
    def rows_copied(self) -> int:
        """Customers and orders copied by reconciliation: never read before, or with changed lines."""
        return sum(self.copied.values()) + self.changed_orders

    def describe(self) -> str:
        """Return the counts as ``deleted t=n ...; copied t=n ...; orders with added or deleted lines n``."""
        deleted = " ".join(f"{table}={count}" for table, count in self.deleted.items())
        copied = " ".join(f"{table}={count}" for table, count in self.copied.items())
        return f"deleted {deleted}; copied {copied}; orders with added or deleted lines {self.changed_orders}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": dict(self.deleted),
            "copied": dict(self.copied),
            "orders_with_changed_lines": self.changed_orders,
        }


class Reconciliation:
    """One reconciliation of one source, run by an import after its watermark passes.

    NOTE: keys are compared, not contents, so a change to a recorded row whose watermark
    stays ``NULL`` is not copied, except a change to the keys of an order's lines.
    """

    def __init__(
        self, engine: sa.Engine, mapping: ShopMapping, source: str, reader: ShopReader, copier: Copier, writer: StoreWriter
    ) -> None:
        self.engine = engine
        self.mapping = mapping
        self.source = source
        self.reader = reader
        self.copier = copier
        self.writer = writer
        # Every table is listed, with 0 where nothing changed, in the order customers, orders, lines.
        self.counts = ReconcileCounts(
            deleted=Counter(dict.fromkeys(self._tables(("customers", "orders", "order_lines")), 0)),
            copied=Counter(dict.fromkeys(self._tables(("customers", "orders")), 0)),
        )
        writer.result.reconciliation = self.counts

    def run(self) -> ReconcileCounts:
        """Reconcile orders, then customers, record when it finished, and log and return the counts.

        The counts are also the import result's ``reconciliation``, so the run's summary and
        report show them.
        """
        started = time.perf_counter()
        logger.info("shop database reconciliation of %s started", self.source)
        self._deleted_orders()
        self._missing_orders()
        if "customers" in self.mapping.tables:
            self._deleted_customers()
            self._missing_customers()
        with self.engine.begin() as connection:
            record_reconciliation(connection, self.source, self.writer.import_id)
        logger.info(
            "shop database reconciliation of %s done: %s; seconds=%.1f",
            self.source,
            self.counts.describe(),
            time.perf_counter() - started,
        )
        return self.counts

    # --- orders --------------------------------------------------------------------------

    def _deleted_orders(self) -> None:
        for gone in self._gone_keys("orders"):
            with self.engine.begin() as connection:
                # Copying reads the shop again, so an order that came back in the meantime is kept.
                lines = self.copier.copy_orders(connection, gone)
                self._commit(connection)
            self.counts.deleted[self._table("orders")] += len(gone)
            self.counts.deleted[self._table("order_lines")] += lines

    def _missing_orders(self) -> None:
        after: Any = None
        while True:
            keys = self.reader.keys_after("orders", after, self.mapping.batch_size)
            if not keys:
                return
            after = keys[-1]
            by_text = {key_text(key): key for key in keys}
            current = self.reader.line_digests(keys)
            with self.engine.connect() as connection:
                recorded = stored_digests(connection, self.source, "orders", list(by_text))
            new = [key for text, key in by_text.items() if text not in recorded]
            changed = [key for text, key in by_text.items() if text in recorded and recorded[text] != current[text]]
            if not new and not changed:
                continue
            with self.engine.begin() as connection:
                lines = self.copier.copy_orders(connection, new + changed)
                self._commit(connection)
            self.counts.copied[self._table("orders")] += len(new)
            self.counts.changed_orders += len(changed)
            self.counts.deleted[self._table("order_lines")] += lines

    # --- customers -----------------------------------------------------------------------

    def _deleted_customers(self) -> None:
        for gone in self._gone_keys("customers"):
            with self.engine.begin() as connection:
                self.writer.remove_customers(connection, gone)
                self._commit(connection)
            self.counts.deleted[self._table("customers")] += len(gone)

    def _missing_customers(self) -> None:
        after: Any = None
        while True:
            keys = self.reader.keys_after("customers", after, self.mapping.batch_size)
            if not keys:
                return
            after = keys[-1]
            by_text = {key_text(key): key for key in keys}
            with self.engine.connect() as connection:
                recorded = stored_digests(connection, self.source, "customers", list(by_text))
            missing = [key for text, key in by_text.items() if text not in recorded]
            if not missing:
                continue
            rows = self.reader.rows_by_key("customers", missing)
            with self.engine.begin() as connection:
                self.copier.copy_customers(connection, rows)
                self._commit(connection)
            self.counts.copied[self._table("customers")] += len(rows)

    # --- helpers -------------------------------------------------------------------------

    def _gone_keys(self, role: Role) -> Iterator[list[str]]:
        """Yield, a chunk at a time, the recorded keys of ``role`` that the shop no longer has."""
        after: str | None = None
        while True:
            with self.engine.connect() as connection:
                keys = keys_after(connection, self.source, role, after, self.mapping.batch_size)
            if not keys:
                return
            after = keys[-1]
            present = self.reader.existing_keys(role, keys)
            gone = [key for key in keys if key not in present]
            if gone:
                yield gone

    def _commit(self, connection: sa.Connection) -> None:
        self.writer.update_counts(connection)
        checkpoint(CHECKPOINT, connection)

    def _table(self, role: Role) -> str:
        return self.mapping.tables[role].table

    def _tables(self, roles: Sequence[Role]) -> list[str]:
        return [self.mapping.tables[role].table for role in roles if role in self.mapping.tables]
