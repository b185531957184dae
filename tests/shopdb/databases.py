"""Shop databases for the shop database tests: fresh MariaDB databases filled from a retail file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

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
