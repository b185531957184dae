"""Read-only views of a workspace's store: one profile, one segment's size and history.

These back ``segmento profile`` and ``segmento segment show``; each returns plain
data (mappings of Python values), so the CLI and the web pages can render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from segmento.adapters.ingest.model import membership_history, run_segments, segment_runs, utc
from segmento.adapters.sql_store import SqlProfileStore

TOP_PRODUCTS = 10


@dataclass(frozen=True)
class SegmentMembership:
    """A profile's current stay in a segment, since the run ``joined_run``."""

    profile_id: str
    segment_id: str
    joined_at: datetime
    joined_run: int


@dataclass(frozen=True)
class ProfileDetails:
    """A stored profile: scalar fields, list and map fields, and current segments."""

    id: str
    fields: dict[str, Any]
    collections: dict[str, Any]
    segments: list[SegmentMembership]
    event_counts: dict[str, int]

    def top_viewed_products(self, limit: int = TOP_PRODUCTS) -> list[tuple[str, int]]:
        views: dict[str, int] = self.collections.get("product_views") or {}
        return sorted(views.items(), key=lambda item: (-item[1], item[0]))[:limit]


@dataclass(frozen=True)
class SegmentRun:
    run_id: int
    as_of: datetime
    members: int
    joined: int
    left: int
    seconds: float


@dataclass(frozen=True)
class SegmentDetails:
    """A segment's current size, its runs newest first, and a sample of members."""

    id: str
    name: str
    members: int
    history: list[SegmentRun]
    sample: list[SegmentMembership]


def profile_details(store: SqlProfileStore, profile_id: str) -> ProfileDetails | None:
    """Return the stored profile ``profile_id``, or ``None`` when the store has none."""
    model = store.model
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(model.profiles).where(model.profiles.c.id == profile_id)).first()
        if row is None:
            return None
        values = row._mapping
        fields = {name: values[name] for name in model.scalar_kinds if values[name] is not None}
        collections: dict[str, Any] = {}
        for name, members in model.collections.items():
            table = members.table
            rows = connection.execute(
                sa.select(table).where(table.c.profile_id == profile_id).order_by(table.c.rank)
            ).all()
            if not rows:
                continue
            if members.layout == "map":
                collections[name] = {item.key: item.value for item in rows}
            else:
                collections[name] = [item.key for item in rows]
        history = membership_history.c
        segments = [
            SegmentMembership(profile_id, item.segment_id, utc(item.joined_at), item.joined_run)  # type: ignore[arg-type]
            for item in connection.execute(
                sa.select(history.segment_id, history.joined_at, history.joined_run)
                .where(history.profile_id == profile_id, history.left_run.is_(None))
                .order_by(history.segment_id)
            )
        ]
        events = model.events.c
        counts = {
            kind: int(count)
            for kind, count in connection.execute(
                sa.select(events.kind, sa.func.count()).where(events.profile_id == profile_id).group_by(events.kind)
            )
        }
    return ProfileDetails(profile_id, fields, collections, segments, counts)


def segment_details(store: SqlProfileStore, segment_id: str, sample_size: int = 10) -> SegmentDetails | None:
    """Return segment ``segment_id``'s size, run history and a sample of members, or ``None``."""
    memberships = store.model.memberships
    with store.engine.connect() as connection:
        runs = connection.execute(
            sa.select(run_segments, segment_runs.c.as_of)
            .join(segment_runs, segment_runs.c.id == run_segments.c.run_id)
            .where(run_segments.c.segment_id == segment_id)
            .order_by(run_segments.c.run_id.desc())
        ).all()
        size = connection.scalar(
            sa.select(sa.func.count()).select_from(memberships).where(memberships.c.segment_id == segment_id)
        )
        if not runs and not size:
            return None
        history = membership_history.c
        sample = [
            SegmentMembership(item.profile_id, segment_id, utc(item.joined_at), item.joined_run)  # type: ignore[arg-type]
            for item in connection.execute(
                sa.select(history.profile_id, history.joined_at, history.joined_run)
                .where(history.segment_id == segment_id, history.left_run.is_(None))
                .order_by(history.profile_id)
                .limit(sample_size)
            )
        ]
    name = runs[0].name if runs else segment_id
    return SegmentDetails(
        segment_id,
        name,
        int(size or 0),
        [
            SegmentRun(item.run_id, utc(item.as_of), item.members, item.joined, item.left, item.seconds)  # type: ignore[arg-type]
            for item in runs
        ],
        sample,
    )


def segment_ids(store: SqlProfileStore) -> list[str]:
    """Return the ids of every segment that a run has evaluated."""
    with store.engine.connect() as connection:
        return sorted(connection.scalars(sa.select(run_segments.c.segment_id).distinct()))
