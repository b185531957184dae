"""Reconciliation of the test shop: deleted rows leave the store, rows without an update time are copied."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.model import customers, order_lines, orders, tracked_events
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.runs import open_store, run_workspace
from segmento.adapters.shopdb.mapping_file import load_mapping
from segmento.adapters.shopdb.state import copied_keys
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.urls import create_store_engine
from segmento.adapters.workspace import load_config
from segmento.cli import main
from segmento.engine.computations import ProfileSettings
from segmento.engine.errors import DataError
from tests.shopdb.databases import MAPPING_FILE, ROOT, Shop, copy, loaded_shop, make_store, mapping_with
from tests.shopdb.loader import write_subset
from tests.store_helpers import mariadb_database

SUBSET_LINES = 5000
AS_OF = datetime(2011, 12, 10, tzinfo=UTC)
STORES = ("sqlite", "mariadb")
PAID_ORDERS = """
    SELECT o.id FROM don_hang o JOIN chi_tiet_don_hang l ON l.don_hang_id = o.id JOIN san_pham p ON p.id = l.san_pham_id
    WHERE o.khach_hang_id = :customer AND o.trang_thai = 'da_giao' AND p.loai = 'hang_hoa'
    GROUP BY o.id HAVING COUNT(*) >= 2 ORDER BY o.id
"""


class ReconcileShop(Shop):
    """The test shop with the edits that reconciliation tests make."""

    def delete_order(self, order_id: object) -> None:
        self.execute("DELETE FROM chi_tiet_don_hang WHERE don_hang_id = :id", id=order_id)
        self.execute("DELETE FROM don_hang WHERE id = :id", id=order_id)

    def regular_customer(self) -> int:
        """Return a customer with at least two paid orders of two or more product lines each."""
        for customer in self.scalars("SELECT DISTINCT khach_hang_id FROM don_hang WHERE khach_hang_id IS NOT NULL ORDER BY khach_hang_id"):
            if len(self.scalars(PAID_ORDERS, customer=customer)) >= 2:
                return int(customer)  # type: ignore[call-overload]
        raise AssertionError("the test shop has no customer with two paid orders of several lines")


@pytest.fixture(scope="module")
def subset_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", SUBSET_LINES)


@pytest.fixture
def shop(subset_file: Path) -> Iterator[ReconcileShop]:
    with loaded_shop(subset_file) as (url, counts):
        engine = sa.create_engine(url, poolclass=NullPool)
        yield ReconcileShop(url, counts, engine)
        engine.dispose()


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlProfileStore]:
    if request.param == "sqlite":
        created = SqlProfileStore(create_store_engine(f"sqlite:///{tmp_path / 'store.db'}"))
        created.create_schema()
        yield created
        created.engine.dispose()
        return
    with mariadb_database("segmento_store") as url:
        created = SqlProfileStore(create_store_engine(url))
        created.create_schema()
        yield created
        created.engine.dispose()


def count_where(store: SqlProfileStore, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(table).where(condition)) or 0)


def totals(store: SqlProfileStore) -> dict[str, Decimal]:
    profiles = store.model.profiles
    with store.engine.connect() as connection:
        return {row.id: row.total_purchase_value for row in connection.execute(sa.select(profiles.c.id, profiles.c.total_purchase_value))}


def order_value(store: SqlProfileStore, order_id: object) -> Decimal:
    """Return the value of the stored product lines of an order, in currency units."""
    condition = sa.and_(order_lines.c.order_id == str(order_id), order_lines.c.line_kind == "product")
    with store.engine.connect() as connection:
        micros = connection.scalar(sa.select(sa.func.sum(order_lines.c.value_micros)).where(condition))
    return Decimal(int(micros)).scaleb(-6)


def reconcile_log(caplog: pytest.LogCaptureFixture) -> str:
    lines = [record.getMessage() for record in caplog.records if record.name == "segmento.adapters.shopdb.reconcile"]
    done = [line for line in lines if " done: " in line]
    assert len(done) == 1, lines
    return done[0]


# --- deleted rows --------------------------------------------------------------------------


@pytest.mark.mariadb
def test_deleted_order_lowers_total(shop: ReconcileShop, store: SqlProfileStore, caplog: pytest.LogCaptureFixture) -> None:
    copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)
    customer = shop.regular_customer()
    order_id = shop.scalars(PAID_ORDERS, customer=customer)[0]
    before = totals(store)[str(customer)]
    value = order_value(store, order_id)
    lines = count_where(store, order_lines, order_lines.c.order_id == str(order_id))
    shop.delete_order(order_id)

    with caplog.at_level(logging.INFO, logger="segmento.adapters.shopdb"):
        result = copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)

    assert result.touched == {str(customer)}
    assert count_where(store, orders, orders.c.id == str(order_id)) == 0
    assert count_where(store, order_lines, order_lines.c.order_id == str(order_id)) == 0
    assert count_where(store, tracked_events, tracked_events.c.order_id == str(order_id)) == 0
    assert value > 0
    assert totals(store)[str(customer)] == before - value
    message = reconcile_log(caplog)
    assert "khach_hang=0 don_hang=1 " in message
    assert f"chi_tiet_don_hang={lines};" in message
    assert result.reconciliation is not None
    assert result.reconciliation.deleted == {"khach_hang": 0, "don_hang": 1, "chi_tiet_don_hang": lines}
    assert result.deleted == 1 + lines


@pytest.mark.mariadb
def test_deleted_line_updates_its_order(shop: ReconcileShop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)
    customer = shop.regular_customer()
    order_id = shop.scalars(PAID_ORDERS, customer=customer)[0]
    line_id = shop.scalar("SELECT MAX(id) FROM chi_tiet_don_hang WHERE don_hang_id = :id", id=order_id)
    with store.engine.connect() as connection:
        line_value = connection.scalar(sa.select(order_lines.c.value_micros).where(order_lines.c.id == f"{order_id}/{line_id}"))
    before = totals(store)[str(customer)]
    # Deleting a line moves no watermark: neither the order's nor another line's update time changes.
    shop.execute("DELETE FROM chi_tiet_don_hang WHERE id = :id", id=line_id)

    result = copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)

    assert result.touched == {str(customer)}
    assert count_where(store, order_lines, order_lines.c.id == f"{order_id}/{line_id}") == 0
    assert count_where(store, orders, orders.c.id == str(order_id)) == 1
    assert totals(store)[str(customer)] == before - Decimal(int(line_value)).scaleb(-6)


@pytest.mark.mariadb
def test_deleted_customer_loses_profile(shop: ReconcileShop, store: SqlProfileStore) -> None:
    copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)
    customer = shop.regular_customer()
    assert str(customer) in totals(store)
    for order_id in shop.scalars("SELECT id FROM don_hang WHERE khach_hang_id = :id", id=customer):
        shop.delete_order(order_id)
    shop.execute("DELETE FROM khach_hang WHERE id = :id", id=customer)

    result = copy(store, shop)
    build = build_profiles(store, ProfileSettings(), AS_OF)

    assert str(customer) in result.touched
    assert count_where(store, customers, customers.c.id == str(customer)) == 0
    assert count_where(store, orders, orders.c.customer_id == str(customer)) == 0
    assert build.removed == 1
    assert str(customer) not in totals(store)
    assert count_where(store, copied_keys, sa.and_(copied_keys.c.role == "customers", copied_keys.c.key == str(customer))) == 0


@pytest.mark.mariadb
def test_reconciled_store_matches_fresh_copy(shop: ReconcileShop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    customer = shop.regular_customer()
    first, second = shop.scalars(PAID_ORDERS, customer=customer)[:2]
    shop.delete_order(first)
    shop.execute("DELETE FROM chi_tiet_don_hang WHERE id = (SELECT MIN(id) FROM chi_tiet_don_hang WHERE don_hang_id = :id)", id=second)
    copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)

    fresh = make_store(tmp_path / "fresh.db")
    copy(fresh, shop)
    build_profiles(fresh, ProfileSettings(), AS_OF)

    assert totals(store) == totals(fresh)
    with store.engine.connect() as connection, fresh.engine.connect() as other:
        lines = sa.select(order_lines.c.id, order_lines.c.quantity, order_lines.c.value_micros).order_by(order_lines.c.id)
        assert connection.execute(lines).all() == other.execute(lines).all()


@pytest.mark.mariadb
def test_nothing_deleted_changes_nothing(shop: ReconcileShop, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    with caplog.at_level(logging.INFO, logger="segmento.adapters.shopdb"):
        again = copy(store, shop)
    assert (again.read, again.stored, again.rejected, again.deleted) == (0, 0, 0, 0)
    assert again.reconciliation is not None
    assert again.reconciliation.rows_copied == 0
    assert again.touched == set()
    assert "khach_hang=0 don_hang=0 chi_tiet_don_hang=0; copied khach_hang=0 don_hang=0;" in reconcile_log(caplog)


# --- rows without an update time -------------------------------------------------------------


def allow_null_watermarks(shop: ReconcileShop) -> None:
    for table in ("khach_hang", "don_hang", "chi_tiet_don_hang"):
        shop.execute(f"ALTER TABLE {table} MODIFY ngay_cap_nhat DATETIME(6) NULL DEFAULT NULL")


def add_null_customer(shop: ReconcileShop, customer_id: int) -> None:
    shop.execute(
        "INSERT INTO khach_hang (id, ho_ten, gioi_tinh, thanh_pho, quoc_gia, ngay_tao, ngay_cap_nhat)"
        " VALUES (:id, 'Lê Thị Hoa', 2, 'Huế', 'Vietnam', '2011-01-01 08:00:00', NULL)",
        id=customer_id,
    )


def add_null_order(shop: ReconcileShop, customer_id: int, quantities: tuple[int, ...]) -> int:
    """Insert a paid order with lines of product 1, all without an update time; return its id."""
    with shop.engine.begin() as connection:
        order_id = connection.execute(
            sa.text(
                "INSERT INTO don_hang (ma_don, khach_hang_id, ngay_dat, trang_thai, quoc_gia_giao, ngay_cap_nhat)"
                " VALUES (:code, :customer, '2011-12-09 15:00:00', 'da_giao', 'Vietnam', NULL)"
            ),
            {"code": f"NULL{customer_id}", "customer": customer_id},
        ).lastrowid
    for quantity in quantities:
        add_null_line(shop, order_id, quantity)
    return int(order_id)


def add_null_line(shop: ReconcileShop, order_id: int, quantity: int) -> None:
    shop.execute(
        "INSERT INTO chi_tiet_don_hang (don_hang_id, san_pham_id, so_luong, don_gia, ngay_cap_nhat)"
        " VALUES (:order, 1, :quantity, 10.5, NULL)",
        order=order_id,
        quantity=quantity,
    )


@pytest.mark.mariadb
def test_null_watermark_rows_are_copied(shop: ReconcileShop, store: SqlProfileStore) -> None:
    allow_null_watermarks(shop)
    add_null_customer(shop, 99001)
    first_order = add_null_order(shop, 99001, (2, 3))
    copy(store, shop)

    add_null_customer(shop, 99002)
    second_order = add_null_order(shop, 99002, (4,))
    add_null_line(shop, first_order, 5)
    result = copy(store, shop)
    build_profiles(store, ProfileSettings(), AS_OF)

    assert result.touched == {"99001", "99002"}
    with store.engine.connect() as connection:
        cities = dict(connection.execute(sa.select(customers.c.id, customers.c.city).where(customers.c.id.in_(["99001", "99002"]))).all())
        first = sorted(connection.scalars(sa.select(order_lines.c.quantity).where(order_lines.c.order_id == str(first_order))))
        second = sorted(connection.scalars(sa.select(order_lines.c.quantity).where(order_lines.c.order_id == str(second_order))))
    assert cities == {"99001": "Huế", "99002": "Huế"}
    assert first == [2, 3, 5]
    assert second == [4]
    assert totals(store)["99001"] == Decimal("105.0")


@pytest.mark.mariadb
def test_null_watermark_rows_need_reconciliation(shop: ReconcileShop, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    allow_null_watermarks(shop)
    store = make_store(tmp_path / "store.db")
    mapping = mapping_with(tmp_path, "reconcile: every_import", "reconcile: never")
    add_null_customer(shop, 99001)
    add_null_order(shop, 99001, (2,))
    with caplog.at_level(logging.WARNING, logger="segmento.adapters.shopdb"):
        result = copy(store, shop, mapping)
    assert result.stored == shop.counts.customers + shop.counts.orders + shop.counts.lines
    assert count_where(store, customers, customers.c.id == "99001") == 0
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(message.startswith("column don_hang.ngay_cap_nhat may be NULL") for message in warnings), warnings


# --- how often, and interruptions -----------------------------------------------------------


@pytest.mark.mariadb
def test_reconcile_interval_skips_recent(shop: ReconcileShop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    mapping = mapping_with(tmp_path, "reconcile: every_import", "reconcile: 12h")
    copy(store, shop, mapping)
    customer = shop.regular_customer()
    order_id = shop.scalars(PAID_ORDERS, customer=customer)[0]
    shop.delete_order(order_id)

    skipped = copy(store, shop, mapping)
    assert count_where(store, orders, orders.c.id == str(order_id)) == 1
    assert skipped.reconciliation is None
    assert skipped.to_dict()["reconciliation"] is None
    copy(store, shop)
    assert count_where(store, orders, orders.c.id == str(order_id)) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("every_import", "every_import"),
        ("never", "never"),
        ("30m", "every 0:30:00"),
        ("12h", "every 12:00:00"),
        ("7d", "every 7 days, 0:00:00"),
    ],
)
def test_reconcile_values(tmp_path: Path, value: str, expected: str) -> None:
    mapping = load_mapping(mapping_with(tmp_path, "reconcile: every_import", f"reconcile: {value}"))
    assert mapping.reconcile.describe() == expected


def test_invalid_reconcile_names_line(tmp_path: Path) -> None:
    path = mapping_with(tmp_path, "reconcile: every_import", "reconcile: weekly")
    with pytest.raises(DataError) as raised:
        load_mapping(path)
    line = next(number for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "reconcile:" in text)
    assert raised.value.location.line == line
    assert "every_import, never or an interval" in raised.value.message
    assert raised.value.hint is not None and "12h" in raised.value.hint


INTERRUPTED_IMPORT = """
import sys
from pathlib import Path
import sqlalchemy as sa
from segmento.adapters.shopdb.copy import ShopDbSource, import_shopdb
engine = sa.create_engine(sys.argv[1])
import_shopdb(engine, ShopDbSource("shop", Path(sys.argv[2])), environ={"SHOP_DB_URL": sys.argv[3]})
"""


@pytest.mark.mariadb
def test_killed_reconciliation_resumes(shop: ReconcileShop, tmp_path: Path) -> None:
    batch = 20
    mapping = mapping_with(tmp_path, "batch_size: 1000", f"batch_size: {batch}")
    store = make_store(tmp_path / "store.db")
    copy(store, shop, mapping)
    build_profiles(store, ProfileSettings(), AS_OF)
    before = totals(store)
    # Reconciliation reads the recorded keys in text order, so these two fall in chunks 1 and 3.
    recorded = sorted(str(key) for key in shop.scalars("SELECT id FROM don_hang"))
    paid = {str(key) for key in shop.scalars("SELECT id FROM don_hang WHERE khach_hang_id IS NOT NULL AND trang_thai = 'da_giao'")}
    first = next(key for key in recorded[:batch] if key in paid)
    second = next(key for key in recorded[2 * batch : 3 * batch] if key in paid)
    owners = {order_id: str(shop.scalar("SELECT khach_hang_id FROM don_hang WHERE id = :id", id=order_id)) for order_id in (first, second)}
    values = {order_id: order_value(store, order_id) for order_id in (first, second)}
    shop.delete_order(first)
    shop.delete_order(second)

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    environment = dict(
        os.environ,
        SEGMENTO_TEST_CHECKPOINT="shopdb_reconcile_chunk",
        SEGMENTO_TEST_CHECKPOINT_DIR=str(checkpoints),
        PYTHONPATH=str(ROOT),
    )
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_IMPORT, str(store.engine.url), str(mapping), shop.url], env=environment)
    reached = checkpoints / "shopdb_reconcile_chunk.reached"
    try:
        # Let the chunk with the first deletion commit, then kill the process while the
        # chunk with the second is written but not committed.
        wait_for_hit(reached, process, 1)
        (checkpoints / "shopdb_reconcile_chunk.release").touch()
        wait_for_hit(reached, process, 2)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    assert count_where(store, orders, orders.c.id == first) == 0
    assert count_where(store, orders, orders.c.id == second) == 1
    assert count_where(store, copied_keys, sa.and_(copied_keys.c.role == "orders", copied_keys.c.key == second)) == 1

    copy(store, shop, mapping)
    build_profiles(store, ProfileSettings(), AS_OF)

    assert count_where(store, orders, orders.c.id == second) == 0
    assert count_where(store, order_lines, order_lines.c.order_id == second) == 0
    assert count_where(store, orders, sa.true()) == shop.counts.orders - 2
    lost: dict[str, Decimal] = {}
    for order_id, owner in owners.items():
        lost[owner] = lost.get(owner, Decimal(0)) + values[order_id]
    after = totals(store)
    for owner, value in lost.items():
        assert after[owner] == before[owner] - value


def wait_for_hit(path: Path, process: subprocess.Popen[bytes], hit: int) -> None:
    """Wait until the import reaches the checkpoint of ``path`` for the ``hit``-th time.

    The next hit may rewrite the file before a poll finds it gone, so the hit number
    tells the hits apart.
    """
    deadline = time.monotonic() + 60
    while reached_hit(path) != hit:
        if process.poll() is not None:
            pytest.fail(f"the import ended with status {process.returncode} before hit {hit} of the checkpoint")
        if time.monotonic() > deadline:
            pytest.fail(f"the import did not reach hit {hit} of the checkpoint within 60 s")
        time.sleep(0.02)


def reached_hit(path: Path) -> int | None:
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["hit"])
    except FileNotFoundError:
        return None


# --- category paths ---------------------------------------------------------------------------


@pytest.mark.mariadb
def test_renamed_category_reaches_lines(shop: ReconcileShop, tmp_path: Path) -> None:
    store = make_store(tmp_path / "store.db")
    copy(store, shop)
    with store.engine.connect() as connection:
        before = connection.scalar(sa.select(sa.func.count()).where(order_lines.c.category == "home.kitchen"))
    assert before > 0
    # The category tree has no update time, so only its paths can tell the change.
    shop.execute("UPDATE danh_muc SET ma_danh_muc = 'bep' WHERE ma_danh_muc = 'kitchen'")

    result = copy(store, shop)

    with store.engine.connect() as connection:
        renamed = connection.scalar(sa.select(sa.func.count()).where(order_lines.c.category == "home.bep"))
        old = connection.scalar(sa.select(sa.func.count()).where(order_lines.c.category == "home.kitchen"))
        events = connection.scalar(sa.select(sa.func.count()).where(tracked_events.c.category == "home.kitchen"))
    assert (renamed, old, events) == (before, 0, 0)
    assert result.touched
    again = copy(store, shop)
    assert again.read == 0


# --- a whole run ----------------------------------------------------------------------------

RUN_CONFIG = """
store: sqlite:///store.db
timezone: Asia/Ho_Chi_Minh
as_of: 2011-12-10T07:00:00
rules: rules
reports: reports
evaluate: changed
sources:
  - name: shop
    format: shopdb
    mapping: {mapping}
"""


@pytest.mark.mariadb
def test_deleted_customer_leaves_segments(shop: ReconcileShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_URL", shop.url)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.seg").write_text('segment women "Women"\ngender = "female"\n', encoding="utf-8")
    config = tmp_path / "segmento.yaml"
    config.write_text(RUN_CONFIG.format(mapping=MAPPING_FILE), encoding="utf-8")
    workspace = load_config(config)[0]
    store = open_store(workspace)
    run_workspace(workspace, store=store)
    customer = str(shop.scalar("SELECT MIN(k.id) FROM khach_hang k JOIN don_hang o ON o.khach_hang_id = k.id WHERE k.gioi_tinh = 2"))
    memberships = store.model.memberships
    women = sa.select(memberships.c.profile_id).where(memberships.c.segment_id == "women")
    with store.engine.connect() as connection:
        assert customer in set(connection.scalars(women))
    for order_id in shop.scalars("SELECT id FROM don_hang WHERE khach_hang_id = :id", id=customer):
        shop.delete_order(order_id)
    shop.execute("DELETE FROM khach_hang WHERE id = :id", id=customer)

    report = run_workspace(workspace, store=store)

    assert report.build is not None
    assert report.build.removed == 1
    assert [(outcome.id, outcome.left) for outcome in report.segments] == [("women", 1)]
    with store.engine.connect() as connection:
        assert customer not in set(connection.scalars(women))
    store.engine.dispose()


@pytest.mark.mariadb
def test_run_summary_and_report_count_deletions(shop: ReconcileShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_URL", shop.url)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.seg").write_text('segment buyers "Buyers"\ntotal_purchase >= 1\n', encoding="utf-8")
    config = tmp_path / "segmento.yaml"
    config.write_text(RUN_CONFIG.format(mapping=MAPPING_FILE), encoding="utf-8")
    first = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert first.exit_code == 0, first.output
    order_id = shop.scalars(PAID_ORDERS, customer=shop.regular_customer())[0]
    lines = int(shop.scalar("SELECT COUNT(*) FROM chi_tiet_don_hang WHERE don_hang_id = :id", id=order_id))  # type: ignore[call-overload]
    shop.delete_order(order_id)
    new_customer = 99001
    shop.execute(
        "INSERT INTO khach_hang (id, ho_ten, gioi_tinh, thanh_pho, quoc_gia, ngay_tao, ngay_cap_nhat)"
        " VALUES (:id, 'Lê Thị Hoa', 2, 'Huế', 'Vietnam', '2011-01-01 08:00:00', '2000-01-01 00:00:00')",
        id=new_customer,
    )

    second = CliRunner().invoke(main, ["run", "--config", str(config)])

    assert second.exit_code == 0, second.output
    imports = json.loads((tmp_path / "reports" / "segmento-run-2.json").read_text(encoding="utf-8"))["imports"]
    assert len(imports) == 1
    # The customer's update time is older than the watermark, so only reconciliation copies it.
    assert imports[0]["rows_read"] == 1
    assert imports[0]["rows_stored"] == 1
    assert imports[0]["rows_deleted"] == 1 + lines
    assert imports[0]["reconciliation"] == {
        "deleted": {"khach_hang": 0, "don_hang": 1, "chi_tiet_don_hang": lines},
        "copied": {"khach_hang": 1, "don_hang": 0},
        "orders_with_changed_lines": 0,
    }
    row = next(line for line in second.output.splitlines() if line.startswith("│ shop "))
    assert [cell.strip() for cell in row.split("│")[1:7]] == ["shop", "1", "1", "0", "0", f"{1 + lines:,}"]
    reconciliation = f"deleted khach_hang=0 don_hang=1 chi_tiet_don_hang={lines}; copied khach_hang=1 don_hang=0;"
    assert f"shop reconciliation: {reconciliation}" in second.output
