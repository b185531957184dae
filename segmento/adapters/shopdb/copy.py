"""Copy a shop database into the workspace's store: in full the first time, then by watermark.

An import reads, at its start, the newest ``(watermark, key)`` of every table (its
high mark) and copies the rows up to it, in four passes:

1. customers after their stored watermark;
2. orders after theirs, each with all its lines;
3. orders with a line changed after the lines' watermark, unless pass 2 copied them;
4. orders with a line of a product changed after the products' watermark, so a new
   name, category or kind reaches the lines, unless an earlier pass copied them.

Then it copies again the orders with a line of a product whose category path changed
(a category renamed or moved), and, when the mapping's ``reconcile`` policy says so,
reconciles the keys (``reconcile``): rows deleted from the shop are removed, and rows
no pass copied, such as those whose watermark is ``NULL``, are copied.

On the first import passes 3 and 4 have nothing to do: their watermarks start at their
high marks, because pass 2 reads every line after those were taken. Each batch is one
transaction with its watermark (see ``writer``). Copies replace rows, so running an
import again, or after an interruption, stores each row once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.checkpoints import checkpoint
from segmento.adapters.ingest.loader import ImportResult
from segmento.adapters.ingest.progress import Progress
from segmento.adapters.shopdb.convert import key_text, utc_now
from segmento.adapters.shopdb.introspect import check_mapping
from segmento.adapters.shopdb.mapping import Role, ShopMapping
from segmento.adapters.shopdb.mapping_file import load_mapping
from segmento.adapters.shopdb.reader import ShopReader
from segmento.adapters.shopdb.reconcile import Reconciliation
from segmento.adapters.shopdb.records import Records
from segmento.adapters.shopdb.state import (
    Watermark,
    check_state_tables,
    digest,
    forget_keys,
    last_reconciled,
    read_watermark,
    record_keys,
    stored_digests,
    write_watermark,
)
from segmento.adapters.shopdb.writer import StoreWriter, start_import
from segmento.adapters.urls import create_engine, mask_url, redact
from segmento.engine.errors import DataError, Location

logger = logging.getLogger(__name__)

FORMAT: Final = "shopdb"
PASSES: Final[tuple[Role, ...]] = ("customers", "orders", "order_lines", "products")
DEPENDENT: Final[frozenset[Role]] = frozenset({"order_lines", "products"})
"""Roles whose changes are copied through their orders; their first watermark is their high mark."""


@dataclass(frozen=True, slots=True)
class ShopDbSource:
    """A workspace source that copies a shop database, described by a mapping file."""

    name: str
    mapping: Path
    format: str = FORMAT


CONFIG_KEYS: Final = frozenset({"name", "format", "mapping"})
"""Keys of a ``format: shopdb`` entry under a workspace's ``sources``."""


def source_from_config(entry: Mapping[str, Any], base: Path, location: Location) -> ShopDbSource:
    """Return the source that a workspace config entry describes; its mapping is read at import time."""
    for key in entry:
        if key not in CONFIG_KEYS:
            raise DataError(
                f"unknown setting {key!r} for a shopdb source",
                location=location.child(str(key)),
                hint="A shopdb source has name, format and mapping; the time zone is set in the mapping file",
                code="config_key",
            )
    mapping = entry.get("mapping")
    if not isinstance(mapping, str) or not mapping:
        raise DataError(
            "a shopdb source needs a mapping file",
            location=location.child("mapping"),
            hint="For example mapping: shopdb-mapping.yaml, relative to the config file",
            code="config_missing",
        )
    return ShopDbSource(str(entry.get("name") or FORMAT), base / mapping)


def import_shopdb(
    engine: sa.Engine,
    source: ShopDbSource,
    progress: Progress | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ImportResult:
    """Copy what changed in ``source``'s shop database into the store on ``engine``.

    Raises ``DataError`` when the mapping is invalid or does not fit the live schema
    (before anything is written), or when the shop database cannot be reached.
    """
    started = time.perf_counter()
    mapping = load_mapping(source.mapping)
    url = mapping.resolve_url(environ)
    display_url = mask_url(url)
    result = ImportResult(source.name, display_url, "")
    shop = create_engine(url, poolclass=NullPool)
    try:
        try:
            with shop.connect() as connection:
                tables = check_mapping(mapping, connection)
        except sa.exc.OperationalError as error:
            raise DataError(
                f"cannot connect to the shop database {display_url}: {redact(str(error.orig), [url])}",
                location=mapping.url_location,
                hint="Check the host, the database name and the credentials in the variables the url refers to",
                code="shopdb_connect",
            ) from None
        with engine.connect() as connection:
            check_state_tables(connection)
        reader = ShopReader(shop, mapping, tables)
        _Copy(engine, mapping, source.name, reader, result, progress).run()
    finally:
        shop.dispose()
    result.seconds = time.perf_counter() - started
    logger.info(
        "shop database import done source=%s database=%s read=%d stored=%d rejected=%d deleted=%d customers=%d"
        " seconds=%.1f",
        source.name,
        display_url,
        result.read,
        result.stored,
        result.rejected,
        result.deleted,
        len(result.touched),
        result.seconds,
    )
    return result


class _Copy:
    """One import of one shop database."""

    def __init__(
        self,
        engine: sa.Engine,
        mapping: ShopMapping,
        source: str,
        reader: ShopReader,
        result: ImportResult,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.mapping = mapping
        self.source = source
        self.reader = reader
        self.result = result
        self.progress = progress
        self.copied: set[str] = set()
        """Orders copied by this import, which later passes need not copy again."""
        self.done = 0

    def run(self) -> None:
        roles = [role for role in PASSES if role in self.mapping.tables and self.mapping.tables[role].watermark]
        highs: dict[Role, Watermark | None] = {role: self.reader.high_mark(role) for role in roles}
        with self.engine.begin() as connection:
            self.result.import_id = start_import(connection, self.source, self.result.file_name)
            lows = {role: read_watermark(connection, self.source, role, self.mapping.tables[role].watermark_columns) for role in roles}
            for role in DEPENDENT & set(roles):
                high = highs[role]
                if lows[role] is None and high is not None:
                    write_watermark(connection, self.source, role, high)
                    lows[role] = high
            reconcile = self.mapping.reconcile.due(last_reconciled(connection, self.source), utc_now())
        self.writer = StoreWriter(self.result.import_id, self.result)
        self.records = Records(self.mapping, self.source, self.reader.category_paths())
        total = sum(self.reader.count_between(role, lows[role], high) for role, high in highs.items() if high is not None)
        logger.info("shop database import of %s: %d changed rows to read", self.source, total)
        if self.progress is not None:
            self.progress.start(f"{self.source} (shop database)", total)
        try:
            for role in roles:
                high = highs[role]
                if high is not None:
                    self._pass(role, lows[role], high)
            self._changed_categories()
        finally:
            if self.progress is not None:
                self.progress.finish()
        if reconcile:
            Reconciliation(self.engine, self.mapping, self.source, self.reader, self, self.writer).run()
        else:
            logger.info(
                "shop database import of %s: no reconciliation this time (reconcile: %s)", self.source, self.mapping.reconcile.describe()
            )
        with self.engine.begin() as connection:
            self.writer.update_counts(connection)

    def _pass(self, role: Role, low: Watermark | None, high: Watermark) -> None:
        step: Callable[[sa.Connection, Sequence[Any]], None] = {
            "customers": self._customers,
            "orders": self._orders,
            "order_lines": self._changed_lines,
            "products": self._changed_products,
        }[role]
        while True:
            rows = self.reader.rows_after(role, low, high, self.mapping.batch_size)
            if not rows:
                return
            mark = self.reader.mark_of(role, rows[-1])
            with self.engine.begin() as connection:
                step(connection, rows)
                write_watermark(connection, self.source, role, mark)
                self.writer.update_counts(connection)
                checkpoint("shopdb_batch_written", connection)
            low = mark
            self.done += len(rows)
            logger.debug("copied %d %s rows of %s", len(rows), role, self.source)
            if self.progress is not None:
                self.progress.update(self.done, self.result.read, self.result.rejected)

    def _changed_categories(self) -> None:
        """Copy again the orders with a line of a product whose category path changed since the last import.

        The paths are recorded per category key, after the orders are copied, so an
        interrupted import finds the same changes again. The first import, or the first
        after an upgrade, only records them.
        """
        if "categories" not in self.mapping.tables:
            return
        current = {key: digest([path]) for key, path in self.records.category_paths.items()}
        with self.engine.connect() as connection:
            previous = stored_digests(connection, self.source, "categories")
        changed = sorted(key for key in current.keys() | previous.keys() if current.get(key) != previous.get(key))
        if not changed:
            return
        if previous:
            products = self.reader.products_in_categories(changed)
            logger.info(
                "shop database import of %s: %d categories changed their path; copying the orders of %d products again",
                self.source,
                len(changed),
                len(products),
            )
            for start in range(0, len(products), self.mapping.batch_size):
                order_keys = self._not_copied(self.reader.order_keys_of_products(products[start : start + self.mapping.batch_size]))
                for first in range(0, len(order_keys), self.mapping.batch_size):
                    with self.engine.begin() as connection:
                        self.copy_orders(connection, order_keys[first : first + self.mapping.batch_size])
                        self.writer.update_counts(connection)
                        checkpoint("shopdb_batch_written", connection)
        with self.engine.begin() as connection:
            record_keys(connection, self.source, "categories", {key: current[key] for key in changed if key in current})
            forget_keys(connection, self.source, "categories", [key for key in changed if key not in current])

    def _customers(self, connection: sa.Connection, rows: Sequence[Any]) -> None:
        self.copy_customers(connection, rows)

    def _orders(self, connection: sa.Connection, rows: Sequence[Any]) -> None:
        order_key = self.mapping.tables["orders"].key
        keys = [row[order_key] for row in rows]
        self.copy_orders(connection, keys, rows)

    def _changed_lines(self, connection: sa.Connection, rows: Sequence[Any]) -> None:
        self.result.read += len(rows)
        self.copy_orders(connection, self._not_copied(self.reader.order_keys_of_lines(rows)))

    def _changed_products(self, connection: sa.Connection, rows: Sequence[Any]) -> None:
        self.result.read += len(rows)
        product_key = self.mapping.tables["products"].key
        order_keys = self.reader.order_keys_of_products([row[product_key] for row in rows])
        self.copy_orders(connection, self._not_copied(order_keys))

    def copy_customers(self, connection: sa.Connection, rows: Sequence[Any]) -> None:
        """Store the customer ``rows`` read from the shop, and record their keys."""
        key = self.mapping.tables["customers"].key
        converted, rejected = self.records.customer_rows(rows)
        keys = [key_text(row[key]) for row in rows if row[key] is not None]
        self.writer.replace_customers(connection, converted, len(rows), rejected, keys)

    def copy_orders(self, connection: sa.Connection, keys: Sequence[Any], rows: Sequence[Any] | None = None) -> int:
        """Replace the stored orders ``keys`` by the shop's rows (read now unless ``rows`` is given), with their lines.

        Returns how many stored lines the copy removed and did not store again.
        """
        if not keys:
            return 0
        if rows is None:
            rows = self.reader.orders(keys)
        batch = self.records.order_batch(keys, rows, self.reader.lines(keys))
        removed_lines = self.writer.replace_orders(connection, batch)
        self.copied.update(batch.keys)
        return removed_lines

    def _not_copied(self, keys: Sequence[Any]) -> list[Any]:
        return [key for key in keys if key_text(key) not in self.copied]
