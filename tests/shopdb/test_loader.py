"""``python -m tests.shopdb.loader``: the command that fills a test shop database that the user names."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.shopdb.loader import SHOP_TABLES
from tests.store_helpers import ROOT, mariadb_database

LINES = 300


def load(*arguments: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.shopdb.loader", *arguments]
    environment = {**os.environ, **(environ or {})}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = {}
            for table in SHOP_TABLES:
                counts[table] = int(connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())
            return counts
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    parsed = sa.make_url(url)
    server = sa.create_engine(parsed.set(database=""), poolclass=NullPool)
    with server.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE `{parsed.database}`")
    server.dispose()


@pytest.mark.mariadb
def test_loader_creates_and_fills_database() -> None:
    with mariadb_database("segmento_loader") as url:
        drop_database(url)  # the loader must create it

        done = load("--url", "env:TEST_SHOP_URL", "--lines", str(LINES), environ={"TEST_SHOP_URL": url})

        assert done.returncode == 0, done.stderr
        assert f"created database {sa.make_url(url).database}" in done.stdout
        counts = row_counts(url)
        assert counts["khach_hang"] > 0
        assert counts["don_hang"] > 0
        assert counts["chi_tiet_don_hang"] == LINES  # none of the first 300 rows is rejected
        assert f"{counts['chi_tiet_don_hang']:,} order lines loaded" in done.stdout


@pytest.mark.mariadb
def test_loader_keeps_existing_tables_without_replace() -> None:
    with mariadb_database("segmento_loader") as url:
        first = load("--url", url, "--lines", str(LINES))
        assert first.returncode == 0, first.stderr
        before = row_counts(url)

        again = load("--url", url, "--lines", str(LINES))
        assert again.returncode == 1
        assert "already has the test shop's tables" in again.stderr
        assert "--replace" in again.stderr
        assert row_counts(url) == before

        replaced = load("--url", url, "--lines", str(LINES), "--replace")
        assert replaced.returncode == 0, replaced.stderr
        assert row_counts(url) == before


def test_loader_rejects_password_and_other_databases() -> None:
    with_password = load("--url", "mysql+pymysql://reader:hunter2@127.0.0.1:3306/shop")
    assert with_password.returncode == 2
    assert "must not be written on the command line" in with_password.stderr
    assert "hunter2" not in with_password.stderr

    sqlite = load("--url", "sqlite:///shop.db")
    assert sqlite.returncode == 2
    assert "written for MySQL and MariaDB, not sqlite" in sqlite.stderr
