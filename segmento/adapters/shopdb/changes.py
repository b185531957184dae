"""Change tracking around profile builds, and the plan of the segments a run evaluates again.

``build_tracking_changes`` wraps the incremental profile build: it reads the stored
profiles of the customers the build will rebuild, runs the build, reads them again and
notes in ``changed_fields`` every field whose value changed for at least one of them.
``plan_run`` then picks the segments to evaluate with ``engine.dependencies``, and
``record_evaluations``, in the run's transaction, stores what each evaluated segment
was evaluated with and clears the noted fields. A build or run that fails leaves its
fields noted, so the next run still evaluates their segments.

Every field counts as changed (``ALL_FIELDS``) in four cases: the build rebuilds
everyone, more than ``MAX_COMPARED`` profiles would have to be compared, a profile
appears or disappears, or the build was interrupted before its fields were compared.
A new profile counts as every field because it matches every negative condition.

NOTE: this serves every run, not only shop database imports.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from segmento.adapters.ingest.model import dirty_profiles, naive_utc, profile_builds, utc
from segmento.adapters.profile_builder import BuildResult, build_profiles
from segmento.adapters.profile_queries import relation
from segmento.adapters.shopdb.convert import utc_now
from segmento.adapters.shopdb.state import changed_fields, segment_evaluations
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.ast import Segment
from segmento.engine.computations import POPULATION, ProfileSettings, time_windows
from segmento.engine.dependencies import ALL_FIELDS, EVENTS, EvaluationPlan, LastEvaluation, plan_evaluation, segment_dependencies
from segmento.engine.jsonform import dumps_segment
from segmento.engine.temporal import Clock

logger = logging.getLogger(__name__)

MAX_COMPARED: Final = 50_000
"""Profiles compared field by field around one build; a larger build marks every field changed."""

_CHUNK: Final = 500


def build_tracking_changes(store: SqlProfileStore, settings: ProfileSettings, as_of: datetime, *, compare: bool = True) -> BuildResult:
    """Run the incremental profile build and note which fields it changed.

    With ``compare=False`` no profile is read and every field is noted as changed, for
    runs that evaluate every segment anyway.
    """
    with store.engine.connect() as connection:
        pending = set(connection.scalars(sa.select(changed_fields.c.field)))
        candidates = _rebuild_candidates(connection, settings, as_of) if compare else None
    # Until the comparison is stored, an interrupted build must count as changing everything.
    _note(store.engine, {ALL_FIELDS}, pending)
    if candidates is None or len(candidates) > MAX_COMPARED:
        return build_profiles(store, settings, as_of)
    before = _snapshot(store, candidates)
    result = build_profiles(store, settings, as_of)
    if result.full or result.built + result.removed != len(candidates):
        logger.info("profile build rebuilt other customers than expected; every field counts as changed")
        return result
    changed = _differences(before, _snapshot(store, candidates))
    with store.engine.begin() as connection:
        # With every field changed, the marker noted before the build stays.
        if ALL_FIELDS not in changed:
            if ALL_FIELDS not in pending:
                connection.execute(sa.delete(changed_fields).where(changed_fields.c.field == ALL_FIELDS))
            _insert_fields(connection, changed - pending)
    logger.info("profile build changed fields: %s", ", ".join(sorted(changed)) or "none")
    return result


def plan_run(
    connection: sa.Connection, store: SqlProfileStore, segments: Sequence[Segment], clock: Clock, timezone: str, *, evaluate_all: bool
) -> EvaluationPlan:
    """Return the segments this run evaluates and those it skips.

    With ``evaluate_all`` every segment is evaluated, and the plan still lists the
    reasons each one would have been evaluated for.
    """
    registry = store.registry
    dependencies = segment_dependencies(segments, registry.catalog, registry.operators)
    last = {
        row.segment_id: LastEvaluation(row.rule_hash, utc(row.as_of), row.timezone)  # type: ignore[arg-type]
        for row in connection.execute(sa.select(segment_evaluations))
    }
    noted = set(connection.scalars(sa.select(changed_fields.c.field)))
    plan = plan_evaluation(
        segments,
        dependencies,
        {segment.id: rule_hash(segment) for segment in segments},
        last,
        noted,
        as_of=clock.as_of,
        timezone=timezone,
    )
    if evaluate_all:
        for segment_id in plan.skip:
            plan.evaluate[segment_id] = ["evaluate_all"]
        plan.skip = []
    logger.info("evaluating %d segments, skipping %d whose inputs did not change", len(plan.evaluate), len(plan.skip))
    return plan


def record_evaluations(
    connection: sa.Connection, plan: EvaluationPlan, segments: Sequence[Segment], clock: Clock, timezone: str, run_id: int
) -> None:
    """Store what each evaluated segment was evaluated with, and clear the noted fields."""
    by_id = {segment.id: segment for segment in segments}
    evaluated = [segment_id for segment_id in plan.evaluate if segment_id in by_id]
    for start in range(0, len(evaluated), _CHUNK):
        chunk = evaluated[start : start + _CHUNK]
        connection.execute(sa.delete(segment_evaluations).where(segment_evaluations.c.segment_id.in_(chunk)))
    # Segments without a rule any more lose their record, so a rule added again counts as new.
    connection.execute(sa.delete(segment_evaluations).where(segment_evaluations.c.segment_id.not_in(list(by_id))))
    rows = [
        {
            "segment_id": segment_id,
            "rule_hash": rule_hash(by_id[segment_id]),
            "as_of": naive_utc(clock.as_of),
            "timezone": timezone,
            "run_id": run_id,
        }
        for segment_id in evaluated
    ]
    if rows:
        connection.execute(segment_evaluations.insert(), rows)
    if plan.changed_fields:
        connection.execute(sa.delete(changed_fields).where(changed_fields.c.field.in_(list(plan.changed_fields))))


def rule_hash(segment: Segment) -> str:
    """Return the SHA-256 of ``segment``'s canonical JSON; comments and layout do not count."""
    return hashlib.sha256(dumps_segment(segment, indent=None).encode("utf-8")).hexdigest()


# --- the comparison ------------------------------------------------------------------------


def _rebuild_candidates(connection: sa.Connection, settings: ProfileSettings, as_of: datetime) -> list[str] | None:
    """Return the customers the next build rebuilds, or ``None`` when it rebuilds everyone.

    NOTE: this repeats the selection of ``profile_builder``; ``build_tracking_changes``
    checks the build's counts against it and marks every field changed when they differ.
    """
    previous = connection.execute(
        sa.select(profile_builds.c.as_of, profile_builds.c.settings_hash).order_by(profile_builds.c.id.desc()).limit(1)
    ).first()
    if previous is None or previous.settings_hash != settings.fingerprint():
        return None
    ids = set(connection.scalars(sa.select(dirty_profiles.c.customer_id)))
    low, high = sorted((previous.as_of, naive_utc(as_of)))
    if low != high:
        for window in (timedelta(0), *time_windows(settings)):
            for name in POPULATION:
                table = relation(name)
                condition = sa.and_(table.c.customer_id.is_not(None), table.c.time > low - window, table.c.time <= high - window)
                ids.update(connection.scalars(sa.select(table.c.customer_id).where(condition).distinct()))
    return sorted(ids)


Snapshot = dict[str, dict[str, int]]
"""Per profile id, a hash of each field's stored value; a missing profile has no entry."""


def _snapshot(store: SqlProfileStore, ids: Sequence[str]) -> Snapshot:
    model = store.model
    result: Snapshot = {}
    with store.engine.connect() as connection:
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            profiles = model.profiles
            for row in connection.execute(sa.select(profiles).where(profiles.c.id.in_(chunk))).mappings():
                result[row["id"]] = {name: hash(row[name]) for name in model.scalar_kinds}
            for name, members in model.collections.items():
                table = members.table
                values: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
                for row in connection.execute(sa.select(table).where(table.c.profile_id.in_(chunk))):
                    values[row.profile_id].append(tuple(row))
                for profile_id in chunk:
                    if profile_id in result:
                        result[profile_id][name] = hash(tuple(sorted(values.get(profile_id, []), key=repr)))
            _snapshot_events(connection, store, chunk, result)
    return result


def _snapshot_events(connection: sa.Connection, store: SqlProfileStore, chunk: list[str], result: Snapshot) -> None:
    events = store.model.events
    columns = [column for column in events.c if column.name != "id"]
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in connection.execute(sa.select(*columns).where(events.c.profile_id.in_(chunk))):
        rows[row.profile_id].append(tuple(row))
    for profile_id in chunk:
        if profile_id in result:
            result[profile_id][EVENTS] = hash(tuple(sorted(rows.get(profile_id, []), key=repr)))


def _differences(before: Snapshot, after: Snapshot) -> set[str]:
    if before.keys() != after.keys():
        return {ALL_FIELDS}
    changed: set[str] = set()
    for profile_id, fields in after.items():
        previous = before[profile_id]
        changed.update(name for name, value in fields.items() if previous.get(name) != value)
    return changed


def _note(engine: sa.Engine, fields: Collection[str], pending: Collection[str]) -> None:
    with engine.begin() as connection:
        _insert_fields(connection, set(fields) - set(pending))


def _insert_fields(connection: sa.Connection, fields: Iterable[str]) -> None:
    rows = [{"field": name, "noted_at": utc_now()} for name in sorted(fields)]
    if rows:
        connection.execute(changed_fields.insert(), rows)
