"""Member and event rows belong to stored profiles, as the compiler's member queries assume.

A segment whose rule is a semijoin on a member or events table is selected from that
table alone (``segmento.plugins.sql.selection``), so a row left behind by a removed or
rewritten profile would put a missing profile into the segment.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.model import dirty_profiles, order_lines, orders, tracked_events
from segmento.adapters.runs import open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.dsl.parser import parse_segment
from tests.demo_workspace import DemoRun, demo_run
from tests.store_helpers import mariadb_database
from tests.test_runs import add_second_source, make_workspace

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
KITCHEN = parse_segment('segment kitchen "Kitchen"\nlong_term_interests contains any ["home.kitchen"]')
CARTS = parse_segment('segment carts "Carts"\ncount(add_to_cart) >= 1')
CARTS_OF_100 = parse_segment('segment bought "Bought the T-light holder"\ncount(purchase of products ["85123A"]) >= 1')


def orphan_rows(store: SqlProfileStore) -> dict[str, int]:
    """Return, per member or events table, how many rows have no profile."""
    profiles = store.model.profiles
    counts = {}
    with store.engine.connect() as connection:
        for table in [*(members.table for members in store.model.collections.values()), store.model.events]:
            missing = ~sa.exists().where(profiles.c.id == table.c.profile_id)
            counts[table.name] = connection.execute(sa.select(sa.func.count()).select_from(table).where(missing)).scalar()
    return counts


def profile(profile_id: str, interests: list[str], carts: int) -> dict[str, object]:
    events = [{"kind": "add_to_cart", "time": "2024-05-01T10:00:00Z"} for _ in range(carts)]
    return {"id": profile_id, "long_term_interests": {key: 1.0 for key in interests}, "events": events}


def check_rewrites(store: SqlProfileStore) -> None:
    store.write_profiles(
        [profile("a", ["home.kitchen", "toys"], 2), profile("b", ["home.kitchen"], 1), profile("c", [], 0)]
    )
    assert store.members(KITCHEN, as_of=AS_OF) == ["a", "b"]
    assert store.members(CARTS, as_of=AS_OF) == ["a", "b"]

    # "b" loses its interest and its cart; the old rows must go with the old profile.
    store.write_profiles([profile("b", ["toys"], 0)])
    assert store.members(KITCHEN, as_of=AS_OF) == ["a"]
    assert store.members(CARTS, as_of=AS_OF) == ["a"]
    assert set(orphan_rows(store).values()) == {0}


def test_rewritten_profiles_leave_no_rows_sqlite(tmp_path: Path) -> None:
    store = SqlProfileStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.create_schema()
    check_rewrites(store)


def test_rewritten_profiles_leave_no_rows_mariadb() -> None:
    with mariadb_database("segmento_integrity") as url:
        store = SqlProfileStore(url)
        store.create_schema()
        check_rewrites(store)
        store.engine.dispose()


def test_demo_store_has_no_orphan_rows(tmp_path_factory: pytest.TempPathFactory) -> None:
    run: DemoRun = demo_run("rees46", tmp_path_factory.mktemp("integrity"))
    counts = orphan_rows(run.store)
    assert counts["events"] == 0
    assert counts["profile_long_term_interests"] == 0
    assert set(counts.values()) == {0}


def test_rebuilds_and_removals_leave_no_rows(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    run_workspace(workspace, store=store)
    run_workspace(add_second_source(workspace, tmp_path), store=store, as_of=datetime(2011, 12, 5))

    assert store.members(CARTS_OF_100, as_of=datetime(2011, 12, 6, tzinfo=UTC)) == ["100"]

    # Customer 100 loses all its data, so the next build removes its profile.
    with store.engine.begin() as connection:
        for table in (order_lines, orders, tracked_events):
            connection.execute(sa.delete(table).where(table.c.customer_id == "100"))
        connection.execute(dirty_profiles.insert().values(customer_id="100", import_id=0))
    run_workspace(dataclasses.replace(workspace, sources=()), store=store, as_of=datetime(2011, 12, 6))

    with store.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).where(store.model.profiles.c.id == "100")) == 0
    assert store.members(CARTS_OF_100, as_of=datetime(2011, 12, 6, tzinfo=UTC)) == []
    assert set(orphan_rows(store).values()) == {0}
