"""The preview of a shop database import: row counts, watermark ranges and converted sample rows.

Unless ``exact`` is asked for, the counts and ranges come from ``table_stats`` and read
no whole table: row counts are the database's estimates, and the watermark's range is
read only through an index. The samples are the newest rows by watermark (categories:
the first by key). Without an index on the watermark they are the last rows by key.
The import's own code (``records.Records``) converts them, so a sample row shows the
values the store would get, or the reason the import would reject or skip it. Nothing is
written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from segmento.adapters.ingest.items import RowError
from segmento.adapters.shopdb.convert import Converter, key_text
from segmento.adapters.shopdb.introspect import SourceTables
from segmento.adapters.shopdb.mapping import ROLES, Role, ShopMapping, TableMap
from segmento.adapters.shopdb.reader import ShopReader
from segmento.adapters.shopdb.records import Records, ShopReject
from segmento.adapters.shopdb.schema_info import TableInfo
from segmento.adapters.shopdb.table_stats import Count, WatermarkStats, row_count, scans_tables, watermark_stats

MAX_SAMPLE_LINES: Final = 5
"""Lines shown under each sample order."""

SOURCE_NAME: Final = "check"
"""Source name the sample conversion runs under; it appears in nothing that is shown."""


@dataclass(frozen=True)
class SampleRow:
    """One shop row as the import would store it: its key and converted values, or why it is not stored.

    ``outcome`` is ``None`` for a row stored as shown, otherwise ``rejected
    (reason): detail`` or ``skipped: why``. An order has its ``lines``.
    """

    key: str
    values: tuple[tuple[str, str], ...] = ()
    outcome: str | None = None
    lines: tuple[SampleRow, ...] = ()
    more_lines: int = 0


@dataclass(frozen=True)
class TablePreview:
    """The rows an import reads from one table: their count, the range of their watermark, and samples.

    ``sample_order`` describes how the samples were picked when it is not the newest by
    watermark, for example ``the last rows by id``.
    """

    role: Role
    table: str
    rows: Count
    watermark: str | None = None
    stats: WatermarkStats = WatermarkStats()
    samples: tuple[SampleRow, ...] = ()
    sample_order: str | None = None

    def describe(self) -> list[str]:
        """Return the lines that present the table above its samples."""
        text = f"{self.role}: {self.table}, {self.rows.describe('row')}"
        notes: list[str] = []
        if self.role == "categories":
            text += ", read whole on every import"
        elif self.watermark is not None:
            text += f", watermark {self.watermark}"
            if not self.stats.read_range:
                notes.append(f"the range of {self.watermark} was not read, because no index starts with it")
            elif self.stats.oldest is not None:
                text += f" from {_show(self.stats.oldest, utc=False)} to {_show(self.stats.newest, utc=False)}"
            nulls = self.stats.nulls
            if nulls.value is None:
                notes.append(f"rows where {self.watermark} is NULL were not counted, because no index starts with it")
            elif nulls.value:
                text += f", {nulls.describe('row')} with NULL (copied by reconciliation only)"
        if self.role == "order_lines":
            text += "; sample lines are shown with their orders"
        if self.sample_order is not None and self.samples:
            notes.append(f"the samples are {self.sample_order}")
        return [text, *(f"  ({note})" for note in notes)]


def preview_tables(
    shop: sa.Engine,
    mapping: ShopMapping,
    tables: SourceTables,
    schema: Mapping[str, TableInfo],
    samples: int,
    *,
    exact: bool = False,
) -> list[TablePreview]:
    """Return the preview of every mapped table, with up to ``samples`` sample rows each.

    ``schema`` contains the reflected indexes that decide what is cheap to read. With
    ``exact``, rows are counted and ranges read even where that scans a whole table.
    """
    reader = ShopReader(shop, mapping, tables)
    paths = reader.category_paths()
    records = Records(mapping, SOURCE_NAME, paths)
    previews: list[TablePreview] = []
    for role in ROLES:
        table_map = mapping.tables.get(role)
        if table_map is None:
            continue
        info = schema[table_map.table]
        with shop.connect() as connection:
            preview = _counts(connection, tables[role], info, table_map, exact)
            rows, order = _newest(connection, tables[role], info, table_map, samples, exact)
        if samples > 0:
            if role == "customers":
                found = _customers(records, table_map, rows)
            elif role == "categories":
                found = tuple(SampleRow(key, (("path", path),)) for key, path in list(paths.items())[:samples])
            elif role == "products":
                found = _products(mapping, table_map, rows, paths)
            elif role == "orders":
                found = _orders(records, reader, mapping, rows)
            else:
                found = ()  # Lines are shown with their orders.
            preview = dataclasses.replace(preview, samples=found, sample_order=order if role != "categories" else None)
        previews.append(preview)
    return previews


def _counts(connection: sa.Connection, table: sa.Table, info: TableInfo, table_map: TableMap, exact: bool) -> TablePreview:
    if table_map.role == "categories" or table_map.watermark is None:
        return TablePreview(table_map.role, table_map.table, row_count(connection, table_map.table, exact=exact))
    column = table_map.watermark_columns[0]
    stats = watermark_stats(connection, table, info, column, exact=exact)
    # A scan for the watermark's range counts the rows too.
    rows = stats.rows if stats.rows is not None else row_count(connection, table_map.table, exact=exact)
    return TablePreview(table_map.role, table_map.table, rows, column, stats)


def _newest(
    connection: sa.Connection, table: sa.Table, info: TableInfo, table_map: TableMap, limit: int, exact: bool
) -> tuple[list[RowMapping], str | None]:
    """Return the newest rows by watermark, which the next incremental import reads, and how they were picked otherwise.

    Sorting by a column that no index starts with reads the whole table, so without such
    an index on the watermark the rows are the last by key, or the first read.
    """
    if limit <= 0:
        return [], None
    key = table.c[table_map.key]
    statement = sa.select(table)
    order: str | None = None
    watermark = table_map.watermark_columns[0] if table_map.role != "categories" and table_map.watermark is not None else None
    if watermark is not None and (scans_tables(connection, exact) or info.index_starting_with(watermark)):
        columns = [table.c[name] for name in table_map.watermark_columns]
        statement = statement.where(columns[0].is_not(None)).order_by(*(column.desc() for column in columns))
    elif watermark is None or info.index_starting_with(key.name):
        statement = statement.order_by(key.desc() if watermark is not None else key)
        order = f"the last rows by {key.name}, because no index starts with {watermark}" if watermark is not None else None
    else:
        order = f"the first rows read, because no index starts with {watermark} or {key.name}"
    return list(connection.execute(statement.limit(limit)).mappings()), order


# --- conversions ----------------------------------------------------------------------------


def _customers(records: Records, table_map: TableMap, rows: Sequence[RowMapping]) -> tuple[SampleRow, ...]:
    converted, rejects = records.customer_rows(rows)
    by_id = {row["id"]: row for row in converted}
    rejected = _by_key(rejects)
    samples: list[SampleRow] = []
    for row in rows:
        key = _key(row, table_map.key)
        if key in rejected:
            samples.append(SampleRow(key, outcome=_rejected(rejected[key])))
            continue
        stored = by_id.get(key, {})
        values = [
            (name, _show_field(table_map, row, name, stored.get(name)))
            for name in ("name", "gender", "birthday", "city", "country", "signed_up_at")
            if name in table_map.columns
        ]
        samples.append(SampleRow(key, tuple(values)))
    return tuple(samples)


def _products(mapping: ShopMapping, table_map: TableMap, rows: Sequence[RowMapping], paths: Mapping[str, str]) -> tuple[SampleRow, ...]:
    converter = Converter(mapping, table_map)
    samples: list[SampleRow] = []
    for row in rows:
        key = _key(row, table_map.key)
        try:
            code = converter.text(row, "code") if converter.has("code") else key
            category = converter.reference(row, "category")
            values = [("code", _show(code or key)), ("name", _show(converter.text(row, "name")))]
            values.append(("category", _show(paths.get(category) if category is not None else None)))
            kind = converter.text(row, "line_kind") if converter.has("line_kind") else "product"
            values.append(("line_kind", _show_field(table_map, row, "line_kind", kind or "product")))
        except RowError as error:
            samples.append(SampleRow(key, outcome=f"its order lines are rejected ({error.reason}): {error.detail}"))
            continue
        samples.append(SampleRow(key, tuple(values)))
    return tuple(samples)


def _orders(records: Records, reader: ShopReader, mapping: ShopMapping, rows: Sequence[RowMapping]) -> tuple[SampleRow, ...]:
    orders_map = mapping.tables["orders"]
    lines_map = mapping.tables["order_lines"]
    keys = [row[orders_map.key] for row in rows if row[orders_map.key] is not None]
    # NOTE: this reads the whole lines table, even without exact, when no index starts with the
    # lines' order column. check warns about that missing index.
    lines = reader.lines(keys)
    batch = records.order_batch(keys, rows, lines)
    stored = {order["id"]: order for order in batch.orders}
    order_rejects = _by_key(reject for reject in batch.rejects if reject.table == orders_map.table)
    line_rejects = _by_key(reject for reject in batch.rejects if reject.table == lines_map.table)
    lines_by_order: dict[str, list[RowMapping]] = {}
    order_column = lines_map.columns["order"].column
    for line in lines:
        lines_by_order.setdefault(key_text(line[order_column]), []).append(line)
    stored_lines = {line["id"]: line for line in batch.lines}

    samples: list[SampleRow] = []
    for row in rows:
        key = _key(row, orders_map.key)
        if key in order_rejects:
            samples.append(SampleRow(key, outcome=_rejected(order_rejects[key])))
            continue
        order = stored.get(key)
        if order is None:
            status = records.orders.text(row, "status")
            samples.append(SampleRow(key, outcome=f"skipped: status {status!r} is listed under skip"))
            continue
        values = [
            ("customer", _show(order["customer_id"]) if order["customer_id"] is not None else "none (guest order)"),
            ("placed_at", _show_field(orders_map, row, "placed_at", order["time"])),
            ("country", _show(order["country"])),
            ("kind", "return (lowers the totals)" if order["is_cancellation"] else "sale"),
        ]
        shown: list[SampleRow] = []
        order_lines = lines_by_order.get(key, [])
        for line in order_lines[:MAX_SAMPLE_LINES]:
            line_key = _key(line, lines_map.key)
            if line_key in line_rejects:
                shown.append(SampleRow(line_key, outcome=_rejected(line_rejects[line_key])))
                continue
            item = stored_lines.get(f"{key}/{line_key}")
            if item is not None:
                shown.append(SampleRow(line_key, _line_values(item)))
        more = max(0, len(order_lines) - MAX_SAMPLE_LINES)
        samples.append(SampleRow(key, tuple(values), lines=tuple(shown), more_lines=more))
    return tuple(samples)


def _line_values(line: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return (
        ("product", _show(line["product_id"])),
        ("name", _show(line["description"])),
        ("category", _show(line["category"])),
        ("line_kind", line["line_kind"]),
        ("quantity", str(line["quantity"])),
        ("unit_price", _money(line["unit_price_micros"])),
        ("value", _money(line["value_micros"])),
    )


# --- display --------------------------------------------------------------------------------


def _by_key(rejects: Iterable[ShopReject]) -> dict[str, ShopReject]:
    return {reject.key: reject for reject in rejects}


def _rejected(reject: ShopReject) -> str:
    return f"rejected ({reject.reason}): {reject.detail}"


def _key(row: Mapping[str, Any], column: str) -> str:
    value = row[column]
    return "" if value is None else key_text(value)


def _show_field(table_map: TableMap, row: Mapping[str, Any], target: str, value: Any) -> str:
    """Return a converted value, followed by the shop's value where the conversion changed it (codes, times)."""
    text = _show(value)
    item = table_map.columns.get(target)
    if item is None:
        return text
    raw = row[item.column]
    if raw is None or (item.codes is None and not isinstance(raw, datetime)):
        return text
    return f"{text} ({item.column} {_show(raw, utc=False)})"


def _show(value: Any, *, utc: bool = True) -> str:
    if value is None:
        return "missing"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}" + (" UTC" if utc else "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _money(micros: int | None) -> str:
    """Return an amount of micro-units with at least 2 decimal places: ``2.55``, ``2.5512``."""
    if micros is None:
        return "missing"
    amount = Decimal(micros).scaleb(-6).normalize()
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return str(amount)
