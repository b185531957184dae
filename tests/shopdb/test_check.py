"""``segmento shopdb check``: every problem of a mapping at once, warnings, and what an import would read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

from segmento.adapters.shopdb.check import check_shopdb
from segmento.adapters.shopdb.mapping_file import load_mapping, read_mapping
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
    assert "customers: khach_hang, 64 rows, watermark ngay_cap_nhat from " in output
    assert "order_lines: chi_tiet_don_hang, 1,992 rows" in output
    assert "categories: danh_muc, 15 rows, read whole on every import" in output
    # Sample rows are converted: codes looked up, local times shown as UTC with the shop's value.
    assert "gender=male (gioi_tinh 1)" in output or "gender=female (gioi_tinh 2)" in output
    assert "signed_up_at=2010-12-01 15:08:00 UTC (ngay_tao 2010-12-01 22:08:00)" in output
    assert "line 1992: product=22752, name=SET 7 BABUSHKA NESTING BOXES, category=home.storage" in output


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
    assert "3 rows with NULL (copied by reconciliation only)" in result.output
    assert "0 problems, 2 warnings" in result.output


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
    assert "order_lines: v_chi_tiet, 1,992 rows" in result.output
    assert "not found" not in result.output
