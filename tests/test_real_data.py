"""The bundled demo on the real data: imports, rejects, segment sizes, a second run.

Expected values are computed here with the csv module from the source files, not
with segmento's code.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.model import rejects
from segmento.adapters.runs import run_workspace
from tests.demo_workspace import REES46_FILE, RETAIL_FILE, DemoRun, demo_run


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run("uk_gift_shop", tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def rees46(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run("rees46", tmp_path_factory.mktemp("demo"))


def retail_rows() -> list[dict[str, str]]:
    with gzip.open(RETAIL_FILE, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rees46_rows() -> list[dict[str, str]]:
    with gzip.open(REES46_FILE, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_reject_reasons() -> Counter[str]:
    reasons: Counter[str] = Counter()
    for row in retail_rows():
        price = Decimal(row["UnitPrice"])
        quantity = int(row["Quantity"])
        if price < 0:
            reasons["negative_price"] += 1
        elif quantity < 0 and not row["InvoiceNo"].startswith("C"):
            reasons["stock_adjustment"] += 1
        elif price == 0 and not row["CustomerID"]:
            reasons["stock_adjustment"] += 1
    return reasons


def segment_sizes(run: DemoRun) -> dict[str, int]:
    return {outcome.id: outcome.members for outcome in run.report.segments}


def members(run: DemoRun, segment_id: str) -> set[str]:
    memberships = run.store.model.memberships
    with run.store.engine.connect() as connection:
        return set(connection.scalars(sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)))


def test_retail_import_counts_every_row(retail: DemoRun) -> None:
    (result,) = retail.report.imports
    assert result.read == 437_874
    assert result.stored + result.rejected == result.read
    assert dict(result.reasons) == dict(expected_reject_reasons())


def test_retail_rejects_keep_line_and_raw_row(retail: DemoRun) -> None:
    with gzip.open(RETAIL_FILE, "rt", encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    with retail.store.engine.connect() as connection:
        rows = connection.execute(sa.select(rejects).order_by(rejects.c.line).limit(50)).all()
    assert rows
    for row in rows:
        assert lines[row.line - 1] == row.raw_row
        assert row.source_file == "online_retail.csv.gz"
        assert row.detail


def test_retail_segments_are_not_empty(retail: DemoRun) -> None:
    sizes = segment_sizes(retail)
    profiles = retail.report.build.built if retail.report.build else 0
    assert set(sizes) == {
        "high_spenders_uk",
        "high_spenders_germany",
        "high_spenders_france",
        "christmas_decorators",
        "heart_holder_fans",
        "kitchen_lovers",
        "lapsed_regulars",
        "winback_christmas",
        "new_customers",
    }
    for segment_id, size in sizes.items():
        assert 0 < size < profiles, segment_id


def test_high_spenders_germany_match_the_csv(retail: DemoRun) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    country: dict[str, tuple[str, str]] = {}
    for row in retail_rows():
        customer = row["CustomerID"].removesuffix(".0")
        if not customer or Decimal(row["UnitPrice"]) < 0:
            continue
        if row["StockCode"].upper() in {"POST", "DOT", "C2", "AMAZONFEE", "BANK CHARGES", "CRUK", "D", "M", "PADS", "S", "B"}:
            continue
        totals[customer] += int(row["Quantity"]) * Decimal(row["UnitPrice"])
        if not row["InvoiceNo"].startswith("C"):
            country[customer] = max(country.get(customer, ("", "")), (row["InvoiceDate"], row["Country"]))
    expected = {customer for customer, total in totals.items() if total >= 2000 and country[customer][1] == "Germany"}
    assert members(retail, "high_spenders_germany") == expected


def test_heart_holder_fans_match_the_csv(retail: DemoRun) -> None:
    lines: Counter[str] = Counter()
    for row in retail_rows():
        if row["StockCode"] == "85123A" and row["CustomerID"] and not row["InvoiceNo"].startswith("C"):
            lines[row["CustomerID"].removesuffix(".0")] += 1
    assert members(retail, "heart_holder_fans") == {customer for customer, count in lines.items() if count >= 5}


def test_heavy_browsers_match_the_csv(rees46: DemoRun) -> None:
    as_of = datetime(2019, 10, 1, 2, 30, tzinfo=UTC)
    views: Counter[str] = Counter()
    for row in rees46_rows():
        time = datetime.fromisoformat(row["event_time"].removesuffix(" UTC")).replace(tzinfo=UTC)
        if row["event_type"] == "view" and as_of - timedelta(hours=2) < time <= as_of:
            views[row["user_id"]] += 1
    expected = {user for user, count in views.items() if count >= 10}
    assert expected
    assert members(rees46, "heavy_browsers") == expected


def test_cart_abandoners_match_the_csv(rees46: DemoRun) -> None:
    carts: set[str] = set()
    buyers: set[str] = set()
    for row in rees46_rows():
        if row["event_type"] == "cart":
            carts.add(row["user_id"])
        elif row["event_type"] == "purchase":
            buyers.add(row["user_id"])
    expected = carts - buyers
    assert expected
    assert members(rees46, "cart_abandoners") == expected


def test_rees46_segments_are_not_empty(rees46: DemoRun) -> None:
    sizes = segment_sizes(rees46)
    assert set(sizes) == {
        "heavy_browsers",
        "cart_abandoners",
        "smartphone_shoppers",
        "top_phone_viewers",
        "apple_buyers_browsing_audio",
        "cart_not_bought_30m",
    }
    assert all(size > 0 for size in sizes.values()), sizes


def test_second_run_changes_nothing(rees46: DemoRun, tmp_path: Path) -> None:
    before = segment_sizes(rees46)
    report = run_workspace(rees46.workspace, store=rees46.store, report_path=tmp_path / "second.json")
    assert [result.skipped for result in report.imports] == [True]
    assert report.build is not None
    assert report.build.built == 0
    assert {outcome.id: outcome.members for outcome in report.segments} == before
    assert all(outcome.joined == 0 and outcome.left == 0 for outcome in report.segments)
    assert (tmp_path / "second.json").exists()
