"""Helpers of the store tests: fresh MariaDB databases, a small shop, real ``segmento`` processes.

The shop has three customers and three segments; ``second.csv`` moves customer 300
into ``big_spenders`` and customer 200 out of it, so a run with it changes membership.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.pool import NullPool

from segmento.adapters.checkpoints import CHECKPOINT_ENV, DIRECTORY_ENV
from segmento.adapters.ingest.model import membership_history
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import Workspace, load_config
from tests.conftest import MARIADB_URL, server_unavailable

ROOT = Path(__file__).resolve().parent.parent

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
FIRST = (
    "1001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,10,2011-11-01 10:00:00,2.55,100.0,United Kingdom\n"
    "1002,22423,REGENCY CAKESTAND 3 TIER,4,2011-11-02 10:00:00,12.75,200.0,France\n"
    "1003,84879,ASSORTED COLOUR BIRD ORNAMENT,8,2011-11-03 10:00:00,1.69,300.0,Germany\n"
)
SECOND = (
    "1004,22423,REGENCY CAKESTAND 3 TIER,8,2011-12-01 10:00:00,12.75,300.0,Germany\n"
    "C1005,22423,REGENCY CAKESTAND 3 TIER,-4,2011-12-02 10:00:00,12.75,200.0,France\n"
)
RULES = {
    "spenders.seg": 'segment big_spenders "Big spenders"\ntotal_purchase_value >= 40\n',
    "kitchen.seg": 'segment kitchen_fans "Kitchen fans"\nlong_term_interests contains any ["home.kitchen"]\n',
    "reference.seg": 'segment kitchen_spenders "Kitchen spenders"\nall {\n  in segment big_spenders\n  in segment kitchen_fans\n}\n',
}
AFTER_FIRST = {"big_spenders": {"200"}, "kitchen_fans": {"200"}, "kitchen_spenders": {"200"}}
AFTER_SECOND = {"big_spenders": {"300"}, "kitchen_fans": {"200", "300"}, "kitchen_spenders": {"300"}}


@contextmanager
def mariadb_database(prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty MariaDB database, and drop it afterwards."""
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


def write_shop(directory: Path, store_url: str, *, second: bool = False, **settings: Any) -> Path:
    """Write the small shop's rules, data and config into ``directory``; return the config's path.

    ``settings`` are more workspace keys, such as ``lock`` or ``retry``.
    """
    rules = directory / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    for name, text in RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    (directory / "first.csv").write_text(HEADER + FIRST, encoding="utf-8")
    sources = [{"name": "first", "format": "online_retail", "path": "first.csv"}]
    if second:
        (directory / "second.csv").write_text(HEADER + SECOND, encoding="utf-8")
        sources.append({"name": "second", "format": "online_retail", "path": "second.csv"})
    workspace = {
        "store": store_url,
        "timezone": "Europe/London",
        "as_of": "2011-12-05T00:00:00",
        "rules": "rules",
        "reports": "reports",
        "sources": sources,
        **settings,
    }
    config = directory / "segmento.yaml"
    config.write_text(yaml.safe_dump({"workspaces": {"test_shop": workspace}}), encoding="utf-8")
    return config


def shop_workspace(config: Path, environ: Mapping[str, str] | None = None) -> Workspace:
    (workspace,) = load_config(config, environ)
    return workspace


def members(store: SqlProfileStore, segment_id: str) -> set[str]:
    memberships = store.model.memberships
    with store.engine.connect() as connection:
        return set(connection.scalars(sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)))


def all_members(store: SqlProfileStore) -> dict[str, set[str]]:
    return {segment_id: members(store, segment_id) for segment_id in RULES_IDS}


RULES_IDS = ("big_spenders", "kitchen_fans", "kitchen_spenders")


def history_rows(engine: sa.Engine) -> list[tuple[str, str, int, int | None]]:
    rows = membership_history.c
    with engine.connect() as connection:
        return sorted(
            (row.segment_id, row.profile_id, row.joined_run, row.left_run)
            for row in connection.execute(sa.select(rows.segment_id, rows.profile_id, rows.joined_run, rows.left_run))
        )


def open_stays(engine: sa.Engine) -> dict[tuple[str, str], int]:
    """Return how many open stays (no ``left_run``) each (segment, profile) has."""
    counts: dict[tuple[str, str], int] = {}
    for segment_id, profile_id, _, left_run in history_rows(engine):
        if left_run is None:
            counts[(segment_id, profile_id)] = counts.get((segment_id, profile_id), 0) + 1
    return counts


def segmento(*arguments: str, environ: Mapping[str, str] | None = None, **options: Any) -> subprocess.Popen[str]:
    """Start ``segmento`` in a new process, with ``environ`` added to this process's environment."""
    environment = {**os.environ, **(environ or {})}
    command = Path(sys.executable).parent / "segmento"
    return subprocess.Popen([str(command), *arguments], env=environment, cwd=ROOT, text=True, **options)


class Checkpoint:
    """Drives the test hook of ``segmento.adapters.checkpoints`` from the test's side."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.hits = 0
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def environ(self) -> dict[str, str]:
        return {CHECKPOINT_ENV: self.name, DIRECTORY_ENV: str(self.directory)}

    def wait(
        self,
        process: subprocess.Popen[Any] | None = None,
        *,
        finished: Callable[[], bool] | None = None,
        timeout: float = 60,
    ) -> dict[str, Any] | None:
        """Wait until the run reaches the checkpoint once more, and return what the hook wrote.

        Returns ``None`` when ``process`` exits, or ``finished()`` turns true, first.
        """
        reached = self.directory / f"{self.name}.reached"
        deadline = time.monotonic() + timeout
        while True:
            if reached.exists():
                details: dict[str, Any] = json.loads(reached.read_text(encoding="utf-8"))
                if details["hit"] > self.hits:
                    self.hits = details["hit"]
                    return details
            if process is not None and process.poll() is not None:
                return None
            if finished is not None and finished():
                return None
            if time.monotonic() > deadline:
                raise AssertionError(f"checkpoint {self.name} was not reached within {timeout} s")
            time.sleep(0.02)

    def release_all(
        self, process: subprocess.Popen[Any] | None = None, *, finished: Callable[[], bool] | None = None
    ) -> None:
        """Release the run now and at every later hit, until it ends."""
        self.release()
        while self.wait(process, finished=finished) is not None:
            self.release()

    def release(self) -> None:
        (self.directory / f"{self.name}.release").touch()


def schema_drift(engine: sa.Engine, tables: Iterable[str]) -> list[object]:
    """Return Alembic's differences between the store and the models of the migrated tables, limited to ``tables``."""
    # Imported here so that tests that do not compare schemas do not import Alembic.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from segmento.adapters.migrations.schema import fixed_metadata

    names = set(tables)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, fixed_metadata())
    return [diff for diff in differences if _table_of(diff) in names]


def _table_of(diff: object) -> str | None:
    if isinstance(diff, list):
        return _table_of(diff[0])
    assert isinstance(diff, tuple)
    item = diff[1]
    if isinstance(item, sa.Table):
        return item.name
    if isinstance(item, sa.Index):
        return item.table.name if item.table is not None else None
    return str(diff[2])
