"""Environment variables in store URLs: read per workspace when its store is opened, not when the config is read.

The tests use a config with two workspaces: ``shop_a`` on a SQLite file, and ``shop_b``
on a server whose password comes from ``SEGMENTO_TEST_B_PASSWORD``. Commands on
``shop_a`` must not need that variable. Commands on ``shop_b`` must fail with the key,
the variable and the workspace. Runs go through the real ``segmento`` command in a new
process, so their logs reach a real standard error.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from segmento.adapters.workspace import load_config
from segmento.cli import main
from segmento.engine.errors import DataError
from tests.store_helpers import mariadb_database, segmento, write_shop

VARIABLE = "SEGMENTO_TEST_B_PASSWORD"
TWO_SHOPS = """\
rules: rules
timezone: Europe/London
as_of: 2011-12-05T00:00:00
sources:
  - {name: first, format: online_retail, path: first.csv}
workspaces:
  shop_a:
    store: sqlite:///a.db
    reports: reports
  shop_b:
    store: mysql+pymysql://segmento:${SEGMENTO_TEST_B_PASSWORD}@127.0.0.1:3306/shop_b
"""


def write_config(directory: Path, text: str = TWO_SHOPS) -> Path:
    """Write the small shop's rules and data into ``directory`` with ``text`` as its config, and return the config's path."""
    config = write_shop(directory, "sqlite:///unused.db")
    config.write_text(text, encoding="utf-8")
    return config


def run_process(*arguments: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = segmento(*arguments, environ=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output, errors = process.communicate(timeout=120)
    return process.returncode, output, errors


def invoke(*arguments: str, environ: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(arguments), env={VARIABLE: None, **(environ or {})})
    return result.exit_code, result.stdout, result.stderr


# --- loading ------------------------------------------------------------------------------


def test_config_loads_without_variable(tmp_path: Path) -> None:
    shop_a, shop_b = load_config(write_config(tmp_path), {})

    assert shop_a.store_url == f"sqlite:///{tmp_path}/a.db"
    with pytest.raises(DataError) as caught:
        shop_b.store_url
    assert caught.value.location.pointer == "/workspaces/shop_b/store"
    assert caught.value.message == f"environment variable {VARIABLE} is not set"
    assert caught.value.value == VARIABLE


def test_variable_read_when_store_opened(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    _, shop_b = load_config(write_config(tmp_path), environ)

    environ[VARIABLE] = "p@ss"
    resolved = shop_b.resolve_store()
    environ[VARIABLE] = "changed"

    assert resolved.store_url == "mysql+pymysql://segmento:p%40ss@127.0.0.1:3306/shop_b"
    assert shop_b.store_url == "mysql+pymysql://segmento:changed@127.0.0.1:3306/shop_b"
    assert "p@ss" not in repr(resolved)
    assert "p%40ss" not in repr(resolved)


def test_empty_variable_is_called_empty(tmp_path: Path) -> None:
    _, shop_b = load_config(write_config(tmp_path), {VARIABLE: " "})

    with pytest.raises(DataError) as caught:
        shop_b.resolve_store()
    assert caught.value.message == f"environment variable {VARIABLE} is empty"


SHAPE_ERRORS = [
    ("store: mysql+pymysql://segmento:${PASSWORD}@db:port/shop", "/workspaces/shop_b/store", "is not a valid database URL"),
    ("store: mysqll://segmento:${PASSWORD}@db/shop", "/workspaces/shop_b/store", "unknown database dialect 'mysqll'"),
    ("store_env: SHOP-URL", "/workspaces/shop_b/store_env", "'store_env' must name an environment variable"),
    ("store_env: 1SHOP_URL", "/workspaces/shop_b/store_env", "'store_env' must name an environment variable"),
]


@pytest.mark.parametrize(("setting", "pointer", "message"), SHAPE_ERRORS)
def test_shape_errors_stop_loading(tmp_path: Path, setting: str, pointer: str, message: str) -> None:
    text = TWO_SHOPS.replace("store: mysql+pymysql://segmento:${SEGMENTO_TEST_B_PASSWORD}@127.0.0.1:3306/shop_b", setting)
    with pytest.raises(DataError) as caught:
        load_config(write_config(tmp_path, text), {"PASSWORD": "secret"})
    assert caught.value.location.pointer == pointer
    assert message in caught.value.message


def test_workspace_store_env_replaces_default_store(tmp_path: Path) -> None:
    text = "store: sqlite:///default.db\nrules: rules\nworkspaces:\n  shop_a: {}\n  shop_b:\n    store_env: SHOP_B_URL\n"
    shop_a, shop_b = load_config(write_config(tmp_path, text), {})

    assert shop_a.store_url == f"sqlite:///{tmp_path}/default.db"
    with pytest.raises(DataError) as caught:
        shop_b.store_url
    assert caught.value.location.pointer == "/workspaces/shop_b/store_env"


# --- commands on one workspace ------------------------------------------------------------


def test_run_workspace_without_other_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    status, output, errors = run_process("run", "--config", str(config), "--workspace", "shop_a")

    assert status == 0, errors
    assert "shop_a: run 1 as of 2011-12-05 00:00 Europe/London" in output
    assert VARIABLE not in errors
    assert (tmp_path / "a.db").exists()


def test_db_commands_without_other_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    upgrade = invoke("db", "upgrade", "--config", str(config), "--workspace", "shop_a")
    status = invoke("db", "status", "--config", str(config), "--workspace", "shop_a")

    assert upgrade[0] == 0, upgrade[2]
    assert status[0] == 0, status[2]
    assert "shop_a: sqlite:///" in status[1]
    assert "up to date" in status[1]


def test_missing_variable_names_key_and_workspace(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    status, output, errors = invoke("run", "--config", str(config), "--workspace", "shop_b")

    assert status == 1
    expected = f"error: {config}#/workspaces/shop_b/store: environment variable {VARIABLE} is not set. Export {VARIABLE}"
    assert errors.startswith(expected)
    assert len(errors.strip().splitlines()) == 1
    assert output == ""


def test_run_restores_log_level(tmp_path: Path) -> None:
    # Off a terminal, run logs at info level for its duration only.
    config = write_config(tmp_path)
    segmento_logger = logging.getLogger("segmento")
    before = segmento_logger.level
    assert segmento_logger.getEffectiveLevel() > logging.INFO

    status, _, errors = invoke("run", "--config", str(config), "--workspace", "shop_a")

    assert status == 0, errors
    assert segmento_logger.level == before


def test_single_workspace_error_names_workspace(tmp_path: Path) -> None:
    config = write_config(tmp_path, "name: shop_c\nrules: rules\nstore_env: SEGMENTO_TEST_C_URL\n")

    status, _, errors = invoke("db", "status", "--config", str(config), environ={"SEGMENTO_TEST_C_URL": None})

    assert status == 1
    expected = f"error: workspace shop_c: {config}#/store_env: environment variable SEGMENTO_TEST_C_URL is not set"
    assert errors.startswith(expected)


def test_profile_reports_missing_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    status, _, errors = invoke("profile", "100", "--config", str(config))

    assert status == 1
    assert f"error: {config}#/workspaces/shop_b/store: environment variable {VARIABLE} is not set" in errors
    assert "error: no profile with id '100' in shop_a" in errors
    assert "error: 1 of 2 workspaces failed: shop_b" in errors


# --- segmento run on every workspace ------------------------------------------------------


def test_run_all_reports_missing_then_runs_others(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    status, output, errors = run_process("run", "--config", str(config))

    assert status == 1
    missing = f"error: {config}#/workspaces/shop_b/store: environment variable {VARIABLE} is not set"
    assert missing in errors
    assert "shop_a: run 1 as of" in output
    # The missing variable is reported before the first run starts, and named again at the end.
    assert errors.index(missing) < errors.index("run 1 of workspace shop_a started")
    assert errors.strip().splitlines()[-1] == "error: 1 of 2 workspaces failed: shop_b"


# --- shopdb check -------------------------------------------------------------------------


@pytest.mark.mariadb
def test_shopdb_check_needs_no_store_variable(tmp_path: Path) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tests.shopdb.databases import MAPPING_FILE
    from tests.shopdb.loader import create_schema, load_retail_file, write_subset

    subset = write_subset(tmp_path / "subset.csv", 200)
    text = TWO_SHOPS.replace(
        "    store: mysql+pymysql://segmento:${SEGMENTO_TEST_B_PASSWORD}@127.0.0.1:3306/shop_b\n",
        "    store: mysql+pymysql://segmento:${SEGMENTO_TEST_B_PASSWORD}@127.0.0.1:3306/shop_b\n"
        f"    sources:\n      - {{name: shop, format: shopdb, mapping: {MAPPING_FILE}}}\n",
    )
    config = write_config(tmp_path, text)
    with mariadb_database("helper_workspace_variables") as shop_url:
        engine = create_engine(shop_url, poolclass=NullPool)
        create_schema(engine)
        load_retail_file(engine, subset)
        engine.dispose()

        status, output, errors = invoke(
            "shopdb", "check", "--config", str(config), "--workspace", "shop_b", environ={"SHOP_DB_URL": shop_url}
        )

    assert status == 0, output + errors
    assert f"checking {MAPPING_FILE} (workspace shop_b, source shop)" in output
    assert f"ok {MAPPING_FILE}: 0 problems" in output
    assert VARIABLE not in output + errors


# --- a password written in the config file ------------------------------------------------


PASSWORD = "hunter2:@/x"


def test_written_password_warns_without_showing_it(tmp_path: Path) -> None:
    written = f"mysql+pymysql://segmento:{quote(PASSWORD, safe='')}@127.0.0.1:3306/shop_b"
    config = write_config(tmp_path, TWO_SHOPS.replace(f"mysql+pymysql://segmento:${{{VARIABLE}}}@127.0.0.1:3306/shop_b", written))

    status, output, errors = run_process("db", "status", "--config", str(config), "--workspace", "shop_a")

    assert status == 0, errors
    warnings = [line for line in errors.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, errors
    assert f"workspace shop_b: the store URL at {config}#/workspaces/shop_b/store contains a password" in warnings[0]
    assert "store: mysql+pymysql://segmento:${SEGMENTO_SHOP_B_DB_PASSWORD}@127.0.0.1:3306/shop_b" in warnings[0]
    for form in (PASSWORD, quote(PASSWORD, safe=""), "hunter2"):
        assert form not in output + errors


def test_query_password_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = "store: mysql+pymysql://segmento@db/shop?password=hunter2&charset=utf8mb4\nrules: rules\n"
    with caplog.at_level(logging.WARNING, logger="segmento"):
        load_config(write_config(tmp_path, text), {})
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "contains a password" in messages[0]
    assert "store: mysql+pymysql://segmento:${SEGMENTO_" in messages[0]
    assert "@db/shop?charset=utf8mb4" in messages[0]
    assert "hunter2" not in caplog.text


def test_reference_or_no_password_does_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = TWO_SHOPS.replace("sqlite:///a.db", "postgresql+psycopg://segmento@127.0.0.1/shop_a")
    with caplog.at_level(logging.WARNING, logger="segmento"):
        load_config(write_config(tmp_path, text), {})
    assert caplog.records == []


def test_default_store_password_warns_per_workspace(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = "store: mysql+pymysql://segmento:hunter2@db/shop\nrules: rules\nworkspaces:\n  shop_a: {}\n  shop_b: {}\n"
    with caplog.at_level(logging.WARNING, logger="segmento"):
        load_config(write_config(tmp_path, text), {})
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith(f"workspace shop_a: the store URL at {tmp_path / 'segmento.yaml'}#/store contains a password")
    assert messages[1].startswith("workspace shop_b: ")
    assert "hunter2" not in caplog.text
