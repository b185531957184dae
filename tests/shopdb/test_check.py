"""``segmento shopdb check``: every problem of a mapping at once, warnings, and what an import would read."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

from segmento.adapters.shopdb.check import check_shopdb
from segmento.adapters.shopdb import table_stats
from segmento.adapters.shopdb.mapping_file import load_mapping, read_mapping
from segmento.adapters.shopdb.table_stats import estimated_rows
from segmento.cli import main
from segmento.engine.errors import DataError
from tests.shopdb.databases import MAPPING_FILE, loaded_shop
from tests.shopdb.loader import write_subset

EXAMPLE = MAPPING_FILE.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = EXAMPLE
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return write(tmp_path, text)


def line_of(path: Path, fragment: str) -> int:
    return next(number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


def check(target: Path, url: str | None, *options: str) -> Result:
    env = {"SHOP_DB_URL": url} if url is not None else {"SHOP_DB_URL": ""}
    return CliRunner().invoke(main, ["shopdb", "check", str(target), *options], env=env)


@contextmanager
def executed_sql() -> Iterator[list[str]]:
    """Collect the SQL text of every statement any engine sends, in lower case."""
    statements: list[str] = []

    def remember(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.lower().split()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)


def estimate_in(output: str, table: str) -> int:
    """Return the estimated row count printed for ``table``: ``orders: don_hang, about 86 rows``."""
    found = re.search(rf": {table}, about ([0-9,]+) rows?\b", output)
    assert found, (table, output)
    return int(found.group(1).replace(",", ""))


# --- the file alone ---------------------------------------------------------------------------


BROKEN_FILE = (
    ("  batch_size: 1000", "  batch_size: 0"),
    ("    birthday: ngay_sinh", "    birthdate: ngay_sinh"),
    ("codes: {1: male, 2: female, 3: other}", "codes: {1: male, 2: femal, 3: othr}"),
    ("  watermark: ngay_cap_nhat     # update time; the key breaks ties\n", "\n"),
    ("    quantity: so_luong\n", ""),
)


def test_read_mapping_collects_every_problem(tmp_path: Path) -> None:
    path = edited(tmp_path, *BROKEN_FILE)
    result = read_mapping(path)
    messages = [problem.message for problem in result.problems]
    assert "unknown key 'birthdate'" in messages
    assert "'femal' is not a value of gender" in messages
    assert "'othr' is not a value of gender" in messages
    assert any(message.startswith("the customers mapping needs a watermark") for message in messages)
    assert "the order_lines mapping needs a column for 'quantity'" in messages
    assert "'batch_size' must be a whole number of at least 1" in messages
    assert len(messages) == 6
    lines = {problem.message: problem.location.line for problem in result.problems}
    assert lines["unknown key 'birthdate'"] == line_of(path, "birthdate:")
    assert lines["'batch_size' must be a whole number of at least 1"] == line_of(path, "batch_size: 0")
    # The parts that could be read are kept.
    assert result.mapping is not None
    assert result.mapping.tables["orders"].watermark == "ngay_cap_nhat"


def test_load_mapping_still_raises_first_problem(tmp_path: Path) -> None:
    path = edited(tmp_path, *BROKEN_FILE)
    with pytest.raises(DataError) as caught:
        load_mapping(path)
    assert caught.value.message == read_mapping(path).problems[0].message


def test_load_mapping_hint_counts_file_problems_only(tmp_path: Path) -> None:
    path = edited(tmp_path, *BROKEN_FILE)
    with pytest.raises(DataError) as caught:
        load_mapping(path)
    hint = caught.value.hint or ""
    # The check may find more problems against the live database, so the hint gives no total.
    assert "The file has 5 more problems" in hint
    assert f"`segmento shopdb check {path}` lists every problem, including those the live database shows" in hint
    assert "all 6" not in hint


def test_misspelled_watermark_is_one_problem(tmp_path: Path) -> None:
    path = edited(tmp_path, ("  watermark: ngay_cap_nhat     # update time; the key breaks ties", "  watermak: ngay_cap_nhat"))
    problems = read_mapping(path).problems
    assert [problem.message for problem in problems] == ["unknown key 'watermak'"]
    assert problems[0].hint is not None
    assert problems[0].hint.startswith("Did you mean 'watermark'?")


def test_misspelled_required_column_is_one_problem(tmp_path: Path) -> None:
    path = edited(tmp_path, ("    quantity: so_luong", "    quantiy: so_luong"))
    problems = read_mapping(path).problems
    assert [problem.message for problem in problems] == ["unknown key 'quantiy'"]


def test_missing_variables_are_all_named(tmp_path: Path) -> None:
    path = edited(tmp_path, ("url: ${SHOP_DB_URL}", "url: mysql+pymysql://${SHOP_DB_USER}:${SHOP_DB_PASSWORD}@db/shop"))
    report = check_shopdb(path, environ={})
    assert [problem.value for problem in report.errors] == ["SHOP_DB_USER", "SHOP_DB_PASSWORD"]
    assert all(problem.code == "shopdb_env" for problem in report.errors)
    assert all(problem.location.line == line_of(path, "url:") for problem in report.errors)
    assert not report.schema_checked


def test_password_in_url_is_rejected(tmp_path: Path) -> None:
    path = edited(tmp_path, ("url: ${SHOP_DB_URL}", "url: mysql+pymysql://reader:hunter2@127.0.0.1/shop"))
    result = check(path, None)
    assert result.exit_code == 1
    assert f"{path}:{line_of(path, 'hunter2')}:3: error: the source url contains a password" in result.output
    assert "hunter2" not in result.output
    assert "reader:***@127.0.0.1" in result.output


def test_missing_file_exits_1(tmp_path: Path) -> None:
    result = check(tmp_path / "absent.yaml", None)
    assert result.exit_code == 1
    assert "shop database mapping file not found" in result.output


def test_mapping_file_and_workspace_is_usage_error(tmp_path: Path) -> None:
    result = check(MAPPING_FILE, None, "--workspace", "shop")
    assert result.exit_code == 2


def test_workspace_without_shopdb_source_is_usage_error(tmp_path: Path) -> None:
    config = write(tmp_path, "store: sqlite:///store.db\nrules: rules\nsources: []\n", "segmento.yaml")
    result = CliRunner().invoke(main, ["shopdb", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert "has no source with format: shopdb" in result.output


# --- against the test shop --------------------------------------------------------------------


@pytest.fixture(scope="module")
def subset_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", 2000)


@pytest.fixture
def shop_url(subset_file: Path) -> Iterator[str]:
    with loaded_shop(subset_file) as (url, _):
        yield url


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.mark.mariadb
def test_example_passes_with_preview(shop_url: str) -> None:
    result = check(MAPPING_FILE, shop_url, "--sample", "2")
    assert result.exit_code == 0, result.output
    output = result.output
    assert f"ok {MAPPING_FILE}: 0 problems, 0 warnings" in output
    # Row counts are InnoDB's estimates, which may differ from the 64 customers and 1,992 lines.
    assert re.search(r"customers: khach_hang, about [0-9,]+ rows, watermark ngay_cap_nhat from 2010-12-01 ", output)
    assert 32 <= estimate_in(output, "khach_hang") <= 128
    assert 996 <= estimate_in(output, "chi_tiet_don_hang") <= 3984
    assert re.search(r"categories: danh_muc, about [0-9,]+ rows, read whole on every import", output)
    assert "note: row counts marked 'about' are the database's estimates" in output
    assert "note: --exact counts every row and reads every watermark range, which scans whole tables" in output
    # Sample rows are converted: codes looked up, local times shown as UTC with the shop's value.
    assert "gender=male (gioi_tinh 1)" in output or "gender=female (gioi_tinh 2)" in output
    assert "signed_up_at=2010-12-01 15:08:00 UTC (ngay_tao 2010-12-01 22:08:00)" in output
    assert "line 1992: product=22752, name=SET 7 BABUSHKA NESTING BOXES, category=home.storage" in output


@pytest.mark.mariadb
def test_exact_counts_every_row(shop_url: str) -> None:
    result = check(MAPPING_FILE, shop_url, "--exact", "--sample", "1")
    assert result.exit_code == 0, result.output
    assert "customers: khach_hang, 64 rows, watermark ngay_cap_nhat from 2010-12-01 15:26:00 to 2010-12-01 22:08:00" in result.output
    assert "order_lines: chi_tiet_don_hang, 1,992 rows" in result.output
    assert "categories: danh_muc, 15 rows, read whole on every import" in result.output
    assert "about" not in result.output
    assert "note:" not in result.output


@pytest.mark.mariadb
def test_check_reads_no_whole_table(shop_url: str) -> None:
    # Without an index on the customers' watermark, its range would take a full scan.
    execute(shop_url, "ALTER TABLE khach_hang DROP INDEX ix_khach_hang_cap_nhat")
    with executed_sql() as statements:
        result = check(MAPPING_FILE, shop_url)
    assert result.exit_code == 0, result.output
    assert statements
    assert [statement for statement in statements if "count(" in statement] == []
    assert [statement for statement in statements if "min(" in statement and "from khach_hang" in statement] == []
    gender_reads = [statement for statement in statements if "gioi_tinh" in statement and "from khach_hang" in statement]
    assert gender_reads
    assert all("limit" in statement for statement in gender_reads)
    assert any("information_schema.tables" in statement for statement in statements)

    with executed_sql() as statements:
        exact = check(MAPPING_FILE, shop_url, "--exact")
    assert exact.exit_code == 0, exact.output
    assert any(statement.startswith("select count(*)") for statement in statements)
    assert any("min(" in statement and "from khach_hang" in statement for statement in statements)


@pytest.mark.mariadb
def test_null_watermarks_counted_through_index(shop_url: str) -> None:
    execute(
        shop_url,
        "ALTER TABLE khach_hang MODIFY ngay_cap_nhat DATETIME(6) NULL",
        "UPDATE khach_hang SET ngay_cap_nhat = NULL ORDER BY id LIMIT 3",
    )
    result = check(MAPPING_FILE, shop_url)
    assert result.exit_code == 0, result.output
    assert re.search(r"customers: khach_hang, about [0-9,]+ rows, watermark ngay_cap_nhat from .*, 3 rows with NULL", result.output)


@pytest.mark.mariadb
def test_sampled_codes_and_keys(shop_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_stats, "SAMPLE_ROWS", 10)
    path = edited(
        tmp_path,
        ("codes: {1: male, 2: female, 3: other}, default: null", "codes: {1: male, 2: female, 3: other}"),
        ("  table: khach_hang\n  key: id", "  table: khach_hang\n  key: quoc_gia"),
    )
    # The newest customer is in the sample of the last 10 rows by id, the oldest is not.
    execute(
        shop_url,
        "UPDATE khach_hang SET gioi_tinh = 7 ORDER BY id DESC LIMIT 1",
        "UPDATE khach_hang SET gioi_tinh = 9 ORDER BY id LIMIT 1",
    )
    result = check(path, shop_url)
    assert result.exit_code == 1, result.output
    key_line = line_of(path, "key: quoc_gia")
    assert re.search(
        rf"{re.escape(str(path))}:{key_line}:3: error: key khach_hang\.quoc_gia is not unique: "
        r"(1 value occurs|[0-9,]+ values occur) in more than one row of the last 10 rows by id",
        result.output,
    ), result.output
    assert "7" in unlisted_codes(result.output)
    assert "9" not in unlisted_codes(result.output)
    assert "note: the values of khach_hang.gioi_tinh come from the last 10 rows by id, because no index starts with it; " \
        "--exact reads every row" in result.output

    exact = check(path, shop_url, "--exact")
    assert exact.exit_code == 1, exact.output
    assert re.search(r"key khach_hang\.quoc_gia is not unique: [0-9,]+ values? occurs? in more than one row\n", exact.output)
    assert {"7", "9"} <= unlisted_codes(exact.output)
    assert "note:" not in exact.output


def unlisted_codes(output: str) -> set[str]:
    found = re.search(r"warning: khach_hang\.gioi_tinh has values that codes does not list: ([0-9, ]+); ", output)
    assert found, output
    return set(found.group(1).split(", "))


@pytest.mark.mariadb
def test_broken_mapping_lists_every_problem(shop_url: str, tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        ("table: khach_hang", "table: khach_hangg"),
        ("    birthday: ngay_sinh", "    birthdate: ngay_sinh"),
        ("quantity: so_luong", "quantity: soluong"),
        ("unit_price: don_gia ", "unit_price: ngay_cap_nhat "),
        ("  batch_size: 1000", "  batch_size: 0"),
    )
    result = check(path, shop_url)
    assert result.exit_code == 1
    expected = [
        (line_of(path, "batch_size: 0"), "'batch_size' must be a whole number of at least 1"),
        (line_of(path, "khach_hangg"), "table 'khach_hangg' not found in the shop database"),
        (line_of(path, "birthdate:"), "unknown key 'birthdate'"),
        (line_of(path, "soluong"), "column 'soluong' not found in table 'chi_tiet_don_hang'"),
        (line_of(path, "unit_price: ngay_cap_nhat"), "column chi_tiet_don_hang.ngay_cap_nhat is DATETIME"),
    ]
    positions = []
    for line, message in expected:
        head = f"{path}:{line}:"
        found = [text for text in result.output.splitlines() if text.startswith(head) and message in text]
        assert found, (head, message, result.output)
        positions.append(result.output.index(found[0]))
    assert positions == sorted(positions)
    assert "hint: Did you mean 'khach_hang'?" in result.output
    assert "hint: Did you mean 'so_luong'?" in result.output
    assert f"5 problems, 0 warnings in {path}" in result.output
    # No preview while the mapping has errors.
    assert "sample lines are shown" not in result.output


@pytest.mark.mariadb
def test_missing_table_is_one_problem(shop_url: str, tmp_path: Path) -> None:
    # The customers section also lacks its watermark: that is checked once the table exists.
    path = edited(
        tmp_path,
        ("table: khach_hang", "table: khach_hangg"),
        ("  watermark: ngay_cap_nhat     # update time; the key breaks ties\n", ""),
    )
    report = check_shopdb(path, environ={"SHOP_DB_URL": shop_url})
    assert [problem.message for problem in report.errors] == ["table 'khach_hangg' not found in the shop database"]
    assert report.errors[0].hint == "Did you mean 'khach_hang'?"
    result = check(path, shop_url)
    assert result.exit_code == 1
    assert "ALTER TABLE" not in result.output
    assert f"1 problem, 0 warnings in {path}" in result.output


@pytest.mark.mariadb
def test_unindexed_nullable_watermark_warns(shop_url: str) -> None:
    execute(
        shop_url,
        "ALTER TABLE khach_hang DROP INDEX ix_khach_hang_cap_nhat",
        "ALTER TABLE khach_hang MODIFY ngay_cap_nhat DATETIME(6) NULL",
        "UPDATE khach_hang SET ngay_cap_nhat = NULL ORDER BY id LIMIT 3",
    )
    result = check(MAPPING_FILE, shop_url)
    assert result.exit_code == 0, result.output
    line = line_of(MAPPING_FILE, "watermark: ngay_cap_nhat     # update time")
    assert f"{MAPPING_FILE}:{line}:3: warning: column khach_hang.ngay_cap_nhat has no index that starts with it" in result.output
    assert "hint: Add one: CREATE INDEX ix_khach_hang_ngay_cap_nhat ON khach_hang (ngay_cap_nhat, id)" in result.output
    assert f"{MAPPING_FILE}:{line}:3: warning: watermark khach_hang.ngay_cap_nhat may be NULL" in result.output
    assert "0 problems, 2 warnings" in result.output
    # Without the index, the range and the NULL rows would take a full scan, so only --exact reads them.
    assert "  (the range of ngay_cap_nhat was not read, because no index starts with it)" in result.output
    assert "  (rows where ngay_cap_nhat is NULL were not counted, because no index starts with it)" in result.output
    assert "  (the samples are the last rows by id, because no index starts with ngay_cap_nhat)" in result.output
    assert "rows with NULL" not in result.output
    exact = check(MAPPING_FILE, shop_url, "--exact")
    assert exact.exit_code == 0, exact.output
    assert ", 3 rows with NULL (copied by reconciliation only)" in exact.output
    assert "not read" not in exact.output


@pytest.mark.mariadb
def test_key_that_is_not_unique_is_an_error(shop_url: str, tmp_path: Path) -> None:
    path = edited(tmp_path, ("  table: khach_hang\n  key: id", "  table: khach_hang\n  key: quoc_gia"))
    result = check(path, shop_url)
    assert result.exit_code == 1
    assert f"{path}:{line_of(path, 'key: quoc_gia')}:3: error: key khach_hang.quoc_gia is not unique" in result.output


@pytest.mark.mariadb
def test_unlisted_codes_warn_and_samples_show_rejects(shop_url: str, tmp_path: Path) -> None:
    path = edited(tmp_path, ("codes: {1: male, 2: female, 3: other}, default: null", "codes: {1: male, 2: female}"))
    execute(
        shop_url,
        "UPDATE khach_hang SET gioi_tinh = 7 WHERE id = 13468",
        "UPDATE chi_tiet_don_hang SET so_luong = 0 WHERE id = 1992",
    )
    result = check(path, shop_url)
    assert result.exit_code == 0, result.output
    assert "warning: khach_hang.gioi_tinh has values that codes does not list: " in result.output
    assert "rows with them are rejected (unknown_code)" in result.output
    assert "13468: rejected (unknown_code): khach_hang.gioi_tinh '7' is not one of the codes in the mapping (1, 2)" in result.output
    assert "line 1992: rejected (zero_quantity): quantity is 0, so the line sells nothing" in result.output


@pytest.mark.mariadb
def test_mistyped_status_warns(shop_url: str, tmp_path: Path) -> None:
    path = edited(tmp_path, ("skip: [cho_thanh_toan, da_huy]", "skip: [cho_thanh_toan, da_huyy]"))
    result = check(path, shop_url)
    assert result.exit_code == 0, result.output
    assert "warning: status 'da_huyy' under skip is not a value of don_hang.trang_thai" in result.output
    assert "hint: Did you mean 'da_huy'?" in result.output


@pytest.mark.mariadb
def test_workspace_check_writes_nothing(shop_url: str, tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f"store: sqlite:///store.db\nrules: rules\nsources:\n  - name: shop\n    format: shopdb\n    mapping: {MAPPING_FILE}\n",
        "segmento.yaml",
    )
    result = CliRunner().invoke(main, ["shopdb", "check", "--config", str(config)], env={"SHOP_DB_URL": shop_url})
    assert result.exit_code == 0, result.output
    assert f"checking {MAPPING_FILE} (workspace segmento, source shop)" in result.output
    assert not (tmp_path / "store.db").exists()


@pytest.mark.mariadb
def test_unreachable_database_exits_1(tmp_path: Path) -> None:
    path = edited(tmp_path, ("url: ${SHOP_DB_URL}", "url: mysql+pymysql://reader:${SHOP_DB_PASSWORD}@127.0.0.1:9/shop"))
    result = CliRunner().invoke(main, ["shopdb", "check", str(path)], env={"SHOP_DB_PASSWORD": "s3cret-pw"})
    assert result.exit_code == 1
    assert "error: cannot connect to the shop database mysql+pymysql://reader:***@127.0.0.1:9/shop" in result.output
    assert "s3cret-pw" not in result.output


@pytest.mark.mariadb
def test_view_can_stand_for_table(shop_url: str, tmp_path: Path) -> None:
    # A shop that keeps prices as text converts them in a view and maps the view.
    execute(
        shop_url,
        "ALTER TABLE chi_tiet_don_hang MODIFY don_gia VARCHAR(20) NOT NULL",
        "CREATE VIEW v_chi_tiet AS SELECT id, don_hang_id, san_pham_id, so_luong,"
        " CAST(don_gia AS DECIMAL(12, 4)) AS don_gia, ngay_cap_nhat FROM chi_tiet_don_hang",
    )
    as_text = check(MAPPING_FILE, shop_url)
    assert as_text.exit_code == 1
    assert "chi_tiet_don_hang.don_gia is VARCHAR(20)" in as_text.output

    path = edited(tmp_path, ("table: chi_tiet_don_hang", "table: v_chi_tiet"))
    result = check(path, shop_url)
    assert result.exit_code == 0, result.output
    assert "order_lines: v_chi_tiet, rows not counted, watermark ngay_cap_nhat" in result.output
    assert "note: the rows of v_chi_tiet were not counted, because the database keeps no row estimate for them" in result.output
    assert "not found" not in result.output
    exact = check(path, shop_url, "--exact")
    assert exact.exit_code == 0, exact.output
    assert "order_lines: v_chi_tiet, 1,992 rows" in exact.output


@pytest.mark.mariadb
def test_mariadb_estimates_tables_not_views(shop_url: str) -> None:
    execute(shop_url, "CREATE VIEW v_khach_hang AS SELECT * FROM khach_hang")
    engine = sa.create_engine(shop_url, poolclass=NullPool)
    with engine.connect() as connection:
        estimate = estimated_rows(connection, "khach_hang")
        assert estimate is not None
        assert 32 <= estimate <= 128
        assert estimated_rows(connection, "v_khach_hang") is None
        assert estimated_rows(connection, "khong_co") is None
    engine.dispose()


def test_postgresql_estimate_after_analyze(postgresql_engine: sa.Engine) -> None:
    with postgresql_engine.begin() as connection:
        connection.exec_driver_sql('CREATE TABLE "Orders" (id INTEGER PRIMARY KEY)')
        connection.exec_driver_sql('INSERT INTO "Orders" SELECT generate_series(1, 5000)')
        connection.exec_driver_sql('CREATE VIEW orders_view AS SELECT * FROM "Orders"')
    with postgresql_engine.connect() as connection:
        # A table never analysed has no estimate (reltuples is -1 from PostgreSQL 14 on, 0 before).
        before = estimated_rows(connection, "Orders")
        assert before is None or before == 0
    with postgresql_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql('ANALYZE "Orders"')
    with postgresql_engine.connect() as connection:
        assert estimated_rows(connection, "Orders") == 5000
        assert estimated_rows(connection, "orders_view") is None
    with postgresql_engine.begin() as connection:
        connection.exec_driver_sql('DROP VIEW orders_view')
        connection.exec_driver_sql('DROP TABLE "Orders"')


# --- a shop kept in SQLite ------------------------------------------------------------------------

SQLITE_SHOP = """
CREATE TABLE categories (id INTEGER PRIMARY KEY, slug TEXT NOT NULL, parent_id INTEGER REFERENCES categories (id));
CREATE TABLE customers (
    id INTEGER PRIMARY KEY, full_name TEXT, sex TEXT, date_of_birth DATE, city TEXT, country_code TEXT,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL
);
CREATE INDEX ix_customers_updated ON customers (updated_at, id);
CREATE TABLE products (
    id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, title TEXT NOT NULL, product_type TEXT NOT NULL,
    category_id INTEGER REFERENCES categories (id), modified_at DATETIME NOT NULL
);
CREATE INDEX ix_products_modified ON products (modified_at, id);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id), order_date DATETIME NOT NULL,
    status TEXT NOT NULL, shipping_country TEXT, updated_at DATETIME
);
CREATE TABLE order_items (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id),
    product_id INTEGER NOT NULL REFERENCES products (id), qty INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL
);
CREATE INDEX ix_order_items_order ON order_items (order_id);
CREATE INDEX ix_order_items_product ON order_items (product_id);
INSERT INTO categories VALUES (1, 'home', NULL), (2, 'kitchen', 1);
INSERT INTO customers VALUES
    (1, 'Ann Lee', 'F', '1990-02-03', 'Hà Nội', 'VN', '2024-01-02 10:00:00', '2024-01-02 10:00:00'),
    (2, 'Bao Tran', 'M', NULL, 'Huế', 'VN', '2024-01-03 10:00:00', '2024-01-03 10:00:00');
INSERT INTO products VALUES
    (1, 'MUG-1', 'Mug', 'simple', 2, '2024-01-01 00:00:00'), (2, 'SHIP', 'Shipping', 'shipping', NULL, '2024-01-01 00:00:00');
INSERT INTO orders VALUES
    (1, 1, '2024-02-01 09:00:00', 'paid', 'VN', '2024-02-01 09:00:00'),
    (2, 2, '2024-02-02 09:00:00', 'cancelled', 'VN', NULL),
    (3, 1, '2024-02-03 09:00:00', 'refunded', 'VN', '2024-02-03 09:00:00');
INSERT INTO order_items (order_id, product_id, qty, unit_price_cents) VALUES (1, 1, 2, 1250), (1, 2, 1, 500), (2, 1, 1, 1250), (3, 1, 1, 1250);
"""


def test_sqlite_shop_counts_exactly(tmp_path: Path) -> None:
    """SQLite keeps no row estimates and its shops are small, so draft and check read every row."""
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SQLITE_SHOP)
    env = {"SHOP_DB_URL": f"sqlite:///{database}"}
    path = tmp_path / "mapping.yaml"
    drafted = CliRunner().invoke(main, ["shopdb", "draft", "env:SHOP_DB_URL", "-o", str(path)], env=env)
    assert drafted.exit_code == 0, drafted.output
    assert "read from the last" not in path.read_text(encoding="utf-8")

    with executed_sql() as statements:
        result = CliRunner().invoke(main, ["shopdb", "check", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "customers: customers, 2 rows, watermark updated_at from 2024-01-02 10:00:00 to 2024-01-03 10:00:00" in result.output
    assert "orders: orders, 3 rows, watermark updated_at from 2024-02-01 09:00:00 to 2024-02-03 09:00:00, 1 row with NULL" in result.output
    assert "order_lines: order_items, 4 rows, watermark id from 1 to 4" in result.output
    assert "about" not in result.output
    assert "note:" not in result.output
    assert any(statement.startswith("select count(*)") for statement in statements)
