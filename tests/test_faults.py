"""Faults during a run: a killed process, a lost connection, a bad rule.

The run is held at a checkpoint of the test hook (``segmento.adapters.checkpoints``)
in the middle of writing memberships. The test then kills the process with SIGKILL,
or kills the run's MariaDB connection with ``KILL CONNECTION`` from another one.
Interrupts (SIGINT) are sent there too, and inside a statement of a file import.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.model import imports, segment_runs
from segmento.adapters.locks import RUN_LOCK, store_locks
from segmento.adapters.retry import ConnectionLostError
from segmento.adapters.runs import RunError, open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.errors import RuleErrors
from tests.store_helpers import (
    AFTER_FIRST,
    AFTER_SECOND,
    Checkpoint,
    all_members,
    history_rows,
    mariadb_database,
    open_stays,
    segmento,
    shop_workspace,
    write_shop,
)

STORES = ("sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb))
FAST_RETRY = {"attempts": 3, "delay": 0.05}


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    with mariadb_database("segmento_faults") as url:
        yield url


@pytest.fixture()
def mariadb_url() -> Iterator[str]:
    with mariadb_database("segmento_faults") as url:
        yield url


def last_run(store: SqlProfileStore) -> sa.Row:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(segment_runs).order_by(segment_runs.c.id.desc()).limit(1)).one()


def retry_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "segmento.adapters.retry"]


class ConnectionKiller:
    """Releases a run held at ``segment_applied``, killing its MariaDB connection at the first ``kills`` hits."""

    def __init__(self, checkpoint: Checkpoint, server_url: str, kills: int) -> None:
        self.checkpoint = checkpoint
        self.server = sa.create_engine(server_url, poolclass=NullPool)
        self.kills = kills
        self.killed: list[int] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._drive, daemon=True)

    def __enter__(self) -> ConnectionKiller:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.thread.join(timeout=60)
        self.server.dispose()

    def _drive(self) -> None:
        while (details := self.checkpoint.wait(finished=self.done.is_set, timeout=120)) is not None:
            if len(self.killed) < self.kills:
                with self.server.connect() as connection:
                    connection.execute(sa.text("KILL CONNECTION :id"), {"id": details["connection_id"]})
                self.killed.append(details["connection_id"])
            self.checkpoint.release()


# --- a killed process ---------------------------------------------------------------------


def test_killed_run_keeps_previous_membership(tmp_path: Path, store_url: str) -> None:
    run_workspace(shop_workspace(write_shop(tmp_path, store_url)))
    config = write_shop(tmp_path, store_url, second=True)
    store = open_store(shop_workspace(config))
    history_before = history_rows(store.engine)
    checkpoint = Checkpoint(tmp_path / "hook", "segment_applied")

    process = segmento("run", "--config", str(config), environ=checkpoint.environ,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        reached = checkpoint.wait(process)
        assert reached is not None, process.communicate()[1]
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()  # reaps the process, so its pid no longer exists

    assert process.returncode == -signal.SIGKILL
    assert all_members(store) == AFTER_FIRST
    assert history_rows(store.engine) == history_before
    killed = last_run(store)
    assert killed.status == "running"

    report = run_workspace(shop_workspace(config), store=store)

    assert report.status == "succeeded"
    assert all_members(store) == AFTER_SECOND
    assert set(open_stays(store.engine).values()) == {1}
    with store.engine.connect() as connection:
        status, error = connection.execute(
            sa.select(segment_runs.c.status, segment_runs.c.error).where(segment_runs.c.id == killed.id)
        ).one()
        lock_token = connection.scalar(sa.select(store_locks.c.token).where(store_locks.c.name == RUN_LOCK))
    assert status == "failed"
    assert "stopped without finishing" in error
    assert lock_token is None
    store.engine.dispose()


def test_interrupted_run_is_recorded_failed(tmp_path: Path, store_url: str) -> None:
    run_workspace(shop_workspace(write_shop(tmp_path, store_url)))
    config = write_shop(tmp_path, store_url, second=True)
    store = open_store(shop_workspace(config))
    checkpoint = Checkpoint(tmp_path / "hook", "segment_applied")

    process = segmento("run", "--config", str(config), environ=checkpoint.environ,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        reached = checkpoint.wait(process)
        assert reached is not None, process.communicate()[1]
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode != 0
    assert "interrupted" in errors
    assert all_members(store) == AFTER_FIRST
    interrupted = last_run(store)
    assert interrupted.status == "failed"
    assert "interrupted" in interrupted.error
    with store.engine.connect() as connection:
        lock_token = connection.scalar(sa.select(store_locks.c.token).where(store_locks.c.name == RUN_LOCK))
    assert lock_token is None
    store.engine.dispose()


def test_interrupt_in_import_statement_rolls_back(tmp_path: Path) -> None:
    # SIGINT lands inside the batch loop's multi-row insert of orders, in the import's
    # transaction. A connection closed without a rollback while its cursor keeps a prepared
    # statement keeps SQLite's write lock, and then the run can neither record its failure
    # nor free the store lock.
    store_url = f"sqlite:///{tmp_path / 'shop.db'}"
    run_workspace(shop_workspace(write_shop(tmp_path, store_url)))
    config = write_shop(tmp_path, store_url, second=True, retry=FAST_RETRY)
    store = open_store(shop_workspace(config))
    history_before = history_rows(store.engine)
    checkpoint = Checkpoint(tmp_path / "hook", "import_statement")

    process = segmento("run", "--config", str(config), environ=checkpoint.environ,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        while True:
            reached = checkpoint.wait(process)
            assert reached is not None, process.communicate()[1]
            if reached["statement"].startswith("INSERT INTO orders "):
                break
            checkpoint.release()
        process.send_signal(signal.SIGINT)
        interrupted_at = time.monotonic()
        _, errors = process.communicate(timeout=120)
        exit_seconds = time.monotonic() - interrupted_at
    finally:
        process.kill()

    assert process.returncode != 0
    assert exit_seconds < 10, errors
    assert "database is locked" not in errors
    interrupted = last_run(store)
    assert interrupted.status == "failed"
    assert interrupted.error == "interrupted (SIGINT, Ctrl-C)"
    with store.engine.connect() as connection:
        lock_token = connection.scalar(sa.select(store_locks.c.token).where(store_locks.c.name == RUN_LOCK))
        imported_files = set(connection.scalars(sa.select(imports.c.file_name)))
    assert lock_token is None
    assert imported_files == {"first.csv"}
    assert all_members(store) == AFTER_FIRST
    assert history_rows(store.engine) == history_before

    report = run_workspace(shop_workspace(config), store=store)

    assert report.status == "succeeded"
    assert all_members(store) == AFTER_SECOND
    store.engine.dispose()


# --- a lost connection --------------------------------------------------------------------


@pytest.mark.mariadb
def test_lost_connection_is_retried(
    tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = shop_workspace(write_shop(tmp_path, mariadb_url, second=True, retry=FAST_RETRY))
    store = open_store(workspace)
    checkpoint = Checkpoint(tmp_path / "hook", "segment_applied")
    for name, value in checkpoint.environ.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.INFO, logger="segmento")

    with ConnectionKiller(checkpoint, mariadb_url, kills=1) as killer:
        report = run_workspace(workspace, store=store)

    assert len(killer.killed) == 1
    messages = retry_messages(caplog)
    assert len(messages) == 1
    assert messages[0].startswith(
        f"run {report.run_id} could not evaluate segments, because the database connection was lost or refused "
        "(attempt 1 of 3): (2013, 'Lost connection"
    )
    assert report.status == "succeeded"
    assert all_members(store) == AFTER_SECOND
    assert len(history_rows(store.engine)) == sum(len(ids) for ids in AFTER_SECOND.values())
    assert {outcome.id: outcome.joined for outcome in report.segments} == {
        segment_id: len(ids) for segment_id, ids in AFTER_SECOND.items()
    }
    store.engine.dispose()


@pytest.mark.mariadb
def test_repeated_connection_loss_fails_clearly(
    tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run_workspace(shop_workspace(write_shop(tmp_path, mariadb_url, retry=FAST_RETRY)))
    workspace = shop_workspace(write_shop(tmp_path, mariadb_url, second=True, retry=FAST_RETRY))
    store = open_store(workspace)
    checkpoint = Checkpoint(tmp_path / "hook", "segment_applied")
    for name, value in checkpoint.environ.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.INFO, logger="segmento")

    with ConnectionKiller(checkpoint, mariadb_url, kills=3) as killer, pytest.raises(ConnectionLostError) as caught:
        run_workspace(workspace, store=store)

    failed = last_run(store)
    assert len(killer.killed) == 3
    assert str(caught.value).startswith(
        f"run {failed.id} could not evaluate segments: the database connection was lost or refused 3 times"
    )
    assert "previous segment membership is still in place" in str(caught.value)
    assert len(retry_messages(caplog)) == 3  # two retries, then the final error
    assert failed.status == "failed"
    assert "the database connection was lost or refused 3 times" in failed.error
    assert all_members(store) == AFTER_FIRST
    store.engine.dispose()


# --- errors that are not retried ----------------------------------------------------------


def test_bad_rule_fails_without_retry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = write_shop(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", retry=FAST_RETRY)
    (tmp_path / "rules" / "broken.seg").write_text('segment broken "Broken"\ntotal_purchase_value >=\n', encoding="utf-8")
    caplog.set_level(logging.INFO, logger="segmento")

    with pytest.raises(RuleErrors) as caught:
        run_workspace(shop_workspace(config))

    assert caught.value.location.line == 2
    assert retry_messages(caplog) == []


def test_broken_store_fails_without_retry(tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    config = write_shop(tmp_path, store_url, retry=FAST_RETRY)
    store = open_store(shop_workspace(config))
    run_workspace(shop_workspace(config), store=store)
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE profile_long_term_interests"))
    caplog.set_level(logging.INFO, logger="segmento")

    with pytest.raises(RunError) as caught:
        run_workspace(shop_workspace(config), store=store)

    assert "kitchen_fans" in str(caught.value)
    assert retry_messages(caplog) == []
    assert last_run(store).status == "failed"
    assert all_members(store) == AFTER_FIRST
    store.engine.dispose()
