"""Storing imports: idempotent re-imports, skipped known rows, rejects, dirty customers, interrupts."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import BATCH_SIZE, SourceSpec, import_source
from segmento.adapters.ingest.model import dirty_profiles, imports, metadata, order_lines, orders, rejects, tracked_events
from segmento.engine.errors import DataError

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
    "536367,22139,check,10,2010-12-01 08:34:00,0.0,,United Kingdom\n"
)
NEW_ROW = "536368,22960,JAM MAKING SET WITH JARS,6,2010-12-01 08:34:00,4.25,13047.0,United Kingdom\n"


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    metadata.create_all(engine)
    return engine


def table_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in (imports, orders, order_lines, tracked_events, rejects)
        }


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_import_counts_and_rejects(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + ROWS)
    result = import_source(engine, SourceSpec("retail", "online_retail", path, "Europe/London"))
    assert (result.read, result.stored, result.known, result.rejected) == (4, 3, 0, 1)
    assert result.touched == {"17850"}
    assert table_counts(engine) == {"imports": 1, "orders": 2, "order_lines": 3, "tracked_events": 2, "rejects": 1}
    with engine.connect() as connection:
        reject = connection.execute(sa.select(rejects)).one()
        stored_import = connection.execute(sa.select(imports)).one()
        dirty = set(connection.scalars(sa.select(dirty_profiles.c.customer_id)))
    assert (reject.line, reject.reason, reject.source_file) == (5, "stock_adjustment", "orders.csv")
    assert reject.raw_row == ROWS.splitlines()[3]
    assert (stored_import.rows_read, stored_import.rows_rejected, stored_import.checksum) == (4, 1, result.checksum)
    assert dirty == {"17850"}


def test_same_file_twice_changes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + ROWS)
    spec = SourceSpec("retail", "online_retail", path, "Europe/London")
    import_source(engine, spec)
    before = table_counts(engine)
    again = import_source(engine, spec)
    assert again.skipped
    assert table_counts(engine) == before


def test_overlapping_file_stores_only_new_rows(engine: sa.Engine, tmp_path: Path) -> None:
    first = write(tmp_path / "orders.csv", HEADER + ROWS)
    import_source(engine, SourceSpec("retail", "online_retail", first, "Europe/London"))
    with engine.begin() as connection:
        connection.execute(sa.delete(dirty_profiles))
    # The next export repeats the old rows, compressed this time, and adds one order.
    second = write(tmp_path / "orders-2.csv.gz", HEADER + ROWS + NEW_ROW)
    result = import_source(engine, SourceSpec("retail", "online_retail", second, "Europe/London"))
    assert not result.skipped
    assert (result.read, result.stored, result.known, result.rejected) == (5, 1, 3, 1)
    assert result.touched == {"13047"}
    counts = table_counts(engine)
    assert (counts["orders"], counts["order_lines"], counts["tracked_events"]) == (3, 4, 3)
    with engine.connect() as connection:
        assert set(connection.scalars(sa.select(dirty_profiles.c.customer_id))) == {"13047"}


def test_rees46_purchases_form_orders(engine: sa.Engine, tmp_path: Path) -> None:
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
    rows = (
        "2019-10-01 00:04:37 UTC,purchase,1002532,2053013555631882655,electronics.smartphone,apple,642.69,551377651,s1\n"
        "2019-10-01 00:09:54 UTC,purchase,4804056,2053013554658804075,electronics.audio.headphone,apple,161.98,551377651,s1\n"
        "2019-10-01 00:10:00 UTC,view,4804056,2053013554658804075,electronics.audio.headphone,apple,161.98,551377651,s1\n"
    )
    path = write(tmp_path / "events.csv", header + rows)
    result = import_source(engine, SourceSpec("clicks", "rees46", path))
    assert (result.stored, result.touched) == (3, {"551377651"})
    counts = table_counts(engine)
    assert (counts["orders"], counts["order_lines"], counts["tracked_events"]) == (1, 2, 3)


# --- files of several batches -----------------------------------------------------------


def numbered_rows(count: int) -> str:
    """Return ``count`` order lines, each of its own invoice."""
    return "".join(
        f"{600000 + index},85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
        for index in range(count)
    )


def parsing_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("parse ")]


class InterruptAfter:
    """Receives import progress and raises ``KeyboardInterrupt``, as Ctrl-C would, once ``rows`` rows are written."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.interrupted_at: int | None = None

    def start(self, file_name: str, total_bytes: int) -> None:
        return None

    def update(self, position: int, rows: int, rejected: int) -> None:
        if rows >= self.rows and self.interrupted_at is None:
            self.interrupted_at = rows
            raise KeyboardInterrupt

    def finish(self) -> None:
        return None


def test_late_bad_line_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    rows = 2 * BATCH_SIZE
    bad_line = "699999,22423,CAFÉ,1,2010-12-01 08:26:00,1.00,17850.0,France\n".encode("latin-1")
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + numbered_rows(rows)).encode("utf-8") + bad_line)
    with pytest.raises(DataError) as caught:
        import_source(engine, SourceSpec("retail", "online_retail", path, "Europe/London"))
    assert caught.value.code == "wrong_encoding"
    assert caught.value.location.line == rows + 2
    assert set(table_counts(engine).values()) == {0}
    assert parsing_threads() == []


def test_interrupted_import_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv.gz", HEADER + numbered_rows(2 * BATCH_SIZE + 1))
    spec = SourceSpec("retail", "online_retail", path, "Europe/London")
    interrupt = InterruptAfter(BATCH_SIZE)
    with pytest.raises(KeyboardInterrupt):
        import_source(engine, spec, interrupt)
    assert interrupt.interrupted_at == BATCH_SIZE
    assert set(table_counts(engine).values()) == {0}
    assert parsing_threads() == []

    result = import_source(engine, spec)
    assert (result.skipped, result.stored) == (False, 2 * BATCH_SIZE + 1)
