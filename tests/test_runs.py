"""Segment runs: membership history, atomic failures, retired segments, MariaDB."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.loader import SourceSpec
from segmento.adapters.ingest.model import membership_history, segment_runs
from segmento.adapters.run_reports import segment_details
from segmento.adapters.runs import RunError, dependency_order, open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import Workspace, load_config
from segmento.engine.computations import ProfileSettings
from segmento.engine.errors import RuleErrors
from segmento.engine.rulefiles import load_rule_dir
from tests.demo_workspace import CONFIG, DemoRun, demo_run
from tests.store_helpers import FIRST, HEADER, RULES, SECOND, mariadb_database

RULES_IDS = {"big_spenders", "kitchen_fans", "kitchen_spenders"}


def make_workspace(tmp_path: Path, store_url: str | None = None) -> Workspace:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    first = tmp_path / "first.csv"
    first.write_text(HEADER + FIRST, encoding="utf-8")
    return Workspace(
        name="test_shop",
        store_url=store_url or f"sqlite:///{tmp_path / 'shop.db'}",
        timezone="Europe/London",
        rules_dir=rules,
        sources=(SourceSpec("first", "online_retail", first, "Europe/London"),),
        settings=ProfileSettings(),
        as_of=datetime(2011, 11, 10),
        reports_dir=tmp_path / "reports",
    )


def add_second_source(workspace: Workspace, tmp_path: Path) -> Workspace:
    second = tmp_path / "second.csv"
    second.write_text(HEADER + SECOND, encoding="utf-8")
    return dataclasses.replace(
        workspace, sources=(*workspace.sources, SourceSpec("second", "online_retail", second, "Europe/London"))
    )


def members(store: SqlProfileStore, segment_id: str) -> set[str]:
    memberships = store.model.memberships
    with store.engine.connect() as connection:
        return set(connection.scalars(sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)))


def history(store: SqlProfileStore) -> set[tuple[str, str, int, int | None]]:
    rows = membership_history.c
    with store.engine.connect() as connection:
        return {
            (row.segment_id, row.profile_id, row.joined_run, row.left_run)
            for row in connection.execute(sa.select(rows.segment_id, rows.profile_id, rows.joined_run, rows.left_run))
        }


def test_runs_record_who_joined_and_left(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    first = run_workspace(workspace, store=store)
    assert members(store, "big_spenders") == {"200"}
    assert members(store, "kitchen_spenders") == {"200"}

    second = run_workspace(add_second_source(workspace, tmp_path), store=store, as_of=datetime(2011, 12, 5))
    # Customer 300 spent 13.52 + 102.00; customer 200's return brings 51.00 down to 0.
    assert members(store, "big_spenders") == {"300"}
    outcome = {item.id: (item.members, item.joined, item.left) for item in second.segments}
    assert outcome["big_spenders"] == (1, 1, 1)
    assert history(store) >= {
        ("big_spenders", "200", first.run_id, second.run_id),
        ("big_spenders", "300", second.run_id, None),
    }
    details = segment_details(store, "big_spenders")
    assert details is not None
    assert [run.run_id for run in details.history] == [second.run_id, first.run_id]
    assert [item.profile_id for item in details.sample] == ["300"]
    report = json.loads((tmp_path / "reports" / f"test_shop-run-{second.run_id}.json").read_text(encoding="utf-8"))
    assert report["status"] == "succeeded"
    assert report["segments"][0]["segment"] in RULES_IDS


def test_failed_segment_leaves_membership_unchanged(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    run_workspace(workspace, store=store)
    before = {segment_id: members(store, segment_id) for segment_id in RULES_IDS}
    before_history = history(store)

    # big_spenders is evaluated first and would lose its member; kitchen_fans then
    # fails because its table is gone from the store.
    (workspace.rules_dir / "spenders.seg").write_text('segment big_spenders "Big spenders"\ntotal_purchase_value >= 1000\n')
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE profile_long_term_interests"))
    with pytest.raises(RunError) as caught:
        run_workspace(workspace, store=store)

    error = caught.value
    assert "kitchen_fans" in str(error)
    assert error.location.source == str(workspace.rules_dir / "kitchen.seg")
    assert {segment_id: members(store, segment_id) for segment_id in RULES_IDS} == before
    assert history(store) == before_history
    with store.engine.connect() as connection:
        status, message = connection.execute(
            sa.select(segment_runs.c.status, segment_runs.c.error).order_by(segment_runs.c.id.desc()).limit(1)
        ).one()
    assert status == "failed"
    assert "kitchen_fans" in message


def test_invalid_rule_file_stops_before_import(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    (workspace.rules_dir / "broken.seg").write_text('segment broken "Broken"\ntotal_purchase_value >=\n')
    store = open_store(workspace)
    with pytest.raises(RuleErrors) as caught:
        run_workspace(workspace, store=store)
    assert caught.value.location.source == str(workspace.rules_dir / "broken.seg")
    assert caught.value.location.line == 2
    with store.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(segment_runs)) == 0


def test_removed_rule_empties_its_segment(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    store = open_store(workspace)
    run_workspace(workspace, store=store)
    (workspace.rules_dir / "reference.seg").unlink()
    report = run_workspace(workspace, store=store)
    assert report.retired == ["kitchen_spenders"]
    assert members(store, "kitchen_spenders") == set()
    assert all(left is not None for segment, _, _, left in history(store) if segment == "kitchen_spenders")


def test_dependency_order_puts_references_first(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    ordered = [segment.id for segment in dependency_order(load_rule_dir(workspace.rules_dir))]
    assert ordered.index("kitchen_spenders") > ordered.index("big_spenders")
    assert ordered.index("kitchen_spenders") > ordered.index("kitchen_fans")


# --- MariaDB ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    """A fresh MariaDB database for this module, dropped afterwards."""
    with mariadb_database("segmento_runs") as url:
        yield url


@pytest.fixture(scope="module")
def rees46_sqlite(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return demo_run("rees46", tmp_path_factory.mktemp("demo"))


@pytest.mark.mariadb
def test_rees46_on_mariadb_matches_sqlite(mariadb_url: str, rees46_sqlite: DemoRun, tmp_path: Path) -> None:
    workspace = next(item for item in load_config(CONFIG) if item.name == "rees46")
    workspace = dataclasses.replace(workspace, store_url=mariadb_url, reports_dir=tmp_path)
    store = open_store(workspace)
    try:
        report = run_workspace(workspace, store=store)
        again = run_workspace(workspace, store=store)
        sizes = {outcome.id: outcome.members for outcome in report.segments}
        assert sizes == {outcome.id: outcome.members for outcome in rees46_sqlite.report.segments}
        for outcome in report.segments:
            assert members(store, outcome.id) == members(rees46_sqlite.store, outcome.id)
        assert [result.skipped for result in again.imports] == [True]
        assert again.build is not None and again.build.built == 0
        assert all(outcome.joined == outcome.left == 0 for outcome in again.segments)
    finally:
        store.engine.dispose()


@pytest.mark.mariadb
def test_failed_run_on_mariadb_keeps_membership(mariadb_url: str, tmp_path: Path) -> None:
    database = sa.make_url(mariadb_url).database
    server = sa.create_engine(sa.make_url(mariadb_url).set(database=None), poolclass=NullPool)
    name = f"{database}_atomic"
    quoted = server.dialect.identifier_preparer.quote(name)
    with server.begin() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    try:
        workspace = make_workspace(tmp_path, sa.make_url(mariadb_url).set(database=name).render_as_string(False))
        store = open_store(workspace)
        run_workspace(add_second_source(workspace, tmp_path), store=store, as_of=datetime(2011, 12, 5))
        before = members(store, "big_spenders")
        assert before == {"300"}
        (workspace.rules_dir / "spenders.seg").write_text('segment big_spenders "Big spenders"\ntotal_purchase_value >= 1\n')
        with store.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE profile_long_term_interests"))
        with pytest.raises(RunError):
            run_workspace(add_second_source(workspace, tmp_path), store=store, as_of=datetime(2011, 12, 5))
        assert members(store, "big_spenders") == before
        store.engine.dispose()
    finally:
        with server.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {quoted}")
