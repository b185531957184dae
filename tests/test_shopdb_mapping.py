"""The shop database mapping file: reading it, and checking it against the live schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.items import RowError
from segmento.adapters.shopdb.check import check_shopdb
from segmento.adapters.shopdb.convert import Converter, line_amounts
from segmento.adapters.shopdb.introspect import MappingError, check_mapping
from segmento.adapters.shopdb.mapping_file import load_mapping
from segmento.engine.errors import DataError
from tests.shopdb.databases import MAPPING_FILE
from tests.shopdb.loader import create_schema
from tests.store_helpers import mariadb_database

EXAMPLE = MAPPING_FILE.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_example_mapping_loads() -> None:
    mapping = load_mapping(MAPPING_FILE)
    assert mapping.timezone == "Asia/Ho_Chi_Minh"
    assert mapping.tables["orders"].watermark_columns == ("ngay_cap_nhat", "id")
    assert mapping.tables["customers"].columns["gender"].codes == {"1": "male", "2": "female", "3": "other"}
    assert mapping.statuses.skip == {"cho_thanh_toan", "da_huy"}
    assert mapping.statuses.returns == {"tra_hang"}


def test_url_comes_from_environment() -> None:
    mapping = load_mapping(MAPPING_FILE)
    url = mapping.resolve_url({"SHOP_DB_URL": "mysql+pymysql://reader:secret@db.internal/shop"})
    assert url.password == "secret"
    assert url.host == "db.internal"


def test_missing_variable_names_it() -> None:
    mapping = load_mapping(MAPPING_FILE)
    with pytest.raises(DataError) as caught:
        mapping.resolve_url({})
    assert "SHOP_DB_URL" in str(caught.value)
    assert caught.value.location.line == line_of(EXAMPLE, "url: ${SHOP_DB_URL}")


@pytest.mark.parametrize(("environ", "state"), [({}, "is not set"), ({"SHOP_PW": ""}, "is empty"), ({"SHOP_PW": "  "}, "is empty")])
def test_password_variable_state_is_named(tmp_path: Path, environ: dict[str, str], state: str) -> None:
    text = EXAMPLE.replace("url: ${SHOP_DB_URL}", "url: mysql+pymysql://reader:${SHOP_PW}@127.0.0.1:3306/shop")
    path = write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        load_mapping(path).resolve_url(environ)

    report = check_shopdb(path, environ=environ)

    assert caught.value.message == f"environment variable SHOP_PW {state}"
    assert [error.message for error in report.errors] == [f"environment variable SHOP_PW {state}"]


def test_password_part_comes_from_environment(tmp_path: Path) -> None:
    text = EXAMPLE.replace("url: ${SHOP_DB_URL}", "url: mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop")
    mapping = load_mapping(write(tmp_path, text))
    # The value is substituted after parsing, so it needs no URL escaping.
    assert mapping.resolve_url({"SHOP_DB_PASSWORD": "p@ss/w0rd"}).password == "p@ss/w0rd"


def test_literal_password_is_rejected(tmp_path: Path) -> None:
    text = EXAMPLE.replace("url: ${SHOP_DB_URL}", "url: mysql+pymysql://reader:hunter2@db/shop")
    with pytest.raises(DataError) as caught:
        load_mapping(write(tmp_path, text))
    assert caught.value.code == "shopdb_password"
    assert caught.value.location.line == line_of(text, "hunter2")
    assert "hunter2" not in str(caught.value)


def test_unknown_key_suggests_nearest(tmp_path: Path) -> None:
    text = EXAMPLE.replace("    birthday: ngay_sinh", "    birthdate: ngay_sinh")
    with pytest.raises(DataError) as caught:
        load_mapping(write(tmp_path, text))
    assert caught.value.location.line == line_of(text, "birthdate:")
    assert "'birthday'" in str(caught.value)


def test_code_value_must_be_known(tmp_path: Path) -> None:
    text = EXAMPLE.replace("codes: {1: male, 2: female, 3: other}", "codes: {1: male, 2: femal}")
    with pytest.raises(DataError) as caught:
        load_mapping(write(tmp_path, text))
    assert "'femal'" in str(caught.value)
    assert "'female'" in str(caught.value)


def test_required_column_is_named(tmp_path: Path) -> None:
    text = EXAMPLE.replace("    quantity: so_luong\n", "")
    with pytest.raises(DataError) as caught:
        load_mapping(write(tmp_path, text))
    assert "'quantity'" in str(caught.value)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    text = EXAMPLE.replace("  table: don_hang", "  table: [don_hang")
    with pytest.raises(DataError) as caught:
        load_mapping(write(tmp_path, text))
    assert caught.value.location.line is not None
    assert caught.value.location.line >= line_of(text, "table: [don_hang")


def test_gender_codes_and_default() -> None:
    mapping = load_mapping(MAPPING_FILE)
    converter = Converter(mapping, mapping.tables["customers"])
    assert converter.text({"gioi_tinh": 2}, "gender") == "female"
    assert converter.text({"gioi_tinh": 0}, "gender") is None
    assert converter.text({"gioi_tinh": None}, "gender") is None


def test_unknown_code_without_default_rejects(tmp_path: Path) -> None:
    text = EXAMPLE.replace("codes: {1: male, 2: female, 3: other}, default: null", "codes: {1: male, 2: female}")
    mapping = load_mapping(write(tmp_path, text))
    converter = Converter(mapping, mapping.tables["customers"])
    with pytest.raises(RowError) as caught:
        converter.text({"gioi_tinh": 7}, "gender")
    assert caught.value.reason == "unknown_code"


def test_naive_times_use_mapping_zone() -> None:
    mapping = load_mapping(MAPPING_FILE)
    converter = Converter(mapping, mapping.tables["orders"])
    # 07:00 in Hồ Chí Minh City is midnight UTC.
    assert converter.instant({"ngay_dat": datetime(2011, 12, 9, 7, 0)}, "placed_at") == datetime(2011, 12, 9, 0, 0)


def test_money_in_minor_units(tmp_path: Path) -> None:
    text = EXAMPLE.replace("unit_price: don_gia ", "unit_price: {column: don_gia_xu, scale: 2} ")
    mapping = load_mapping(write(tmp_path, text))
    converter = Converter(mapping, mapping.tables["order_lines"])
    assert converter.money({"don_gia_xu": 1999}, "unit_price") == 19_990_000
    decimal = Converter(load_mapping(MAPPING_FILE), load_mapping(MAPPING_FILE).tables["order_lines"])
    assert decimal.money({"don_gia": Decimal("2.5500")}, "unit_price") == 2_550_000


def test_return_lines_count_negative() -> None:
    assert line_amounts(3, 2_000_000, is_return=True) == (-3, -6_000_000)
    assert line_amounts(-3, 2_000_000, is_return=True) == (-3, -6_000_000)
    with pytest.raises(RowError) as caught:
        line_amounts(-3, 2_000_000, is_return=False)
    assert caught.value.reason == "negative_quantity"


# --- against the live schema ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_engine() -> Iterator[sa.Engine]:
    with mariadb_database("segmento_mapping") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        create_schema(engine)
        yield engine
        engine.dispose()


@pytest.mark.mariadb
def test_example_fits_test_shop(shop_engine: sa.Engine) -> None:
    with shop_engine.connect() as connection:
        tables = check_mapping(load_mapping(MAPPING_FILE), connection)
    assert set(tables.tables) == {"customers", "categories", "products", "orders", "order_lines"}
    assert "ngay_cap_nhat" in tables["orders"].c


@pytest.mark.mariadb
def test_missing_names_point_at_mapping_lines(shop_engine: sa.Engine, tmp_path: Path) -> None:
    text = EXAMPLE.replace("table: khach_hang", "table: khach_hangg").replace("quantity: so_luong", "quantity: soluong")
    mapping = load_mapping(write(tmp_path, text))
    with shop_engine.connect() as connection, pytest.raises(MappingError) as caught:
        check_mapping(mapping, connection)
    problems = caught.value.problems
    assert [problem.location.line for problem in problems] == [line_of(text, "khach_hangg"), line_of(text, "soluong")]
    assert "'khach_hangg' not found" in problems[0].message
    assert problems[0].hint == "Did you mean 'khach_hang'?"
    assert "'soluong' not found in table 'chi_tiet_don_hang'" in problems[1].message
    assert problems[1].hint == "Did you mean 'so_luong'?"
    assert "2 problems" in str(caught.value)


@pytest.mark.mariadb
def test_unfit_column_type_is_named(shop_engine: sa.Engine, tmp_path: Path) -> None:
    text = EXAMPLE.replace("unit_price: don_gia ", "unit_price: ngay_cap_nhat ")
    mapping = load_mapping(write(tmp_path, text))
    with shop_engine.connect() as connection, pytest.raises(MappingError) as caught:
        check_mapping(mapping, connection)
    assert "chi_tiet_don_hang.ngay_cap_nhat" in caught.value.message
    assert "DECIMAL or integer" in caught.value.message
    assert caught.value.location.line == line_of(text, "unit_price: ngay_cap_nhat")


def test_first_problem_points_to_check(tmp_path: Path) -> None:
    broken = tmp_path / "mapping.yaml"
    text = EXAMPLE.replace("batch_size:", "batch_sise:").replace("watermark: ngay_cap_nhat", "watermarc: ngay_cap_nhat", 1)
    broken.write_text(text, encoding="utf-8")

    with pytest.raises(DataError) as raised:
        load_mapping(broken)

    assert "batch_sise" in raised.value.message
    assert f"segmento shopdb check {broken}" in (raised.value.hint or "")
