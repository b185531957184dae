"""Store credentials: read from the environment, never shown in output, logs, reports or errors.

The MariaDB tests create a user with a password full of URL punctuation. They check
every place a run or a ``segmento db`` command can print it: standard output and
error, log records at debug level, the JSON report, the recorded run, and the
messages of connection errors.
"""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.model import segment_runs
from segmento.adapters.retry import ConnectionLostError
from segmento.adapters.runs import RunError, open_store, run_workspace
from segmento.adapters.urls import (
    SECRET_QUERY_KEYS,
    UNENCODED_AT_CODE,
    create_store_engine,
    mask_url,
    redact,
    resolve_store_url,
)
from segmento.cli import main
from segmento.cli.match_backends import url_from_argument
from segmento.engine.errors import DataError, SegmentoError
from tests.conftest import MARIADB_URL
from tests.store_helpers import ROOT, mariadb_database, segmento, shop_workspace, write_shop

VARIABLE = "SEGMENTO_TEST_DB_PASSWORD"
TEMPLATE = "mysql+pymysql://{user}:${{SEGMENTO_TEST_DB_PASSWORD}}@127.0.0.1:{port}/{database}"


# --- resolving and masking URLs -----------------------------------------------------------

RESOLVED = [
    ("${STORE}", {"STORE": "sqlite:///var/shop.db"}, "sqlite:///var/shop.db"),
    (
        "mysql+pymysql://shop:${PASSWORD}@db.internal/shop",
        {"PASSWORD": "p@ss:w/rd"},
        "mysql+pymysql://shop:p%40ss%3Aw%2Frd@db.internal/shop",
    ),
    ("mysql+pymysql://${USER}@${HOST}/${DB}", {"USER": "u", "HOST": "h", "DB": "d"}, "mysql+pymysql://u@h/d"),
    ("postgresql+psycopg://u@h/d?sslmode=${MODE}", {"MODE": "require"}, "postgresql+psycopg://u@h/d?sslmode=require"),
    ("sqlite:///var/plain.db", {}, "sqlite:///var/plain.db"),
]


@pytest.mark.parametrize(("template", "environ", "expected"), RESOLVED)
def test_store_url_references_resolve(template: str, environ: dict[str, str], expected: str) -> None:
    assert resolve_store_url(template, environ) == expected


def test_password_with_punctuation_survives_resolution() -> None:
    url = resolve_store_url("mysql+pymysql://shop:${PASSWORD}@db/shop", {"PASSWORD": "p@ss:w/rd%?#"})
    assert sa.make_url(url).password == "p@ss:w/rd%?#"


def test_missing_variable_is_named() -> None:
    with pytest.raises(DataError) as caught:
        resolve_store_url("mysql+pymysql://shop:${SHOP_PASSWORD}@db/shop", {})
    assert "environment variable SHOP_PASSWORD is not set" in str(caught.value)


def test_empty_variable_is_called_empty() -> None:
    with pytest.raises(DataError) as caught:
        resolve_store_url("mysql+pymysql://shop:${SHOP_PASSWORD}@db/shop", {"SHOP_PASSWORD": ""})
    assert caught.value.message == "environment variable SHOP_PASSWORD is empty"
    assert "remove ${SHOP_PASSWORD} from the URL" in (caught.value.hint or "")


def test_unparsable_url_is_masked() -> None:
    with pytest.raises(DataError) as caught:
        resolve_store_url("mysql+pymysql://shop:hunter2secret@db:port/shop", {})
    assert "hunter2secret" not in str(caught.value)
    assert "mysql+pymysql://shop:***@db:port/shop" in str(caught.value)


def test_unknown_dialect_is_masked() -> None:
    with pytest.raises(DataError) as caught:
        resolve_store_url("${STORE}", {"STORE": "mysqll://shop:hunter2secret@db/shop"})
    assert "hunter2secret" not in str(caught.value)
    assert "from environment variable STORE" in str(caught.value)


def test_mask_and_redact() -> None:
    url = "mysql+pymysql://shop:p%40ss@db/shop"
    assert mask_url(url) == "mysql+pymysql://shop:***@db/shop"
    assert redact("login p@ss failed; tried p%40ss", [url]) == "login *** failed; tried ***"
    assert redact("connecting to mysql://other:topsecret@host/x") == "connecting to mysql://other:***@host/x"


def test_placeholder_password_is_not_masked() -> None:
    template = "mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop"
    assert mask_url(template) == template
    assert mask_url(sa.make_url(template)) == template
    assert redact(f"For example {template}") == f"For example {template}"
    assert redact(f"For example {template}", [template]) == f"For example {template}"
    # Only a password that is a reference and nothing else is a placeholder.
    assert mask_url("mysql+pymysql://reader:x${SHOP_DB_PASSWORD}@db/shop") == "mysql+pymysql://reader:***@db/shop"
    assert redact("mysql://reader:${A}${B}@db/shop") == "mysql://reader:***@db/shop"


PASSWORD = "p@ss:w/o%rd#1"


@pytest.mark.parametrize("key", sorted(SECRET_QUERY_KEYS) + ["Password", "PWD"])
def test_secret_query_values_are_masked(key: str) -> None:
    url = f"mysql+pymysql://root@db:3306/shop?charset=utf8mb4&{key}={quote(PASSWORD, safe='')}"
    message = f"connect {url} failed for {PASSWORD}, {quote_plus(PASSWORD, safe='')}"

    masked = mask_url(url)
    assert masked.startswith("mysql+pymysql://root@db:3306/shop?")
    assert dict(sa.make_url(masked).query) == {"charset": "utf8mb4", key: "***"}
    assert mask_url(sa.make_url(url)) == masked
    assert redact(message, [url]) == "connect mysql+pymysql://root@db:3306/shop?charset=utf8mb4&" + key + "=*** failed for ***, ***"
    # A message that quotes the URL without a URL to read the secret from.
    assert redact(url) == f"mysql+pymysql://root@db:3306/shop?charset=utf8mb4&{key}=***"


def test_query_values_that_hold_no_secret_stay() -> None:
    url = "mysql+pymysql://root@db/shop?charset=utf8mb4&ssl_ca=%2Fetc%2Fca.pem"
    assert mask_url(url) == url
    assert redact(f"using {url}", [url]) == f"using {url}"


def test_query_placeholder_stays_readable() -> None:
    template = "mysql+pymysql://root@db/shop?password=${SHOP_PW}"
    assert mask_url(template) == template
    assert redact(f"for example {template}", [template]) == f"for example {template}"


def test_query_password_resolves_from_variable() -> None:
    url = resolve_store_url("mysql+pymysql://root@db/shop?password=${PW}", {"PW": PASSWORD})
    assert sa.make_url(url).query["password"] == PASSWORD
    assert mask_url(url) == "mysql+pymysql://root@db/shop?password=***"


def test_unencoded_at_in_whole_url_is_rejected() -> None:
    environ = {"STORE_URL": "mysql+pymysql://shop:se@cret@127.0.0.1:3306/shop"}
    with pytest.raises(DataError) as caught:
        resolve_store_url("${STORE_URL}", environ)

    text = str(caught.value)
    assert caught.value.message == (
        "store URL mysql+pymysql://shop:***@127.0.0.1:3306/shop (from environment variable STORE_URL) "
        "has more than one @ before its host name"
    )
    assert "percent-encoded as %40" in text
    assert "cret" not in text
    assert "se@" not in text


@pytest.mark.parametrize("password", ["Mat#kh@u:1/%", "ab@cd/ef", "a@b@c"])
def test_unencoded_at_rejected_where_url_parses(password: str) -> None:
    environ = {"STORE_URL": f"mysql+pymysql://shop:{password}@127.0.0.1:3306/shop"}
    with pytest.raises(DataError) as caught:
        resolve_store_url("${STORE_URL}", environ)

    text = str(caught.value)
    assert caught.value.code == UNENCODED_AT_CODE
    assert "store URL mysql+pymysql://shop:***@127.0.0.1:3306/shop (from environment variable STORE_URL)" in text
    assert password.partition("@")[2] not in text


def test_unencoded_at_in_url_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_URL", "mysql+pymysql://reader:Matkh@u1@127.0.0.1:3306/shop")
    with pytest.raises(click.BadParameter) as caught:
        url_from_argument("env:SHOP_DB_URL")

    text = caught.value.message
    assert "(from environment variable SHOP_DB_URL) has more than one @" in text
    assert "percent-encoded as %40" in text
    assert "u1" not in text


def test_unencoded_password_that_breaks_parsing_is_masked() -> None:
    with pytest.raises(DataError) as caught:
        resolve_store_url("${STORE_URL}", {"STORE_URL": f"mysql+pymysql://shop:{PASSWORD}@127.0.0.1:3306/shop"})

    text = str(caught.value)
    assert "mysql+pymysql://shop:***@127.0.0.1:3306/shop" in text
    assert "percent-encoded as %40" in text
    for part in ("ss:w", "o%rd", "#1"):
        assert part not in text


def test_url_with_at_in_host_masks_whole_password() -> None:
    url = "mysql+pymysql://shop:se@cret@127.0.0.1/shop"
    assert mask_url(url) == "mysql+pymysql://shop:***@127.0.0.1/shop"
    assert redact("login as se@cret failed", [url]) == "login as *** failed"


def test_short_password_masked_only_alone() -> None:
    url = "mysql+pymysql://shop:se@db/shop"
    message = "MySQL server on db: Name or service not known; password se rejected (se)"
    assert redact(message, [url]) == "MySQL server on db: Name or service not known; password *** rejected (***)"
    assert redact(f"{url} failed", [url]) == "mysql+pymysql://shop:***@db/shop failed"
    # From 4 characters on, a password is masked wherever it occurs.
    assert redact("a server that serves", ["mysql+pymysql://shop:serv@db/shop"]) == "a ***er that ***es"


def test_mapping_password_hint_keeps_placeholder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mapping = ROOT / "examples" / "shopdb-mapping.yaml"
    literal = "url: mysql+pymysql://reader:hunter2secret@db/shop"
    text = mapping.read_text(encoding="utf-8").replace("url: ${SHOP_DB_URL}", literal)
    (tmp_path / "mapping.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "any.seg").write_text('segment buyers "Buyers"\ntotal_purchase >= 1\n', encoding="utf-8")
    config = tmp_path / "segmento.yaml"
    sources = "sources:\n  - {name: shop, format: shopdb, mapping: mapping.yaml}\n"
    config.write_text(f"store: sqlite:///store.db\nrules: rules\n{sources}", encoding="utf-8")

    with caplog.at_level(logging.INFO, logger="segmento"):
        result = CliRunner().invoke(main, ["run", "--config", str(config)])

    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert result.exit_code == 1
    assert len(errors) == 1, errors
    assert "the source url contains a password" in errors[0]
    assert "For example mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop" in errors[0]
    assert "hunter2secret" not in caplog.text + result.output


def test_config_reads_store_from_environment(tmp_path: Path) -> None:
    config = write_shop(tmp_path, "${STORE_URL}")
    workspace = shop_workspace(config, {"STORE_URL": "mysql+pymysql://shop:hunter2secret@db/shop"})

    assert workspace.store_url == "mysql+pymysql://shop:hunter2secret@db/shop"
    assert workspace.store_display == "mysql+pymysql://shop:***@db/shop"
    assert "hunter2secret" not in repr(workspace)


def test_config_store_env(tmp_path: Path) -> None:
    config = write_shop(tmp_path, "unused")
    config.write_text(config.read_text(encoding="utf-8").replace("store: unused", "store_env: SHOP_STORE"), encoding="utf-8")

    workspace = shop_workspace(config, {"SHOP_STORE": "sqlite:////tmp/shop.db"})
    assert workspace.store_url == "sqlite:////tmp/shop.db"

    unset = shop_workspace(config, {})
    with pytest.raises(DataError) as caught:
        unset.store_url
    assert caught.value.location.pointer == "/workspaces/test_shop/store_env"
    assert "SHOP_STORE is not set" in str(caught.value)


# --- a MariaDB user with a password -------------------------------------------------------


@dataclass(frozen=True)
class SecretStore:
    user: str
    password: str
    database: str
    port: int

    def template(self, *, port: int | None = None, database: str | None = None) -> str:
        return TEMPLATE.format(user=self.user, port=port or self.port, database=database or self.database)

    def environ(self, password: str | None = None) -> dict[str, str]:
        return {VARIABLE: self.password if password is None else password}

    def forms(self) -> set[str]:
        """The password as text, and as it appears inside a URL."""
        return {self.password, quote(self.password, safe=""), quote_plus(self.password, safe="")}

    def assert_absent(self, *texts: str) -> None:
        for text in texts:
            for form in self.forms():
                assert form not in text


@pytest.fixture(scope="module")
def secret_store() -> Iterator[SecretStore]:
    with mariadb_database("segmento_credentials") as url:
        database = sa.make_url(url).database or ""
        user = f"segmento_{uuid.uuid4().hex[:8]}"
        password = f"Pa55:w@rd/{uuid.uuid4().hex[:8]}?%#"
        server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
        quoted = server.dialect.identifier_preparer.quote(database)
        with server.begin() as connection:
            connection.execute(sa.text(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY :password"), {"password": password})
            connection.exec_driver_sql(f"GRANT ALL PRIVILEGES ON {quoted}.* TO '{user}'@'127.0.0.1'")
        try:
            yield SecretStore(user, password, database, sa.make_url(MARIADB_URL).port or 3306)
        finally:
            with server.begin() as connection:
                connection.exec_driver_sql(f"DROP USER '{user}'@'127.0.0.1'")
            server.dispose()


@pytest.mark.mariadb
def test_cli_never_shows_password(tmp_path: Path, secret_store: SecretStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = write_shop(tmp_path, secret_store.template())
    upgrade = CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)], env=secret_store.environ())
    # The run goes through a real process, so its log lines reach a real standard error.
    process = segmento("-vv", "run", "--config", str(config), environ=secret_store.environ(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    output, errors = process.communicate(timeout=120)
    status = CliRunner().invoke(main, ["db", "status", "--config", str(config)], env=secret_store.environ())

    assert upgrade.exit_code == 0, upgrade.output
    assert process.returncode == 0, errors
    assert status.exit_code == 0, status.output
    assert "DEBUG" in errors
    secret_store.assert_absent(upgrade.stdout, upgrade.stderr, output, errors, status.stdout, status.stderr, caplog.text)
    masked = f"mysql+pymysql://{secret_store.user}:***@127.0.0.1:{secret_store.port}/{secret_store.database}"
    assert masked in upgrade.stdout
    assert "up to date" in status.stdout
    (report_file,) = (tmp_path / "reports").glob("*.json")
    report_text = report_file.read_text(encoding="utf-8")
    secret_store.assert_absent(report_text)
    assert json.loads(report_text)["store"] == masked


@pytest.mark.mariadb
def test_failed_connections_never_show_password(
    tmp_path: Path, secret_store: SecretStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    retry = {"attempts": 2, "delay": 0.01}
    cases = {
        "wrong password": (secret_store.template(), secret_store.environ(secret_store.password + "x"), RunError),
        "unknown database": (secret_store.template(database="no_such_db"), secret_store.environ(), RunError),
        "closed port": (secret_store.template(port=1), secret_store.environ(), ConnectionLostError),
    }
    for name, (template, environ, expected) in cases.items():
        directory = tmp_path / name.replace(" ", "_")
        config = write_shop(directory, template, retry=retry)
        with pytest.raises(expected) as caught:
            run_workspace(shop_workspace(config, environ))
        upgrade = CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)], env=environ)

        assert upgrade.exit_code == 1, name
        assert f"{secret_store.user}:***@" in str(caught.value), name
        assert "error: workspace test_shop" in upgrade.stderr, name
        secret_store.assert_absent(str(caught.value), caplog.text, upgrade.stdout, upgrade.stderr)
    assert "because the database connection was lost or refused (attempt 1 of 2)" in caplog.text


@pytest.mark.mariadb
def test_failed_run_record_never_shows_password(
    tmp_path: Path, secret_store: SecretStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace = shop_workspace(write_shop(tmp_path, secret_store.template()), secret_store.environ())
    store = open_store(workspace)
    run_workspace(workspace, store=store)
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE profile_long_term_interests"))

    with pytest.raises(SegmentoError) as caught:
        run_workspace(workspace, store=store)

    with store.engine.connect() as connection:
        recorded = connection.scalar(sa.select(segment_runs.c.error).order_by(segment_runs.c.id.desc()).limit(1))
    assert recorded is not None
    reports = [path.read_text(encoding="utf-8") for path in (tmp_path / "reports").glob("*.json")]
    secret_store.assert_absent(str(caught.value), recorded, caplog.text, *reports)
    store.engine.dispose()


@pytest.mark.mariadb
def test_query_password_never_shown(tmp_path: Path, secret_store: SecretStore) -> None:
    template = f"mysql+pymysql://{secret_store.user}@127.0.0.1:{secret_store.port}/{secret_store.database}?password=${{{VARIABLE}}}"
    config = write_shop(tmp_path, template)
    masked = f"mysql+pymysql://{secret_store.user}@127.0.0.1:{secret_store.port}/{secret_store.database}?password=***"

    status = CliRunner().invoke(main, ["db", "status", "--config", str(config)], env=secret_store.environ())
    wrong = CliRunner().invoke(main, ["run", "--config", str(config)], env=secret_store.environ(secret_store.password + "x"))

    assert status.exit_code == 0, status.output
    assert f"test_shop: {masked}: " in status.stdout
    assert wrong.exit_code == 1
    assert "Access denied" in wrong.output
    secret_store.assert_absent(status.stdout, status.stderr, wrong.stdout, wrong.stderr)
    secret_store.assert_absent(status.output.replace(secret_store.password, ""), wrong.output.replace(secret_store.password, ""))


@pytest.mark.mariadb
@pytest.mark.parametrize("password", ["Mật#kh@u:1/%", "Mät#1"])
def test_non_ascii_password_connects(password: str) -> None:
    user = f"segmento_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    with server.begin() as connection:
        connection.execute(sa.text(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY :password"), {"password": password})
    port = sa.make_url(MARIADB_URL).port or 3306
    url = resolve_store_url(
        f"mysql+pymysql://{user}:${{{VARIABLE}}}@127.0.0.1:{port}/", {VARIABLE: password}
    )
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            current = connection.scalar(sa.text("SELECT CURRENT_USER()"))
    finally:
        engine.dispose()
        with server.begin() as connection:
            connection.exec_driver_sql(f"DROP USER '{user}'@'127.0.0.1'")
        server.dispose()

    assert current == f"{user}@127.0.0.1"
