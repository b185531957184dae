"""Segment runs: import what is new, update profiles, evaluate every rule, keep history.

A run of a workspace reads and validates its rules first, then imports its sources,
rebuilds the profiles that changed, and evaluates every segment as of one instant.
All membership changes of a run are written in one transaction: when a segment fails,
nothing of the run's memberships is written, the previous membership stays, and the
run is recorded as failed with an error that names the segment.

Membership history keeps one row per stay of a profile in a segment (``joined_run``
to ``left_run``), so each run's joiners and leavers can be listed later.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from segmento.adapters.ingest.bulk import insert_rows
from segmento.adapters.ingest.loader import ImportResult, SourceSpec, import_source
from segmento.adapters.ingest.model import imports, membership_history, metadata, naive_utc, run_segments, segment_runs
from segmento.adapters.ingest.progress import Progress
from segmento.adapters.profile_builder import BuildResult, build_profiles
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import Workspace
from segmento.engine.ast import Segment, referenced_segments
from segmento.engine.errors import SegmentoError
from segmento.engine.rulefiles import load_rule_dir
from segmento.engine.temporal import Clock
from segmento.plugins.sql.compiler import compile_segment

logger = logging.getLogger(__name__)

_BATCH = 500


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
    error: str | None = None
    report_path: Path | None = None

    @property
    def rejected_rows(self) -> int:
        return sum(result.rejected for result in self.imports)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
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
        }


def open_store(workspace: Workspace) -> SqlProfileStore:
    """Return the workspace's profile store with every table created."""
    url = sa.make_url(workspace.store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    store = SqlProfileStore(_engine(url))
    store.create_schema()
    metadata.create_all(store.engine)
    return store


def open_existing_store(workspace: Workspace) -> SqlProfileStore | None:
    """Return the workspace's store for reading, or ``None`` when no run has created it yet."""
    url = sa.make_url(workspace.store_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return None
    engine = _engine(url)
    if not sa.inspect(engine).has_table(segment_runs.name):
        engine.dispose()
        return None
    return SqlProfileStore(engine)


def _engine(url: sa.URL) -> sa.Engine:
    engine = sa.create_engine(url)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection: Any, record: Any) -> None:
    # SQLite's default rollback journal and 2 MB page cache make a large import wait on
    # the disk. Write-ahead logging with NORMAL sync keeps committed data after a crash.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


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

    Raises ``RuleError`` before anything is written when a rule file is invalid, and
    ``RunError`` when a segment fails; the failed run is recorded and reported.
    """
    zone = timezone or workspace.timezone
    clock = Clock.at(as_of or workspace.as_of, zone)
    segments = load_rule_dir(workspace.rules_dir)
    store = store or open_store(workspace)
    engine = store.engine
    now = datetime.now(UTC)
    with engine.begin() as connection:
        run_id = connection.execute(
            segment_runs.insert().values(
                workspace=workspace.name,
                as_of=naive_utc(clock.as_of),
                timezone=zone,
                started_at=naive_utc(now),
                status="running",
            )
        ).inserted_primary_key[0]
    report = RunReport(workspace.name, run_id, clock.as_of, zone, now)
    logger.info("run %d of workspace %s started as of %s (%s)", run_id, workspace.name, clock.as_of.isoformat(), zone)
    try:
        for source in workspace.sources:
            report.imports.append(_import(engine, source, progress))
        report.build = build_profiles(store, workspace.settings, clock.as_of)
        with engine.begin() as connection:
            report.segments, report.retired = evaluate_segments(connection, store, segments, clock, run_id)
            _finish_run(connection, report, "succeeded")
    except Exception as error:
        report.error = str(error)
        with engine.begin() as connection:
            _finish_run(connection, report, "failed")
        logger.error("run %d of workspace %s failed: %s", run_id, workspace.name, error)
        _write_report(report, workspace, report_path)
        raise
    _write_report(report, workspace, report_path)
    logger.info("run %d of workspace %s succeeded: %d segments", run_id, workspace.name, len(report.segments))
    return report


def evaluate_segments(
    connection: sa.Connection, store: SqlProfileStore, segments: Sequence[Segment], clock: Clock, run_id: int
) -> tuple[list[SegmentOutcome], list[str]]:
    """Evaluate ``segments`` on ``connection``'s transaction and record the membership changes.

    Segments run in dependency order, so a segment that refers to another sees that
    one's new members. Returns the outcomes and the ids of retired segments (with
    members stored, but no rule any more), whose members all leave.
    """
    outcomes = []
    for segment in dependency_order(segments):
        started = time.perf_counter()
        try:
            statement = compile_segment(
                segment, store.model, dialect=store.dialect, as_of=clock.as_of, timezone=clock.zone, registry=store.registry
            )
            members = set(connection.scalars(statement))
            joined, left = _apply(connection, store, segment.id, members, clock, run_id)
        except (SegmentoError, SQLAlchemyError) as error:
            raise RunError(
                f"segment {segment.id!r} failed, so no membership was changed: {error}",
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


def _import(engine: sa.Engine, source: SourceSpec, progress: Progress | None) -> ImportResult:
    result = import_source(engine, source, progress)
    if result.skipped and result.import_id is not None:
        # Report what the earlier import of this file read and rejected.
        with engine.connect() as connection:
            row = connection.execute(sa.select(imports).where(imports.c.id == result.import_id)).one()
        result.read, result.rejected = row.rows_read, row.rows_rejected
    return result


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

