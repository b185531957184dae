"""Parser for the REES46 clickstream CSV ("eCommerce behavior data from multi category store").

Each row is one tracked event of a known user. ``view`` becomes ``product_view``,
``cart`` ``add_to_cart``, ``remove_from_cart`` stays, and ``purchase`` becomes a
``purchase`` event plus a line of an order. The data has no order ids, so the
purchases of one user in one session form one order (``rees46:<session>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

from segmento.adapters.ingest.items import (
    Item,
    Occurrences,
    Parsed,
    Rejected,
    RowError,
    money_micros,
    parse_decimal,
    reject,
)
from segmento.adapters.ingest.model import naive_utc
from segmento.adapters.ingest.readers import CsvRecord, TextSource, read_csv

FORMAT: Final = "rees46"
COLUMNS: Final = (
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
)
EVENT_KINDS: Final[dict[str, str]] = {
    "view": "product_view",
    "cart": "add_to_cart",
    "remove_from_cart": "remove_from_cart",
    "purchase": "purchase",
}
_ID: Final = re.compile(r"^\d+$")
_CATEGORY: Final = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")


def parse(text: TextSource) -> Iterator[Item]:
    """Yield one item per row of a REES46 events file."""
    occurrences = Occurrences()
    for record in read_csv(text, COLUMNS, "REES46 events CSV"):
        if record.problem:
            yield Rejected(record.line, record.raw, "malformed_row", f"the row {record.problem}")
            continue
        try:
            yield _parse_row(record, occurrences)
        except RowError as error:
            yield reject(record.line, record.raw, error)


def _parse_row(record: CsvRecord, occurrences: Occurrences) -> Parsed:
    fields = record.fields
    time = _parse_time(fields["event_time"])
    event_type = fields["event_type"].strip()
    kind = EVENT_KINDS.get(event_type)
    if kind is None:
        expected = ", ".join(EVENT_KINDS)
        raise RowError("unknown_event_type", f"event_type {event_type!r} is not one of {expected}")
    product_id = _identifier(fields["product_id"], "product_id")
    user_id = _identifier(fields["user_id"], "user_id")
    category = fields["category_code"].strip() or None
    if category is not None and not _CATEGORY.match(category):
        raise RowError("malformed_category", f"category_code {category!r} is not a dotted path such as 'electronics.smartphone'")
    price_text = fields["price"].strip()
    price = money_micros(parse_decimal(price_text, "price"), "price") if price_text else None
    if price is not None and price < 0:
        raise RowError("negative_price", f"price {price_text} is negative")
    session = fields["user_session"].strip() or None
    quantity = None if kind == "product_view" else 1
    value = price * quantity if price is not None and quantity is not None else None

    event_id = occurrences.record_id("rees46:", record.raw)
    order_id = f"rees46:{session}" if session else f"rees46:{event_id}"
    event = {
        "id": event_id,
        "time": time,
        "customer_id": user_id,
        "session_id": session,
        "kind": kind,
        "product_id": product_id,
        "category": category,
        "brand": fields["brand"].strip() or None,
        "price_micros": price,
        "quantity": quantity,
        "value_micros": value,
        "order_id": order_id if kind == "purchase" else None,
        "source_line": record.line,
        "raw": record.raw,
    }
    if kind != "purchase":
        return Parsed(record.line, ("tracked_events", event_id), events=(event,))
    if price is None:
        raise RowError("missing_field", "price is empty on a purchase")
    order = {
        "id": order_id,
        "customer_id": user_id,
        "time": time,
        "country": None,
        "is_cancellation": False,
        "source_line": record.line,
    }
    line = {
        "id": event_id,
        "order_id": order_id,
        "customer_id": user_id,
        "time": time,
        "is_cancellation": False,
        "line_kind": "product",
        "product_id": product_id,
        "description": None,
        "category": category,
        "quantity": 1,
        "unit_price_micros": price,
        "value_micros": price,
        "source_line": record.line,
    }
    return Parsed(record.line, ("tracked_events", event_id), orders=(order,), order_lines=(line,), events=(event,))


def _parse_time(text: str) -> datetime:
    stripped = text.strip()
    if stripped.endswith(" UTC"):
        stripped = stripped[:-4]
    try:
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise RowError("malformed_date", f"event_time {text!r} is not a UTC time such as '2019-10-01 00:00:00 UTC'") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return naive_utc(value)


def _identifier(text: str, column: str) -> str:
    stripped = text.strip()
    if not _ID.match(stripped):
        raise RowError("malformed_id" if stripped else "missing_field", f"{column} {text!r} is not a numeric id")
    return stripped
