"""Shared fixtures: SQL databases for the cross-backend tests.

Each SQL target gets a fresh database for the test session: an SQLite file, a MariaDB
database on 127.0.0.1:3306 and a PostgreSQL schema in database ``test`` on
127.0.0.1:5432, each dropped at the end. Set ``SEGMENTO_TEST_MARIADB_URL`` or
``SEGMENTO_TEST_POSTGRESQL_URL`` to use other servers. A server that is not reachable
skips its tests locally and fails them when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateSchema, DropSchema

from segmento.adapters.sql_store import SqlProfileStore
from tests.cases import SQL_TARGETS, case_registry

MARIADB_URL = os.environ.get("SEGMENTO_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4")
POSTGRESQL_URLS = (
    (os.environ["SEGMENTO_TEST_POSTGRESQL_URL"],)
    if "SEGMENTO_TEST_POSTGRESQL_URL" in os.environ
    else (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "postgresql+psycopg://root@127.0.0.1:5432/test",
    )
)


def server_unavailable(server: str, reason: str) -> NoReturn:
    """Skip the requesting test, or fail it when running in CI."""
    message = f"{server} is not available: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true, so a missing server is a failure)", pytrace=False)
    pytest.skip(message)


def _session_name() -> str:
    return f"segmento_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "profiles.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mariadb_engine() -> Iterator[sa.Engine]:
    try:
        import pymysql  # noqa: F401
    except ImportError:
        server_unavailable("MariaDB", "PyMySQL is not installed; install the test extra")
    server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    name = _session_name()
    quoted = server.dialect.identifier_preparer.quote(name)
    try:
        with server.begin() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as error:
        server_unavailable("MariaDB", str(error.orig))
    engine = sa.create_engine(server.url.set(database=name))
    yield engine
    engine.dispose()
    with server.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {quoted}")


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[sa.Engine]:
    with postgresql_schema(_session_name()) as url:
        engine = sa.create_engine(url)
        yield engine
        engine.dispose()


@contextmanager
def postgresql_schema(name: str) -> Iterator[str]:
    """Create the PostgreSQL schema ``name``, yield a URL whose connections search it first, and drop it afterwards."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        server_unavailable("PostgreSQL", "psycopg is not installed; pip install 'psycopg[binary]'")
    errors: list[str] = []
    for url in POSTGRESQL_URLS:
        server = sa.create_engine(url, poolclass=NullPool)
        try:
            with server.begin() as connection:
                connection.execute(CreateSchema(name))
        except sa.exc.OperationalError as error:
            errors.append(str(error.orig).strip())
            continue
        url_in_schema = server.url.update_query_dict({"options": f"-csearch_path={name}"})
        try:
            yield url_in_schema.render_as_string(hide_password=False)
        finally:
            with server.begin() as connection:
                connection.execute(DropSchema(name, cascade=True))
            server.dispose()
        return
    server_unavailable("PostgreSQL", "; ".join(errors))


@dataclass
class SqlBackend:
    """A store on one SQL target, and the profiles it contains now."""

    name: str
    store: SqlProfileStore
    loaded: Sequence[Mapping[str, Any]] | None = field(default=None, repr=False)

    def load(self, profiles: Sequence[Mapping[str, Any]]) -> None:
        """Replace every stored profile with ``profiles``, unless they are loaded already."""
        if self.loaded is profiles:
            return
        with self.store.engine.begin() as connection:
            for table in reversed(self.store.model.tables()):
                connection.execute(sa.delete(table))
        self.store.write_profiles(profiles)
        self.loaded = profiles


@pytest.fixture(scope="session", params=SQL_TARGETS)
def sql_backend(request: pytest.FixtureRequest) -> SqlBackend:
    """A store with the case catalog's tables, on each SQL target in turn."""
    engine: sa.Engine = request.getfixturevalue(f"{request.param}_engine")
    store = SqlProfileStore(engine, case_registry())
    store.create_schema()
    return SqlBackend(request.param, store)
