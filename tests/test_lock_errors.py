"""Lock conflicts on the store: reported as a lock held by another transaction, not as a lost connection.

MariaDB reports a lock wait timeout as error 1205 after ``innodb_lock_wait_timeout``
seconds, and SQLite reports "database is locked" after its busy timeout. In both
cases the server is fine and another transaction holds the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.model import segment_runs
from segmento.adapters.retry import ConnectionLostError, Failure, LockConflictError, RetryPolicy, failure_kind, run_with_retry
from segmento.adapters.runs import open_store, run_workspace
from tests.store_helpers import AFTER_FIRST, all_members, mariadb_database, shop_workspace, write_shop

LOCK_HINT = "Another segmento run, or another program, holds rows of the store in an open transaction"


def retry_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "segmento.adapters.retry"]


def mysql_error(code: int, message: str) -> OperationalError:
    return OperationalError("UPDATE memberships SET x = 1", {}, pymysql.err.OperationalError(code, message))


@pytest.fixture()
def mariadb_url() -> Iterator[str]:
    with mariadb_database("helper_lock_errors") as url:
        yield url


@pytest.mark.mariadb
def test_lock_wait_timeout_reported_as_lock(tmp_path: Path, mariadb_url: str, caplog: pytest.LogCaptureFixture) -> None:
    run_workspace(shop_workspace(write_shop(tmp_path, mariadb_url)))
    # The run's own connections give up on a row lock after 1 s instead of the server's 50 s.
    impatient = sa.make_url(mariadb_url).update_query_dict({"init_command": "SET SESSION innodb_lock_wait_timeout = 1"})
    config = write_shop(tmp_path, impatient.render_as_string(hide_password=False), second=True,
                        retry={"attempts": 4, "delay": 0.05})  # fmt: skip
    workspace = shop_workspace(config)
    store = open_store(workspace)
    holder = sa.create_engine(mariadb_url, poolclass=NullPool)
    caplog.set_level(logging.INFO, logger="segmento")

    with holder.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql("SELECT * FROM memberships FOR UPDATE").fetchall()
        try:
            with pytest.raises(LockConflictError) as caught:
                run_workspace(workspace, store=store)
        finally:
            transaction.rollback()

    error = caught.value
    assert not isinstance(error, ConnectionLostError)
    assert error.message.startswith(
        "run 2 could not evaluate segments: timed out waiting for a lock held by another transaction on the store "
        "(2 attempts); last error: (1205, 'Lock wait timeout exceeded"
    )
    assert error.hint is not None
    assert error.hint.startswith(LOCK_HINT)
    assert "information_schema.INNODB_TRX" in error.hint
    assert "database server is running" not in str(error)
    assert error.params["failure"] == "lock wait timeout"
    # One retry only, whatever the policy allows for a lost connection, and it is logged with its reason.
    messages = retry_messages(caplog)
    assert len(messages) == 2, messages
    assert messages[0].startswith(
        "run 2 could not evaluate segments, because it timed out waiting for a lock that another transaction "
        "holds on the store (lock wait timeout 1 of 2): (1205,"
    )
    assert messages[1].startswith("run 2 could not evaluate segments after 2 attempts: (1205,")
    assert all_members(store) == AFTER_FIRST
    with store.engine.connect() as connection:
        failed = connection.execute(sa.select(segment_runs).where(segment_runs.c.id == 2)).one()
    assert failed.status == "failed"
    assert "timed out waiting for a lock held by another transaction" in failed.error
    store.engine.dispose()
    holder.dispose()


def test_busy_sqlite_reported_as_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'busy.db'}", connect_args={"timeout": 0})
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (value INTEGER)")
    holder = engine.raw_connection()
    holder.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
    waits: list[float] = []
    caplog.set_level(logging.INFO, logger="segmento")

    def write() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO counter VALUES (1)")

    try:
        with pytest.raises(LockConflictError) as caught:
            policy = RetryPolicy(attempts=4, delay=1, max_delay=1.5, lock_wait_attempts=3)
            run_with_retry(write, what="write the counter", run_id=5, policy=policy, sleep=waits.append)
    finally:
        holder.rollback()
        holder.close()

    assert isinstance(caught.value.__cause__, OperationalError)
    assert waits == [1, 1.5]
    assert caught.value.message == (
        "run 5 could not write the counter: timed out waiting for a lock held by another transaction on the store "
        "(3 attempts); last error: database is locked"
    )
    assert caught.value.hint is not None
    assert "for a SQLite store, another process has the file open in a write transaction" in caught.value.hint
    assert "lost or refused" not in caplog.text
    assert "(lock wait timeout 2 of 3)" in caplog.text
    engine.dispose()


def test_deadlock_retried_with_full_policy(caplog: pytest.LogCaptureFixture) -> None:
    waits: list[float] = []
    caplog.set_level(logging.INFO, logger="segmento")

    def deadlocked() -> None:
        raise mysql_error(1213, "Deadlock found when trying to get lock; try restarting transaction")

    with pytest.raises(LockConflictError) as caught:
        run_with_retry(deadlocked, what="evaluate segments", run_id=7, policy=RetryPolicy(attempts=4), sleep=waits.append)

    assert waits == [1, 2, 4]
    assert caught.value.message.startswith(
        "run 7 could not evaluate segments: the database rolled it back to break a deadlock with another transaction "
        "(4 attempts)"
    )
    assert "(attempt 3 of 4)" in caplog.text


def test_lock_wait_after_lost_connection_keeps_its_budget() -> None:
    errors = iter([mysql_error(2003, "Can't connect to MySQL server"), mysql_error(1205, "Lock wait timeout exceeded")] * 3)
    waits: list[float] = []

    def step() -> None:
        raise next(errors)

    with pytest.raises(LockConflictError) as caught:
        run_with_retry(step, what="import first", run_id=1, policy=RetryPolicy(attempts=6), sleep=waits.append)

    # Lost connection, lock wait, lost connection, then the second lock wait ends the step.
    assert len(waits) == 3
    assert caught.value.params["attempts"] == 4


@pytest.mark.parametrize(
    ("code", "expected"),
    [(2003, Failure.CONNECTION), (1053, Failure.CONNECTION), (1205, Failure.LOCK_WAIT), (1213, Failure.DEADLOCK), (1146, None)],
)
def test_mysql_codes_classified(code: int, expected: Failure | None) -> None:
    assert failure_kind(mysql_error(code, "message")) is expected


def test_lock_wait_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lock_wait_attempts"):
        RetryPolicy(lock_wait_attempts=0)
