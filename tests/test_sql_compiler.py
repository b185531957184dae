"""The SQL compiler, the relational profile model and the SQL profile store on SQLite."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect
from sqlalchemy.schema import CreateTable

from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.ast import Comparison, EventCondition, Group, Segment, SegmentRef, TextOptions
from segmento.engine.errors import DataError, Location, PluginError, UnsupportedError
from segmento.engine.hookspecs import hookimpl
from segmento.engine.registry import Registry, build_registry, make_plugin_manager
from segmento.plugins.sql import ProfileModel, SqlContext, compile_segment, compile_to_text, render_query
from segmento.plugins.sql.bounds import false_at_zero, on_grid, rounded_bound
from segmento.plugins.sql.selection import member_query
from tests.cases import CasePlugin, case_registry

AS_OF = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
DIALECTS = ("sqlite", "mysql", "mariadb", "postgresql")


@pytest.fixture(scope="module")
def model() -> ProfileModel:
    return ProfileModel(case_registry())


@pytest.fixture()
def store(tmp_path: Path) -> SqlProfileStore:
    store = SqlProfileStore(f"sqlite:///{tmp_path / 'profiles.db'}", case_registry())
    store.create_schema()
    return store


def sql_of(rule: Any, model: ProfileModel, dialect: str = "sqlite") -> str:
    return render_query(compile_segment(rule, model, dialect=dialect, as_of=AS_OF), dialect).sql


# --- values only ever become bound parameters ---------------------------------------------

HOSTILE_VALUES = (
    "x'; DROP TABLE profiles; --",
    'say "hi"',
    "50%_off",
    "back\\slash",
    "line\nDROP TABLE profiles",
)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_values_never_in_sql_text(model: ProfileModel, dialect: str, value: str) -> None:
    rule = Group(
        "any",
        (
            Comparison("city", "eq", value),
            Comparison("name", "contains", value),
            Comparison("tags", "contains_any", (value,)),
            EventCondition("purchase", "count", "gte", 1, categories=(value,)),
        ),
    )

    rendered = render_query(compile_segment(rule, model, dialect=dialect, as_of=AS_OF), dialect)

    assert value not in rendered.sql
    assert "DROP TABLE" not in rendered.sql
    assert value in rendered.parameters.values()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_query_shape_independent_of_value(model: ProfileModel, dialect: str) -> None:
    def rule(text: str, number: Decimal) -> Group:
        return Group(
            "all",
            (
                Comparison("name", "ends_with", text),
                Comparison("city", "in", (text, text + "x"), options=TextOptions(ignore_case=True)),
                Comparison("total_purchase_value", "between", (number, number + 1)),
                Comparison("product_views", "gte", 3, include=("1", "2")),
            ),
        )

    first = sql_of(rule("a", Decimal("1.5")), model, dialect)
    second = sql_of(rule("%' OR 1=1 --", Decimal("99999.25")), model, dialect)

    assert first == second


def test_compile_to_text_lists_parameters(model: ProfileModel) -> None:
    text = compile_to_text(Comparison("city", "eq", "Hà Nội\nDROP TABLE x"), model, "postgresql", as_of=AS_OF)
    sql, _, parameters = text.partition("-- parameters:")

    assert ":city_1" in sql
    assert "Hà Nội" not in sql
    assert '--   :city_1 = "Hà Nội\\nDROP TABLE x"' in parameters
    assert all(line.startswith("--") for line in parameters.strip().splitlines())


@pytest.mark.parametrize(
    ("dialect", "position", "length"),
    [
        ("sqlite", "instr(", "length("),
        ("mysql", "instr(", "char_length("),
        ("mariadb", "instr(", "char_length("),
        ("postgresql", "strpos(", "char_length("),
    ],
)
def test_substring_functions_per_dialect(model: ProfileModel, dialect: str, position: str, length: str) -> None:
    rule = Group("all", (Comparison("name", "contains", "a"), Comparison("name", "ends_with", "b")))

    sql = sql_of(rule, model, dialect)

    assert position in sql
    assert length in sql
    assert " LIKE " not in sql


def test_negation_keeps_null_guard(model: ProfileModel) -> None:
    sql = sql_of(Comparison("city", "ne", "Hà Nội"), model)

    assert sql.split("WHERE", 1)[1].strip() == "NOT (profiles.city IS NOT NULL AND profiles.city = :city_1)"


CARTS = EventCondition("add_to_cart", "count", "gte", 1)
SEMIJOIN_RULES = {
    "contains-any": Comparison("product_views", "contains_any", ("1", "2")),
    "contains-all": Comparison("product_views", "contains_all", ("1", "2")),
    "map-sum": Comparison("product_views", "gte", 3, include=("1", "2")),
    "ranked": Comparison("short_term_interests", "lte", 2, include=("toys",)),
    "event-count": CARTS,
    "event-sum": EventCondition("purchase", "sum", "gt", 0, measure="value"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("rule", SEMIJOIN_RULES.values(), ids=SEMIJOIN_RULES.keys())
def test_false_at_zero_compiles_to_semijoin(model: ProfileModel, rule: Any, dialect: str) -> None:
    sql = sql_of(Group("all", (Comparison("city", "is_set"), rule)), model, dialect)

    assert " AND profiles.id IN (SELECT " in sql.split("WHERE", 1)[1]
    assert "EXISTS" not in sql
    assert "= profiles.id" not in sql


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("rule", SEMIJOIN_RULES.values(), ids=SEMIJOIN_RULES.keys())
def test_lone_semijoin_leaves_profiles_out(model: ProfileModel, rule: Any, dialect: str) -> None:
    sql = sql_of(rule, model, dialect)

    assert sql.startswith("SELECT ")
    assert "profiles" not in sql.replace("profile_", "")
    assert ".profile_id AS id" in sql
    assert "GROUP BY " in sql


def test_any_of_semijoins_is_union(model: ProfileModel) -> None:
    rule = Group("any", (CARTS, Comparison("product_views", "contains_any", ("1",))))

    sql = sql_of(rule, model)

    assert " UNION " in sql
    assert "GROUP BY" not in sql
    assert "profiles" not in sql.replace("profile_", "")


def test_all_of_semijoins_drives_from_first(model: ProfileModel) -> None:
    rule = Group("all", (Comparison("product_views", "gte", 2, include=("1",)), CARTS))

    sql = sql_of(rule, model)

    assert sql.startswith("SELECT profile_product_views.profile_id AS id")
    assert "profile_product_views.profile_id IN (SELECT events.profile_id" in sql
    assert "profiles" not in sql.replace("profile_", "")


def test_any_with_scalar_keeps_profiles(model: ProfileModel) -> None:
    rule = Group("any", (CARTS, Comparison("city", "eq", "Huế")))

    sql = sql_of(rule, model)

    assert sql.startswith("SELECT profiles.id")
    assert " UNION " not in sql


def test_foreign_semijoin_keeps_profiles(model: ProfileModel) -> None:
    elsewhere = sa.table("vip_list", sa.column("customer_id"))
    condition = model.profiles.c.id.in_(sa.select(elsewhere.c.customer_id))

    sql = str(member_query(condition, model).compile(compile_kwargs={"render_postcompile": True}))

    assert sql.startswith("SELECT profiles.id")
    assert "FROM profiles" in sql


def test_event_count_groups_by_profile(model: ProfileModel) -> None:
    sql = sql_of(EventCondition("add_to_cart", "count", "gte", 2), model)

    assert "GROUP BY events.profile_id" in sql
    assert "HAVING count(*) >= :param_1" in sql


@pytest.mark.parametrize(("operator", "value"), [("gte", 1), ("gt", 0), ("gte", Decimal("0.5"))])
def test_event_existence_needs_no_grouping(model: ProfileModel, operator: str, value: Any) -> None:
    sql = sql_of(Group("all", (Comparison("city", "is_set"), EventCondition("add_to_cart", "count", operator, value))), model)

    assert "profiles.id IN (SELECT events.profile_id" in sql
    assert "GROUP BY" not in sql
    assert "HAVING" not in sql


@pytest.mark.parametrize(
    "rule",
    [
        EventCondition("add_to_cart", "count", "lt", 3),
        EventCondition("add_to_cart", "count", "eq", 0),
        EventCondition("purchase", "sum", "between", (0, 2), measure="value"),
        Comparison("product_views", "lte", 3, include=("1",)),
    ],
    ids=["count-lt", "count-eq-zero", "sum-between-zero", "map-sum-lte"],
)
def test_true_at_zero_stays_correlated(model: ProfileModel, rule: Any) -> None:
    sql = sql_of(rule, model)

    assert "profile_id = profiles.id" in sql
    assert "profiles.id IN" not in sql


def test_negated_semijoin_is_not_in(model: ProfileModel) -> None:
    sql = sql_of(Group("none", (CARTS,)), model)

    assert sql.split("WHERE", 1)[1].lstrip().startswith("(profiles.id NOT IN (SELECT ")


def test_negated_semijoin_is_not_exists_on_postgresql(model: ProfileModel) -> None:
    rule = Group("none", (CARTS, Comparison("product_views", "gte", 3, include=("1",))))

    where = sql_of(rule, model, "postgresql").split("WHERE", 1)[1]

    assert " IN (SELECT" not in where
    assert where.count("NOT (EXISTS (SELECT") == 2
    assert "events.profile_id = profiles.id" in where
    assert "profile_product_views.profile_id = profiles.id GROUP BY" in where


@pytest.mark.parametrize(
    ("operator", "value", "kind", "expected"),
    [
        ("gte", 1, "integer", True),
        ("gte", Decimal("0.5"), "integer", True),
        ("gte", 0, "integer", False),
        ("gt", 0, "integer", True),
        ("gt", Decimal("-0.5"), "integer", False),
        ("gt", Decimal("-0.00001"), "decimal", False),
        ("lte", Decimal("-0.00001"), "decimal", True),
        ("lt", 3, "integer", False),
        ("lt", 0, "integer", True),
        ("lte", -1, "integer", True),
        ("eq", 0, "integer", False),
        ("eq", 2, "integer", True),
        ("eq", Decimal("0.5"), "integer", True),
        ("between", (0, 2), "integer", False),
        ("between", (Decimal("0.5"), 2), "integer", True),
        ("between", (-3, -1), "integer", True),
        ("in", (1, 0), "integer", False),
        ("in", (1, 2), "integer", True),
        ("ne", 1, "integer", False),
    ],
)
def test_false_at_zero_per_operator(operator: str, value: Any, kind: Any, expected: bool) -> None:
    assert false_at_zero(operator, value, kind) is expected


def test_text_options_use_prepared_column(model: ProfileModel) -> None:
    rendered = render_query(
        compile_segment(Comparison("city", "eq", "HÀ NỘI", options=TextOptions(True, True)), model, as_of=AS_OF),
        "sqlite",
    )

    assert "profiles.city_ci_ai = :city_ci_ai_1" in rendered.sql
    assert rendered.parameters == {"city_ci_ai_1": "ha noi"}


def test_unknown_dialect_rejected(model: ProfileModel) -> None:
    with pytest.raises(UnsupportedError, match="'oracle' is not supported") as raised:
        compile_segment(Comparison("city", "is_set"), model, dialect="oracle")

    assert raised.value.hint == "Use one of: sqlite, mysql, mariadb, postgresql"


# --- operators a target cannot express -------------------------------------------------------


def test_operator_without_sql_implementation(model: ProfileModel) -> None:
    where = Location(pointer="/condition/all/2")
    rule = Group("all", (Comparison("nickname", "is_palindrome", loc=where),))

    with pytest.raises(UnsupportedError) as raised:
        compile_segment(rule, model)

    assert raised.value.location == where
    assert raised.value.params == {"target": "sql", "operator": "is_palindrome"}
    assert "'is_palindrome'" in str(raised.value)
    assert "'sql'" in str(raised.value)


def test_event_measure_unknown(model: ProfileModel) -> None:
    rule = EventCondition("purchase", "sum", "gt", 1, measure="discount", loc=Location(pointer="/condition"))

    with pytest.raises(UnsupportedError, match="no measure 'discount'") as raised:
        compile_segment(rule, model)

    assert raised.value.location.pointer == "/condition"


def test_operator_not_allowed_for_type(model: ProfileModel) -> None:
    with pytest.raises(UnsupportedError, match="does not allow it"):
        compile_segment(Comparison("city", "gt", "a"), model)


# --- plugin operators --------------------------------------------------------------------------


class BlankPlugin:
    """Implements the case catalog's ``is_palindrome`` for SQL, as an empty-text test."""

    def __init__(self) -> None:
        self.contexts: list[SqlContext] = []

    @hookimpl
    def segmento_operator_implementations(self, target: str) -> Mapping[str, Any] | None:
        if target != "sql":
            return None

        def is_blank(column: Any, value: None, options: TextOptions, context: SqlContext) -> Any:
            self.contexts.append(context)
            return sa.and_(column.is_not(None), column == "")

        return {"is_palindrome": is_blank}


def registry_with(*plugins: object) -> Registry:
    return build_registry(make_plugin_manager([CasePlugin(), *plugins], load_entry_points=False))


def test_plugin_operator_runs_in_sql(tmp_path: Path) -> None:
    plugin = BlankPlugin()
    store = SqlProfileStore(f"sqlite:///{tmp_path / 'plugin.db'}", registry_with(plugin))
    store.create_schema()
    store.write_profiles([{"id": "a", "nickname": ""}, {"id": "b", "nickname": "bob"}, {"id": "c"}])

    selected = store.members(Comparison("nickname", "is_palindrome"), as_of=AS_OF)
    complement = store.members(Group("none", (Comparison("nickname", "is_palindrome"),)), as_of=AS_OF)

    assert selected == ["a"]
    assert complement == ["b", "c"]
    assert plugin.contexts[0].dialect == "sqlite"
    assert plugin.contexts[0].field.name == "nickname"
    assert plugin.contexts[0].kind == "string"


class SecondEqualsPlugin:
    @hookimpl
    def segmento_operator_implementations(self, target: str) -> Mapping[str, Any] | None:
        return {"eq": lambda column, value, options, context: column == value} if target == "sql" else None


def test_second_sql_implementation_rejected() -> None:
    registry = registry_with(SecondEqualsPlugin())

    with pytest.raises(PluginError, match="registered by both") as raised:
        registry.implementations_for("sql")

    assert raised.value.params["name"] == "eq"


def test_registry_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from segmento.engine.registry import get_registry\n"
        "get_registry()\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


# --- exact numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "kind", "expected"),
    [
        ("gt", Decimal("2.5"), "integer", 2),
        ("gte", Decimal("2.5"), "integer", 3),
        ("lt", Decimal("2.5"), "integer", 3),
        ("lte", Decimal("2.5"), "integer", 2),
        ("gt", Decimal("-2.5"), "integer", -3),
        ("gte", Decimal("0.00005"), "decimal", Decimal("0.0001")),
        ("lte", Decimal("0.00005"), "decimal", Decimal("0.0000")),
        ("gt", 10**20, "integer", 2**63 - 1),
        ("lt", -(10**20), "decimal", Decimal("-900000000000000.0000")),
    ],
)
def test_rounded_bound(operator: str, value: Any, kind: Any, expected: Any) -> None:
    assert rounded_bound(value, operator, kind) == expected  # type: ignore[arg-type]


def test_on_grid_rejects_unstorable() -> None:
    assert on_grid(Decimal("0.00001"), "decimal") is None
    assert on_grid(Decimal("2.0"), "integer") == 2
    assert on_grid(10**19, "integer") is None


# --- the relational model ----------------------------------------------------------------------


def test_model_columns(model: ProfileModel) -> None:
    columns = set(model.profiles.c.keys())

    assert {"id", "city", "city_ci", "city_ai", "city_ci_ai", "birthday", "is_subscribed"} <= columns
    assert "age" not in columns
    assert "product_views" not in columns
    assert set(model.collections["product_views"].table.c.keys()) == {
        "profile_id",
        "rank",
        "key",
        "key_ci",
        "key_ai",
        "key_ci_ai",
        "value",
    }
    assert "value" not in model.collections["short_term_interests"].table.c


def ddl(table: sa.Table, dialect: sa.Dialect) -> str:
    return str(CreateTable(table).compile(dialect=dialect))


def test_mariadb_text_is_binary_without_padding(model: ProfileModel) -> None:
    text = ddl(model.profiles, MariaDBDialect())

    assert "city TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin" in text
    assert "id VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin" in text


def test_mysql_text_is_binary_without_padding(model: ProfileModel) -> None:
    assert "COLLATE utf8mb4_0900_bin" in ddl(model.profiles, mysql.dialect())


@pytest.mark.parametrize(
    ("dialect", "decimal_type", "time_type"),
    [
        (sqlite.dialect(), "total_purchase_value BIGINT", "signed_up_at DATETIME"),
        (postgresql.dialect(), "total_purchase_value NUMERIC(18, 4)", "signed_up_at TIMESTAMP WITHOUT TIME ZONE"),
        (MariaDBDialect(), "total_purchase_value NUMERIC(18, 4)", "signed_up_at DATETIME(6)"),
    ],
)
def test_exact_column_types(model: ProfileModel, dialect: sa.Dialect, decimal_type: str, time_type: str) -> None:
    text = ddl(model.profiles, dialect)

    assert decimal_type in text
    assert time_type in text


# --- the store -----------------------------------------------------------------------------------


def write(store: SqlProfileStore, profiles: Sequence[Mapping[str, Any]]) -> int:
    return store.write_profiles(profiles)


def test_store_keeps_decimal_units_on_sqlite(store: SqlProfileStore) -> None:
    write(store, [{"id": "a", "total_purchase_value": "5000000.25"}])

    with store.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT total_purchase_value FROM profiles").scalar_one()
        typed = connection.execute(sa.select(store.model.profiles.c.total_purchase_value)).scalar_one()

    assert raw == 50000002500
    assert typed == Decimal("5000000.25")


def test_store_rejects_unstorable_decimal(store: SqlProfileStore) -> None:
    profiles = [{"id": "a", "city": "Huế"}, {"id": "b", "long_term_interests": {"toys": "0.00001"}}]

    with pytest.raises(DataError, match="more than 4 decimal places") as raised:
        write(store, profiles)

    assert raised.value.location.pointer == "/long_term_interests/toys"
    assert raised.value.params["profile"] == "b"
    assert store.members(Comparison("city", "is_set"), as_of=AS_OF) == []


def test_store_rejects_nul_character(store: SqlProfileStore) -> None:
    with pytest.raises(DataError, match="NUL") as raised:
        write(store, [{"id": "a", "tags": ["ok", "bad\x00"]}])

    assert raised.value.location.pointer == "/tags/1"


def test_store_replaces_profile_rows(store: SqlProfileStore) -> None:
    write(
        store,
        [
            {
                "id": "a",
                "tags": ["giày", "túi"],
                "events": [{"kind": "purchase", "time": "2024-02-28T00:00:00Z"}],
                "segments": ["vip"],
            }
        ],
    )
    write(store, [{"id": "a", "tags": ["túi"]}])

    assert store.members(Comparison("tags", "contains_any", ("giày",)), as_of=AS_OF) == []
    assert store.members(Comparison("tags", "contains_any", ("túi",)), as_of=AS_OF) == ["a"]
    assert store.members(EventCondition("purchase", "count", "eq", 0), as_of=AS_OF) == ["a"]
    assert store.members(SegmentRef("vip"), as_of=AS_OF) == ["a"]


def test_store_segments_key_replaces_memberships(store: SqlProfileStore) -> None:
    write(store, [{"id": "a", "segments": ["vip"]}])
    write(store, [{"id": "a", "segments": []}])

    assert store.members(SegmentRef("vip"), as_of=AS_OF) == []


def test_store_last_duplicate_wins(store: SqlProfileStore) -> None:
    count = write(store, [{"id": "a", "city": "Huế"}, {"id": "a", "city": "Hà Nội"}])

    assert count == 1
    assert store.members(Comparison("city", "eq", "Hà Nội"), as_of=AS_OF) == ["a"]


def test_store_batches_profiles(tmp_path: Path) -> None:
    store = SqlProfileStore(f"sqlite:///{tmp_path / 'batches.db'}", case_registry(), batch_size=7)
    store.create_schema()

    written = store.write_profiles({"id": f"p{index:03d}", "total_purchase": index} for index in range(100))

    assert written == 100
    assert len(store.members(Comparison("total_purchase", "gte", 50), as_of=AS_OF)) == 50


def test_set_memberships_replaces_members(store: SqlProfileStore) -> None:
    write(store, [{"id": "a"}, {"id": "b"}, {"id": "c"}])
    store.set_memberships("vip", ["a", "b"])
    store.set_memberships("vip", ["c", "c"])

    assert store.members(SegmentRef("vip"), as_of=AS_OF) == ["c"]


def test_members_of_segment_document(store: SqlProfileStore) -> None:
    write(store, [{"id": "a", "city": "Hà Nội"}, {"id": "b", "city": "Huế"}])
    segment = Segment("hanoi", "Hà Nội", Comparison("city", "eq", "ha noi", options=TextOptions(True, True)))

    assert store.members(segment, as_of=AS_OF) == ["a"]
