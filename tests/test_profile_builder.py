"""Profile computations: aggregates on the real data, interests, status, incremental builds.

Expected aggregates are computed here with csv and decimal, independently of segmento.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.model import metadata
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.run_reports import profile_details
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.computations import ProfileSettings
from tests.demo_workspace import RETAIL_FILE, DemoRun, demo_run

LONDON = ZoneInfo("Europe/London")
SERVICE_CODES = {"POST", "DOT", "C2", "AMAZONFEE", "BANK CHARGES", "CRUK", "D", "M", "PADS", "S", "B"}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run("uk_gift_shop", tmp_path_factory.mktemp("demo"))


@dataclass
class Expected:
    """A customer's aggregates, computed from the CSV rows."""

    order_values: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    order_times: dict[str, datetime] = field(default_factory=dict)
    total: Decimal = Decimal(0)
    items: int = 0
    country: tuple[datetime, str] | None = None


def expected_aggregates() -> dict[str, Expected]:
    customers: dict[str, Expected] = defaultdict(Expected)
    with gzip.open(RETAIL_FILE, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            customer = row["CustomerID"].removesuffix(".0")
            price = Decimal(row["UnitPrice"])
            if not customer or price < 0:
                continue
            quantity = int(row["Quantity"])
            invoice = row["InvoiceNo"]
            time = datetime.fromisoformat(row["InvoiceDate"]).replace(tzinfo=LONDON).astimezone(UTC)
            expected = customers[customer]
            if not invoice.startswith("C") and (expected.country is None or time >= expected.country[0]):
                expected.country = (time, row["Country"])
            if row["StockCode"].upper() in SERVICE_CODES:
                continue
            expected.total += quantity * price
            expected.items += quantity
            if not invoice.startswith("C"):
                expected.order_values[invoice] += quantity * price
                expected.order_times[invoice] = min(expected.order_times.get(invoice, time), time)
    return customers


@pytest.fixture(scope="module")
def expected() -> dict[str, Expected]:
    return expected_aggregates()


def stored_profile(run: DemoRun, customer_id: str) -> dict[str, Any]:
    details = profile_details(run.store, customer_id)
    assert details is not None, customer_id
    return {**details.fields, **details.collections}


@pytest.mark.parametrize("customer_id", ["12347", "17850", "14646", "12748", "13089"])
def test_purchase_aggregates_match_the_csv(retail: DemoRun, expected: dict[str, Expected], customer_id: str) -> None:
    profile = stored_profile(retail, customer_id)
    want = expected[customer_id]
    orders = len(want.order_values)
    assert profile["total_purchase"] == orders
    assert profile["total_purchase_value"] == want.total
    assert profile["avg_purchase_value"] == (want.total / orders).quantize(CENT, ROUND_HALF_EVEN)
    assert profile["min_purchase_value"] == min(want.order_values.values())
    assert profile["max_purchase_value"] == max(want.order_values.values())
    assert profile["avg_basket_size"] == (Decimal(want.items) / orders).quantize(CENT, ROUND_HALF_EVEN)
    assert profile["first_purchase_at"] == min(want.order_times.values())
    assert profile["last_purchase_at"] == max(want.order_times.values())
    assert want.country is not None
    assert profile["country"] == want.country[1]


def test_totals_over_all_profiles_match_the_csv(retail: DemoRun, expected: dict[str, Expected]) -> None:
    profiles = retail.store.model.profiles
    with retail.store.engine.connect() as connection:
        count, orders = connection.execute(sa.select(sa.func.count(), sa.func.sum(profiles.c.total_purchase))).one()
        values = list(connection.scalars(sa.select(profiles.c.total_purchase_value)))
    assert count == len(expected)
    assert orders == sum(len(item.order_values) for item in expected.values())
    assert sum(values) == sum(item.total for item in expected.values())


def test_status_follows_last_order(retail: DemoRun, expected: dict[str, Expected]) -> None:
    as_of = datetime(2011, 12, 10, tzinfo=LONDON).astimezone(UTC)
    for customer_id in ("12347", "17850", "14646"):
        want = expected[customer_id]
        first, last = min(want.order_times.values()), max(want.order_times.values())
        if as_of - first < timedelta(days=30) and len(want.order_values) <= 1:
            status = "new"
        elif as_of - last < timedelta(days=90):
            status = "active"
        elif as_of - last < timedelta(days=180):
            status = "at_risk"
        else:
            status = "lapsed"
        assert stored_profile(retail, customer_id)["status"] == status


# --- small synthetic shops ------------------------------------------------------------------

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def open_test_store(path: Path) -> SqlProfileStore:
    engine = sa.create_engine(f"sqlite:///{path}")
    store = SqlProfileStore(engine)
    store.create_schema()
    metadata.create_all(engine)
    return store


def import_text(store: SqlProfileStore, path: Path, text: str, source_format: str = "online_retail") -> Any:
    path.write_text(text, encoding="utf-8")
    return import_source(store.engine, SourceSpec(path.stem, source_format, path, "Europe/London"))


def profile(store: SqlProfileStore, customer_id: str) -> dict[str, Any] | None:
    details = profile_details(store, customer_id)
    return None if details is None else {**details.fields, **details.collections}


AS_OF = datetime(2011, 12, 10, tzinfo=UTC)


def test_incremental_build_touches_only_new_customers(tmp_path: Path) -> None:
    store = open_test_store(tmp_path / "shop.db")
    import_text(
        store,
        tmp_path / "first.csv",
        HEADER
        + "1001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2011-12-01 10:00:00,2.55,100.0,United Kingdom\n"
        + "1002,22423,REGENCY CAKESTAND 3 TIER,1,2011-12-02 10:00:00,12.75,200.0,France\n",
    )
    first = build_profiles(store, ProfileSettings(), AS_OF)
    assert (first.full, first.built) == (True, 2)

    import_text(
        store,
        tmp_path / "second.csv",
        HEADER + "1003,22423,REGENCY CAKESTAND 3 TIER,2,2011-12-03 10:00:00,12.75,200.0,France\n",
    )
    second = build_profiles(store, ProfileSettings(), AS_OF)
    assert (second.full, second.built) == (False, 1)
    updated = profile(store, "200")
    assert updated is not None
    assert updated["total_purchase"] == 2
    assert updated["total_purchase_value"] == Decimal("38.25")
    untouched = profile(store, "100")
    assert untouched is not None
    assert untouched["total_purchase_value"] == Decimal("5.10")

    third = build_profiles(store, ProfileSettings(), AS_OF)
    assert third.built == 0


def test_moving_as_of_rebuilds_customers_crossing_a_window(tmp_path: Path) -> None:
    store = open_test_store(tmp_path / "shop.db")
    import_text(
        store,
        tmp_path / "orders.csv",
        HEADER
        + "1001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2011-01-03 10:00:00,2.55,100.0,United Kingdom\n"
        + "1002,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2011-06-01 10:00:00,2.55,100.0,United Kingdom\n"
        + "1003,22423,REGENCY CAKESTAND 3 TIER,1,2011-12-02 10:00:00,12.75,200.0,France\n",
    )
    build_profiles(store, ProfileSettings(), AS_OF)
    assert profile(store, "100")["status"] == "lapsed"  # type: ignore[index]
    # Two weeks earlier, customer 100's June order is 178 days old: at risk, not lapsed.
    # Customer 200's December order has not happened yet, so there is no profile.
    earlier = build_profiles(store, ProfileSettings(), AS_OF - timedelta(days=14))
    assert earlier.full is False
    assert (earlier.built, earlier.removed) == (1, 1)
    assert profile(store, "100")["status"] == "at_risk"  # type: ignore[index]
    assert profile(store, "200") is None


def test_cancellations_lower_the_totals(tmp_path: Path) -> None:
    store = open_test_store(tmp_path / "shop.db")
    import_text(
        store,
        tmp_path / "orders.csv",
        HEADER
        + "1001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,10,2011-12-01 10:00:00,2.55,100.0,United Kingdom\n"
        + "1001,POST,POSTAGE,1,2011-12-01 10:00:00,18.00,100.0,United Kingdom\n"
        + "C1002,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-4,2011-12-02 10:00:00,2.55,100.0,United Kingdom\n",
    )
    build_profiles(store, ProfileSettings(), AS_OF)
    stored = profile(store, "100")
    assert stored is not None
    assert stored["total_purchase"] == 1
    assert stored["total_purchase_value"] == Decimal("15.30")
    assert stored["max_purchase_value"] == Decimal("25.50")
    assert stored["avg_basket_size"] == Decimal("6.00")


def test_interests_from_clickstream_events(tmp_path: Path) -> None:
    store = open_test_store(tmp_path / "shop.db")
    events = [
        '{"time": "2019-10-01T00:00:00Z", "customer_id": "u1", "kind": "product_view", "product_id": "1", "category": "electronics.smartphone"}',
        '{"time": "2019-10-01T00:01:00Z", "customer_id": "u1", "kind": "product_view", "product_id": "1", "category": "electronics.smartphone"}',
        '{"time": "2019-10-01T00:02:00Z", "customer_id": "u1", "kind": "add_to_cart", "product_id": "7", "category": "electronics.audio.headphone", "price": "10.50"}',
        '{"time": "2019-09-20T00:00:00Z", "customer_id": "u1", "kind": "product_view", "product_id": "9", "category": "furniture.sofa"}',
    ]
    import_text(store, tmp_path / "events.jsonl", "\n".join(events) + "\n", "jsonl")
    build_profiles(store, ProfileSettings(), datetime(2019, 10, 1, 1, tzinfo=UTC))
    stored = profile(store, "u1")
    assert stored is not None
    assert stored["view_count"] == 3
    assert stored["product_views"] == {"1": 2, "9": 1}
    assert stored["long_term_interests"] == {
        "electronics": Decimal(5),
        "electronics.audio": Decimal(3),
        "electronics.audio.headphone": Decimal(3),
        "electronics.smartphone": Decimal(2),
        "furniture": Decimal(1),
        "furniture.sofa": Decimal(1),
    }
    assert stored["favorite_category"] == "electronics.audio.headphone"
    # The sofa view is 11 days old, past the 3-day short-term window.
    assert stored["short_term_interests"] == ["electronics.audio.headphone", "electronics.smartphone"]
