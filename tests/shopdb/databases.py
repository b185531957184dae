"""Fresh MariaDB databases for the shop database tests, created and dropped by each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.conftest import MARIADB_URL, server_unavailable
from tests.shopdb.loader import ShopCounts, create_schema, load_retail_file

ROOT = Path(__file__).resolve().parents[2]
MAPPING_FILE = ROOT / "examples" / "shopdb-mapping.yaml"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty MariaDB database, dropped afterwards."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        server_unavailable("MariaDB", "PyMySQL is not installed; install the test extra")
    server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    quoted = server.dialect.identifier_preparer.quote(name)
    try:
        with server.begin() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as error:
        server_unavailable("MariaDB", str(error.orig))
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {quoted}")
        server.dispose()


@contextmanager
def loaded_shop(retail_file: Path) -> Iterator[tuple[str, ShopCounts]]:
    """Yield the URL of a new test shop database filled from ``retail_file``, and its row counts."""
    with fresh_database("segmento_shop") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        create_schema(engine)
        counts = load_retail_file(engine, retail_file)
        engine.dispose()
        yield url, counts
