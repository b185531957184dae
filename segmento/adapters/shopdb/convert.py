"""Turn rows of the shop's tables into rows of segmento's customer and order tables.

Conversions follow the mapping: text becomes NFC without surrounding spaces (empty is
missing), codes are looked up, naive datetimes are read in the mapping's time zone and
stored as naive UTC, money becomes integer micro-units. A value that cannot be
converted raises ``RowError`` with a reject reason, and the copy rejects that row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from segmento.adapters.ingest.items import MAX_INTEGER, RowError, line_value, money_micros
from segmento.adapters.ingest.model import naive_utc
from segmento.adapters.shopdb.mapping import ColumnMap, Role, ShopMapping, TableMap
from segmento.engine.temporal import load_timezone
from segmento.engine.text import normalize

Row = dict[str, Any]


class Converter:
    """Reads the mapped fields of one table's rows with the conversions of the mapping."""

    def __init__(self, mapping: ShopMapping, table: TableMap) -> None:
        self.table = table
        self._zones: dict[str, tzinfo] = {}
        self._default_zone = load_timezone(mapping.timezone)
        for item in table.columns.values():
            if item.timezone is not None:
                self._zones[item.target] = load_timezone(item.timezone)

    @property
    def role(self) -> Role:
        return self.table.role

    def key(self, row: Mapping[str, Any]) -> str:
        """Return the row's key as text, the form segmento stores ids in."""
        value = row[self.table.key]
        if value is None:
            raise RowError("missing_field", f"{self.table.table}.{self.table.key} is empty")
        return key_text(value)

    def has(self, target: str) -> bool:
        return target in self.table.columns

    def text(self, row: Mapping[str, Any], target: str) -> str | None:
        """Return a text field, through its codes when the mapping has them."""
        item = self.table.columns.get(target)
        if item is None:
            return None
        value = row[item.column]
        if item.codes is not None:
            return _code(item, value, self.table.table)
        if value is None:
            return None
        text = normalize(str(value)).strip()
        return text or None

    def reference(self, row: Mapping[str, Any], target: str) -> str | None:
        """Return a key that refers to another table's row, as text."""
        item = self.table.columns.get(target)
        if item is None or row[item.column] is None:
            return None
        return key_text(row[item.column])

    def date(self, row: Mapping[str, Any], target: str) -> date | None:
        item = self.table.columns.get(target)
        if item is None or row[item.column] is None:
            return None
        value = row[item.column]
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise RowError("malformed_date", f"{self.table.table}.{item.column} {value!r} is not a date") from None

    def instant(self, row: Mapping[str, Any], target: str) -> datetime | None:
        """Return a datetime field as naive UTC; a naive value is local time of the column's zone."""
        item = self.table.columns.get(target)
        if item is None:
            return None
        return self.instant_of(row[item.column], item.column, self._zones.get(target, self._default_zone))

    def instant_of(self, value: Any, column: str, zone: tzinfo | None = None) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise RowError("malformed_date", f"{self.table.table}.{column} {value!r} is not a date and time") from None
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise RowError("malformed_date", f"{self.table.table}.{column} {value!r} is not a date and time")
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone or self._default_zone)
        return naive_utc(value)

    def integer(self, row: Mapping[str, Any], target: str) -> int | None:
        item = self.table.columns[target]
        value = row[item.column]
        if value is None:
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise RowError("malformed_number", f"{self.table.table}.{item.column} {value!r} is not a number") from None
        if not number.is_finite() or number != number.to_integral_value() or abs(number) > MAX_INTEGER:
            raise RowError("malformed_number", f"{self.table.table}.{item.column} {value!r} is not a whole number in range")
        return int(number)

    def money(self, row: Mapping[str, Any], target: str) -> int | None:
        """Return an amount as integer micro-units; an integer column with ``scale`` contains minor units."""
        item = self.table.columns[target]
        value = row[item.column]
        if value is None:
            return None
        if isinstance(value, float):
            # A FLOAT or DOUBLE column: its shortest repr is the value the shop typed.
            value = repr(value)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise RowError("malformed_number", f"{self.table.table}.{item.column} {value!r} is not a number") from None
        if not amount.is_finite():
            raise RowError("malformed_number", f"{self.table.table}.{item.column} {value!r} is not a finite number")
        if item.scale is not None:
            amount = amount.scaleb(-item.scale)
        return money_micros(amount, f"{self.table.table}.{item.column}")


def key_text(value: Any) -> str:
    """Return a key value as text: ``17850`` for an integer, or NFC text without spaces around it."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return normalize(str(value)).strip()


def _code(item: ColumnMap, value: Any, table: str) -> str | None:
    codes = item.codes or {}
    code = None if value is None else key_text(value)
    if code is not None and code in codes:
        return codes[code]
    if item.has_default:
        return item.default
    if code is None:
        return None
    raise RowError(
        "unknown_code",
        f"{table}.{item.column} {code!r} is not one of the codes in the mapping ({', '.join(sorted(codes))})",
    )


def line_amounts(quantity: int, unit_price_micros: int, *, is_return: bool) -> tuple[int, int]:
    """Return the stored quantity and value of a line; a return's quantity is negative.

    Raises ``RowError`` for lines that sell nothing or cannot be a sale.
    """
    if unit_price_micros < 0:
        raise RowError("negative_price", f"unit price {Decimal(unit_price_micros).scaleb(-6)} is negative")
    if quantity == 0:
        raise RowError("zero_quantity", "quantity is 0, so the line sells nothing")
    if quantity < 0 and not is_return:
        raise RowError("negative_quantity", f"quantity {quantity} is negative on an order that is not a return")
    if is_return:
        quantity = -abs(quantity)
    return quantity, line_value(quantity, unit_price_micros)


def utc_now() -> datetime:
    return naive_utc(datetime.now(UTC))
