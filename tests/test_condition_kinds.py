"""The ``segmento_condition_kinds`` hook: a plugin adds a kind of leaf condition without editing segmento."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.ast import Group, Node, Segment
from segmento.engine.condition_kinds import ConditionKind
from segmento.engine.dsl.formatter import format_segment
from segmento.engine.dsl.parser import parse_segment
from segmento.engine.errors import (
    Location,
    PluginError,
    RuleSchemaError,
    RuleSemanticError,
    RuleSyntaxError,
    UnsupportedError,
)
from segmento.engine.evaluator import MemoryCompiler, select
from segmento.engine.hookspecs import hookimpl
from segmento.engine.jsonform import dump_segment, load_segment
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import Registry, build_registry, make_plugin_manager
from segmento.engine.validation import segment_problems
from segmento.plugins.sql.compiler import SqlCompiler
from segmento.plugins.sql.model import ProfileModel

AS_OF = datetime(2024, 3, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BusyNode(Node):
    """At least ``events`` events of any kind."""

    events: int


def busy_problems(node: Node, registry: Registry) -> Sequence[RuleSemanticError]:
    if isinstance(node, BusyNode) and node.events > 1000:
        return [RuleSemanticError("too many events", location=node.loc, value=node.events, code="busy_limit")]
    return ()


def busy_kind(name: str = "busy", key: str = "busy") -> ConditionKind:
    return ConditionKind(
        name=name,
        key=key,
        node=BusyNode,
        from_json=lambda value, location: BusyNode(int(value["events"]), loc=location),
        to_json=lambda node: {"events": node.events},  # type: ignore[attr-defined]
        schema={
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "integer", "minimum": 1}},
            "additionalProperties": False,
        },
        validate=busy_problems,
    )


def busy_in_memory(compiler: MemoryCompiler, node: BusyNode) -> Callable[[Mapping[str, Any]], bool]:
    return lambda profile: len(profile.get("events") or ()) >= node.events


def busy_in_sql(compiler: SqlCompiler, node: BusyNode) -> Any:
    events = compiler.model.events
    count = sa.select(sa.func.count()).where(events.c.profile_id == compiler.model.profiles.c.id).scalar_subquery()
    return count >= node.events


class BusyPlugin:
    def __init__(self, kind: ConditionKind, targets: Sequence[str] = ("memory", "sql")) -> None:
        self.kind = kind
        self.targets = targets

    @hookimpl
    def segmento_condition_kinds(self) -> Sequence[ConditionKind]:
        return (self.kind,)

    @hookimpl
    def segmento_condition_implementations(self, target: str) -> Mapping[str, Any] | None:
        table = {"memory": busy_in_memory, "sql": busy_in_sql}
        if target in self.targets:
            return {self.kind.name: table[target]}
        return None


def registry_with(*plugins: object) -> Registry:
    return build_registry(make_plugin_manager(list(plugins), load_entry_points=False))


PROFILES = (
    {"id": "quiet", "events": [{"kind": "product_view", "time": "2024-02-01T00:00:00Z"}]},
    {
        "id": "busy",
        "events": [
            {"kind": "product_view", "time": "2024-02-01T00:00:00Z"},
            {"kind": "add_to_cart", "time": "2024-02-02T00:00:00Z"},
        ],
    },
)

DOCUMENT = {"id": "busy_people", "name": "Busy", "condition": {"all": [{"busy": {"events": 2}}]}}


def test_plugin_kind_runs_end_to_end() -> None:
    registry = registry_with(BusyPlugin(busy_kind()))
    segment = load_segment(DOCUMENT, registry=registry)
    assert segment.condition == Group("all", (BusyNode(2),))
    assert dump_segment(segment) == DOCUMENT

    text = format_segment(segment)
    assert 'use busy {"events": 2}' in text
    assert parse_segment(text, registry=registry) == segment
    assert segment_problems(segment, registry) == []

    profiles = [coerce_profile(raw, registry) for raw in PROFILES]
    assert select(segment, profiles, registry, as_of=AS_OF) == ["busy"]

    store = SqlProfileStore(sa.create_engine("sqlite://"), registry)
    store.create_schema()
    store.write_profiles(PROFILES)
    assert sorted(store.members(segment, as_of=AS_OF)) == ["busy"]


def test_plugin_kind_value_is_checked_by_its_schema() -> None:
    registry = registry_with(BusyPlugin(busy_kind()))
    with pytest.raises(RuleSchemaError) as caught:
        load_segment({**DOCUMENT, "condition": {"busy": {"events": 0}}}, registry=registry)
    assert caught.value.location.pointer == "/condition/busy/events"


def test_plugin_kind_validation_problems_are_reported() -> None:
    registry = registry_with(BusyPlugin(busy_kind()))
    segment = Segment("s", "s", BusyNode(5000, loc=Location(pointer="/condition")))
    problems = segment_problems(segment, registry)
    assert [(problem.code, problem.location.pointer) for problem in problems] == [("busy_limit", "/condition")]


def test_kind_unknown_to_the_registry_is_not_loaded() -> None:
    registry = registry_with()
    with pytest.raises(RuleSchemaError, match='needs one of the keys'):
        load_segment(DOCUMENT, registry=registry)


def test_target_without_implementation_names_location_kind_and_target() -> None:
    registry = registry_with(BusyPlugin(busy_kind(), targets=("memory",)))
    segment = load_segment(DOCUMENT, registry=registry)
    with pytest.raises(UnsupportedError) as caught:
        SqlCompiler(ProfileModel(registry), registry, as_of=AS_OF).compile(segment)
    assert "condition kind 'busy'" in caught.value.message
    assert "target 'sql'" in caught.value.message
    assert caught.value.location.pointer == "/condition/all/0"


def test_two_plugins_with_one_kind_name_fail_naming_both() -> None:
    first, second = BusyPlugin(busy_kind()), BusyPlugin(busy_kind(key="busy_too"))
    manager = make_plugin_manager([first, second], load_entry_points=False)
    with pytest.raises(PluginError) as caught:
        build_registry(manager)
    message = str(caught.value)
    assert "condition kind 'busy'" in message
    assert manager.get_name(first) in message and manager.get_name(second) in message


def test_two_plugins_with_one_json_key_fail_naming_both() -> None:
    manager = make_plugin_manager(
        [BusyPlugin(busy_kind()), BusyPlugin(busy_kind(name="busy_too"))], load_entry_points=False
    )
    with pytest.raises(PluginError, match="condition key 'busy' is registered by both"):
        build_registry(manager)


def test_kind_may_not_take_a_key_of_the_rule_form() -> None:
    with pytest.raises(PluginError, match="key 'field', which the rule form uses"):
        registry_with(BusyPlugin(busy_kind(key="field")))


def test_unknown_kind_in_dsl_suggests_the_nearest() -> None:
    registry = registry_with(BusyPlugin(busy_kind()))
    with pytest.raises(RuleSyntaxError) as caught:
        parse_segment('segment s "S"\nuse bussy {"events": 2}\n', registry=registry)
    assert caught.value.message == 'unknown condition kind "bussy"'
    assert caught.value.hint == 'Did you mean "busy"?'
    assert (caught.value.location.line, caught.value.location.column) == (2, 1)
