"""Which fields each rule reads, and which segments a run evaluates again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from segmento.engine.dependencies import (
    ALL_FIELDS,
    EVENTS,
    Dependencies,
    LastEvaluation,
    plan_evaluation,
    rule_dependencies,
    segment_dependencies,
)
from segmento.engine.dsl.parser import parse_segments
from segmento.engine.registry import get_registry

RULES = '''
segment big_spenders "Big spenders"
total_purchase_value >= 1000

segment hanoi "Hà Nội"
city = "ha noi" ignoring case, accents

segment big_in_hanoi "Big spenders in Hà Nội"
all {
  in segment big_spenders
  in segment hanoi
}

segment recent "Bought recently"
last_purchase_at in last 30 days

segment adults "Adults"
age >= 18

segment carts "Cart in the last week"
count(add_to_cart) >= 1 in last 7 days

segment recent_big "Recent big spenders"
all {
  in segment big_in_hanoi
  not in segment recent
}

segment birthdays "Birthdays this month"
birthday in next 30 days
'''

AS_OF = datetime(2011, 12, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def dependencies() -> dict[str, Dependencies]:
    registry = get_registry()
    return segment_dependencies(parse_segments(RULES), registry.catalog, registry.operators)


def test_fields_of_plain_rules(dependencies: dict[str, Dependencies]) -> None:
    assert dependencies["big_spenders"] == Dependencies(frozenset({"total_purchase_value"}), frozenset(), False)
    assert dependencies["hanoi"].fields == {"city"}
    assert not dependencies["hanoi"].reads_clock


def test_references_are_followed_transitively(dependencies: dict[str, Dependencies]) -> None:
    assert dependencies["big_in_hanoi"].fields == {"total_purchase_value", "city"}
    assert dependencies["big_in_hanoi"].segments == {"big_spenders", "hanoi"}
    assert dependencies["recent_big"].fields == {"total_purchase_value", "city", "last_purchase_at"}
    assert dependencies["recent_big"].segments == {"big_in_hanoi", "big_spenders", "hanoi", "recent"}
    assert dependencies["recent_big"].reads_clock


@pytest.mark.parametrize(
    ("segment_id", "fields"),
    [
        ("recent", {"last_purchase_at"}),
        ("adults", {"birthday"}),
        ("carts", {EVENTS}),
        ("birthdays", {"birthday"}),
    ],
)
def test_time_rules_read_the_clock(dependencies: dict[str, Dependencies], segment_id: str, fields: set[str]) -> None:
    assert dependencies[segment_id].fields == fields
    assert dependencies[segment_id].reads_clock


def test_unknown_operator_reads_the_clock() -> None:
    registry = get_registry()
    segment = parse_segments('segment a "A"\ntotal_purchase_value >= 1\n')[0]
    operators = {name: spec for name, spec in registry.operators.items() if name != "gte"}
    assert rule_dependencies(segment, registry.catalog, operators).reads_clock


def _plan(dependencies: dict[str, Dependencies], changed: set[str], *, as_of: datetime = AS_OF, timezone: str = "UTC"):
    segments = parse_segments(RULES)
    hashes = {segment.id: "hash" for segment in segments}
    last = {segment.id: LastEvaluation("hash", AS_OF, "UTC") for segment in segments}
    return plan_evaluation(segments, dependencies, hashes, last, changed, as_of=as_of, timezone=timezone)


def test_plan_evaluates_readers_of_changed_fields(dependencies: dict[str, Dependencies]) -> None:
    plan = _plan(dependencies, {"total_purchase_value"})
    assert plan.evaluate == {
        "big_spenders": ["fields_changed"],
        "big_in_hanoi": ["fields_changed", "reference_evaluated"],
        "recent_big": ["fields_changed", "reference_evaluated"],
    }
    assert plan.skip == ["hanoi", "recent", "adults", "carts", "birthdays"]


def test_plan_follows_references_of_changed_segments(dependencies: dict[str, Dependencies]) -> None:
    segments = parse_segments(RULES)
    hashes = {segment.id: "hash" for segment in segments}
    last = {segment.id: LastEvaluation("hash", AS_OF, "UTC") for segment in segments}
    hashes["hanoi"] = "edited"
    plan = plan_evaluation(segments, dependencies, hashes, last, set(), as_of=AS_OF, timezone="UTC")
    assert plan.evaluate == {
        "hanoi": ["rule_changed"],
        "big_in_hanoi": ["reference_evaluated"],
        "recent_big": ["reference_evaluated"],
    }


def test_plan_evaluates_clock_rules_when_time_moves(dependencies: dict[str, Dependencies]) -> None:
    plan = _plan(dependencies, set(), as_of=datetime(2011, 12, 11, tzinfo=UTC))
    assert set(plan.evaluate) == {"recent", "adults", "carts", "birthdays", "recent_big"}
    assert plan.evaluate["recent_big"] == ["clock_moved", "reference_evaluated"]
    assert set(plan.skip) == {"big_spenders", "hanoi", "big_in_hanoi"}


def test_plan_with_nothing_changed_skips_all(dependencies: dict[str, Dependencies]) -> None:
    plan = _plan(dependencies, set())
    assert plan.evaluate == {}
    assert len(plan.skip) == 8


def test_plan_evaluates_all_on_unknown_changes(dependencies: dict[str, Dependencies]) -> None:
    plan = _plan(dependencies, {ALL_FIELDS})
    assert plan.skip == []
    assert plan.evaluate["hanoi"] == ["fields_changed"]


def test_plan_evaluates_all_on_new_timezone(dependencies: dict[str, Dependencies]) -> None:
    plan = _plan(dependencies, set(), timezone="Asia/Ho_Chi_Minh")
    assert plan.skip == []
    assert plan.evaluate["big_spenders"] == ["timezone_changed"]


def test_plan_evaluates_new_segments(dependencies: dict[str, Dependencies]) -> None:
    segments = parse_segments(RULES)
    hashes = {segment.id: "hash" for segment in segments}
    plan = plan_evaluation(segments, dependencies, hashes, {}, set(), as_of=AS_OF, timezone="UTC")
    assert plan.evaluate["hanoi"] == ["new"]
    assert plan.skip == []
