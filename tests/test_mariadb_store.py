"""MariaDB as a profile store: utf8mb4, exact collation, prepared folded text, exact money, real data.

Each test module gets its own database on the MariaDB server of 127.0.0.1:3306. The
REES46 workspace on MariaDB is checked against SQLite in ``test_runs.py``; the
Online Retail workspace is checked here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.model import order_lines
from segmento.adapters.migrations import VERSION_TABLE
from segmento.adapters.runs import run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.urls import create_store_engine
from segmento.adapters.workspace import load_config
from segmento.engine.ast import Comparison, TextOptions
from segmento.engine.errors import UnsupportedError
from segmento.engine.text import prepared_forms
from segmento.plugins.sql import ProfileModel, compile_segment, render_query
from tests.cases import all_cases, case_registry
from tests.demo_workspace import CONFIG, DemoRun, demo_run
from tests.store_helpers import mariadb_database

pytestmark = pytest.mark.mariadb

FOLDED = TextOptions(ignore_case=True, ignore_accents=True)
PORTABLE_JSON_FUNCTIONS = frozenset({"JSON_CONTAINS", "JSON_OVERLAPS", "JSON_VALUE", "JSON_TABLE"})
"""JSON functions that both MariaDB 10.11 and MySQL 8 have."""


@pytest.fixture(scope="module")
def store() -> Iterator[SqlProfileStore]:
    with mariadb_database("segmento_store") as url:
        store = SqlProfileStore(create_store_engine(url))
        store.create_schema()
        yield store
        store.engine.dispose()


def column_info(store: SqlProfileStore, table: str, column: str) -> sa.Row:
    statement = sa.text(
        "SELECT data_type, numeric_precision, numeric_scale, character_set_name, collation_name "
        "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = :table AND column_name = :column"
    )
    with store.engine.connect() as connection:
        return connection.execute(statement, {"table": table, "column": column}).one()


def test_text_columns_are_utf8mb4_binary(store: SqlProfileStore) -> None:
    statement = sa.text(
        "SELECT table_name, column_name, character_set_name, collation_name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL AND table_name <> :version"
    )
    with store.engine.connect() as connection:
        columns = connection.execute(statement, {"version": VERSION_TABLE}).all()

    assert len(columns) > 50
    assert {(row.character_set_name, row.collation_name) for row in columns} == {("utf8mb4", "utf8mb4_nopad_bin")}


def test_text_compares_exactly(store: SqlProfileStore) -> None:
    store.write_profiles(
        [
            {"id": "exact", "city": "Hà Nội"},
            {"id": "plain", "city": "Ha Noi"},
            {"id": "lower", "city": "ha noi"},
            {"id": "padded", "city": "Hà Nội "},
            {"id": "emoji", "city": "Chợ 🛍️"},
        ]
    )

    assert store.members(Comparison("city", "eq", "Hà Nội")) == ["exact"]
    assert store.members(Comparison("city", "eq", "Hà Nội ")) == ["padded"]
    assert store.members(Comparison("city", "eq", "ha noi", options=FOLDED)) == ["exact", "lower", "plain"]
    assert store.members(Comparison("city", "contains", "🛍️")) == ["emoji"]
    profiles = store.model.profiles
    with store.engine.connect() as connection:
        stored = connection.scalar(sa.select(profiles.c.city).where(profiles.c.id == "emoji"))
    assert stored == "Chợ 🛍️"


def test_folded_text_is_stored_prepared(store: SqlProfileStore) -> None:
    store.write_profiles([{"id": "danang", "city": "Đà Nẵng"}])
    profiles = store.model.profiles

    with store.engine.connect() as connection:
        row = connection.execute(
            sa.select(profiles.c.city_ci, profiles.c.city_ai, profiles.c.city_ci_ai).where(profiles.c.id == "danang")
        ).one()

    assert dict(row._mapping) == {f"city{suffix}": value for suffix, value in prepared_forms("Đà Nẵng").items()}
    assert row.city_ci_ai == "da nang"


def test_money_is_exact_decimal(store: SqlProfileStore) -> None:
    amount = Decimal("12345678901234.5678")
    store.write_profiles([{"id": "whale", "total_purchase_value": str(amount)}, {"id": "minnow", "total_purchase_value": "0.0001"}])
    info = column_info(store, "profiles", "total_purchase_value")
    profiles = store.model.profiles

    with store.engine.connect() as connection:
        stored = connection.scalar(sa.select(profiles.c.total_purchase_value).where(profiles.c.id == "whale"))
        total = connection.scalar(
            sa.select(sa.func.sum(profiles.c.total_purchase_value)).where(profiles.c.id.in_(["whale", "minnow"]))
        )

    assert (info.data_type, info.numeric_precision, info.numeric_scale) == ("decimal", 18, 4)
    assert stored == amount
    assert Decimal(total) == amount + Decimal("0.0001")
    assert store.members(Comparison("total_purchase_value", "gte", amount)) == ["whale"]
    assert store.members(Comparison("total_purchase_value", "gt", amount)) == []


@pytest.mark.parametrize("dialect", ["mariadb", "mysql"])
def test_compiled_rules_use_portable_json_only(dialect: str) -> None:
    model = ProfileModel(case_registry())
    used: set[str] = set()
    compiled = 0
    for case in all_cases():
        try:
            statement = compile_segment(case.rule, model, dialect=dialect, as_of=case.as_of, timezone=case.timezone)
        except UnsupportedError:
            continue
        sql = render_query(statement, dialect).sql
        compiled += 1
        used.update(name.upper() for name in re.findall(r"\bJSON_[A-Za-z_]+", sql, flags=re.IGNORECASE))
        assert "->" not in sql, case.id
        assert "MEMBER OF" not in sql.upper(), case.id
        assert "AS JSON" not in sql.upper(), case.id

    assert compiled > 100
    assert used <= PORTABLE_JSON_FUNCTIONS


# --- the Online Retail workspace ----------------------------------------------------------


@pytest.fixture(scope="module")
def retail_sqlite(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run("uk_gift_shop", tmp_path_factory.mktemp("demo"))


def test_retail_on_mariadb_matches_sqlite(retail_sqlite: DemoRun, tmp_path: Path) -> None:
    workspace = next(item for item in load_config(CONFIG) if item.name == "uk_gift_shop")
    with mariadb_database("segmento_retail") as url:
        workspace = dataclasses.replace(workspace, store_url=url, reports_dir=tmp_path)
        report = run_workspace(workspace)
        store = SqlProfileStore(create_store_engine(url))

        (imported,) = report.imports
        (expected,) = retail_sqlite.report.imports
        assert (imported.read, imported.stored, imported.rejected) == (expected.read, expected.stored, expected.rejected)
        assert report.build is not None and retail_sqlite.report.build is not None
        assert report.build.built == retail_sqlite.report.build.built
        assert distinct_products(store.engine) == distinct_products(retail_sqlite.store.engine)
        sizes = {outcome.id: outcome.members for outcome in report.segments}
        assert sizes == {outcome.id: outcome.members for outcome in retail_sqlite.report.segments}
        for segment_id in sizes:
            assert segment_members(store, segment_id) == segment_members(retail_sqlite.store, segment_id), segment_id
        store.engine.dispose()


def distinct_products(engine: sa.Engine) -> int:
    """Count stock codes; the data has codes that differ only in case, such as 15056BL and 15056bl."""
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count(sa.distinct(order_lines.c.product_id)))) or 0


def segment_members(store: SqlProfileStore, segment_id: str) -> set[str]:
    memberships = store.model.memberships
    with store.engine.connect() as connection:
        return set(connection.scalars(sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)))
