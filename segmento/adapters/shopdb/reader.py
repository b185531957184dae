"""Queries on the shop database: rows past a watermark, orders with their lines, keys, category paths.

Rows are read in ``(watermark, key)`` order with keyset pagination, so rows that share
an update time are neither skipped nor read twice at a batch boundary. A row whose
watermark is ``NULL`` is in no such range; only reconciliation copies it. Each query
runs in its own short transaction, so the copy keeps no long read open on the shop's
database. Every statement is built with SQLAlchemy Core from the reflected tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.elements import ColumnElement

from segmento.adapters.shopdb.convert import key_text
from segmento.adapters.shopdb.introspect import SourceTables
from segmento.adapters.shopdb.mapping import Role, ShopMapping, TableMap
from segmento.adapters.shopdb.state import Watermark, digest

LOOKUP_SIZE: Final = 500
"""Keys per ``IN`` list."""

PRODUCT_PREFIX: Final = "product__"
"""Prefix of the product columns joined to order lines, so they cannot clash with the line's own."""


class ShopReader:
    """Reads the mapped tables of one shop database."""

    def __init__(self, engine: sa.Engine, mapping: ShopMapping, tables: SourceTables) -> None:
        self.engine = engine
        self.mapping = mapping
        self.tables = tables

    def table_map(self, role: Role) -> TableMap:
        return self.mapping.tables[role]

    # --- watermarks ----------------------------------------------------------------------

    def high_mark(self, role: Role) -> Watermark | None:
        """Return the watermark of the newest row to copy now, or ``None`` when the table is empty.

        With ``settle_seconds``, rows updated less than that long ago (by the database's
        clock) are left for the next import.
        """
        table_map = self.table_map(role)
        columns = self._watermark_columns(role)
        # PostgreSQL sorts NULL first in descending order; a NULL watermark is no high mark.
        statement = sa.select(*columns).where(columns[0].is_not(None)).order_by(*(column.desc() for column in columns)).limit(1)
        with self.engine.connect() as connection:
            settle = self._settle_bound(connection, role)
            if settle is not None:
                statement = statement.where(columns[0] <= settle)
            row = connection.execute(statement).first()
        return None if row is None else Watermark(table_map.watermark_columns, tuple(row))

    def count_between(self, role: Role, low: Watermark | None, high: Watermark) -> int:
        """Return how many rows lie after ``low`` and up to ``high``."""
        table = self.tables[role]
        statement = sa.select(sa.func.count()).select_from(table).where(*self._range(role, low, high))
        with self.engine.connect() as connection:
            return int(connection.scalar(statement) or 0)

    def rows_after(self, role: Role, low: Watermark | None, high: Watermark, limit: int) -> list[RowMapping]:
        """Return up to ``limit`` rows after ``low`` and up to ``high``, in watermark order."""
        table = self.tables[role]
        columns = self._watermark_columns(role)
        statement = sa.select(table).where(*self._range(role, low, high)).order_by(*columns).limit(limit)
        with self.engine.connect() as connection:
            return list(connection.execute(statement).mappings())

    def mark_of(self, role: Role, row: RowMapping) -> Watermark:
        table_map = self.table_map(role)
        return Watermark(table_map.watermark_columns, tuple(row[name] for name in table_map.watermark_columns))

    # --- orders and lines ----------------------------------------------------------------

    def orders(self, keys: Sequence[Any]) -> list[RowMapping]:
        """Return the order rows with the given keys."""
        return self.rows_by_key("orders", keys)

    def rows_by_key(self, role: Role, keys: Sequence[Any]) -> list[RowMapping]:
        """Return the rows of ``role``'s table with the given keys."""
        table = self.tables[role]
        key = table.c[self.table_map(role).key]
        rows: list[RowMapping] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(typed_keys(key, keys)):
                rows.extend(connection.execute(sa.select(table).where(key.in_(chunk))).mappings())
        return rows

    def lines(self, order_keys: Sequence[Any]) -> list[RowMapping]:
        """Return the lines of the given orders, each with its product's columns prefixed ``product__``."""
        lines = self.tables["order_lines"]
        lines_map = self.table_map("order_lines")
        order_column = lines.c[lines_map.columns["order"].column]
        selected: list[Any] = list(lines.c)
        source: Any = lines
        products = self.tables.get("products")
        if products is not None:
            products_map = self.table_map("products")
            selected += [column.label(PRODUCT_PREFIX + column.name) for column in products.c]
            product_column = lines.c[lines_map.columns["product"].column]
            source = lines.outerjoin(products, product_column == products.c[products_map.key])
        rows: list[RowMapping] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(typed_keys(order_column, order_keys)):
                statement = sa.select(*selected).select_from(source).where(order_column.in_(chunk))
                rows.extend(connection.execute(statement.order_by(lines.c[lines_map.key])).mappings())
        return rows

    def order_keys_of_lines(self, rows: Iterable[RowMapping]) -> list[Any]:
        column = self.table_map("order_lines").columns["order"].column
        return list(dict.fromkeys(row[column] for row in rows if row[column] is not None))

    def order_keys_of_products(self, product_keys: Sequence[Any]) -> list[Any]:
        """Return the keys of every order with a line of one of the given products."""
        lines = self.tables["order_lines"]
        lines_map = self.table_map("order_lines")
        order_column = lines.c[lines_map.columns["order"].column]
        product_column = lines.c[lines_map.columns["product"].column]
        keys: dict[Any, None] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(product_keys):
                statement = sa.select(order_column).where(product_column.in_(chunk)).distinct()
                keys.update(dict.fromkeys(connection.scalars(statement)))
        return list(keys)

    def line_digests(self, order_keys: Sequence[Any]) -> dict[str, str]:
        """Return, for each of the given orders (by key as text), the digest of its lines' keys.

        It equals the digest ``records.order_batch`` computes from the lines it copies,
        so a difference means a line was added or deleted since the order was copied.
        """
        lines = self.tables["order_lines"]
        lines_map = self.table_map("order_lines")
        order_column = lines.c[lines_map.columns["order"].column]
        keys: dict[str, list[str]] = defaultdict(list)
        with self.engine.connect() as connection:
            for chunk in _chunks(order_keys):
                statement = sa.select(order_column, lines.c[lines_map.key]).where(order_column.in_(chunk))
                for order_key, line_key in connection.execute(statement):
                    keys[key_text(order_key)].append(key_text(line_key))
        return {key_text(order_key): digest(keys.get(key_text(order_key), ())) for order_key in order_keys}

    # --- keys ----------------------------------------------------------------------------

    def keys_after(self, role: Role, after: Any, limit: int) -> list[Any]:
        """Return up to ``limit`` keys of ``role``'s table after ``after`` (``None``: from the start), in key order."""
        key = self.tables[role].c[self.table_map(role).key]
        statement = sa.select(key).where(key.is_not(None))
        if after is not None:
            statement = statement.where(key > after)
        with self.engine.connect() as connection:
            return list(connection.scalars(statement.order_by(key).limit(limit)))

    def existing_keys(self, role: Role, keys: Sequence[str]) -> set[str]:
        """Return the members of ``keys`` (keys as text) that ``role``'s table still has."""
        key = self.tables[role].c[self.table_map(role).key]
        found: set[str] = set()
        with self.engine.connect() as connection:
            for chunk in _chunks(typed_keys(key, keys)):
                found.update(key_text(value) for value in connection.scalars(sa.select(key).where(key.in_(chunk))))
        return found & set(keys)

    def products_in_categories(self, category_keys: Sequence[str]) -> list[Any]:
        """Return the keys of the products in the given categories (keys as text)."""
        products = self.tables.get("products")
        category = self.table_map("products").column("category") if products is not None else None
        if products is None or category is None:
            return []
        column = products.c[category]
        key = products.c[self.table_map("products").key]
        found: list[Any] = []
        with self.engine.connect() as connection:
            for chunk in _chunks(typed_keys(column, category_keys)):
                found.extend(connection.scalars(sa.select(key).where(column.in_(chunk))))
        return found

    # --- categories ----------------------------------------------------------------------

    def category_paths(self) -> dict[str, str]:
        """Return the dotted path of every category (``home.kitchen``) by its key as text.

        A path is the names from the root down. A parent that does not exist, or a cycle,
        ends the path where it breaks.
        """
        table = self.tables.get("categories")
        if table is None:
            return {}
        table_map = self.table_map("categories")
        name_column = table_map.columns["name"].column
        parent_column = table_map.column("parent")
        with self.engine.connect() as connection:
            rows = list(connection.execute(sa.select(table)).mappings())
        names: dict[str, str] = {}
        parents: dict[str, str | None] = {}
        for row in rows:
            key = key_text(row[table_map.key])
            names[key] = key_text(row[name_column]) if row[name_column] is not None else key
            parent = row[parent_column] if parent_column is not None else None
            parents[key] = key_text(parent) if parent is not None else None
        paths: dict[str, str] = {}
        for key in names:
            parts: list[str] = []
            seen: set[str] = set()
            current: str | None = key
            while current is not None and current in names and current not in seen:
                seen.add(current)
                parts.append(names[current])
                current = parents[current]
            paths[key] = ".".join(reversed(parts))
        return paths

    # --- helpers -------------------------------------------------------------------------

    def _watermark_columns(self, role: Role) -> list[sa.Column[Any]]:
        table = self.tables[role]
        return [table.c[name] for name in self.table_map(role).watermark_columns]

    def _range(self, role: Role, low: Watermark | None, high: Watermark) -> list[ColumnElement[bool]]:
        columns = self._watermark_columns(role)
        conditions = [_at_most(columns, high.values)]
        if low is not None:
            conditions.append(_after(columns, low.values))
        return conditions

    def _settle_bound(self, connection: sa.Connection, role: Role) -> datetime | None:
        if self.mapping.settle_seconds <= 0:
            return None
        column = self._watermark_columns(role)[0]
        if not isinstance(column.type, sa.DateTime):
            return None
        now = connection.scalar(sa.select(sa.func.current_timestamp()))
        if isinstance(now, str):
            now = datetime.fromisoformat(now)
        if not isinstance(now, datetime):
            return None
        return now - timedelta(seconds=self.mapping.settle_seconds)


def _after(columns: Sequence[sa.Column[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Return ``(columns) > (values)``, written so that an index on the columns serves it."""
    if len(columns) == 1:
        return columns[0] > values[0]
    first, second = columns
    return sa.and_(first >= values[0], sa.or_(first > values[0], second > values[1]))


def _at_most(columns: Sequence[sa.Column[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Return ``(columns) <= (values)``."""
    if len(columns) == 1:
        return columns[0] <= values[0]
    first, second = columns
    return sa.and_(first <= values[0], sa.or_(first < values[0], second <= values[1]))


def typed_keys(column: sa.Column[Any], texts: Iterable[Any]) -> list[Any]:
    """Return keys, such as those stored as text, as values of ``column``'s type.

    PostgreSQL cannot compare an integer column with text, and MySQL may not use the
    column's index for it. A text that is no value of the type (``"A1"`` for an integer
    column) matches no row, so it is left out.
    """
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return list(texts)
    values: list[Any] = []
    for text in texts:
        if python_type is int:
            try:
                values.append(int(text))
            except ValueError:
                continue
        elif python_type is Decimal:
            try:
                values.append(Decimal(text))
            except InvalidOperation:
                continue
        else:
            values.append(text)
    return values


def _chunks(keys: Sequence[Any]) -> Iterable[list[Any]]:
    keys = list(keys)
    for start in range(0, len(keys), LOOKUP_SIZE):
        yield keys[start : start + LOOKUP_SIZE]
