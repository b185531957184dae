"""Parsing JSON Lines of segmento's own event model: events and identify records."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from segmento.adapters.ingest import jsonl
from segmento.adapters.ingest.items import Item, Parsed, Rejected
from segmento.adapters.ingest.readers import TextSource, inspect_file

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def parse(tmp_path: Path, *records: object) -> list[Item]:
    lines = [record if isinstance(record, str) else json.dumps(record, ensure_ascii=False) for record in records]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with TextSource(inspect_file(path)) as text:
        return list(jsonl.parse(text, HANOI))


def test_event_with_local_time(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, {"id": "e-1", "time": "2024-05-01T08:00:00", "customer_id": "c1", "kind": "add_to_cart",
                               "product_id": "p1", "category": "giày.chạy", "price": "250000", "quantity": 2})  # fmt: skip
    assert isinstance(item, Parsed)
    (event,) = item.events
    assert event["id"] == "e-1"
    # Times without an offset are the source's local time, here UTC+7.
    assert event["time"] == datetime(2024, 5, 1, 1, 0)
    assert event["value_micros"] == 500_000 * 1_000_000
    assert event["category"] == "giày.chạy"


def test_purchase_joins_its_order(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, {"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "purchase",
                               "product_id": "p1", "price": 10.5, "order_id": "o-9"})  # fmt: skip
    assert isinstance(item, Parsed)
    assert item.orders[0]["id"] == "o-9"
    assert item.order_lines[0]["unit_price_micros"] == 10_500_000
    assert item.order_lines[0]["quantity"] == 1


def test_anonymous_event_is_kept_without_customer(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, {"time": "2024-05-01T08:00:00Z", "anonymous_id": "v1", "kind": "page_view"})
    assert isinstance(item, Parsed)
    assert item.events[0]["customer_id"] is None
    assert item.events[0]["anonymous_id"] == "v1"


def test_identify_sets_traits(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, {"type": "identify", "customer_id": "c1", "time": "2024-05-01T10:00:00+07:00",
                               "traits": {"city": "Hà Nội", "gender": "female", "birthday": "1990-02-28"}})  # fmt: skip
    assert isinstance(item, Parsed)
    (customer,) = item.customers
    assert customer["city"] == "Hà Nội"
    assert customer["birthday"] == date(1990, 2, 28)
    assert customer["updated_at"] == datetime(2024, 5, 1, 3, 0)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ('{"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": ', "malformed_json"),
        ("[1, 2]", "malformed_record"),
        ({"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "product_veiw"}, "unknown_event_kind"),
        ({"time": "2024-05-01T08:00:00Z", "custmer_id": "c1", "kind": "product_view"}, "unknown_field"),
        ({"time": "yesterday", "customer_id": "c1", "kind": "product_view"}, "malformed_date"),
        ({"time": "2024-05-01T08:00:00Z", "kind": "product_view"}, "missing_field"),
        ({"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "add_to_cart", "quantity": 0}, "malformed_number"),
        ({"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "purchase", "price": "1"}, "missing_field"),
        ({"type": "identify", "customer_id": "c1", "time": "2024-05-01T08:00:00Z", "traits": {"gender": "x"}}, "malformed_trait"),
        ({"type": "track", "customer_id": "c1"}, "malformed_record"),
    ],
)
def test_bad_records_are_rejected(tmp_path: Path, record: object, reason: str) -> None:
    good = {"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "product_view"}
    items = parse(tmp_path, good, record)
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.line) == (reason, 2)


def test_unknown_kind_suggests_the_nearest(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, {"time": "2024-05-01T08:00:00Z", "customer_id": "c1", "kind": "product_veiw"})
    assert isinstance(item, Rejected)
    assert "did you mean 'product_view'" in item.detail
