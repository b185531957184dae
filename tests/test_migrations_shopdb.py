"""Revision 0003: the shop database state tables, in fresh stores and in stores where create_all made them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from segmento.adapters.ingest.model import Timestamp
from segmento.adapters.migrations import SchemaError, alembic_config, head_revision, store_revision, upgrade_store
from segmento.adapters.shopdb.state import check_state_tables, metadata as state_metadata, read_watermark
from segmento.adapters.urls import create_store_engine
from segmento.plugins.sql.model import ProfileModel
from tests.store_helpers import mariadb_database, schema_drift

BEFORE = "0002"
OLD_TABLES = ("shopdb_watermarks", "segment_evaluations", "changed_fields")
STATE_TABLES = (*OLD_TABLES, "shopdb_keys", "shopdb_reconciliations")
NOTED_AT = datetime(2026, 5, 1, 8, 0, 0)


@pytest.fixture(params=("sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        created = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield created
        created.dispose()
        return
    with mariadb_database("segmento_state") as url:
        created = create_store_engine(url)
        yield created
        created.dispose()


def create_like_old_segmento(engine: sa.Engine) -> None:
    """Create the state tables as segmento did before revision 0003: ``create_all`` with the database's defaults."""
    old = sa.MetaData()
    sa.Table(
        "shopdb_watermarks",
        old,
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("columns", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    sa.Table(
        "segment_evaluations",
        old,
        sa.Column("segment_id", sa.String(96), primary_key=True),
        sa.Column("rule_hash", sa.String(64), nullable=False),
        sa.Column("as_of", Timestamp, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
    )
    sa.Table(
        "changed_fields",
        old,
        sa.Column("field", sa.String(96), primary_key=True),
        sa.Column("noted_at", Timestamp, nullable=False),
    )
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shopdb_watermarks (source, role, columns, value, updated_at)"
                " VALUES ('shop', 'orders', 'ngay_cap_nhat,id', :value, :now)"
            ),
            {"value": '[{"datetime": "2011-12-09T15:00:00"}, 17]', "now": NOTED_AT},
        )
        connection.execute(
            sa.text("INSERT INTO segment_evaluations VALUES ('vip', :hash, :now, 'Asia/Ho_Chi_Minh', 3)"),
            {"hash": "a" * 64, "now": NOTED_AT},
        )
        connection.execute(sa.text("INSERT INTO changed_fields VALUES ('city', :now)"), {"now": NOTED_AT})


def collations(engine: sa.Engine, tables: tuple[str, ...]) -> set[str]:
    """Return the collations of the text columns and of the tables themselves, on MariaDB."""
    names = sa.bindparam("names", expanding=True)
    columns = sa.text(
        "SELECT DISTINCT collation_name FROM information_schema.columns"
        " WHERE table_schema = DATABASE() AND table_name IN :names AND collation_name IS NOT NULL"
    ).bindparams(names)
    table_level = sa.text(
        "SELECT DISTINCT table_collation FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN :names"
    ).bindparams(names)
    with engine.connect() as connection:
        found = set(connection.execute(columns, {"names": list(tables)}).scalars())
        found.update(connection.execute(table_level, {"names": list(tables)}).scalars())
    return found


def test_head_creates_state_tables(engine: sa.Engine) -> None:
    upgrade_store(engine, ProfileModel())

    assert set(STATE_TABLES) == set(state_metadata.tables)
    assert set(STATE_TABLES) <= set(sa.inspect(engine).get_table_names())
    assert schema_drift(engine, STATE_TABLES) == []
    if engine.dialect.name == "mysql":
        assert collations(engine, STATE_TABLES) == {"utf8mb4_nopad_bin"}


def test_create_all_tables_are_converted(engine: sa.Engine) -> None:
    model = ProfileModel()
    upgrade_store(engine, model, revision=BEFORE)
    create_like_old_segmento(engine)
    if engine.dialect.name == "mysql":
        assert "utf8mb4_nopad_bin" not in collations(engine, OLD_TABLES)

    change = upgrade_store(engine, model)

    assert (change.before, change.after) == (BEFORE, head_revision())
    assert schema_drift(engine, STATE_TABLES) == []
    with engine.begin() as connection:
        mark = read_watermark(connection, "shop", "orders", ("ngay_cap_nhat", "id"))
        evaluations = connection.execute(sa.text("SELECT segment_id, run_id FROM segment_evaluations")).all()
        fields = connection.execute(sa.text("SELECT field FROM changed_fields")).scalars().all()
        # Exact keys: under a folding collation 'VIP' would duplicate the key 'vip'.
        connection.execute(
            sa.text("INSERT INTO segment_evaluations VALUES ('VIP', :hash, :now, 'Asia/Ho_Chi_Minh', 4)"),
            {"hash": "b" * 64, "now": NOTED_AT},
        )
        check_state_tables(connection)
    assert mark is not None
    assert mark.values == (datetime(2011, 12, 9, 15, 0), 17)
    assert [tuple(row) for row in evaluations] == [("vip", 3)]
    assert fields == ["city"]
    if engine.dialect.name == "mysql":
        assert collations(engine, STATE_TABLES) == {"utf8mb4_nopad_bin"}


def test_store_without_state_tables_is_named(engine: sa.Engine) -> None:
    upgrade_store(engine, ProfileModel(), revision=BEFORE)

    with engine.connect() as connection:
        assert store_revision(connection) == BEFORE
        with pytest.raises(SchemaError) as raised:
            check_state_tables(connection)

    assert raised.value.message == "the store has no table changed_fields: its schema is older than this segmento"
    assert raised.value.hint is not None
    assert "segmento db upgrade" in raised.value.hint


def test_downgrade_keeps_older_state_tables(engine: sa.Engine) -> None:
    model = ProfileModel()
    upgrade_store(engine, model)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO changed_fields VALUES ('city', :now)"), {"now": NOTED_AT})

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), BEFORE)

    tables = set(sa.inspect(engine).get_table_names())
    assert set(OLD_TABLES) <= tables
    assert not {"shopdb_keys", "shopdb_reconciliations"} & tables
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT field FROM changed_fields")).scalars().all() == ["city"]
