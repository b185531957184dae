"""Build segmento's rows from a batch of shop rows: customers, and orders with their lines.

What each shop row becomes:

- an order in a ``skip`` status (not paid, cancelled): nothing, and an earlier copy of
  it is removed;
- an order in a ``returns`` status: a cancellation order whose lines have negative
  quantities, which lowers the customer's totals and is no purchase event;
- any other order: an order, its lines and, for product lines of a known customer, one
  ``purchase`` event per line;
- a line's product gives its code (the product id in rules), description, category
  path and line kind. A line whose product row is missing keeps the product key.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy.engine import RowMapping

from segmento.adapters.ingest.items import RowError
from segmento.adapters.ingest.model import ID_LENGTH
from segmento.adapters.shopdb.convert import Converter, key_text, line_amounts, utc_now
from segmento.adapters.shopdb.mapping import ShopMapping
from segmento.adapters.shopdb.reader import PRODUCT_PREFIX
from segmento.adapters.shopdb.state import digest

Row = dict[str, Any]

DESCRIPTION_LENGTH: Final = 500


@dataclass(frozen=True, slots=True)
class ShopReject:
    """A shop row that is not stored: its table, key, values, reason code and detail."""

    table: str
    key: str
    raw: str
    reason: str
    detail: str


@dataclass
class OrderBatch:
    """Rows that replace everything stored for the orders ``keys``.

    ``digests`` has, for every order row read (stored, skipped or rejected), the digest
    of its lines' keys; a key without an order row has none.
    """

    keys: list[str] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    lines: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    rejects: list[ShopReject] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    read: int = 0

    @property
    def customers(self) -> set[str]:
        return {row["customer_id"] for row in self.orders if row["customer_id"] is not None}


class Records:
    """Converts shop rows for one source, with the category paths read at the start of an import."""

    def __init__(self, mapping: ShopMapping, source: str, category_paths: Mapping[str, str]) -> None:
        self.mapping = mapping
        self.source = source
        self.category_paths = category_paths
        self.customers = Converter(mapping, mapping.tables["customers"]) if "customers" in mapping.tables else None
        self.orders = Converter(mapping, mapping.tables["orders"])
        self.lines = Converter(mapping, mapping.tables["order_lines"])
        self.products = Converter(mapping, mapping.tables["products"]) if "products" in mapping.tables else None

    # --- customers ---------------------------------------------------------------------------

    def customer_rows(self, rows: Iterable[RowMapping]) -> tuple[list[Row], list[ShopReject]]:
        """Return the ``customers`` rows of shop customer rows, and the rows rejected."""
        converter = self.customers
        if converter is None:
            return [], []
        result: list[Row] = []
        rejects: list[ShopReject] = []
        watermark = converter.table.watermark
        for row in rows:
            try:
                customer_id = _id(converter.key(row), converter.table.table)
                signed_up_at = converter.instant(row, "signed_up_at")
                updated_at = None
                if watermark is not None and watermark != converter.table.key and isinstance(row[watermark], datetime):
                    updated_at = converter.instant_of(row[watermark], watermark)
                result.append(
                    {
                        "id": customer_id,
                        "name": converter.text(row, "name"),
                        "gender": converter.text(row, "gender"),
                        "birthday": converter.date(row, "birthday"),
                        "city": converter.text(row, "city"),
                        "country": converter.text(row, "country"),
                        "signed_up_at": signed_up_at,
                        # The time the traits were recorded; rows after a run's as_of do not count.
                        "updated_at": updated_at or signed_up_at or utc_now(),
                    }
                )
            except RowError as error:
                rejects.append(_reject(converter.table.table, row, converter.table.key, error))
        return result, rejects

    # --- orders ------------------------------------------------------------------------------

    def order_batch(self, order_keys: Iterable[Any], orders: Iterable[RowMapping], lines: Iterable[RowMapping]) -> OrderBatch:
        """Return the rows of ``orders`` and ``lines`` that replace the stored orders ``order_keys``.

        An order key without an order row (deleted, or skipped) only removes what is stored.
        """
        batch = OrderBatch(keys=list(dict.fromkeys(key_text(key) for key in order_keys)))
        lines_by_order: dict[str, list[RowMapping]] = defaultdict(list)
        order_column = self.lines.table.columns["order"].column
        for line in lines:
            batch.read += 1
            if line[order_column] is not None:
                lines_by_order[key_text(line[order_column])].append(line)
        statuses = self.mapping.statuses
        line_key = self.lines.table.key
        for row in orders:
            batch.read += 1
            if row[self.orders.table.key] is not None:
                key = key_text(row[self.orders.table.key])
                batch.digests[key] = digest(key_text(line[line_key]) for line in lines_by_order.get(key, ()))
            try:
                order_id = _id(self.orders.key(row), self.orders.table.table)
                status = self.orders.text(row, "status")
                if status is not None and status in statuses.skip:
                    continue
                placed_at = self.orders.instant(row, "placed_at")
                if placed_at is None:
                    raise RowError("missing_field", f"{self.orders.table.table}.{self.orders.table.columns['placed_at'].column} is empty")
                order = {
                    "id": order_id,
                    "customer_id": self.orders.reference(row, "customer"),
                    "time": placed_at,
                    "country": self.orders.text(row, "country"),
                    "is_cancellation": status is not None and status in statuses.returns,
                    "source": self.source,
                    "source_line": 0,
                }
            except RowError as error:
                batch.rejects.append(_reject(self.orders.table.table, row, self.orders.table.key, error))
                continue
            batch.orders.append(order)
            for line in lines_by_order.get(order_id, ()):
                try:
                    self._add_line(batch, order, line)
                except RowError as error:
                    batch.rejects.append(_reject(self.lines.table.table, line, self.lines.table.key, error))
        return batch

    def _add_line(self, batch: OrderBatch, order: Row, line: RowMapping) -> None:
        converter = self.lines
        line_id = _id(f"{order['id']}/{converter.key(line)}", converter.table.table)
        product_key = converter.reference(line, "product")
        if product_key is None:
            raise RowError("missing_field", f"{converter.table.table}.{converter.table.columns['product'].column} is empty")
        code, description, category, line_kind = self._product(line, product_key)
        quantity = converter.integer(line, "quantity")
        price = converter.money(line, "unit_price")
        if quantity is None or price is None:
            raise RowError("missing_field", "quantity or unit price is empty")
        quantity, value = line_amounts(quantity, price, is_return=order["is_cancellation"])

        batch.lines.append(
            {
                "id": line_id,
                "order_id": order["id"],
                "customer_id": order["customer_id"],
                "time": order["time"],
                "is_cancellation": order["is_cancellation"],
                "line_kind": line_kind,
                "product_id": _id(code, "product code"),
                "description": description[:DESCRIPTION_LENGTH] if description else None,
                "category": category,
                "quantity": quantity,
                "unit_price_micros": price,
                "value_micros": value,
                "source_line": 0,
            }
        )

        if order["customer_id"] is None or line_kind != "product" or order["is_cancellation"]:
            return
        batch.events.append(
            {
                "id": event_id(self.source, line_id),
                "time": order["time"],
                "customer_id": order["customer_id"],
                "anonymous_id": None,
                "session_id": None,
                "kind": "purchase",
                "product_id": code,
                "category": category,
                "brand": None,
                "price_micros": price,
                "quantity": quantity,
                "value_micros": value,
                "search_query": None,
                "order_id": order["id"],
                "source": self.source,
                "source_line": 0,
                "raw": None,
            }
        )

    def _product(self, line: RowMapping, product_key: str) -> tuple[str, str | None, str | None, str]:
        """Return the line's product code, description, category path and line kind."""
        converter = self.products
        if converter is None or line.get(PRODUCT_PREFIX + converter.table.key) is None:
            return product_key, None, None, "product"
        product = {name[len(PRODUCT_PREFIX) :]: value for name, value in line.items() if name.startswith(PRODUCT_PREFIX)}
        code = converter.text(product, "code") if converter.has("code") else product_key
        category_key = converter.reference(product, "category")
        category = self.category_paths.get(category_key) if category_key is not None else None
        line_kind = converter.text(product, "line_kind") if converter.has("line_kind") else "product"
        return code or product_key, converter.text(product, "name"), category or None, line_kind or "product"


def _id(value: str, table: str) -> str:
    if len(value) > ID_LENGTH:
        raise RowError("key_too_long", f"{table} key {value[:40]!r}... is longer than {ID_LENGTH} characters")
    return value


def event_id(source: str, line_id: str) -> str:
    """Return the id of a line's purchase event; a hash keeps a long one within the column."""
    text = f"{source}:{line_id}"
    if len(text) <= ID_LENGTH:
        return text
    return f"{source[:40]}:{hashlib.sha256(line_id.encode()).hexdigest()[:48]}"


def _reject(table: str, row: Mapping[str, Any], key_column: str, error: RowError) -> ShopReject:
    key = row.get(key_column)
    raw = json.dumps({name: value for name, value in row.items()}, default=str, ensure_ascii=False)
    return ShopReject(table, "" if key is None else key_text(key), raw, error.reason, error.detail)
