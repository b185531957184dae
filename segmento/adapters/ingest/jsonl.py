"""Parser for JSON Lines in segmento's own event model: one JSON object per line.

An event (``"type": "event"``, the default)::

    {"id": "e-1", "time": "2019-10-01T00:00:00Z", "customer_id": "17850",
     "session_id": "s-9", "kind": "add_to_cart", "product_id": "85123A",
     "category": "home.lighting", "brand": "acme", "price": "2.55", "quantity": 2}

``customer_id`` or ``anonymous_id`` is required; events of anonymous visitors are
stored but build no profile. A ``purchase`` of a customer is also a line of the order
``order_id`` (or of the session's order when it has none). A time without an offset is
local time of the source. An identify record sets a customer's traits::

    {"type": "identify", "customer_id": "c-1", "time": "2024-05-01T10:00:00+07:00",
     "traits": {"name": "Lan", "gender": "female", "birthday": "1990-02-28",
                "city": "Hà Nội", "country": "Vietnam"}}
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any, Final

from segmento.adapters.ingest.items import (
    MAX_INTEGER,
    Item,
    LocalTimes,
    Occurrences,
    Parsed,
    line_value,
    RowError,
    money_micros,
    parse_decimal,
    reject,
)
from segmento.adapters.ingest.model import EVENT_KINDS, ID_LENGTH
from segmento.adapters.ingest.readers import TextSource
from segmento.engine.catalog import closest
from segmento.engine.text import normalize

FORMAT: Final = "jsonl"
EVENT_KEYS: Final = frozenset(
    {
        "type", "id", "time", "customer_id", "anonymous_id", "session_id", "kind", "product_id",
        "category", "brand", "price", "quantity", "search_query", "order_id",
    }
)
IDENTIFY_KEYS: Final = frozenset({"type", "customer_id", "time", "traits"})
TRAITS: Final = ("name", "gender", "birthday", "city", "country", "signed_up_at")
GENDERS: Final = ("female", "male", "other")


def parse(text: TextSource, zone: tzinfo) -> Iterator[Item]:
    """Yield one item per non-blank line of a JSON Lines file whose naive times are in ``zone``."""
    times = LocalTimes(zone)
    occurrences = Occurrences()
    for raw in text.lines():
        line = text.line
        stripped = raw.strip()
        if not stripped:
            continue
        try:
            document = json.loads(stripped, parse_float=Decimal)
        except json.JSONDecodeError as error:
            yield reject(line, stripped, RowError("malformed_json", f"not valid JSON: {error.msg} at column {error.colno}"))
            continue
        try:
            if not isinstance(document, dict):
                raise RowError("malformed_record", "the line must hold a JSON object")
            record_type = document.get("type", "event")
            if record_type == "event":
                yield _parse_event(document, line, stripped, times, occurrences)
            elif record_type == "identify":
                yield _parse_identify(document, line, times)
            else:
                raise RowError("malformed_record", f"type {record_type!r} is not 'event' or 'identify'")
        except RowError as error:
            yield reject(line, stripped, error)


def _parse_event(
    document: Mapping[str, Any], line: int, raw: str, times: LocalTimes, occurrences: Occurrences
) -> Parsed:
    _check_keys(document, EVENT_KEYS)
    kind = _text(document, "kind", required=True)
    if kind not in EVENT_KINDS:
        hint = closest(kind or "", EVENT_KINDS)
        suggestion = f" (did you mean {hint!r}?)" if hint else ""
        raise RowError("unknown_event_kind", f"kind {kind!r} is not one of {', '.join(EVENT_KINDS)}{suggestion}")

    time = times.parse(_text(document, "time", required=True) or "", "time")
    customer_id = _text(document, "customer_id")
    anonymous_id = _text(document, "anonymous_id")
    if customer_id is None and anonymous_id is None:
        raise RowError("missing_field", "an event needs customer_id or anonymous_id")

    price = _money(document.get("price"))
    quantity = _quantity(document.get("quantity"), kind)
    value = line_value(quantity, price) if price is not None and quantity is not None else None

    given_id = _text(document, "id")
    event_id = given_id or occurrences.record_id("jsonl:", raw)
    session = _text(document, "session_id")
    order_id = _text(document, "order_id")
    if kind == "purchase" and order_id is None:
        order_id = f"session:{session}" if session else f"event:{event_id}"

    event = {
        "id": event_id,
        "time": time,
        "customer_id": customer_id,
        "anonymous_id": anonymous_id,
        "session_id": session,
        "kind": kind,
        "product_id": _text(document, "product_id"),
        "category": _text(document, "category"),
        "brand": _text(document, "brand"),
        "price_micros": price,
        "quantity": quantity,
        "value_micros": value,
        "search_query": _text(document, "search_query", limit=500),
        "order_id": order_id if kind == "purchase" else None,
        "source_line": line,
        "raw": raw,
    }
    if kind != "purchase" or customer_id is None:
        return Parsed(line, ("tracked_events", event_id), events=(event,))

    if price is None or event["product_id"] is None:
        raise RowError("missing_field", "a purchase needs product_id and price")
    order = {
        "id": order_id,
        "customer_id": customer_id,
        "time": time,
        "country": None,
        "is_cancellation": False,
        "source_line": line,
    }

    order_line = {
        "id": event_id,
        "order_id": order_id,
        "customer_id": customer_id,
        "time": time,
        "is_cancellation": False,
        "line_kind": "product",
        "product_id": event["product_id"],
        "description": None,
        "category": event["category"],
        "quantity": quantity,
        "unit_price_micros": price,
        "value_micros": value,
        "source_line": line,
    }
    return Parsed(line, ("tracked_events", event_id), orders=(order,), order_lines=(order_line,), events=(event,))


def _parse_identify(document: Mapping[str, Any], line: int, times: LocalTimes) -> Parsed:
    _check_keys(document, IDENTIFY_KEYS)
    customer_id = _text(document, "customer_id", required=True) or ""
    time = times.parse(_text(document, "time", required=True) or "", "time")
    traits = document.get("traits")
    if not isinstance(traits, dict):
        raise RowError("malformed_record", "traits must be a JSON object")
    _check_keys(traits, frozenset(TRAITS), where="traits")
    row: dict[str, Any] = {"id": customer_id, "updated_at": time}
    for name in ("name", "city", "country"):
        row[name] = _text(traits, name, limit=255)
    gender = _text(traits, "gender")
    if gender is not None and gender not in GENDERS:
        raise RowError("malformed_trait", f"gender {gender!r} is not one of {', '.join(GENDERS)}")
    row["gender"] = gender
    birthday = _text(traits, "birthday")
    try:
        row["birthday"] = date.fromisoformat(birthday) if birthday else None
    except ValueError:
        raise RowError("malformed_date", f"birthday {birthday!r} is not a date (YYYY-MM-DD)") from None
    signed_up = _text(traits, "signed_up_at")
    row["signed_up_at"] = times.parse(signed_up, "signed_up_at") if signed_up else None
    return Parsed(line, ("customers", customer_id), customers=(row,))


def _check_keys(document: Mapping[str, Any], allowed: frozenset[str], where: str = "record") -> None:
    for key in document:
        if key not in allowed:
            hint = closest(str(key), allowed)
            suggestion = f"; did you mean {hint!r}?" if hint else ""
            raise RowError("unknown_field", f"{where} has unknown field {key!r}{suggestion}")


def _text(document: Mapping[str, Any], key: str, *, required: bool = False, limit: int = ID_LENGTH) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        if required:
            raise RowError("missing_field", f"{key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError("malformed_field", f"{key} must be a string, got {json.dumps(value, default=str)}")
    text = normalize(str(value)).strip()
    if len(text) > limit:
        raise RowError("malformed_field", f"{key} is longer than {limit} characters")
    return text


def _money(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise RowError("malformed_number", f"price must be a number or a numeric string, got {value!r}")
    amount = parse_decimal(str(value), "price")
    if amount < 0:
        raise RowError("negative_price", f"price {value} is negative")
    return money_micros(amount, "price")


def _quantity(value: Any, kind: str) -> int | None:
    if value is None:
        return 1 if kind in ("add_to_cart", "remove_from_cart", "purchase") else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INTEGER:
        raise RowError("malformed_number", f"quantity must be a whole number above 0, got {value!r}")
    return value

