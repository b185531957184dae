"""Items that format parsers make of source records: rows to store, or a reject.

Parsers are pure. They turn text into these items and never touch the database, so
they can be tested line by line; ``loader.import_source`` stores the items.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from segmento.adapters.ingest.model import MONEY_PLACES, MONEY_SCALE, naive_utc, to_micros

Row = dict[str, Any]

MAX_AMOUNT: Final = Decimal(10) ** 12
"""Largest price accepted, in currency units."""
MAX_MICROS: Final = 2**63 - 1
MAX_INTEGER: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Parsed:
    """The rows one source record becomes.

    ``key`` names the record's own row (``("order_lines", id)`` or
    ``("tracked_events", id)``); the record counts as already known when that row is.
    ``orders`` may repeat an order that an earlier record already created.
    """

    line: int
    key: tuple[str, str]
    orders: tuple[Row, ...] = ()
    order_lines: tuple[Row, ...] = ()
    events: tuple[Row, ...] = ()
    customers: tuple[Row, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that is not stored, with the reason code and what is wrong in English."""

    line: int
    raw: str
    reason: str
    detail: str


Item = Parsed | Rejected


class RowError(ValueError):
    """A field of one record cannot be used. ``reason`` is the reject code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def reject(line: int, raw: str, error: RowError) -> Rejected:
    return Rejected(line, raw, error.reason, error.detail)


def parse_decimal(text: str, column: str) -> Decimal:
    """Return ``text`` as a finite ``Decimal`` with at most ``MONEY_SCALE`` decimal places."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise RowError("malformed_number", f"{column} {text!r} is not a number") from None
    if not number.is_finite():
        raise RowError("malformed_number", f"{column} {text!r} is not a finite number")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_SCALE:
        raise RowError("malformed_number", f"{column} {text!r} has more than {MONEY_SCALE} decimal places")
    return number


def parse_integer(text: str, column: str) -> int:
    """Return ``text`` as a 32-bit integer; ``"6.0"`` is accepted, ``"6.5"`` is not."""
    stripped = text.strip()
    try:
        number: int | Decimal = int(stripped)
    except ValueError:
        number = parse_decimal(stripped, column) if stripped else Decimal("NaN")
        if not number.is_finite() or number != number.to_integral_value():
            raise RowError("malformed_number", f"{column} {text!r} is not a whole number") from None
    if abs(number) > MAX_INTEGER:
        raise RowError("malformed_number", f"{column} {text!r} is out of range")
    return int(number)


def money_micros(amount: Decimal, column: str) -> int:
    """Return a price as micro-units; raise ``RowError`` when it is too large or too precise."""
    if abs(amount) >= MAX_AMOUNT:
        raise RowError("malformed_number", f"{column} {amount} is not below {MAX_AMOUNT:,}")
    if amount != amount.quantize(Decimal(1).scaleb(-MONEY_PLACES)):
        raise RowError("malformed_number", f"{column} {amount} has more than {MONEY_PLACES} decimal places")
    return to_micros(amount)


def line_value(quantity: int, price_micros: int) -> int:
    """Return ``quantity × price`` in micro-units; raise ``RowError`` when it overflows 64 bits."""
    value = quantity * price_micros
    if abs(value) > MAX_MICROS:
        raise RowError("malformed_number", f"quantity {quantity} times the price is too large to store")
    return value


class LocalTimes:
    """Converts local shop times without a zone to naive UTC, caching repeated values.

    Order lines of one invoice share a time, so the cache saves most conversions.
    A local time that a daylight saving change skips or repeats resolves as
    ``zoneinfo`` does by default (``fold=0``: the earlier of two readings).
    """

    def __init__(self, zone: tzinfo, formats: tuple[str, ...] = ()) -> None:
        self.zone = zone
        self.formats = formats
        self._cache: dict[str, datetime] = {}

    def parse(self, text: str, column: str) -> datetime:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        value = self._parse_local(text.strip(), column)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        result = naive_utc(value)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[text] = result
        return result

    def _parse_local(self, text: str, column: str) -> datetime:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        for pattern in self.formats:
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
        raise RowError("malformed_date", f"{column} {text!r} is not a date and time (expected YYYY-MM-DD HH:MM:SS)")


class Occurrences:
    """Numbers repeated identical records, so each copy gets its own deterministic id."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def record_id(self, prefix: str, *parts: str) -> str:
        """Return ``prefix`` and a hash of ``parts``, with ``.N`` on the Nth identical record."""
        digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]
        self._seen[digest] += 1
        count = self._seen[digest]
        return f"{prefix}{digest}" if count == 1 else f"{prefix}{digest}.{count}"

