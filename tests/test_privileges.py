"""The database privileges that docs/storage.md and docs/shopdb.md list, tried on MariaDB with users granted exactly those.

The store's user gets SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER and INDEX on the
store's database; the shop database's user gets SELECT. A store user without one of them
gets an error that names the privileges and docs/storage.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

from segmento.cli import main
from tests.conftest import MARIADB_URL
from tests.shopdb.databases import MAPPING_FILE
from tests.shopdb.loader import create_schema, load_retail_file, write_subset
from tests.store_helpers import ROOT, mariadb_database

pytestmark = pytest.mark.mariadb

STORE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX"
PASSWORD = "Pw-1:helper"
HINT = "a store's user needs SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER and INDEX on the store's database"


@contextmanager
def database_user(database_url: str, privileges: str, tables: str = "*") -> Iterator[str]:
    """Yield the URL of ``database_url``'s database for a new user granted only ``privileges`` on it."""
    database = sa.make_url(database_url).database
    user = f"helper_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    quoted = server.dialect.identifier_preparer.quote(database)
    with server.begin() as connection:
        connection.execute(sa.text(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY :password"), {"password": PASSWORD})
        connection.exec_driver_sql(f"GRANT {privileges} ON {quoted}.{tables} TO '{user}'@'127.0.0.1'")
    try:
        url = sa.make_url(database_url).set(username=user, password=PASSWORD)
        yield url.render_as_string(hide_password=False)
    finally:
        with server.begin() as connection:
            connection.exec_driver_sql(f"DROP USER '{user}'@'127.0.0.1'")
        server.dispose()


def shop_config(directory: Path, store_url: str) -> Path:
    """Write a workspace that copies the test shop through the example mapping; the store URL takes its password from STORE_URL."""
    config = directory / "segmento.yaml"
    workspace = {
        "store_env": "STORE_URL",
        "timezone": "Asia/Ho_Chi_Minh",
        "as_of": "2011-12-10T07:00:00",
        "rules": str(ROOT / "rules" / "uk_gift_shop"),
        "evaluate": "changed",
        "interests": {"weights": {"purchase": 1}},
        "sources": [{"name": "shop", "format": "shopdb", "mapping": str(MAPPING_FILE)}],
    }
    config.write_text(yaml.safe_dump({"workspaces": {"shop": workspace}}), encoding="utf-8")
    return config


def segmento(config: Path, environ: dict[str, str], *arguments: str) -> Result:
    return CliRunner().invoke(main, [*arguments, "--config", str(config)], env=environ)


@pytest.fixture(scope="module")
def shop_root_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MariaDB test shop of about 2,000 order lines, as root."""
    subset = write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", 2000)
    with mariadb_database("helper_shop") as url:
        engine = sa.create_engine(url, poolclass=NullPool)
        create_schema(engine)
        load_retail_file(engine, subset)
        engine.dispose()
        yield url


def test_docs_grant_the_tested_privileges() -> None:
    storage = (ROOT / "docs" / "storage.md").read_text(encoding="utf-8")
    shopdb = (ROOT / "docs" / "shopdb.md").read_text(encoding="utf-8")
    assert re.search(rf"^GRANT {STORE_PRIVILEGES} ON \S+ TO ", storage, re.MULTILINE)
    assert re.search(r"^GRANT SELECT ON \S+ TO ", shopdb, re.MULTILINE)
    assert "pip install -e '.[mysql]'" in shopdb


def test_listed_privileges_are_enough(shop_root_url: str, tmp_path: Path) -> None:
    with mariadb_database("helper_store") as store_root, database_user(store_root, STORE_PRIVILEGES) as store_url, \
            database_user(shop_root_url, "SELECT") as shop_url:  # fmt: skip
        config = shop_config(tmp_path, store_url)
        environ = {"STORE_URL": store_url, "SHOP_DB_URL": shop_url}

        upgrade = segmento(config, environ, "db", "upgrade")
        assert upgrade.exit_code == 0, upgrade.output
        assert "upgraded from revision none" in upgrade.output
        checked = segmento(config, environ, "shopdb", "check")
        assert checked.exit_code == 0, checked.output
        first = segmento(config, environ, "run")
        assert first.exit_code == 0, first.output

        # A new order, a changed customer and a deleted order: the import copies, replaces and deletes rows.
        shop = sa.create_engine(shop_root_url, poolclass=NullPool)
        with shop.begin() as connection:
            customer = connection.scalar(sa.text("SELECT MIN(khach_hang_id) FROM don_hang"))
            connection.execute(
                sa.text(
                    "INSERT INTO don_hang (ma_don, khach_hang_id, ngay_dat, trang_thai, quoc_gia_giao) "
                    "VALUES ('HELPER1', :customer, '2011-12-01 10:00:00', 'da_giao', 'United Kingdom')"
                ),
                {"customer": customer},
            )
            connection.execute(sa.text("UPDATE khach_hang SET ho_ten = CONCAT(ho_ten, ' B') WHERE id = :customer"), {"customer": customer})
            deleted = connection.scalar(sa.text("SELECT MAX(id) FROM don_hang WHERE ma_don <> 'HELPER1'"))
            connection.execute(sa.text("DELETE FROM chi_tiet_don_hang WHERE don_hang_id = :id"), {"id": deleted})
            connection.execute(sa.text("DELETE FROM don_hang WHERE id = :id"), {"id": deleted})
        shop.dispose()
        second = segmento(config, environ, "run")
        assert second.exit_code == 0, second.output
        assert "reconciliation: deleted" in second.output
        unchanged = segmento(config, environ, "run")
        assert unchanged.exit_code == 0, unchanged.output


def test_store_without_create_names_privileges(shop_root_url: str, tmp_path: Path) -> None:
    without_create = STORE_PRIVILEGES.replace(" CREATE,", "")
    with mariadb_database("helper_store") as store_root, database_user(store_root, without_create) as store_url, \
            database_user(shop_root_url, "SELECT") as shop_url:  # fmt: skip
        config = shop_config(tmp_path, store_url)
        environ = {"STORE_URL": store_url, "SHOP_DB_URL": shop_url}
        for command in (("db", "upgrade"), ("run",)):
            result = segmento(config, environ, *command)
            assert result.exit_code == 1, result.output
            assert '(1142, "CREATE command denied' in result.output
            assert HINT in result.output
            assert "docs/storage.md" in result.output
            assert PASSWORD not in result.output


def test_rejected_store_login_says_what_to_check(tmp_path: Path) -> None:
    with mariadb_database("helper_store") as store_root, database_user(store_root, STORE_PRIVILEGES) as store_url:
        config = shop_config(tmp_path, store_url)
        wrong = sa.make_url(store_url).set(password="wrong").render_as_string(hide_password=False)
        result = segmento(config, {"STORE_URL": wrong}, "db", "status")
        assert result.exit_code == 1, result.output
        assert "(1045, \"Access denied" in result.output
        assert "The server rejected the login: check the user name, the password" in result.output
        assert "docs/storage.md" in result.output
