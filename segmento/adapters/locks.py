"""Locks on a store: one segment run at a time, one schema upgrade at a time.

The run lock is a row of ``store_locks``, so it works the same on SQLite, MySQL,
MariaDB and PostgreSQL. A run takes it with a compare-and-set ``UPDATE`` on the row's
``token``, keeps ``heartbeat_at`` fresh from a background thread, and frees it at the
end. A second run waits up to ``LockSettings.wait`` seconds, then fails with an error
naming the holder: its run id, host, process id and start time.

A holder that died without freeing the lock (killed, or its machine lost) is stale:

- on the same host, when its process no longer exists;
- on another host, when its heartbeat is older than ``LockSettings.stale_after``.

A new run takes a stale lock over. Before a run commits its memberships it checks,
inside that transaction, that it still holds the lock (``RunLock.verify``), so a run
whose lock was taken over never overwrites the newer run's work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from segmento.adapters.ingest.model import Timestamp, naive_utc
from segmento.adapters.retry import is_transient
from segmento.engine.errors import SegmentoError

logger = logging.getLogger(__name__)

RUN_LOCK: Final = "segment_run"
"""Name of the run lock's row in ``store_locks``."""

POLL_SECONDS: Final = 0.5
_MYSQL_FAMILY: Final = frozenset({"mysql", "mariadb"})
_MYSQL_LOCK_NAME_LENGTH: Final = 64

lock_metadata = sa.MetaData()

store_locks = sa.Table(
    "store_locks",
    lock_metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token", sa.String(32), doc="random id of the holder; empty while the lock is free"),
    sa.Column("run_id", sa.Integer, doc="segment_runs.id of the holder, once recorded"),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("acquired_at", Timestamp),
    sa.Column("heartbeat_at", Timestamp),
)


class StoreLockedError(SegmentoError):
    """Another run holds the store's run lock, and it was not freed within the wait."""

    code = "store_locked"


class LockLostError(SegmentoError):
    """A run's lock was taken over by another run, which judged it stale."""

    code = "lock_lost"


class SchemaLockError(SegmentoError):
    """Another process kept the store's schema lock for longer than the wait."""

    code = "schema_locked"


@dataclass(frozen=True)
class LockSettings:
    """How long a run waits for another, and when a silent holder counts as gone (seconds)."""

    wait: float = 60.0
    stale_after: float = 600.0

    def __post_init__(self) -> None:
        if self.wait < 0:
            raise ValueError(f"wait must not be negative, got {self.wait}")
        if self.stale_after <= 0:
            raise ValueError(f"stale_after must be positive, got {self.stale_after}")

    @property
    def heartbeat(self) -> float:
        """Seconds between two heartbeats: several fit in ``stale_after``."""
        return min(60.0, self.stale_after / 4)


@dataclass(frozen=True)
class LockHolder:
    """The run that holds, or held, the run lock."""

    run_id: int | None
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id is not None else "a run that is starting"
        return f"{run} on host {self.host}, pid {self.pid}, started {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC"

    def is_stale(self, now: datetime, stale_after: float, host: str) -> bool:
        """Return whether the holder is gone: its process ended, or its heartbeat stopped."""
        if self.host == host:
            # The heartbeat is not used here: on SQLite it stalls while the holder
            # writes a long transaction. NOTE: a new process that reuses a dead
            # holder's pid keeps its lock held until that process ends.
            return not _process_exists(self.pid)
        return now - self.heartbeat_at > timedelta(seconds=stale_after)


class RunLock:
    """The store-wide lock that lets one segment run at a time write to a store.

    Use ``acquire`` and ``release``, or the instance as a context manager.
    """

    def __init__(self, engine: sa.Engine, settings: LockSettings | None = None, *, name: str = RUN_LOCK) -> None:
        self.engine = engine
        self.settings = settings or LockSettings()
        self.name = name
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.token: str | None = None
        self.run_id: int | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> LockHolder | None:
        """Take the lock, waiting up to ``settings.wait`` seconds; return the stale holder taken over, if any.

        Raises ``StoreLockedError`` naming the holder when the wait ends first.
        """
        deadline = time.monotonic() + self.settings.wait
        waiting = False
        while True:
            acquired, holder = self._try_acquire()
            if acquired:
                self._start_heartbeat()
                if holder is not None:
                    logger.warning("took over the store lock of %s, which is stale", holder.describe())
                return holder
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._locked_error(holder)
            if not waiting and holder is not None:
                logger.warning("waiting up to %.0f s for %s to finish", remaining, holder.describe())
                waiting = True
            time.sleep(min(POLL_SECONDS, remaining))

    def attach_run(self, run_id: int) -> None:
        """Record ``run_id`` as the holder's run, so a waiting run can name it."""
        self.run_id = run_id
        with self.engine.begin() as connection:
            connection.execute(self._mine().values(run_id=run_id))

    def verify(self, connection: sa.Connection) -> None:
        """Raise ``LockLostError`` unless this lock is still held, locking the row until ``connection`` commits."""
        statement = sa.select(store_locks.c.token, store_locks.c.run_id).where(store_locks.c.name == self.name)
        if connection.dialect.name != "sqlite":
            statement = statement.with_for_update()
        row = connection.execute(statement).first()
        if self.token is not None and row is not None and row.token == self.token:
            return
        other = f"run {row.run_id}" if row is not None and row.run_id is not None else "another run"
        raise LockLostError(
            f"run {self.run_id} lost the store lock to {other}, which took it over as stale; "
            "this run's membership changes were not written",
            hint="Raise lock.stale_after in the workspace config above the longest pause of a run",
            params={"run_id": self.run_id},
        )

    def release(self) -> None:
        """Free the lock if this object holds it; a failure is logged, since the lock turns stale anyway."""
        if self.token is None:
            return
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10)
        for attempt in range(1, 4):
            try:
                with self.engine.begin() as connection:
                    connection.execute(self._mine().values(token=None, run_id=None, host=None, pid=None,
                                                           acquired_at=None, heartbeat_at=None))  # fmt: skip
                break
            except SQLAlchemyError as error:
                if attempt == 3 or not is_transient(error):
                    logger.error("run %s could not free the store lock, which stays until it is stale: %s",
                                 self.run_id, str(error).splitlines()[0])  # fmt: skip
                    break
                time.sleep(0.5 * attempt)
        self.token = None

    # --- internals ------------------------------------------------------------------------

    def _try_acquire(self) -> tuple[bool, LockHolder | None]:
        """Try once; return whether the lock was taken, and the holder seen (stale or current)."""
        token = uuid.uuid4().hex
        now = datetime.now(UTC)
        values = {
            "token": token,
            "run_id": None,
            "host": self.host,
            "pid": self.pid,
            "acquired_at": naive_utc(now),
            "heartbeat_at": naive_utc(now),
        }
        holder: LockHolder | None = None
        try:
            with self.engine.begin() as connection:
                row = connection.execute(sa.select(store_locks).where(store_locks.c.name == self.name)).first()
                if row is None:
                    connection.execute(store_locks.insert().values(name=self.name, **values))
                    self.token = token
                    return True, None
                if row.token is not None:
                    holder = _holder(row)
                    if not holder.is_stale(now, self.settings.stale_after, self.host):
                        return False, holder
                current = store_locks.c.token.is_(None) if row.token is None else store_locks.c.token == row.token
                result = connection.execute(
                    sa.update(store_locks).where(store_locks.c.name == self.name, current).values(**values)
                )
                if result.rowcount != 1:
                    return False, holder
        except IntegrityError:
            return False, None
        except OperationalError as error:
            # SQLite returns "database is locked" while the holder writes.
            if "database is locked" not in str(error.orig):
                raise
            logger.debug("store lock is busy: %s", error.orig)
            return False, holder or self._read_holder()
        self.token = token
        return True, holder

    def _read_holder(self) -> LockHolder | None:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(store_locks).where(store_locks.c.name == self.name)).first()
        except SQLAlchemyError:
            return None
        return _holder(row) if row is not None and row.token is not None else None

    def _locked_error(self, holder: LockHolder | None) -> StoreLockedError:
        who = holder.describe() if holder is not None else "another run"
        return StoreLockedError(
            f"the store is locked by {who}, which is still running",
            hint=f"Wait for it to finish, or raise lock.wait in the workspace config (now {self.settings.wait:g} s). "
            f"A lock whose process has ended is taken over at once on the same host, and after "
            f"{self.settings.stale_after:g} s without a heartbeat from another host",
            params={"holder": holder.__dict__ if holder is not None else None},
        )

    def _mine(self) -> sa.Update:
        return sa.update(store_locks).where(store_locks.c.name == self.name, store_locks.c.token == self.token)

    def _start_heartbeat(self) -> None:
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return  # each thread opens its own in-memory database, which no other process can open
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name=f"segmento-lock-{self.name}", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat):
            try:
                with self.engine.begin() as connection:
                    result = connection.execute(self._mine().values(heartbeat_at=naive_utc(datetime.now(UTC))))
            except SQLAlchemyError as error:
                # Another writer locks SQLite, or the connection dropped. The next beat tries again.
                logger.debug("run %s: heartbeat skipped: %s", self.run_id, str(error).splitlines()[0])
                continue
            if result.rowcount == 0:
                logger.error("run %s no longer holds the store lock; another run took it over", self.run_id)
                return


@contextmanager
def schema_transaction(connection: sa.Connection, wait: float) -> Iterator[None]:
    """Run the body in a transaction of ``connection`` that holds the store's schema lock.

    The transaction commits before the lock is released, so the next process to take
    the lock reads everything this one wrote. MySQL and MariaDB use ``GET_LOCK``, since
    their DDL commits at once and a transaction cannot serialise it; PostgreSQL uses a
    transaction-scoped advisory lock. SQLite needs no lock here, because the caller's
    engine begins every transaction with ``BEGIN IMMEDIATE``, which excludes other writers.
    """
    dialect = connection.dialect.name
    name = _schema_lock_name(connection)
    if dialect not in _MYSQL_FAMILY:
        with connection.begin():
            if dialect == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(zlib.crc32(name.encode("utf-8")))))
            yield
        return
    got = connection.execute(sa.select(sa.func.get_lock(name, int(wait)))).scalar()
    connection.commit()
    if got != 1:
        raise SchemaLockError(
            f"another process has been changing the store's schema for more than {wait:g} s",
            hint="Wait for 'segmento db upgrade' or the other run to finish, then try again",
        )
    try:
        with connection.begin():
            yield
    finally:
        connection.execute(sa.select(sa.func.release_lock(name)))
        connection.commit()


def _schema_lock_name(connection: sa.Connection) -> str:
    # MySQL lock names are server-wide and at most 64 characters.
    database = connection.engine.url.database or ""
    name = f"segmento.schema.{database}"
    if len(name) > _MYSQL_LOCK_NAME_LENGTH:
        name = f"segmento.schema.{zlib.crc32(database.encode('utf-8')):08x}"
    return name


def _holder(row: Any) -> LockHolder:
    return LockHolder(
        run_id=row.run_id,
        host=row.host or "unknown",
        pid=int(row.pid or 0),
        acquired_at=_aware(row.acquired_at),
        heartbeat_at=_aware(row.heartbeat_at),
    )


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.fromtimestamp(0, UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
