"""``segmento shopdb draft``: a first mapping file guessed from a shop database's schema.

The main test drafts the test shop's mapping, checks it unedited, and runs the
workspace with it: the profiles and memberships must equal those of
``examples/shopdb-mapping.yaml``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

from segmento.adapters.runs import open_store, run_workspace
from segmento.adapters.shopdb import table_stats
from segmento.adapters.shopdb.copy import ShopDbSource, import_shopdb
from segmento.adapters.shopdb.mapping_file import load_mapping
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import load_config
from segmento.cli import main
from tests.shopdb.databases import MAPPING_FILE, loaded_shop
from tests.shopdb.loader import write_subset
from tests.store_helpers import mariadb_database

pytestmark = pytest.mark.mariadb

RULES = """
segment big_spenders "Big spenders"
total_purchase_value >= 1000

segment hanoi "Hà Nội"
city = "ha noi" ignoring case, accents

segment women "Women"
gender = "female"

segment kitchen_fans "Kitchen fans"
long_term_interests contains any ["home.kitchen"]
"""

CONFIG = """
store: sqlite:///{store}
timezone: Asia/Ho_Chi_Minh
as_of: 2011-12-10T07:00:00
rules: rules
reports: reports
sources:
  - name: shop
    format: shopdb
    mapping: {mapping}
"""


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    subset = write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", 3000)
    with loaded_shop(subset) as (url, _):
        yield url


def draft(database: str, output: Path, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["shopdb", "draft", database, "-o", str(output)], env=env)


def check(mapping: Path, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["shopdb", "check", str(mapping)], env=env)


@pytest.fixture(scope="module")
def drafted(shop_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("draft") / "mapping.yaml"
    result = draft("env:SHOP_DB_URL", path, {"SHOP_DB_URL": shop_url})
    assert result.exit_code == 0, result.output
    return path


def effective(mapping_path: Path) -> dict[str, Any]:
    """Return what a mapping reads: tables, keys, watermarks, columns, conversions and statuses."""
    mapping = load_mapping(mapping_path)
    tables: dict[str, Any] = {}
    for role, table in mapping.tables.items():
        columns = {}
        for target, item in table.columns.items():
            # A code mapped to null and an unlisted code under default: null read the same.
            codes = {code: value for code, value in (item.codes or {}).items() if value is not None or not item.has_default}
            columns[target] = (item.column, codes or None, item.default, item.has_default, item.scale)
        tables[role] = (table.table, table.key, table.watermark, columns)
    return {"tables": tables, "skip": mapping.statuses.skip, "returns": mapping.statuses.returns, "timezone": mapping.timezone}


def test_test_shop_draft_reads_like_example(drafted: Path) -> None:
    assert effective(drafted) == effective(MAPPING_FILE)


def guess_text(lines: list[str], start: str) -> str:
    """Return the line that starts with ``start`` (after its indent) with its comment, above it or after it."""
    index = next(number for number, line in enumerate(lines) if line.strip().startswith(start))
    first = index
    while first > 0 and lines[first - 1].strip().startswith("# ") and not lines[first - 1].strip().startswith("# TODO"):
        first -= 1
    return " ".join(line.strip().lstrip("# ") for line in lines[first : index + 1])


def test_draft_comments_each_guess(drafted: Path) -> None:
    lines = drafted.read_text(encoding="utf-8").splitlines()
    table = guess_text(lines, "table: don_hang")
    assert "high: name is 'don_hang'" in table
    assert "chi_tiet_don_hang.don_hang_id refers to it (foreign key)" in table
    assert "also considered: ten_danh_muc" in guess_text(lines, "name: ma_danh_muc")
    watermark = guess_text(lines, "watermark: ngay_cap_nhat")
    assert "high: update time" in watermark
    assert "index ix_khach_hang_cap_nhat starts with it" in watermark
    assert "TODO:" not in "\n".join(lines)


def test_draft_url_is_a_variable(drafted: Path, shop_url: str) -> None:
    text = drafted.read_text(encoding="utf-8")
    assert "  url: ${SHOP_DB_URL}\n" in text
    assert f"url: {shop_url}" not in text


def test_unedited_draft_passes_check(drafted: Path, shop_url: str) -> None:
    result = check(drafted, {"SHOP_DB_URL": shop_url})
    assert result.exit_code == 0, result.output
    assert "0 problems, 0 warnings" in result.output
    assert "orders: don_hang, " in result.output


def test_run_with_draft_matches_example(drafted: Path, shop_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_URL", shop_url)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.seg").write_text(RULES, encoding="utf-8")
    outcomes = {}
    for name, mapping in (("draft", drafted), ("example", MAPPING_FILE)):
        config = tmp_path / f"{name}.yaml"
        config.write_text(CONFIG.format(store=f"{name}.db", mapping=mapping), encoding="utf-8")
        workspace = load_config(config)[0]
        store = open_store(workspace)
        report = run_workspace(workspace, store=store)
        assert report.imports[0].rejected == 0
        outcomes[name] = stored_state(store)
    assert outcomes["draft"]["profiles"]
    assert outcomes["draft"]["members"]["kitchen_fans"]
    assert outcomes["draft"] == outcomes["example"]


def stored_state(store: SqlProfileStore) -> dict[str, Any]:
    model = store.model
    with store.engine.connect() as connection:
        profiles = {row["id"]: dict(row) for row in connection.execute(sa.select(model.profiles)).mappings()}
        members: dict[str, set[str]] = {}
        for segment_id, profile_id in connection.execute(sa.select(model.memberships.c.segment_id, model.memberships.c.profile_id)):
            members.setdefault(segment_id, set()).add(profile_id)
        interests = sorted(tuple(row) for row in connection.execute(sa.select(model.collections["long_term_interests"].table)))
    return {"profiles": profiles, "members": members, "interests": interests}


def test_password_on_command_line_is_rejected(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["shopdb", "draft", "mysql+pymysql://reader:hunter2@127.0.0.1/shop", "-o", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2
    assert "env:NAME" in result.output
    assert "hunter2" not in result.output
    assert not (tmp_path / "m.yaml").exists()


def test_password_from_environment_stays_out_of_file(shop_url: str, tmp_path: Path) -> None:
    """A reader with a password: the draft names the variable, check uses it, and neither prints it."""
    database = sa.make_url(shop_url).database
    user = f"segmento_reader_{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(sa.make_url(shop_url).set(database=None), poolclass=NullPool)
    with server.begin() as connection:
        for host in ("localhost", "127.0.0.1"):
            connection.exec_driver_sql(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
            connection.exec_driver_sql(f"GRANT SELECT ON `{database}`.* TO '{user}'@'{host}'")
    try:
        reader_url = sa.make_url(shop_url).set(username=user, password=password).render_as_string(hide_password=False)
        env = {"SHOP_READER_URL": reader_url}
        path = tmp_path / "mapping.yaml"
        result = draft("env:SHOP_READER_URL", path, env)
        assert result.exit_code == 0, result.output
        text = path.read_text(encoding="utf-8")
        assert "  url: ${SHOP_READER_URL}\n" in text
        assert password not in text
        assert password not in result.output
        checked = check(path, env)
        assert checked.exit_code == 0, checked.output
        assert password not in checked.output
        assert f"{user}:***@" in checked.output
    finally:
        with server.begin() as connection:
            for host in ("localhost", "127.0.0.1"):
                connection.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'{host}'")
        server.dispose()


# --- a shop with English names ---------------------------------------------------------------

ENGLISH_SCHEMA = """
CREATE TABLE categories (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    slug VARCHAR(100) NOT NULL,
    parent_id INT NULL
);
CREATE TABLE customers (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    full_name VARCHAR(255) NULL,
    sex CHAR(1) NULL,
    date_of_birth DATE NULL,
    city VARCHAR(100) NULL,
    country_code CHAR(2) NULL,
    created_at DATETIME NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY ix_customers_updated (updated_at)
);
CREATE TABLE products (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sku VARCHAR(40) NOT NULL UNIQUE,
    title VARCHAR(255) NOT NULL,
    product_type ENUM('simple', 'shipping', 'gift_wrap_fee', 'coupon') NOT NULL,
    category_id INT NULL,
    modified_at DATETIME NULL
);
CREATE TABLE orders (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id INT NULL,
    order_date DATETIME NOT NULL,
    status VARCHAR(20) NOT NULL,
    shipping_country VARCHAR(60) NULL,
    updated_at DATETIME NULL
);
CREATE TABLE order_items (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id INT NOT NULL,
    product_id INT NOT NULL,
    qty INT NOT NULL,
    unit_price_cents INT NOT NULL,
    KEY ix_order_items_order (order_id),
    KEY ix_order_items_product (product_id)
);
CREATE TABLE newsletter_signups (
    email VARCHAR(255) NOT NULL PRIMARY KEY,
    signed_up DATETIME NOT NULL
);
INSERT INTO categories (id, name, slug, parent_id) VALUES (1, 'Home', 'home', NULL), (2, 'Kitchen', 'kitchen', 1);
INSERT INTO customers (id, email, full_name, sex, date_of_birth, city, country_code, created_at)
    VALUES (1, 'a@example.com', 'Ann Lee', 'F', '1990-02-03', 'Hà Nội', 'VN', '2024-01-02 10:00:00'),
           (2, 'b@example.com', 'Bao Tran', 'M', NULL, 'Huế', 'VN', '2024-01-03 10:00:00');
INSERT INTO products (id, sku, title, product_type, category_id, modified_at)
    VALUES (1, 'MUG-1', 'Mug', 'simple', 2, '2024-01-01 00:00:00'), (2, 'SHIP', 'Shipping', 'shipping', NULL, NULL);
INSERT INTO orders (id, customer_id, order_date, status, shipping_country, updated_at)
    VALUES (1, 1, '2024-02-01 09:00:00', 'paid', 'VN', '2024-02-01 09:00:00'),
           (2, 2, '2024-02-02 09:00:00', 'cancelled', 'VN', '2024-02-02 09:00:00'),
           (3, 1, '2024-02-03 09:00:00', 'refunded', 'VN', '2024-02-03 09:00:00');
INSERT INTO order_items (order_id, product_id, qty, unit_price_cents)
    VALUES (1, 1, 2, 1250), (1, 2, 1, 500), (2, 1, 1, 1250), (3, 1, 1, 1250);
"""


@pytest.fixture(scope="module")
def english_shop() -> Iterator[str]:
    with mariadb_database("segmento_english_shop") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.begin() as connection:
            for statement in ENGLISH_SCHEMA.split(";"):
                if statement.strip():
                    connection.exec_driver_sql(statement)
        engine.dispose()
        yield url


def test_english_schema_drafts_correctly(english_shop: str, tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    result = draft("env:SHOP_DB_URL", path, {"SHOP_DB_URL": english_shop})
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert {role: document[role]["table"] for role in ("customers", "categories", "products", "orders", "order_lines")} == {
        "customers": "customers",
        "categories": "categories",
        "products": "products",
        "orders": "orders",
        "order_lines": "order_items",
    }
    customers = document["customers"]
    assert customers["watermark"] == "updated_at"
    assert customers["columns"]["name"] == "full_name"
    assert customers["columns"]["gender"] == {"column": "sex", "codes": {"F": "female", "M": "male"}, "default": None}
    assert customers["columns"]["birthday"] == "date_of_birth"
    assert customers["columns"]["country"] == "country_code"
    assert customers["columns"]["signed_up_at"] == "created_at"
    assert document["categories"]["columns"] == {"name": "slug", "parent": "parent_id"}
    products = document["products"]["columns"]
    assert products["code"] == "sku"
    assert products["name"] == "title"
    assert products["category"] == "category_id"
    assert products["line_kind"]["codes"] == {"simple": "product", "shipping": "shipping", "gift_wrap_fee": "fee", "coupon": "discount"}
    orders = document["orders"]
    assert orders["columns"] == {"customer": "customer_id", "placed_at": "order_date", "country": "shipping_country", "status": "status"}
    assert orders["statuses"] == {"skip": ["cancelled"], "returns": ["refunded"]}
    lines = document["order_lines"]
    assert lines["columns"]["unit_price"] == {"column": "unit_price_cents", "scale": 2}
    assert lines["columns"]["quantity"] == "qty"
    # order_items has no update time, so its AUTO_INCREMENT key is the watermark, flagged as a weak guess.
    assert lines["watermark"] == "id"
    assert "low: no update-time column" in path.read_text(encoding="utf-8")


def test_english_draft_checks_and_imports(english_shop: str, tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    assert draft("env:SHOP_DB_URL", path, {"SHOP_DB_URL": english_shop}).exit_code == 0
    result = check(path, {"SHOP_DB_URL": english_shop})
    assert result.exit_code == 0, result.output
    # orders.updated_at has no index and may be NULL: warnings that say what to do.
    assert "CREATE INDEX ix_orders_updated_at ON orders (updated_at, id)" in result.output
    assert "watermark orders.updated_at may be NULL" in result.output
    assert "2: skipped: status 'cancelled' is listed under skip" in result.output
    assert "kind=return (lowers the totals)" in result.output

    store = SqlProfileStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_schema()
    imported = import_shopdb(store.engine, ShopDbSource("shop", path), environ={"SHOP_DB_URL": english_shop})
    assert imported.rejected == 0
    with store.engine.connect() as connection:
        values = dict(connection.execute(sa.text("SELECT id, unit_price_micros FROM order_lines WHERE order_id = '1'")).all())
    assert sorted(values.values()) == [5_000_000, 12_500_000]


def test_draft_reads_statuses_from_sample(english_shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """orders.status has no index, so its codes come from the last rows by id; --exact reads every row."""
    monkeypatch.setattr(table_stats, "SAMPLE_ROWS", 2)
    statements: list[str] = []

    def remember(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.lower().split()))

    path = tmp_path / "mapping.yaml"
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    try:
        result = draft("env:SHOP_DB_URL", path, {"SHOP_DB_URL": english_shop})
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)
    assert result.exit_code == 0, result.output
    status_reads = [statement for statement in statements if "status" in statement and "from orders" in statement]
    assert status_reads
    assert all("distinct" not in statement and "limit" in statement for statement in status_reads)
    assert "warning: orders: the status codes were read from the last 2 rows by id; check them, or draft with --exact" in result.output
    text = path.read_text(encoding="utf-8")
    assert "    # read from the last 2 rows by id: older rows may have other codes\n" in text
    # Orders 3 (refunded) and 2 (cancelled) are the sample; order 1 (paid) is not.
    assert yaml.safe_load(text)["orders"]["statuses"] == {"skip": ["cancelled"], "returns": ["refunded"]}
    assert "counted as sales" not in text
    # sex has no index either, but its 2 rows fit in the sample, so its codes are complete.
    assert "codes of customers.sex" not in result.output

    exact_path = tmp_path / "exact.yaml"
    exact = CliRunner().invoke(main, ["shopdb", "draft", "env:SHOP_DB_URL", "-o", str(exact_path), "--exact"], env={"SHOP_DB_URL": english_shop})
    assert exact.exit_code == 0, exact.output
    exact_text = exact_path.read_text(encoding="utf-8")
    assert "  # counted as sales: paid\n" in exact_text
    assert "read from the last" not in exact_text
    assert "status codes were read" not in exact.output


def test_table_without_watermark_is_named(english_shop: str, tmp_path: Path) -> None:
    """A customers table with a text key and no update time: draft and check both say what to add."""
    with mariadb_database("segmento_no_watermark") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.begin() as connection:
            for statement in ENGLISH_SCHEMA.split(";"):
                if statement.strip() and not statement.strip().startswith("INSERT"):
                    connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE customers DROP COLUMN updated_at, DROP COLUMN id, ADD PRIMARY KEY (email)")
            connection.exec_driver_sql("ALTER TABLE orders MODIFY customer_id VARCHAR(255) NULL")
        engine.dispose()
        path = tmp_path / "mapping.yaml"
        result = draft("env:SHOP_DB_URL", path, {"SHOP_DB_URL": url})
        assert result.exit_code == 0, result.output
        assert "warning: customers: table customers has no update-time column and no integer key" in result.output
        text = path.read_text(encoding="utf-8")
        assert "  # watermark: COLUMN   # TODO: table customers has no update-time column" in text

        checked = check(path, {"SHOP_DB_URL": url})
        assert checked.exit_code == 1
        line = next(number for number, content in enumerate(text.splitlines(), 1) if content.startswith("  table: customers"))
        assert f"{path}:{line}:3: error: the customers mapping needs a watermark" in checked.output
        assert "ALTER TABLE customers ADD COLUMN updated_at DATETIME(6) NOT NULL" in checked.output
