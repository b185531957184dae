"""Copying the test shop's MariaDB database: full copy, incremental copies, interruptions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.model import customers, order_lines, orders, rejects, tracked_events
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.shopdb.state import watermarks
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.computations import ProfileSettings
from tests.shopdb.databases import ROOT, Shop, copy, loaded_shop, make_store, mapping_with, shop_from
from tests.store_helpers import Checkpoint
from tests.shopdb.loader import RETAIL_FILE, write_subset

pytestmark = pytest.mark.mariadb

SUBSET_LINES = 5000
AS_OF = datetime(2011, 12, 10, tzinfo=UTC)
AGGREGATES = (
    "total_purchase",
    "total_purchase_value",
    "avg_purchase_value",
    "min_purchase_value",
    "max_purchase_value",
    "first_purchase_at",
    "last_purchase_at",
    "avg_basket_size",
    "status",
)


@pytest.fixture(scope="module")
def subset_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", SUBSET_LINES)


@pytest.fixture
def shop(subset_file: Path) -> Iterator[Shop]:
    with shop_from(subset_file) as loaded:
        yield loaded


def count(store: SqlProfileStore, table: sa.Table) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def profiles(store: SqlProfileStore) -> dict[str, dict[str, object]]:
    table = store.model.profiles
    with store.engine.connect() as connection:
        return {row["id"]: {name: row[name] for name in AGGREGATES} for row in connection.execute(sa.select(table)).mappings()}


def test_full_copy_stores_every_row(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    result = copy(store, shop)
    assert result.rejected == 0
    assert result.stored == shop.counts.customers + shop.counts.orders + shop.counts.lines
    assert count(store, customers) == shop.counts.customers
    assert count(store, orders) == shop.counts.orders
    assert count(store, order_lines) == shop.counts.lines
    assert len(result.touched) == shop.counts.customers
    assert "SHOP_DB_URL" not in result.file_name


def test_profiles_match_file_import(shop: Shop, subset_file: Path, tmp_path: Path) -> None:
    from_shop = make_store(tmp_path / "shop.db")
    copy(from_shop, shop)
    build_profiles(from_shop, ProfileSettings(), AS_OF)
    from_file = make_store(tmp_path / "file.db")
    import_source(from_file.engine, SourceSpec("file", "online_retail", subset_file, "Europe/London"))
    build_profiles(from_file, ProfileSettings(), AS_OF)
    expected = profiles(from_file)
    assert len(expected) == shop.counts.customers
    assert profiles(from_shop) == expected


def test_customer_traits_are_converted(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    customer_id = shop.scalar("SELECT MIN(id) FROM khach_hang WHERE gioi_tinh = 2 AND ngay_sinh IS NOT NULL")
    city = shop.scalar("SELECT thanh_pho FROM khach_hang WHERE id = :id", id=customer_id)
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(customers).where(customers.c.id == str(customer_id))).one()
    assert row.gender == "female"
    assert row.city == city
    assert row.birthday is not None


def test_second_import_reads_nothing(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    again = copy(store, shop)
    assert (again.read, again.stored, again.rejected) == (0, 0, 0)
    assert again.touched == set()
    assert count(store, order_lines) == shop.counts.lines


def test_new_order_is_copied(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    customer_id = shop.scalar("SELECT MIN(khach_hang_id) FROM don_hang")
    order_id = add_order(shop, customer_id, "NEW1", quantities=(2, 3))
    result = copy(store, shop)
    assert result.touched == {str(customer_id)}
    assert result.stored == 3
    with store.engine.connect() as connection:
        lines = connection.execute(sa.select(order_lines).where(order_lines.c.order_id == str(order_id))).all()
        events = connection.scalar(sa.select(sa.func.count()).where(tracked_events.c.order_id == str(order_id)))
    assert sorted(line.quantity for line in lines) == [2, 3]
    assert events == 2


def add_order(shop: Shop, customer_id: object, code: str, *, quantities: tuple[int, ...], updated: str | None = None) -> int:
    """Insert an order of product 1 lines placed on 2011-12-09 local time; return its id."""
    with shop.engine.begin() as connection:
        stamp = {"updated": updated or datetime.now().isoformat(sep=" ")}
        order_id = connection.execute(
            sa.text(
                "INSERT INTO don_hang (ma_don, khach_hang_id, ngay_dat, trang_thai, quoc_gia_giao, ngay_cap_nhat)"
                " VALUES (:code, :customer, '2011-12-09 15:00:00', 'da_giao', 'Vietnam', :updated)"
            ),
            {"code": code, "customer": customer_id, **stamp},
        ).lastrowid
        for quantity in quantities:
            connection.execute(
                sa.text(
                    "INSERT INTO chi_tiet_don_hang (don_hang_id, san_pham_id, so_luong, don_gia, ngay_cap_nhat)"
                    " VALUES (:order, 1, :quantity, 10.5, :updated)"
                ),
                {"order": order_id, "quantity": quantity, **stamp},
            )
    return int(order_id)


def test_equal_update_times_at_batch_boundary(shop: Shop, tmp_path: Path) -> None:
    mapping = mapping_with(tmp_path, "batch_size: 1000", "batch_size: 2")
    store = make_store(tmp_path / "store.db")
    first = copy(store, shop, mapping)
    assert first.stored == shop.counts.customers + shop.counts.orders + shop.counts.lines
    customer_id = shop.scalar("SELECT MIN(khach_hang_id) FROM don_hang")
    # Five orders with one update time: batches of 2 split them 2 + 2 + 1.
    new = [add_order(shop, customer_id, f"TIE{index}", quantities=(1,), updated="2030-01-01 00:00:00") for index in range(5)]
    second = copy(store, shop, mapping)
    assert second.stored == 10
    with store.engine.connect() as connection:
        stored = set(connection.scalars(sa.select(orders.c.id).where(orders.c.id.in_([str(item) for item in new]))))
    assert stored == {str(item) for item in new}
    assert count(store, orders) == shop.counts.orders + 5


def test_changed_line_is_copied_again(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    line_id, order_id, quantity = _first_line(shop)
    shop.execute("UPDATE chi_tiet_don_hang SET so_luong = so_luong + 10 WHERE id = :id", id=line_id)
    result = copy(store, shop)
    customer_id = shop.scalar("SELECT khach_hang_id FROM don_hang WHERE id = :id", id=order_id)
    assert result.touched == {str(customer_id)}
    with store.engine.connect() as connection:
        stored = connection.scalar(sa.select(order_lines.c.quantity).where(order_lines.c.id == f"{order_id}/{line_id}"))
    assert stored == quantity + 10


def _first_line(shop: Shop) -> tuple[int, int, int]:
    with shop.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT l.id, l.don_hang_id, l.so_luong FROM chi_tiet_don_hang l JOIN don_hang o ON o.id = l.don_hang_id"
                " WHERE o.khach_hang_id IS NOT NULL AND o.trang_thai = 'da_giao' ORDER BY l.id LIMIT 1"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_product_change_reaches_its_lines(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    code = shop.scalar("SELECT ma_sp FROM san_pham WHERE id = 1")
    kitchen = shop.scalar("SELECT id FROM danh_muc WHERE ma_danh_muc = 'kitchen'")
    shop.execute("UPDATE san_pham SET danh_muc_id = :category, ten_sp = 'KHAY BÁNH' WHERE id = 1", category=kitchen)
    copy(store, shop)
    with store.engine.connect() as connection:
        lines = connection.execute(sa.select(order_lines.c.category, order_lines.c.description).where(order_lines.c.product_id == code)).all()
        categories = set(connection.scalars(sa.select(tracked_events.c.category).where(tracked_events.c.product_id == code)))
    assert lines
    assert set(lines) == {("home.kitchen", "KHAY BÁNH")}
    assert categories == {"home.kitchen"}


def test_cancelled_order_is_removed(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    _, order_id, _ = _first_line(shop)
    shop.execute("UPDATE don_hang SET trang_thai = 'da_huy' WHERE id = :id", id=order_id)
    copy(store, shop)
    with store.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).where(orders.c.id == str(order_id))) == 0
        assert connection.scalar(sa.select(sa.func.count()).where(order_lines.c.order_id == str(order_id))) == 0
        assert connection.scalar(sa.select(sa.func.count()).where(tracked_events.c.order_id == str(order_id))) == 0


def test_bad_line_is_rejected_with_its_key(shop: Shop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    order_id = add_order(shop, None, "GUEST1", quantities=(1, 0))
    zero_line = shop.scalar("SELECT id FROM chi_tiet_don_hang WHERE don_hang_id = :id AND so_luong = 0", id=order_id)
    result = copy(store, shop)
    assert result.rejected == 1
    assert result.reasons == {"zero_quantity": 1}
    with store.engine.connect() as connection:
        reject = connection.execute(sa.select(rejects).where(rejects.c.import_id == result.import_id)).one()
    assert (reject.source_file, reject.line, reject.reason) == ("chi_tiet_don_hang", zero_line, "zero_quantity")
    assert json.loads(reject.raw_row)["so_luong"] == 0


INTERRUPTED_IMPORT = """
import sys
from pathlib import Path
import sqlalchemy as sa
from segmento.adapters.shopdb.copy import ShopDbSource, import_shopdb
engine = sa.create_engine(sys.argv[1])
import_shopdb(engine, ShopDbSource("shop", Path(sys.argv[2])), environ={"SHOP_DB_URL": sys.argv[3]})
"""


def test_killed_import_leaves_store_consistent(shop: Shop, tmp_path: Path) -> None:
    batch = 20
    mapping = mapping_with(tmp_path, "batch_size: 1000", f"batch_size: {batch}")
    store = make_store(tmp_path / "store.db")
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    environment = dict(
        os.environ,
        SEGMENTO_TEST_CHECKPOINT="shopdb_batch_written",
        SEGMENTO_TEST_CHECKPOINT_DIR=str(checkpoints),
        PYTHONPATH=str(ROOT),
    )
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_IMPORT, str(store.engine.url), str(mapping), shop.url], env=environment
    )
    # Let every customer batch and the first order batch commit, then kill the process
    # while the second order batch is written but not committed.
    customer_batches = -(-shop.counts.customers // batch)
    checkpoint = Checkpoint(checkpoints, "shopdb_batch_written")
    try:
        for hit in range(1, customer_batches + 3):
            # Waiting for the next hit number, not for the file to go, cannot miss a
            # batch that rewrites the file at once.
            details = checkpoint.wait(process, timeout=120)
            assert details is not None, f"the import exited before batch {hit}"
            assert details["hit"] == hit
            if hit == customer_batches + 2:
                break
            checkpoint.release()
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    first_orders = [str(item) for item in _ordered_keys(shop, "don_hang")[:batch]]
    with store.engine.connect() as connection:
        stored_orders = sorted(connection.scalars(sa.select(orders.c.id)))
        marks = {row.role: json.loads(row.value) for row in connection.execute(sa.select(watermarks))}
        stored_lines = connection.scalar(sa.select(sa.func.count()).select_from(order_lines))
    assert stored_orders == sorted(first_orders)
    assert marks["orders"][1] == int(first_orders[-1])
    lines_of_first = sa.text("SELECT COUNT(*) FROM chi_tiet_don_hang WHERE don_hang_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with shop.engine.connect() as connection:
        assert stored_lines == connection.scalar(lines_of_first, {"ids": [int(item) for item in first_orders]})

    resumed = copy(store, shop, mapping)
    assert resumed.stored == shop.counts.orders - batch + shop.counts.lines - stored_lines
    assert count(store, orders) == shop.counts.orders
    assert count(store, order_lines) == shop.counts.lines
    assert count(store, customers) == shop.counts.customers


def _ordered_keys(shop: Shop, table: str) -> list[int]:
    statement = {"don_hang": "SELECT id FROM don_hang ORDER BY ngay_cap_nhat, id"}[table]
    with shop.engine.connect() as connection:
        return [int(item) for item in connection.execute(sa.text(statement)).scalars()]


def test_full_retail_file(tmp_path: Path) -> None:
    with loaded_shop(RETAIL_FILE) as (url, counts):
        assert (counts.customers, counts.orders, counts.lines) == (3495, 19226, 435896)
        store = make_store(tmp_path / "store.db")
        result = copy(store, Shop(url, counts, sa.create_engine(url, poolclass=NullPool)))
    assert result.rejected == 0
    assert count(store, order_lines) == counts.lines
    assert count(store, orders) == counts.orders
    assert count(store, customers) == counts.customers
