"""Runs on one store at the same time: one waits or fails naming the other; membership stays whole.

The end-to-end tests start real ``segmento run`` processes on SQLite and on MariaDB.
A process is held in the middle of writing memberships by the checkpoint test hook
(``segmento.adapters.checkpoints``), so "at the same time" does not depend on timing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.model import naive_utc, run_segments, segment_runs
from segmento.adapters.locks import RUN_LOCK, LockLostError, LockSettings, RunLock, StoreLockedError, store_locks
from segmento.adapters.runs import open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.urls import create_store_engine
from tests.store_helpers import (
    AFTER_FIRST,
    AFTER_SECOND,
    Checkpoint,
    all_members,
    mariadb_database,
    open_stays,
    segmento,
    shop_workspace,
    write_shop,
)

STORES = ("sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb))


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    with mariadb_database("segmento_concurrency") as url:
        yield url


def open_shop_store(url: str) -> SqlProfileStore:
    return SqlProfileStore(create_store_engine(url))


def run_statuses(store: SqlProfileStore) -> list[tuple[int, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(segment_runs.c.id, segment_runs.c.status).order_by(segment_runs.c.id))
        return [(row.id, row.status) for row in rows]


# --- two real processes -------------------------------------------------------------------


def test_second_run_waits_or_names_first(tmp_path: Path, store_url: str) -> None:
    checkpoint = Checkpoint(tmp_path / "hook", "segment_applied")
    holder_config = write_shop(tmp_path / "holder", store_url, second=True)
    holder = segmento("run", "--config", str(holder_config), environ=checkpoint.environ,
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    patient: subprocess.Popen[str] | None = None
    try:
        assert checkpoint.wait(holder) is not None, holder.communicate()[1]

        impatient_config = write_shop(tmp_path / "impatient", store_url, second=True, lock={"wait": 0})
        impatient = segmento("run", "--config", str(impatient_config), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, errors = impatient.communicate(timeout=120)
        assert impatient.returncode == 1
        assert f"the store is locked by run 1 on host {socket.gethostname()}, pid {holder.pid}, started " in errors
        assert "raise lock.wait" in errors

        patient_config = write_shop(tmp_path / "patient", store_url, second=True, lock={"wait": 120})
        patient = segmento("run", "--config", str(patient_config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert patient.stderr is not None
        waiting = next((line for line in patient.stderr if "waiting up to" in line), "")
        assert f"for run 1 on host {socket.gethostname()}, pid {holder.pid}" in waiting

        checkpoint.release_all(holder)
        assert holder.wait(timeout=120) == 0
        assert patient.wait(timeout=120) == 0
    finally:
        for process in (holder, patient):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    store = open_shop_store(store_url)
    assert all_members(store) == AFTER_SECOND
    assert run_statuses(store) == [(1, "succeeded"), (2, "succeeded")]
    assert set(open_stays(store.engine).values()) == {1}
    with store.engine.connect() as connection:
        statement = sa.select(run_segments.c.run_id, sa.func.sum(run_segments.c.joined)).group_by(run_segments.c.run_id)
        joined = connection.execute(statement).all()
    assert dict(joined) == {1: sum(len(ids) for ids in AFTER_SECOND.values()), 2: 0}
    store.engine.dispose()


def test_simultaneous_runs_keep_membership(tmp_path: Path, store_url: str) -> None:
    configs = [write_shop(tmp_path / name, store_url, second=True, lock={"wait": 120}) for name in ("one", "two")]
    processes = [
        segmento("run", "--config", str(config), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for config in configs
    ]
    results = [process.communicate(timeout=180) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], [errors for _, errors in results]
    store = open_shop_store(store_url)
    assert all_members(store) == AFTER_SECOND
    assert [status for _, status in run_statuses(store)] == ["succeeded", "succeeded"]
    assert set(open_stays(store.engine).values()) == {1}
    with store.engine.connect() as connection:
        joined = connection.scalar(sa.select(sa.func.sum(run_segments.c.joined)))
    assert joined == sum(len(ids) for ids in AFTER_SECOND.values())
    store.engine.dispose()


# --- the lock, in one process -------------------------------------------------------------


@pytest.fixture()
def sqlite_store(tmp_path: Path) -> Iterator[SqlProfileStore]:
    store = open_shop_store(f"sqlite:///{tmp_path / 'locks.db'}")
    store.create_schema()
    yield store
    store.engine.dispose()


def set_holder(store: SqlProfileStore, *, host: str, pid: int, run_id: int, heartbeat: datetime) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(store_locks)
            .where(store_locks.c.name == RUN_LOCK)
            .values(token="f" * 32, run_id=run_id, host=host, pid=pid, acquired_at=naive_utc(heartbeat),
                    heartbeat_at=naive_utc(heartbeat))
        )  # fmt: skip


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_live_holder_lock_is_rejected(sqlite_store: SqlProfileStore) -> None:
    first = RunLock(sqlite_store.engine, LockSettings(wait=0))
    first.acquire()
    first.attach_run(41)
    second = RunLock(sqlite_store.engine, LockSettings(wait=0))

    with pytest.raises(StoreLockedError) as caught:
        second.acquire()

    assert f"run 41 on host {socket.gethostname()}, pid {os.getpid()}" in str(caught.value)
    first.release()
    assert second.acquire() is None
    second.release()


def test_dead_holder_lock_is_taken_over(sqlite_store: SqlProfileStore) -> None:
    now = datetime.now(UTC)
    set_holder(sqlite_store, host=socket.gethostname(), pid=ended_pid(), run_id=7, heartbeat=now)
    lock = RunLock(sqlite_store.engine, LockSettings(wait=0))

    stale = lock.acquire()

    assert stale is not None
    assert stale.run_id == 7
    lock.release()


def test_remote_lock_stale_without_heartbeat(sqlite_store: SqlProfileStore) -> None:
    now = datetime.now(UTC)
    settings = LockSettings(wait=0, stale_after=600)
    set_holder(sqlite_store, host="other-host", pid=1, run_id=8, heartbeat=now - timedelta(seconds=60))
    with pytest.raises(StoreLockedError) as caught:
        RunLock(sqlite_store.engine, settings).acquire()
    assert "run 8 on host other-host, pid 1" in str(caught.value)

    set_holder(sqlite_store, host="other-host", pid=1, run_id=8, heartbeat=now - timedelta(seconds=601))
    lock = RunLock(sqlite_store.engine, settings)
    stale = lock.acquire()
    assert stale is not None
    assert stale.host == "other-host"
    lock.release()


def test_run_losing_lock_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_url = f"sqlite:///{tmp_path / 'shop.db'}"
    run_workspace(shop_workspace(write_shop(tmp_path, store_url)))
    workspace = shop_workspace(write_shop(tmp_path, store_url, second=True))
    store = open_store(workspace)
    checkpoint = Checkpoint(tmp_path / "hook", "profiles_built")
    for name, value in checkpoint.environ.items():
        monkeypatch.setenv(name, value)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_workspace(workspace, store=store)
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    assert checkpoint.wait(finished=lambda: not worker.is_alive()) is not None
    # Another run judges this one stale and takes the lock.
    set_holder(store, host="other-host", pid=1, run_id=99, heartbeat=datetime.now(UTC))
    checkpoint.release_all(finished=lambda: not worker.is_alive())
    worker.join(timeout=60)

    assert len(errors) == 1
    assert isinstance(errors[0], LockLostError)
    assert "lost the store lock to run 99" in str(errors[0])
    assert all_members(store) == AFTER_FIRST
    assert run_statuses(store)[-1] == (2, "failed")
    store.engine.dispose()
