"""Store schema through Alembic: fresh stores, upgrades with data in them, catalog changes."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import import_source
from segmento.adapters.ingest.model import imports, metadata as ingest_metadata, naive_utc, segment_runs
from segmento.adapters.locks import SchemaLockError
from segmento.adapters.migrations import VERSION_TABLE, SchemaError, head_revision, store_revision, upgrade_store
from segmento.adapters.migrations.catalog import profile_catalogs
from segmento.adapters.migrations.schema import fixed_metadata
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.runs import evaluate_segments, open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.urls import create_store_engine
from segmento.engine.ast import Comparison, TextOptions
from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl
from segmento.engine.registry import Registry, build_registry, make_plugin_manager
from segmento.engine.rulefiles import load_rule_dir
from segmento.engine.temporal import Clock
from segmento.plugins.sql.model import ProfileModel
from tests.store_helpers import AFTER_SECOND, all_members, mariadb_database, schema_drift, segmento, shop_workspace, write_shop

STORES = ("sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb))
PREVIOUS = "0001"
FOLDED = TextOptions(ignore_case=True, ignore_accents=True)
READS = ("SELECT", "PRAGMA", "DESCRIBE", "SHOW")
"""Statements that only read: the schema reflection of SQLite and MySQL, and queries."""


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    with mariadb_database("segmento_migrations") as url:
        yield url


def table_counts(engine: sa.Engine) -> dict[str, int]:
    names = sa.inspect(engine).get_table_names()
    with engine.connect() as connection:
        return {name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0 for name in names}


def revision_of(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return store_revision(connection)


def statements_while(engine: sa.Engine, action: Callable[[], object]) -> list[str]:
    """Return the SQL statements ``engine`` runs during ``action()``."""
    seen: list[str] = []

    def record(connection: object, cursor: object, statement: str, *rest: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def fill_like_previous_segmento(store: SqlProfileStore, workspace_config: Path) -> None:
    """Import, build and evaluate the way segmento did before runs took a lock, on revision 0001."""
    workspace = shop_workspace(workspace_config)
    clock = Clock.at(workspace.as_of, workspace.timezone)
    for source in workspace.sources:
        import_source(store.engine, source)
    build_profiles(store, workspace.settings, clock.as_of)
    with store.engine.begin() as connection:
        run_id = connection.execute(
            segment_runs.insert().values(workspace=workspace.name, as_of=naive_utc(clock.as_of), timezone=workspace.timezone,
                                         started_at=naive_utc(clock.as_of), status="running")
        ).inserted_primary_key[0]  # fmt: skip
        evaluate_segments(connection, store, load_rule_dir(workspace.rules_dir), clock, run_id)
        connection.execute(sa.update(segment_runs).values(status="succeeded"))


# --- fresh and current stores -------------------------------------------------------------


def test_fresh_store_is_created_at_head(tmp_path: Path) -> None:
    store = SqlProfileStore(create_store_engine(f"sqlite:///{tmp_path / 'fresh.db'}"))

    change = store.create_schema()

    assert (change.before, change.after) == (None, head_revision())
    assert change.catalog is not None
    assert set(change.catalog.added_tables) == {table.name for table in store.model.tables()} - {"events", "memberships"}
    tables = set(sa.inspect(store.engine).get_table_names())
    assert tables >= set(fixed_metadata().tables) | {VERSION_TABLE, "profiles", "profile_product_views"}


def test_current_store_is_left_untouched(tmp_path: Path) -> None:
    store = SqlProfileStore(create_store_engine(f"sqlite:///{tmp_path / 'current.db'}"))
    store.create_schema()

    changes = []
    statements = statements_while(store.engine, lambda: changes.append(store.create_schema()))

    assert not changes[0].changed
    assert statements
    assert all(statement.lstrip().upper().startswith(READS) for statement in statements)


def test_head_schema_matches_the_models(store_url: str) -> None:
    store = SqlProfileStore(create_store_engine(store_url))
    store.create_schema()

    assert schema_drift(store.engine, fixed_metadata().tables) == []
    store.engine.dispose()


# --- upgrades of stores with data ---------------------------------------------------------


def test_upgrade_from_previous_revision_keeps_data(tmp_path: Path, store_url: str) -> None:
    config = write_shop(tmp_path, store_url, second=True)
    engine = create_store_engine(store_url)
    previous = SqlProfileStore(engine)
    upgrade_store(engine, previous.model, revision=PREVIOUS)
    previous.model.metadata.create_all(engine)  # the profile tables, as segmento made them then
    fill_like_previous_segmento(previous, config)
    counts = table_counts(engine)
    with engine.connect() as connection:
        checksum = connection.scalar(sa.select(imports.c.checksum).limit(1))
    assert revision_of(engine) == PREVIOUS
    assert all_members(previous) == AFTER_SECOND

    store = open_store(shop_workspace(config))

    assert revision_of(store.engine) == head_revision()
    after = table_counts(store.engine)
    assert {name: after[name] for name in counts} == counts
    assert all_members(store) == AFTER_SECOND
    with store.engine.connect() as connection:
        upper = connection.scalar(sa.select(sa.func.count()).select_from(imports).where(imports.c.checksum == checksum.upper()))
    assert upper == 0  # exact comparison, also where MariaDB's default collation folded case before
    report = run_workspace(shop_workspace(config), store=store)
    assert report.status == "succeeded"
    assert all(outcome.joined == outcome.left == 0 for outcome in report.segments)
    store.engine.dispose()
    engine.dispose()


@pytest.mark.mariadb
def test_upgrade_makes_mariadb_text_exact() -> None:
    with mariadb_database("segmento_collation") as url:
        engine = create_store_engine(url)
        model = ProfileModel()
        upgrade_store(engine, model, revision=PREVIOUS)
        with engine.begin() as connection:
            connection.execute(imports.insert().values(source="s", format="f", file_name="a.csv", checksum="abc", rows_read=0,
                                                       rows_stored=0, rows_known=0, rows_rejected=0, customers_touched=0,
                                                       started_at=naive_utc(datetime.now(UTC)),
                                                       finished_at=naive_utc(datetime.now(UTC))))  # fmt: skip
        before = _count_checksum(engine, "ABC")

        upgrade_store(engine, model)

        assert before == 1  # utf8mb4_general_ci folds case
        assert _count_checksum(engine, "ABC") == 0
        assert _count_checksum(engine, "abc") == 1
        with engine.connect() as connection:
            collations = set(
                connection.execute(
                    sa.text(
                        "SELECT DISTINCT collation_name FROM information_schema.columns "
                        "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL AND table_name <> :version"
                    ),
                    {"version": VERSION_TABLE},
                ).scalars()
            )
        assert collations == {"utf8mb4_nopad_bin"}
        engine.dispose()


@pytest.mark.mariadb
def test_half_finished_upgrade_resumes() -> None:
    with mariadb_database("segmento_resume") as url:
        engine = create_store_engine(url)
        model = ProfileModel()
        upgrade_store(engine, model, revision=PREVIOUS)
        # MariaDB commits DDL at once: an upgrade that failed after its first CREATE TABLE
        # leaves that table behind while the store stays at the previous revision.
        with engine.begin() as connection:
            fixed_metadata().tables["store_locks"].create(connection)

        change = upgrade_store(engine, model)

        assert change.before == PREVIOUS
        assert change.after == head_revision()
        with engine.connect() as connection:
            names = connection.execute(sa.text("SELECT name FROM store_locks")).scalars().all()
        assert names == ["segment_run"]
        assert schema_drift(engine, ["store_locks", "profile_catalogs"]) == []
        engine.dispose()


def _count_checksum(engine: sa.Engine, value: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(imports).where(imports.c.checksum == value)) or 0


def test_legacy_store_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    config = write_shop(tmp_path, url, second=True)
    engine = create_store_engine(url)
    legacy = SqlProfileStore(engine)
    legacy.model.metadata.create_all(engine)
    ingest_metadata.create_all(engine)
    fill_like_previous_segmento(legacy, config)
    counts = table_counts(engine)
    assert revision_of(engine) is None

    report = run_workspace(shop_workspace(config))

    assert report.status == "succeeded"
    assert revision_of(engine) == head_revision()
    after = table_counts(engine)
    assert {name: after[name] for name in counts if name not in ("segment_runs", "run_segments", "profile_builds")} == {
        name: count for name, count in counts.items() if name not in ("segment_runs", "run_segments", "profile_builds")
    }
    assert all_members(legacy) == AFTER_SECOND
    engine.dispose()


def test_newer_store_is_rejected(tmp_path: Path) -> None:
    store = SqlProfileStore(create_store_engine(f"sqlite:///{tmp_path / 'newer.db'}"))
    store.create_schema()
    with store.engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))

    with pytest.raises(SchemaError) as caught:
        store.create_schema()

    assert "revision '0099'" in str(caught.value)
    assert "upgrade segmento" in str(caught.value)


# --- the field catalog --------------------------------------------------------------------


@dataclasses.dataclass
class LoyaltyFields:
    """A plugin that adds a scalar field and a list field to the catalog."""

    tier_type: str

    @hookimpl
    def segmento_fields(self) -> Sequence[FieldSpec]:
        return (
            FieldSpec("loyalty_tier", self.tier_type, "loyalty programme tier"),
            FieldSpec("wishlist", "string_list", "products on the wish list"),
        )


def registry_with(*plugins: object) -> Registry:
    return build_registry(make_plugin_manager(plugins, load_entry_points=False))


def test_catalog_fields_add_columns(store_url: str) -> None:
    engine = create_store_engine(store_url)
    plain = SqlProfileStore(engine, registry_with())
    plain.create_schema()
    plain.write_profiles([{"id": "a", "city": "Hà Nội"}])

    extended = SqlProfileStore(engine, registry_with(LoyaltyFields("string")))
    change = extended.create_schema()

    assert change.catalog is not None
    assert change.catalog.added_tables == ["profile_wishlist"]
    assert sorted(change.catalog.added_columns) == [
        "profiles.loyalty_tier", "profiles.loyalty_tier_ai", "profiles.loyalty_tier_ci", "profiles.loyalty_tier_ci_ai",
    ]  # fmt: skip
    assert extended.members(Comparison("city", "eq", "Hà Nội")) == ["a"]
    extended.write_profiles([{"id": "b", "loyalty_tier": "Vàng", "wishlist": ["85123A"]}])
    assert extended.members(Comparison("loyalty_tier", "eq", "vang", options=FOLDED)) == ["b"]

    again = statements_while(engine, plain.create_schema)
    assert all(statement.lstrip().upper().startswith(READS) for statement in again)
    plain.write_profiles([{"id": "c", "city": "Huế"}])
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(profile_catalogs)) == 2

    conflicting = SqlProfileStore(engine, registry_with(LoyaltyFields("integer")))
    with pytest.raises(SchemaError) as caught:
        conflicting.create_schema()
    assert "column profiles.loyalty_tier is" in str(caught.value)
    assert "never changes the type of a column" in str(caught.value)
    engine.dispose()


# --- concurrent upgrades ------------------------------------------------------------------


def test_concurrent_upgrades_of_fresh_store(tmp_path: Path, store_url: str) -> None:
    config = write_shop(tmp_path, store_url)
    processes = [
        segmento("db", "upgrade", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    results = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], [errors for _, errors in results]
    outputs = sorted(output for output, _ in results)
    assert sum("upgraded from revision none" in output for output in outputs) == 1
    assert sum(f"up to date at revision {head_revision()}" in output for output in outputs) == 1
    engine = create_store_engine(store_url)
    assert revision_of(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(profile_catalogs)) == 1
    engine.dispose()


def test_new_sqlite_store_waits_for_writer(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE held (id INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO held VALUES (1)")
    release = threading.Timer(0.5, writer.commit)
    release.start()
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            rows = connection.exec_driver_sql("SELECT count(*) FROM held").scalar()
    finally:
        release.join()
        writer.close()
        engine.dispose()

    assert mode == "wal"
    assert rows == 1


def test_upgrade_times_out_on_schema_lock(store_url: str) -> None:
    engine = create_store_engine(store_url)
    holder = create_store_engine(store_url)
    with holder.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            name = f"segmento.schema.{engine.url.database}"
            assert connection.execute(sa.select(sa.func.get_lock(name, 0))).scalar() == 1

        with pytest.raises(SchemaLockError) as caught:
            upgrade_store(engine, ProfileModel(), wait=1)

        connection.rollback()
    assert "for more than 1 s" in str(caught.value)
    assert revision_of(engine) is None
    engine.dispose()
    holder.dispose()


def test_status_of_missing_sqlite_store_writes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from segmento.cli import main

    config = tmp_path / "segmento.yaml"
    config.write_text("store: sqlite:///var/shop.db\nrules: rules\n", encoding="utf-8")
    (tmp_path / "rules").mkdir()

    before = CliRunner().invoke(main, ["db", "status", "--config", str(config)])
    assert before.exit_code == 0, before.output
    assert "no store yet" in before.output
    assert not (tmp_path / "var" / "shop.db").exists()

    upgrade = CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)])
    after = CliRunner().invoke(main, ["db", "status", "--config", str(config)])
    assert upgrade.exit_code == 0, upgrade.output
    assert f"revision {head_revision()}" in after.output
    assert "up to date" in after.output
