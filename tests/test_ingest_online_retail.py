"""Parsing Online Retail rows: what each kind of row becomes, and why rows are rejected."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from segmento.adapters.ingest import online_retail
from segmento.adapters.ingest.items import Item, Parsed, Rejected
from segmento.adapters.ingest.readers import TextSource, inspect_file

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LONDON = ZoneInfo("Europe/London")


def parse(tmp_path: Path, rows: str, header: str = HEADER) -> list[Item]:
    path = tmp_path / "retail.csv"
    path.write_text(header + rows, encoding="utf-8")
    with TextSource(inspect_file(path)) as text:
        return list(online_retail.parse(text, LONDON))


def only(items: list[Item]) -> Item:
    assert len(items) == 1
    return items[0]


def test_product_line_of_customer(tmp_path: Path) -> None:
    item = only(parse(tmp_path, "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"))
    assert isinstance(item, Parsed)
    (line,) = item.order_lines
    assert line["customer_id"] == "17850"
    assert line["line_kind"] == "product"
    assert line["category"] == "home.lighting"
    assert line["value_micros"] == 15_300_000
    (order,) = item.orders
    assert order["id"] == "536365"
    assert order["country"] == "United Kingdom"
    (event,) = item.events
    assert event["kind"] == "purchase"
    assert event["product_id"] == "85123A"


def test_local_time_becomes_utc(tmp_path: Path) -> None:
    summer = only(parse(tmp_path, "550000,22423,REGENCY CAKESTAND 3 TIER,1,2011-06-01 10:00:00,12.75,12347.0,Iceland\n"))
    assert isinstance(summer, Parsed)
    # British Summer Time is UTC+1, so 10:00 local is 09:00 UTC (stored without a zone).
    assert summer.order_lines[0]["time"] == datetime(2011, 6, 1, 9, 0)


def test_original_uci_date_format_is_read(tmp_path: Path) -> None:
    item = only(parse(tmp_path, "536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"))
    assert isinstance(item, Parsed)
    assert item.order_lines[0]["time"] == datetime(2010, 12, 1, 8, 26)


def test_cancellation_line_has_no_event(tmp_path: Path) -> None:
    item = only(parse(tmp_path, "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,2010-12-01 09:41:00,2.55,14527.0,United Kingdom\n"))
    assert isinstance(item, Parsed)
    assert item.order_lines[0]["is_cancellation"] is True
    assert item.order_lines[0]["value_micros"] == -5_100_000
    assert item.events == ()


def test_guest_line_is_kept_without_customer(tmp_path: Path) -> None:
    item = only(parse(tmp_path, "536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom\n"))
    assert isinstance(item, Parsed)
    assert item.order_lines[0]["customer_id"] is None
    assert item.events == ()


@pytest.mark.parametrize(
    ("code", "kind"),
    [("POST", "shipping"), ("DOT", "shipping"), ("C2", "shipping"), ("M", "manual"), ("m", "manual"),
     ("D", "discount"), ("BANK CHARGES", "fee"), ("AMAZONFEE", "fee"), ("CRUK", "fee"), ("S", "sample"),
     ("B", "adjustment"), ("PADS", "manual")],
)  # fmt: skip
def test_service_codes_are_not_products(tmp_path: Path, code: str, kind: str) -> None:
    quantity = "-1" if kind == "discount" else "1"
    invoice = "C537164" if kind == "discount" else "537164"
    item = only(parse(tmp_path, f"{invoice},{code},Service,{quantity},2010-12-05 13:21:00,29.29,14527.0,United Kingdom\n"))
    assert isinstance(item, Parsed)
    assert item.order_lines[0]["line_kind"] == kind
    assert item.events == ()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A563186,B,Adjust bad debt,1,2011-08-12 14:51:00,-11062.06,,United Kingdom", "negative_price"),
        ("536414,22139,,-56,2010-12-01 11:52:00,0.0,,United Kingdom", "stock_adjustment"),
        ("536545,21134,check,10,2010-12-01 14:32:00,0.0,,United Kingdom", "stock_adjustment"),
        ("536365,85123A,HEART,0,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "zero_quantity"),
        ("C536379,D,Discount,1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom", "positive_cancellation"),
        ("536365,85123A,HEART,6,2010-13-01 08:26:00,2.55,17850.0,United Kingdom", "malformed_date"),
        ("536365,85123A,HEART,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "malformed_number"),
        ("536365,85123A,HEART,6,2010-12-01 08:26:00,2.5.5,17850.0,United Kingdom", "malformed_number"),
        ("536365,85123A,HEART,6.5,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "malformed_number"),
        ("536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.5,United Kingdom", "malformed_customer"),
        (",85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom", "missing_field"),
        ("536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0", "malformed_row"),
    ],
)
def test_unusable_rows_are_rejected_with_line(tmp_path: Path, row: str, reason: str) -> None:
    items = parse(tmp_path, "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n" + row + "\n")
    assert isinstance(items[0], Parsed)
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert rejected.reason == reason
    assert rejected.line == 3
    assert rejected.raw == row
    assert rejected.detail


def test_quoted_description_with_comma_and_newline(tmp_path: Path) -> None:
    items = parse(
        tmp_path,
        '581496,21462,"NURSERY A,B,C\nPAINTED LETTERS",8,2011-12-09 10:20:00,1.95,16558.0,United Kingdom\n'
        "581497,21463,OTHER,1,2011-12-09 10:20:00,bad,16558.0,United Kingdom\n",
    )
    first, second = items
    assert isinstance(first, Parsed)
    assert first.order_lines[0]["description"] == "NURSERY A,B,C PAINTED LETTERS"
    assert isinstance(second, Rejected)
    assert second.line == 4


def test_line_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    rows = (
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n"
    )
    first = parse(tmp_path, rows)
    ids = [item.order_lines[0]["id"] for item in first if isinstance(item, Parsed)]
    assert len(set(ids)) == 3
    assert all(line_id.startswith("536365/") for line_id in ids)
    assert ids == [item.order_lines[0]["id"] for item in parse(tmp_path, rows) if isinstance(item, Parsed)]
    assert [len(item.orders) for item in first if isinstance(item, Parsed)] == [1, 0, 0]


def test_invoice_split_over_two_files_keeps_both_parts(tmp_path: Path) -> None:
    first = parse(tmp_path, "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n")
    second = parse(tmp_path, "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n")
    assert isinstance(first[0], Parsed)
    assert isinstance(second[0], Parsed)
    assert first[0].order_lines[0]["id"] != second[0].order_lines[0]["id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("UnitPrice", "2.55001"), ("UnitPrice", "10000000000000"), ("Quantity", "99999999999")],
)
def test_numbers_beyond_storage_are_rejected(tmp_path: Path, field: str, value: str) -> None:
    row = {"InvoiceNo": "536365", "StockCode": "85123A", "Description": "HEART", "Quantity": "6",
           "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": "2.55", "CustomerID": "17850.0", "Country": "UK"}  # fmt: skip
    row[field] = value
    item = only(parse(tmp_path, ",".join(row.values()) + "\n"))
    assert isinstance(item, Rejected)
    assert item.reason == "malformed_number"
