"""Shop databases for the shop database tests: fresh MariaDB databases filled from a retail file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.loader import ImportResult
from segmento.adapters.shopdb.copy import ShopDbSource, import_shopdb
from segmento.adapters.sql_store import SqlProfileStore
from tests.shopdb.loader import ShopCounts, create_schema, load_retail_file
from tests.store_helpers import mariadb_database

ROOT = Path(__file__).resolve().parents[2]
MAPPING_FILE = ROOT / "examples" / "shopdb-mapping.yaml"


@contextmanager
def loaded_shop(retail_file: Path) -> Iterator[tuple[str, ShopCounts]]:
    """Yield the URL of a new test shop database filled from ``retail_file``, and its row counts."""
    with mariadb_database("segmento_shop") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        create_schema(engine)
        counts = load_retail_file(engine, retail_file)
        engine.dispose()
        yield url, counts


@dataclass
class Shop:
    """A loaded test shop: its URL, row counts and an engine for statements against it."""

    url: str
    counts: ShopCounts
    engine: sa.Engine

    def execute(self, statement: str, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.text(statement), values)

    def scalar(self, statement: str, **values: object) -> object:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(statement), values).scalar()

    def scalars(self, statement: str, **values: object) -> list[object]:
        with self.engine.connect() as connection:
            return list(connection.execute(sa.text(statement), values).scalars())


@contextmanager
def shop_from(retail_file: Path) -> Iterator[Shop]:
    """Yield a ``Shop`` loaded from ``retail_file``, dropped afterwards."""
    with loaded_shop(retail_file) as (url, counts):
        engine = sa.create_engine(url, poolclass=NullPool)
        yield Shop(url, counts, engine)
        engine.dispose()


def make_store(path: Path) -> SqlProfileStore:
    """Return a new SQLite store at ``path`` with its schema."""
    store = SqlProfileStore(f"sqlite:///{path}")
    store.create_schema()
    return store


def copy(store: SqlProfileStore, shop: Shop, mapping: Path = MAPPING_FILE) -> ImportResult:
    """Import ``shop`` into ``store`` through ``mapping``."""
    return import_shopdb(store.engine, ShopDbSource("shop", mapping), environ={"SHOP_DB_URL": shop.url})


def mapping_with(tmp_path: Path, old: str, new: str) -> Path:
    """Write the example mapping with ``old`` replaced by ``new`` and return its path."""
    text = MAPPING_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "mapping.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path
