"""Benchmark: import the bundled Online Retail file and build every profile.

Runs segmento's import (SQLite through SQLAlchemy Core) and profile build, then the
same purchase aggregation with DuckDB on the same file, checks that both agree on
the totals, and prints rows per second, the ratio, the machine and the command.

    .venv/bin/pip install duckdb==2.0.0
    .venv/bin/python benchmarks/bench_import.py [--file PATH]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

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


def run_segmento(path: Path, directory: Path) -> tuple[int, float, float, int, Decimal]:
    workspace = Workspace(
        name="bench",
        store_url=f"sqlite:///{directory / 'bench.db'}",
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
    return result.read, imported - started, built - imported, build.built, total


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
    arguments = parser.parse_args()
    try:
        import duckdb
    except ImportError:
        print("DuckDB is not installed: .venv/bin/pip install duckdb==2.0.0", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as directory:
        rows, import_seconds, build_seconds, profiles, total = run_segmento(arguments.file, Path(directory))
    duck_seconds, duck_customers, duck_total = run_duckdb(arguments.file)
    segmento_seconds = import_seconds + build_seconds

    print(f"command:  {describe_command()}")
    print(f"machine:  {describe_machine()}")
    print(f"versions: SQLAlchemy {sa.__version__}, SQLite {sqlite3.sqlite_version}, DuckDB {duckdb.__version__}")
    print(f"file:     {arguments.file} ({rows:,} rows)")
    print(f"segmento: import {import_seconds:.1f} s + build {build_seconds:.1f} s = {segmento_seconds:.1f} s, "
          f"{rows / segmento_seconds:,.0f} rows/s, {profiles:,} profiles")  # fmt: skip
    print(f"duckdb:   read and aggregate {duck_seconds:.2f} s, {rows / duck_seconds:,.0f} rows/s, {duck_customers:,} customers")
    print(f"ratio:    segmento takes {segmento_seconds / duck_seconds:.1f}x DuckDB's time")
    agree = profiles == duck_customers and total == duck_total
    print(f"totals:   segmento {total} over {profiles:,} customers, DuckDB {duck_total} over {duck_customers:,}: "
          f"{'equal' if agree else 'DIFFERENT'}")  # fmt: skip
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
