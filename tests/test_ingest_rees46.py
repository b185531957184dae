"""Parsing REES46 clickstream rows into events and, for purchases, order lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from segmento.adapters.ingest import rees46
from segmento.adapters.ingest.items import Item, Parsed, Rejected
from segmento.adapters.ingest.readers import TextSource, inspect_file

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
VIEW = "2019-10-01 00:00:01 UTC,view,17200506,2053013559792632471,furniture.living_room.sofa,,543.10,519107250,566511c2-e2e3-422b-b695-cf8e6e792ca8"
PURCHASE = "2019-10-01 00:02:14 UTC,purchase,1004856,2053013555631882655,electronics.smartphone,samsung,130.76,543272936,8187d148-3c41-46d4-b0c0-9c08cd9dc564"


def parse(tmp_path: Path, rows: str) -> list[Item]:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    with TextSource(inspect_file(path)) as text:
        return list(rees46.parse(text))


def test_view_becomes_product_view(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, VIEW + "\n")
    assert isinstance(item, Parsed)
    (event,) = item.events
    assert event["kind"] == "product_view"
    assert event["time"] == datetime(2019, 10, 1, 0, 0, 1)
    assert event["customer_id"] == "519107250"
    assert event["category"] == "furniture.living_room.sofa"
    assert event["brand"] is None
    assert event["quantity"] is None
    assert event["raw"] == VIEW
    assert item.order_lines == ()


def test_purchase_is_also_an_order_line(tmp_path: Path) -> None:
    (item,) = parse(tmp_path, PURCHASE + "\n")
    assert isinstance(item, Parsed)
    (order,) = item.orders
    assert order["id"] == "rees46:8187d148-3c41-46d4-b0c0-9c08cd9dc564"
    (line,) = item.order_lines
    assert line["value_micros"] == 130_760_000
    assert line["quantity"] == 1
    assert item.events[0]["order_id"] == order["id"]


def test_identical_rows_get_distinct_stable_ids(tmp_path: Path) -> None:
    first = parse(tmp_path, VIEW + "\n" + VIEW + "\n")
    second = parse(tmp_path, VIEW + "\n" + VIEW + "\n")
    ids = [item.key[1] for item in first if isinstance(item, Parsed)]
    assert len(set(ids)) == 2
    assert ids == [item.key[1] for item in second if isinstance(item, Parsed)]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (VIEW.replace("2019-10-01 00:00:01 UTC", "2019-10-32 00:00:01 UTC"), "malformed_date"),
        (VIEW.replace(",view,", ",wishlist,"), "unknown_event_type"),
        (VIEW.replace(",543.10,", ",abc,"), "malformed_number"),
        (VIEW.replace(",543.10,", ",-1.00,"), "negative_price"),
        (VIEW.replace(",519107250,", ",,"), "missing_field"),
        (VIEW.replace(",17200506,", ",x17,"), "malformed_id"),
        (VIEW.replace("furniture.living_room.sofa", "Furniture/Sofa"), "malformed_category"),
        (VIEW + ",extra", "malformed_row"),
    ],
)
def test_bad_rows_are_rejected(tmp_path: Path, row: str, reason: str) -> None:
    items = parse(tmp_path, VIEW + "\n" + row + "\n")
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.line) == (reason, 3)
    assert rejected.raw == row
