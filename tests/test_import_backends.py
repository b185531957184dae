"""Import and profile build on every SQL target: the same rows and exact values on each.

Each test gets a new store: an SQLite file, a MariaDB database or a PostgreSQL schema.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.model import MONEY_PLACES, LongText, customers, order_lines, tracked_events
from segmento.adapters.ingest.prepared import MAX_STATEMENT_BYTES, InsertPlan
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.urls import create_store_engine
from segmento.engine.computations import ProfileSettings
from segmento.plugins.sql.types import DECIMAL_SCALE
from tests.conftest import postgresql_schema
from tests.store_helpers import mariadb_database

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
    "536367,POST,POSTAGE,1,2010-12-01 08:34:00,18.00,12583.0,France\n"
    "536367,22728,ALARM CLOCK BAKELIKE PINK,24,2010-12-01 08:34:00,0.0001,12583.0,France\n"
    '581483,23843,"PAPER CRAFT , LITTLE BIRDIE",80995,2011-12-09 09:15:00,2.08,16446.0,United Kingdom\n'
    'C581484,23843,"PAPER CRAFT , LITTLE BIRDIE",-80995,2011-12-09 09:27:00,2.08,16446.0,United Kingdom\n'
    "536368,22960,JAM MAKING SET WITH JARS,6,2010-12-01 08:34:00,4.25,13047.0,United Kingdom\n"
)
AS_OF = datetime(2011, 12, 10, tzinfo=UTC)
# London was on GMT on these days, so UTC times equal the file's local times.
EXPECTED_EVENTS = {
    ("17850", "85123A", datetime(2010, 12, 1, 8, 26, tzinfo=UTC), Decimal("2.55"), Decimal(6), Decimal("15.30")),
    ("17850", "71053", datetime(2010, 12, 1, 8, 26, tzinfo=UTC), Decimal("3.39"), Decimal(6), Decimal("20.34")),
    ("12583", "22728", datetime(2010, 12, 1, 8, 34, tzinfo=UTC), Decimal("0.0001"), Decimal(24), Decimal("0.0024")),
    ("16446", "23843", datetime(2011, 12, 9, 9, 15, tzinfo=UTC), Decimal("2.08"), Decimal(80995), Decimal("168469.60")),
    ("13047", "22960", datetime(2010, 12, 1, 8, 34, tzinfo=UTC), Decimal("4.25"), Decimal(6), Decimal("25.50")),
}


@pytest.fixture(params=["sqlite", "mariadb", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlProfileStore]:
    """A new workspace store, its schema created, on each SQL target in turn."""
    with _new_database(request.param, tmp_path) as url:
        store = SqlProfileStore(create_store_engine(url))
        store.create_schema()
        yield store
        store.engine.dispose()


def _new_database(target: str, tmp_path: Path) -> AbstractContextManager[str]:
    if target == "sqlite":
        return nullcontext(f"sqlite:///{tmp_path / 'store.db'}")
    if target == "mariadb":
        return mariadb_database("segmento_import")
    return postgresql_schema(f"segmento_import_{uuid.uuid4().hex[:10]}")


def write_csv(path: Path, rows: str) -> Path:
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def retail(path: Path) -> SourceSpec:
    return SourceSpec("retail", "online_retail", path, "Europe/London")


def stored_events(store: SqlProfileStore) -> set[tuple[Any, ...]]:
    events = store.model.events.c
    columns = (events.profile_id, events.product_id, events.time, events.price, events.quantity, events.value)
    with store.engine.connect() as connection:
        return {tuple(row) for row in connection.execute(sa.select(*columns).where(events.kind == "purchase"))}


def raw_event_values(store: SqlProfileStore, profile_id: str) -> list[tuple[Any, ...]]:
    """Return the stored price, quantity and value of a profile's events, read without type conversion."""
    events = store.model.events
    statement = sa.text(f"SELECT price, quantity, value FROM {events.name} WHERE profile_id = :id ORDER BY price")
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(statement, {"id": profile_id})]


def test_import_and_build_store_exact_values(store: SqlProfileStore, tmp_path: Path) -> None:
    result = import_source(store.engine, retail(write_csv(tmp_path / "orders.csv", ROWS)))
    build = build_profiles(store, ProfileSettings(), AS_OF, full=True)

    assert (result.read, result.stored, result.rejected) == (8, 8, 0)
    assert build.built == 4
    assert stored_events(store) == EXPECTED_EVENTS
    profiles = store.model.profiles.c
    with store.engine.connect() as connection:
        totals = dict(connection.execute(sa.select(profiles.id, profiles.total_purchase_value)).all())
    assert totals == {
        "17850": Decimal("35.64"),
        "12583": Decimal("0.0024"),
        "16446": Decimal(0),
        "13047": Decimal("25.50"),
    }


def test_copied_events_match_written_events(store: SqlProfileStore, tmp_path: Path) -> None:
    """The build copies events in SQL, and the stored values equal those of events written from Python."""
    import_source(store.engine, retail(write_csv(tmp_path / "orders.csv", ROWS)))
    build_profiles(store, ProfileSettings(), AS_OF, full=True)
    written = [
        {"kind": "purchase", "time": time, "product_id": product, "price": price, "quantity": quantity, "value": value}
        for customer, product, time, price, quantity, value in EXPECTED_EVENTS
        if customer == "17850"
    ]
    store.write_profiles([{"id": "written", "events": written}])

    copied = raw_event_values(store, "17850")
    assert len(copied) == 2
    assert copied == raw_event_values(store, "written")


def test_overlapping_import_stores_only_new_rows(store: SqlProfileStore, tmp_path: Path) -> None:
    first = import_source(store.engine, retail(write_csv(tmp_path / "first.csv", ROWS[: ROWS.index("536367")])))
    again = import_source(store.engine, retail(write_csv(tmp_path / "first_copy.csv", ROWS[: ROWS.index("536367")])))
    second = import_source(store.engine, retail(write_csv(tmp_path / "all.csv", ROWS)))

    assert (first.stored, first.known) == (3, 0)
    assert (again.skipped, again.stored) == (True, 0)
    assert (second.stored, second.known) == (5, 3)
    with store.engine.connect() as connection:
        lines = connection.scalar(sa.select(sa.func.count()).select_from(order_lines))
        events = connection.scalar(sa.select(sa.func.count()).select_from(tracked_events))
    assert (lines, events) == (8, 5)


SQL_TEXT = "50% OFF %s %(name)s %% back\\slash \\% 'single' \"double\" ; -- Hà Nội 😀"


def test_sql_characters_stored_exactly(store: SqlProfileStore, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER.strip().split(","))
        writer.writerow(
            ["536365", "85123A%", SQL_TEXT, "6", "2010-12-01 08:26:00", "2.55", "17850.0", "United Kingdom"]
        )
    result = import_source(store.engine, retail(path))

    assert result.stored == 1
    with store.engine.connect() as connection:
        line = connection.execute(sa.select(order_lines.c.product_id, order_lines.c.description)).one()
    assert tuple(line) == ("85123A%", SQL_TEXT)


def test_identify_records_insert_then_update_customers(store: SqlProfileStore, tmp_path: Path) -> None:
    records = [
        {"type": "identify", "customer_id": "c1", "time": "2024-05-01T10:00:00Z",
         "traits": {"name": "Nguyễn Thị Lan", "city": "Hà Nội", "birthday": "1990-02-28"}},
        {"type": "identify", "customer_id": "c2", "time": "2024-05-01T11:00:00Z", "traits": {"city": "Đà Nẵng"}},
    ]  # fmt: skip
    later = [
        {"type": "identify", "customer_id": "c1", "time": "2024-05-02T10:00:00Z", "traits": {"city": "Huế"}},
        {"type": "identify", "customer_id": "c2", "time": "2024-04-30T10:00:00Z", "traits": {"city": "Vinh"}},
        {"type": "identify", "customer_id": "c3", "time": "2024-05-02T10:00:00Z", "traits": {"gender": "male"}},
    ]  # fmt: skip
    first = import_source(store.engine, SourceSpec("crm", "jsonl", write_jsonl(tmp_path / "first.jsonl", records)))
    second = import_source(store.engine, SourceSpec("crm", "jsonl", write_jsonl(tmp_path / "second.jsonl", later)))

    assert (first.stored, first.touched) == (2, {"c1", "c2"})
    # The record for c2 is older than the stored one, so it changes nothing.
    assert (second.stored, second.known, second.touched) == (2, 1, {"c1", "c3"})
    with store.engine.connect() as connection:
        stored = {row.id: row for row in connection.execute(sa.select(customers))}
    assert sorted(stored) == ["c1", "c2", "c3"]
    assert (stored["c1"].city, stored["c1"].name, stored["c1"].birthday) == ("Huế", None, None)
    assert stored["c1"].updated_at == datetime(2024, 5, 2, 10, 0)
    assert (stored["c2"].city, stored["c2"].updated_at) == ("Đà Nẵng", datetime(2024, 5, 1, 11, 0))
    assert (stored["c3"].gender, stored["c3"].city) == ("male", None)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


def test_imported_money_fits_store_decimals() -> None:
    # The build divides imported micro-units down to the store's decimal places exactly.
    assert MONEY_PLACES <= DECIMAL_SCALE


def test_prepared_rows_respect_statement_limit(store: SqlProfileStore) -> None:
    table = sa.Table(
        "prepared_rows",
        sa.MetaData(),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("body", LongText, nullable=False),
    )
    # Together several statements long, and one row longer than a statement on its own.
    rows = [{"id": f"r{index}", "body": f"{index}%" * 40_000} for index in range(60)]
    rows.append({"id": "long", "body": "Hà Nội " * (MAX_STATEMENT_BYTES // 5)})
    sent: list[tuple[int, int]] = []

    def record(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO prepared_rows"):
            sent.append((len(statement.encode("utf-8")), statement.count("'r") + statement.count("'long'")))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    with store.engine.begin() as connection:
        table.create(connection)
        plan = InsertPlan(connection, table)
        try:
            plan.insert(connection, plan.prepare(rows))
        finally:
            plan.close()
    sa.event.remove(store.engine, "before_cursor_execute", record)

    with store.engine.connect() as connection:
        stored = dict(connection.execute(sa.select(table.c.id, table.c.body)).all())
    assert stored == {row["id"]: row["body"] for row in rows}
    if store.engine.dialect.driver == "pymysql":
        # Rows go as SQL literals in multi-row statements, and only a single row may exceed the limit.
        assert len(sent) > 10
        assert sum(count for _, count in sent) == len(rows)
        assert all(size <= MAX_STATEMENT_BYTES or count == 1 for size, count in sent)
