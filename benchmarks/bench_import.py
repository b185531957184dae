"""Benchmark: import the bundled Online Retail file and build every profile.

Runs segmento's import and profile build into a new store (SQLite by default), then
the same purchase aggregation with DuckDB on the same file, checks that both agree on
the totals, and prints rows per second, the ratio, the machine and the command.

    .venv/bin/pip install duckdb==2.0.0
    .venv/bin/python benchmarks/bench_import.py [--file PATH] [--store URL] [--repeat N]

``--store`` takes a MySQL/MariaDB or PostgreSQL server URL, such as
``mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4``. The benchmark creates a new
database (a new schema on PostgreSQL) on that server, imports into it and drops it at
the end; the database named in the URL, if any, is not touched.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateSchema, DropSchema

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.online_retail import SERVICE_CODES
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.runs import open_store
from segmento.adapters.workspace import Workspace
from segmento.engine.computations import ProfileSettings

from machine import describe_command, describe_machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "data" / "online_retail" / "online_retail.csv.gz"
AS_OF = datetime(2011, 12, 10, tzinfo=UTC)

# The same reading of the file as segmento's importer: rejected rows are left out, every
# customer with an accepted line has a profile, only product lines count towards the
# totals, and cancellations lower them.
DUCKDB_QUERY = """
WITH lines AS (
    SELECT InvoiceNo AS invoice,
           regexp_replace(CustomerID, '\\.0+$', '') AS customer,
           Quantity AS quantity,
           CAST(UnitPrice AS DECIMAL(18, 6)) AS price,
           starts_with(InvoiceNo, 'C') AS cancelled,
           upper(StockCode) NOT IN (SELECT unnest(?)) AS is_product
    FROM read_csv(?, header = true,
                  types = {'CustomerID': 'VARCHAR', 'InvoiceNo': 'VARCHAR', 'StockCode': 'VARCHAR',
                           'UnitPrice': 'VARCHAR', 'Quantity': 'BIGINT'})
    WHERE CustomerID IS NOT NULL
      AND CAST(UnitPrice AS DECIMAL(18, 6)) >= 0
      AND Quantity <> 0
      AND NOT (Quantity < 0 AND NOT starts_with(InvoiceNo, 'C'))
),
orders AS (
    SELECT customer, invoice, cancelled, bool_or(is_product) AS has_products,
           sum(quantity * price) FILTER (WHERE is_product) AS value,
           sum(quantity) FILTER (WHERE is_product) AS items
    FROM lines GROUP BY customer, invoice, cancelled
)
SELECT customer,
       count(*) FILTER (WHERE has_products AND NOT cancelled) AS total_purchase,
       coalesce(sum(value), 0) AS total_purchase_value,
       min(value) FILTER (WHERE has_products AND NOT cancelled) AS min_purchase_value,
       max(value) FILTER (WHERE has_products AND NOT cancelled) AS max_purchase_value,
       sum(items) AS items
FROM orders GROUP BY customer
"""


@contextmanager
def scratch_store(server_url: str | None, directory: Path) -> Iterator[str]:
    """Yield the URL of a new, empty store: a SQLite file in ``directory``, or a database on ``server_url``."""
    if server_url is None:
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    url = sa.make_url(server_url)
    server = sa.create_engine(url, poolclass=NullPool)
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    backend = url.get_backend_name()
    if backend not in ("mysql", "mariadb", "postgresql"):
        raise SystemExit(
            f"--store names a {backend} database, which this benchmark does not support: "
            "use a mysql, mariadb or postgresql URL"
        )
    with server.begin() as connection:
        if backend == "postgresql":
            connection.execute(CreateSchema(name))
        else:
            connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        if backend == "postgresql":
            store_url = url.update_query_dict({"options": f"-csearch_path={name}"})
        else:
            store_url = url.set(database=name)
        yield store_url.render_as_string(hide_password=False)
    finally:
        with server.begin() as connection:
            if backend == "postgresql":
                connection.execute(DropSchema(name, cascade=True))
            else:
                connection.exec_driver_sql(f"DROP DATABASE {name}")
        server.dispose()


def describe_store(store_url: str) -> str:
    """Return the store's database and its version."""
    engine = sa.create_engine(store_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                return f"SQLite {sqlite3.sqlite_version}"
            # PostgreSQL's VERSION() goes on with the compiler; its first part names the server.
            version = str(connection.exec_driver_sql("SELECT VERSION()").scalar()).split(" (")[0]
            return f"{engine.dialect.name} {version} ({engine.driver})"
    finally:
        engine.dispose()


@dataclass(frozen=True)
class SegmentoRun:
    """Timings and results of one import and full profile build into a new store."""

    rows: int
    import_seconds: float
    build_seconds: float
    profiles: int
    total: Decimal


def run_segmento(path: Path, store_url: str, directory: Path) -> SegmentoRun:
    workspace = Workspace(
        name="bench",
        store_url=store_url,
        timezone="Europe/London",
        rules_dir=directory,
        sources=(),
        settings=ProfileSettings(),
    )
    store = open_store(workspace)
    started = time.perf_counter()
    result = import_source(store.engine, SourceSpec("online_retail", "online_retail", path, "Europe/London"))
    imported = time.perf_counter()
    build = build_profiles(store, workspace.settings, AS_OF, full=True)
    built = time.perf_counter()
    profiles = store.model.profiles
    with store.engine.connect() as connection:
        total = sum(connection.scalars(sa.select(profiles.c.total_purchase_value)), Decimal(0))
    store.engine.dispose()
    return SegmentoRun(result.read, imported - started, built - imported, build.built, total)


def run_duckdb(path: Path) -> tuple[float, int, Decimal]:
    import duckdb

    started = time.perf_counter()
    connection = duckdb.connect()
    rows = connection.execute(DUCKDB_QUERY, [sorted(SERVICE_CODES), str(path)]).fetchall()
    seconds = time.perf_counter() - started
    return seconds, len(rows), sum((Decimal(row[2]) for row in rows), Decimal(0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="Online Retail CSV (gzip or plain)")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="MySQL/MariaDB or PostgreSQL server to import into, in a new database (default: a new SQLite file)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="number of runs of each side, each into a new store (the best run counts)")
    arguments = parser.parse_args()
    try:
        import duckdb
    except ImportError:
        print("DuckDB is not installed: .venv/bin/pip install duckdb==2.0.0", file=sys.stderr)
        return 2

    load_before = os.getloadavg()[0]
    runs: list[SegmentoRun] = []
    for _ in range(max(arguments.repeat, 1)):
        with tempfile.TemporaryDirectory() as directory, scratch_store(arguments.store, Path(directory)) as store_url:
            store = describe_store(store_url)
            runs.append(run_segmento(arguments.file, store_url, Path(directory)))
    duck_runs = [run_duckdb(arguments.file) for _ in range(max(arguments.repeat, 1))]
    load_after = os.getloadavg()[0]

    rows, profiles, total = runs[0].rows, runs[0].profiles, runs[0].total
    import_seconds = min(run.import_seconds for run in runs)
    build_seconds = min(run.build_seconds for run in runs)
    segmento_seconds = import_seconds + build_seconds
    duck_seconds = min(seconds for seconds, _, _ in duck_runs)
    _, duck_customers, duck_total = duck_runs[0]

    print(f"command:  {describe_command()}")
    print(f"machine:  {describe_machine()}, load average {load_before:.1f} before and {load_after:.1f} after")
    print(f"versions: SQLAlchemy {sa.__version__}, DuckDB {duckdb.__version__}")
    print(f"store:    {store}")
    print(f"file:     {arguments.file} ({rows:,} rows)")
    print(f"runs:     best of {len(runs)}; import {', '.join(f'{run.import_seconds:.1f}' for run in runs)} s; "
          f"build {', '.join(f'{run.build_seconds:.1f}' for run in runs)} s")  # fmt: skip
    print(f"segmento: import {import_seconds:.1f} s + build {build_seconds:.1f} s = {segmento_seconds:.1f} s, "
          f"{rows / segmento_seconds:,.0f} rows/s, {profiles:,} profiles")  # fmt: skip
    print(f"duckdb:   read and aggregate {duck_seconds:.2f} s, {rows / duck_seconds:,.0f} rows/s, {duck_customers:,} customers")
    print(f"ratio:    segmento takes {segmento_seconds / duck_seconds:.1f}x DuckDB's time")
    agree = all(run.profiles == duck_customers and run.total == duck_total for run in runs)
    print(f"totals:   segmento {total} over {profiles:,} customers, DuckDB {duck_total} over {duck_customers:,}: "
          f"{'equal' if agree else 'DIFFERENT'}")  # fmt: skip
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
