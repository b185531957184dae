"""Bad input files: each fails with file, line and a hint, and stores nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.model import imports, metadata, order_lines, rejects
from segmento.engine.errors import DataError

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    metadata.create_all(engine)
    return engine


def retail(path: Path) -> SourceSpec:
    return SourceSpec("retail", "online_retail", path, "Europe/London")


def counts(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.scalar(sa.select(sa.func.count()).select_from(table)) for table in (imports, order_lines, rejects)
        )


def import_error(engine: sa.Engine, path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        import_source(engine, retail(path))
    return caught.value


def test_missing_file(engine: sa.Engine, tmp_path: Path) -> None:
    error = import_error(engine, tmp_path / "nowhere.csv")
    assert error.code == "file_not_found"
    assert str(tmp_path / "nowhere.csv") in str(error)
    assert error.hint


def test_empty_file(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    error = import_error(engine, path)
    assert error.code == "empty_file"


def test_header_only_file_imports_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(HEADER, encoding="utf-8")
    result = import_source(engine, retail(path))
    assert (result.read, result.stored, result.rejected) == (0, 0, 0)


def test_wrong_format_names_missing_columns(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_time,event_type,product_id\n2019-10-01 00:00:00 UTC,view,1\n", encoding="utf-8")
    error = import_error(engine, path)
    assert error.code == "wrong_format"
    assert error.location.line == 1
    assert "InvoiceNo" in error.message


def test_semicolons_get_a_hint(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "semicolons.csv"
    path.write_text(HEADER.replace(",", ";") + ROW.replace(",", ";"), encoding="utf-8")
    error = import_error(engine, path)
    assert "semicolons" in (error.hint or "")


def test_utf8_bom_is_accepted(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROW).encode("utf-8"))
    result = import_source(engine, retail(path))
    assert (result.stored, result.rejected) == (1, 0)


def test_latin1_file_fails_at_its_line_and_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + ROW, encoding="utf-8")
    import_source(engine, retail(good))
    before = counts(engine)
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + ROW.replace("536365", "536366") + ROW.replace("HEART", "CAFÉ")).encode("latin-1"))
    error = import_error(engine, path)
    assert error.code == "wrong_encoding"
    assert (error.location.source, error.location.line) == (str(path), 3)
    assert "iconv" in (error.hint or "")
    assert counts(engine) == before


def test_utf16_file_is_named(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes((HEADER + ROW).encode("utf-16"))
    error = import_error(engine, path)
    assert error.code == "wrong_encoding"
    assert "UTF-16" in error.message


def test_binary_file_is_not_text(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04\x00\x00\x00\x00binary\n")
    error = import_error(engine, path)
    assert error.code == "not_text"


def test_truncated_gzip_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    data = gzip.compress((HEADER + ROW * 2000).encode("utf-8"))
    path.write_bytes(data[: len(data) // 2])
    error = import_error(engine, path)
    assert error.code == "bad_gzip"
    assert error.location.line is not None
    assert counts(engine) == (0, 0, 0)


def test_unknown_source_format(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        import_source(engine, SourceSpec("shop", "shopify", path))
    assert caught.value.code == "unknown_format"
    assert "online_retail" in (caught.value.hint or "")
