"""Segment runs: import what is new, update profiles, evaluate every rule, keep history.

A run of a workspace reads and validates its rules first, then imports its sources,
rebuilds the profiles that changed, and evaluates every segment as of one instant.
All membership changes of a run are written in one transaction: when a segment fails,
nothing of the run's memberships is written, the previous membership stays, and the
run is recorded as failed with an error that names the segment.

Membership history keeps one row per stay of a profile in a segment (``joined_run``
to ``left_run``), so each run's joiners and leavers can be listed later.

Runs are safe to start concurrently and to interrupt:

- one run at a time writes to a store; another waits for the run lock (``locks``) or
  fails with an error naming the run that holds it;
- a run killed half-way has committed nothing of its memberships, and the next run
  takes its stale lock over and records it as failed;
- a step that loses its database connection is run again (``retry``), each retry
  logged with the run id; a bad rule or a broken store fails at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from segmento.adapters.checkpoints import checkpoint
from segmento.adapters.ingest.bulk import insert_rows
from segmento.adapters.ingest.loader import ImportResult, SourceSpec, import_source
from segmento.adapters.ingest.model import imports, membership_history, naive_utc, run_segments, segment_runs
from segmento.adapters.ingest.progress import Progress
from segmento.adapters.locks import LockHolder, RunLock
from segmento.adapters.profile_builder import BuildResult
from segmento.adapters.retry import error_summary, is_transient, run_with_retry
from segmento.adapters.shopdb.changes import build_tracking_changes, plan_run, record_evaluations
from segmento.adapters.shopdb.copy import ShopDbSource, import_shopdb
from segmento.adapters.shopdb.state import segment_evaluations
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.sqlite_interrupts import keep_connection_on_interrupt
from segmento.adapters.urls import create_store_engine, mask_url, redact
from segmento.adapters.workspace import Workspace
from segmento.engine.ast import Segment, referenced_segments
from segmento.engine.dependencies import EvaluationPlan
from segmento.engine.errors import SegmentoError
from segmento.engine.rulefiles import load_rule_dir
from segmento.engine.temporal import Clock
from segmento.plugins.sql.compiler import compile_segment

logger = logging.getLogger(__name__)

_BATCH = 500

T = TypeVar("T")


class RunError(SegmentoError):
    """A run failed; no membership was changed. The location is the failing segment's rule."""

    code = "run_failed"


@dataclass
class SegmentOutcome:
    """The result of one segment in one run."""

    id: str
    name: str
    members: int
    joined: int
    left: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.id,
            "name": self.name,
            "members": self.members,
            "joined": self.joined,
            "left": self.left,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class RunReport:
    """The outcome of a run, as printed in the summary and written to the JSON report."""

    workspace: str
    run_id: int
    as_of: datetime
    timezone: str
    started_at: datetime
    status: str = "running"
    finished_at: datetime | None = None
    imports: list[ImportResult] = field(default_factory=list)
    build: BuildResult | None = None
    segments: list[SegmentOutcome] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    evaluation: EvaluationPlan | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    """Segments skipped because their rule and inputs did not change, each with the run that last evaluated it."""
    error: str | None = None
    report_path: Path | None = None
    store: str | None = None
    """The store's URL with the password masked."""

    @property
    def rejected_rows(self) -> int:
        return sum(result.rejected for result in self.imports)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "store": self.store,
            "run_id": self.run_id,
            "status": self.status,
            "error": self.error,
            "as_of": self.as_of.isoformat(),
            "timezone": self.timezone,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "imports": [result.to_dict() for result in self.imports],
            "rejected_rows": self.rejected_rows,
            "profiles": self.build.to_dict() if self.build else None,
            "segments": [outcome.to_dict() for outcome in self.segments],
            "retired_segments": self.retired,
            "skipped_segments": [{"segment": segment_id, "last_run": run} for segment_id, run in self.skipped.items()],
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
        }


def open_store(workspace: Workspace) -> SqlProfileStore:
    """Return the workspace's profile store, its schema created or upgraded to this version."""
    store = SqlProfileStore(create_store_engine(workspace.store_url))
    store.create_schema()
    return store


def open_existing_store(workspace: Workspace) -> SqlProfileStore | None:
    """Return the workspace's store for reading, or ``None`` when no run has created it yet."""
    url = sa.make_url(workspace.store_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None
    engine = create_store_engine(url)
    if not sa.inspect(engine).has_table(segment_runs.name):
        engine.dispose()
        return None
    return SqlProfileStore(engine)


def run_workspace(
    workspace: Workspace,
    *,
    as_of: datetime | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
    report_path: Path | None = None,
    store: SqlProfileStore | None = None,
) -> RunReport:
    """Run ``workspace`` as of ``as_of`` (default: the workspace's, else now) and return the report.

    Raises ``RuleError`` before anything is written when a rule file is invalid,
    ``StoreLockedError`` when another run holds the store past ``workspace.lock.wait``,
    ``RunError`` when a step fails, and ``ConnectionLostError`` when a step keeps
    losing its connection. A run that started is recorded and reported as failed.
    """
    zone = timezone or workspace.timezone
    clock = Clock.at(as_of or workspace.as_of, zone)
    segments = load_rule_dir(workspace.rules_dir)
    steps = _RunSteps(workspace)
    if store is None:
        store = steps.step(f"open the store {steps.store}", partial(open_store, workspace))
    steps.secrets.append(store.engine.url)
    # Ctrl-C during a statement must roll the step's transaction back, or on SQLite it
    # keeps the write lock, and the failure cannot be recorded nor the store lock freed.
    # create_store_engine does this already; a store opened on another engine gets it here.
    keep_connection_on_interrupt(store.engine)
    lock = RunLock(store.engine, workspace.lock)
    stale = steps.step("take the store lock", lock.acquire)
    try:
        if stale is not None:
            steps.step("record the stale run", lambda: _abandon(store.engine, stale))
        return _run(workspace, store, steps, lock, segments, clock, zone, progress, report_path)
    finally:
        lock.release()


def _run(
    workspace: Workspace,
    store: SqlProfileStore,
    steps: _RunSteps,
    lock: RunLock,
    segments: Sequence[Segment],
    clock: Clock,
    zone: str,
    progress: Progress | None,
    report_path: Path | None,
) -> RunReport:
    engine = store.engine
    now = datetime.now(UTC)
    run_id = steps.step("record the run", lambda: _start_run(engine, workspace, clock, zone, now))
    steps.run_id = run_id
    steps.step("record the run in the store lock", lambda: lock.attach_run(run_id))
    report = RunReport(workspace.name, run_id, clock.as_of, zone, now, store=steps.store)
    # The instant in the shop's zone with its offset, so "07:00:00+07:00" does not read as UTC midnight.
    local_as_of = clock.as_of.astimezone(clock.zone).isoformat(sep=" ", timespec="seconds")
    logger.info("run %d of workspace %s started as of %s (%s)", run_id, workspace.name, local_as_of, zone)
    try:
        for source in workspace.sources:
            report.imports.append(steps.step(f"import {source.name}", partial(_import, engine, source, progress)))
        compare = workspace.evaluate == "changed"
        build = partial(build_tracking_changes, store, workspace.settings, clock.as_of, compare=compare)
        report.build = steps.step("build profiles", build)
        checkpoint("profiles_built")
        evaluation = _Evaluation(store, segments, clock, report, lock, evaluate_all=not compare)
        report.segments, report.retired = steps.step("evaluate segments", evaluation.run)
    except (Exception, KeyboardInterrupt) as error:
        # Ctrl-C ends the run too: it is recorded as failed, or it would stay "running".
        interrupted = isinstance(error, KeyboardInterrupt)
        report.error = "interrupted (SIGINT, Ctrl-C)" if interrupted else steps.redact(str(error))
        try:
            steps.retried("record the failure", lambda: _record_failure(engine, report))
        except Exception as record_error:  # the run's own error matters more
            logger.error("run %d: could not record the failure: %s", run_id, steps.redact(error_summary(record_error)))
        logger.error("run %d of workspace %s failed: %s", run_id, workspace.name, report.error)
        _write_report(report, workspace, report_path)
        raise
    _write_report(report, workspace, report_path)
    logger.info(
        "run %d of workspace %s succeeded: %d segments evaluated, %d skipped",
        run_id,
        workspace.name,
        len(report.segments),
        len(report.skipped),
    )
    return report


class _RunSteps:
    """Runs the steps of one run with the workspace's retry policy, and masks its secrets."""

    def __init__(self, workspace: Workspace) -> None:
        self.policy = workspace.retry
        self.store = mask_url(workspace.store_url)
        self.secrets: list[str | sa.URL] = [workspace.store_url]
        self.run_id: int | None = None

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def retried(self, what: str, action: Callable[[], T]) -> T:
        """Return ``action()``, tried again after a lost connection."""
        return run_with_retry(action, what=what, run_id=self.run_id, policy=self.policy, redact=self.redact)

    def step(self, what: str, action: Callable[[], T]) -> T:
        """Like ``retried``, and a database error that is not transient becomes a ``RunError``."""
        try:
            return self.retried(what, action)
        except SQLAlchemyError as error:
            if is_transient(error):
                raise
            label = f"run {self.run_id}" if self.run_id is not None else "the run"
            raise RunError(
                f"{label} could not {what}: {self.redact(error_summary(error))}",
                hint="Fix the store and run again; the previous membership is still in place",
                params={"run_id": self.run_id, "step": what},
            ) from error


class _Evaluation:
    """The evaluation step: every segment and the run's success, in one transaction.

    When the connection drops after the commit was sent, the retry finds the run
    recorded as succeeded, so it returns the outcomes computed before.
    """

    def __init__(
        self,
        store: SqlProfileStore,
        segments: Sequence[Segment],
        clock: Clock,
        report: RunReport,
        lock: RunLock,
        *,
        evaluate_all: bool = True,
    ) -> None:
        self.evaluate_all = evaluate_all
        self.store = store
        self.segments = segments
        self.clock = clock
        self.report = report
        self.lock = lock
        self.outcome: tuple[list[SegmentOutcome], list[str]] | None = None

    def run(self) -> tuple[list[SegmentOutcome], list[str]]:
        run_id = self.report.run_id
        with self.store.engine.begin() as connection:
            if self.outcome is not None and _run_status(connection, run_id) == "succeeded":
                logger.info("run %d: the segment evaluation was committed before the connection dropped", run_id)
                return self.outcome
            zone = self.report.timezone
            plan = plan_run(connection, self.store, self.segments, self.clock, zone, evaluate_all=self.evaluate_all)
            self.report.evaluation = plan
            self.report.skipped = _last_runs(connection, plan.skip)
            outcome = evaluate_segments(connection, self.store, self.segments, self.clock, run_id, skip=plan.skip)
            record_evaluations(connection, plan, self.segments, self.clock, zone, run_id)
            self.report.segments, self.report.retired = outcome
            _finish_run(connection, self.report, "succeeded")
            self.lock.verify(connection)
            self.outcome = outcome
        return outcome


def evaluate_segments(
    connection: sa.Connection,
    store: SqlProfileStore,
    segments: Sequence[Segment],
    clock: Clock,
    run_id: int,
    *,
    skip: Collection[str] = (),
) -> tuple[list[SegmentOutcome], list[str]]:
    """Evaluate ``segments`` on ``connection``'s transaction and record the membership changes.

    Segments run in dependency order, so a segment that refers to another sees that
    one's new members. Returns the outcomes and the ids of retired segments (with
    members stored, but no rule any more), whose members all leave. Segments in
    ``skip`` keep their members and get no outcome.
    """
    outcomes = []
    for segment in dependency_order(segments):
        if segment.id in skip:
            continue
        started = time.perf_counter()
        try:
            statement = compile_segment(
                segment, store.model, dialect=store.dialect, as_of=clock.as_of, timezone=clock.zone, registry=store.registry
            )
            members = set(connection.scalars(statement))
            joined, left = _apply(connection, store, segment.id, members, clock, run_id)
            checkpoint("segment_applied", connection)
        except (SegmentoError, SQLAlchemyError) as error:
            raise RunError(
                f"segment {segment.id!r} failed, so no membership was changed: {_error_text(error)}",
                location=segment.loc,
                value=segment.id,
                hint="Fix the rule or the store and run again; the previous membership is still in place",
                params={"segment": segment.id},
            ) from error
        outcome = SegmentOutcome(segment.id, segment.name, len(members), joined, left, time.perf_counter() - started)
        outcomes.append(outcome)
        connection.execute(run_segments.insert().values(run_id=run_id, segment_id=segment.id, name=segment.name,
                                                        members=outcome.members, joined=joined, left=left,
                                                        seconds=outcome.seconds))  # fmt: skip
        logger.info("segment %s: %d members, %d joined, %d left", segment.id, len(members), joined, left)
    current = {segment.id for segment in segments}
    stored = set(connection.scalars(sa.select(store.model.memberships.c.segment_id).distinct()))
    retired = sorted(stored - current)
    for segment_id in retired:
        _apply(connection, store, segment_id, set(), clock, run_id)
        logger.info("segment %s has no rule any more; its members left", segment_id)
    return outcomes, retired


def dependency_order(segments: Sequence[Segment]) -> list[Segment]:
    """Return ``segments`` so that each comes after the segments it refers to, else in file order."""
    by_id = {segment.id: segment for segment in segments}
    ordered: list[Segment] = []
    state: dict[str, str] = {}

    def visit(segment: Segment) -> None:
        mark = state.get(segment.id)
        if mark == "done":
            return
        if mark == "visiting":
            raise RunError(
                f"segment {segment.id!r} refers to itself through other segments",
                location=segment.loc,
                value=segment.id,
                hint="Remove one of the references in the cycle",
            )
        state[segment.id] = "visiting"
        for reference in sorted(referenced_segments(segment)):
            if reference in by_id:
                visit(by_id[reference])
        state[segment.id] = "done"
        ordered.append(segment)

    for segment in segments:
        visit(segment)
    return ordered


def _apply(
    connection: sa.Connection, store: SqlProfileStore, segment_id: str, members: set[str], clock: Clock, run_id: int
) -> tuple[int, int]:
    """Replace the stored members of ``segment_id`` by ``members``; return (joined, left)."""
    memberships = store.model.memberships
    previous = set(connection.scalars(sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)))
    joined = sorted(members - previous)
    left = sorted(previous - members)
    as_of = naive_utc(clock.as_of)
    for start in range(0, len(left), _BATCH):
        chunk = left[start : start + _BATCH]
        connection.execute(
            sa.delete(memberships).where(memberships.c.segment_id == segment_id, memberships.c.profile_id.in_(chunk))
        )
        connection.execute(
            sa.update(membership_history)
            .where(
                membership_history.c.segment_id == segment_id,
                membership_history.c.profile_id.in_(chunk),
                membership_history.c.left_run.is_(None),
            )
            .values(left_run=run_id, left_at=as_of)
        )
    insert_rows(connection, memberships, [{"profile_id": item, "segment_id": segment_id} for item in joined])
    insert_rows(
        connection,
        membership_history,
        [{"segment_id": segment_id, "profile_id": item, "joined_run": run_id, "joined_at": as_of} for item in joined],
    )
    return len(joined), len(left)


def _import(engine: sa.Engine, source: SourceSpec | ShopDbSource, progress: Progress | None) -> ImportResult:
    if isinstance(source, ShopDbSource):
        return import_shopdb(engine, source, progress)
    result = import_source(engine, source, progress)
    if result.skipped and result.import_id is not None:
        # Report what the earlier import of this file read and rejected.
        with engine.connect() as connection:
            row = connection.execute(sa.select(imports).where(imports.c.id == result.import_id)).one()
        result.read, result.rejected = row.rows_read, row.rows_rejected
    return result


def _start_run(engine: sa.Engine, workspace: Workspace, clock: Clock, zone: str, now: datetime) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                segment_runs.insert().values(
                    workspace=workspace.name,
                    as_of=naive_utc(clock.as_of),
                    timezone=zone,
                    started_at=naive_utc(now),
                    status="running",
                )
            ).inserted_primary_key[0]
        )


def _record_failure(engine: sa.Engine, report: RunReport) -> None:
    with engine.begin() as connection:
        _finish_run(connection, report, "failed")


def _abandon(engine: sa.Engine, holder: LockHolder) -> None:
    """Record the run of a stale lock as failed, if it is still marked running."""
    if holder.run_id is None:
        return
    message = (
        f"the run stopped without finishing: its lock was found stale ({holder.describe()}), "
        "and none of its membership changes were committed"
    )
    with engine.begin() as connection:
        connection.execute(
            sa.update(segment_runs)
            .where(segment_runs.c.id == holder.run_id, segment_runs.c.status == "running")
            .values(status="failed", error=message, finished_at=naive_utc(datetime.now(UTC)))
        )
    logger.warning("run %d was recorded as failed: %s", holder.run_id, message)


def _last_runs(connection: sa.Connection, segment_ids: Sequence[str]) -> dict[str, int]:
    """Return the run that last evaluated each of ``segment_ids``, in their order."""
    if not segment_ids:
        return {}
    rows = connection.execute(
        sa.select(segment_evaluations.c.segment_id, segment_evaluations.c.run_id).where(
            segment_evaluations.c.segment_id.in_(list(segment_ids))
        )
    )
    runs = {row.segment_id: int(row.run_id) for row in rows}
    return {segment_id: runs[segment_id] for segment_id in segment_ids if segment_id in runs}


def _run_status(connection: sa.Connection, run_id: int) -> str | None:
    return connection.execute(sa.select(segment_runs.c.status).where(segment_runs.c.id == run_id)).scalar()


def _error_text(error: Exception) -> str:
    # SQLAlchemy's text of an error ends with the statement and its parameters, which
    # may contain customer data. The first line of the driver's message is enough.
    return error_summary(error) if isinstance(error, SQLAlchemyError) else str(error)


def _finish_run(connection: sa.Connection, report: RunReport, status: str) -> None:
    report.status = status
    report.finished_at = datetime.now(UTC)
    connection.execute(
        sa.update(segment_runs)
        .where(segment_runs.c.id == report.run_id)
        .values(status=status, error=report.error, finished_at=naive_utc(report.finished_at))
    )


def _write_report(report: RunReport, workspace: Workspace, path: Path | None) -> None:
    if path is None and workspace.reports_dir is not None:
        path = workspace.reports_dir / f"{workspace.name}-run-{report.run_id}.json"
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    report.report_path = path
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("run report written to %s", path)

