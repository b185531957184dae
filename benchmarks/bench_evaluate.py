"""Benchmark: in-memory evaluation with segmento's compiled predicate against JsonLogic.

Generates profiles (100,000 by default, seeded), then for each rule selects the matching
ids twice: with ``evaluator.compile_predicate`` on coerced profiles, and with the
interpreting JsonLogic evaluator of ``panzi-json-logic`` on the same profiles as parsed
JSON. Each rule's JsonLogic form is written by hand below, and the script checks that
both select the same ids before it times anything. Coercion and JSON parsing are done once,
before timing, and are not counted for either side.

    .venv/bin/pip install panzi-json-logic==1.0.1
    .venv/bin/python benchmarks/bench_evaluate.py [--profiles N] [--repeat R]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from segmento.engine.dsl.parser import parse_segment
from segmento.engine.evaluator import compile_predicate
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import get_registry
from segmento.engine.validation import validate_segment

from machine import describe_command, describe_machine
from timing import best_time

AS_OF = datetime(2024, 5, 1, tzinfo=UTC)
CITIES = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế", "Nha Trang", "Vinh", None)
STATUSES = ("new", "active", "at_risk", "lapsed", None)
GENDERS = ("female", "male", "other", None)
CATEGORIES = ("fashion", "beauty", "electronics", "home", "sports", "books", "toys", "food")
PRODUCTS = tuple(str(1000 + number) for number in range(60))


@dataclass(frozen=True)
class Case:
    """A rule in the DSL and the same rule in JsonLogic."""

    name: str
    dsl: str
    json_logic: dict[str, Any]


CASES: tuple[Case, ...] = (
    Case(
        "simple numeric",
        'segment big "Big spenders"\ntotal_purchase_value >= 5_000_000\n',
        {">=": [{"var": "total_purchase_value"}, 5000000]},
    ),
    Case(
        "string in list",
        'segment north "North"\ncity in ["Hà Nội", "Hải Phòng", "Vinh"]\n',
        {"in": [{"var": "city"}, ["Hà Nội", "Hải Phòng", "Vinh"]]},
    ),
    Case(
        "keyed sum",
        'segment viewers "Viewers"\nproduct_views[1001, 1002, 1003, 1004] >= 5\n',
        {
            ">=": [
                {"+": [{"var": [f"product_views.{key}", 0]} for key in ("1001", "1002", "1003", "1004")]},
                5,
            ]
        },
    ),
    Case(
        "nested any/all",
        """\
segment nested "Nested"
all {
  total_purchase >= 2
  any {
    city = "Hà Nội"
    all {
      gender = "female"
      total_purchase_value between 1_000_000 and 20_000_000
    }
    short_term_interests contains any ["fashion", "beauty"]
  }
  none { status = "lapsed" }
}
""",
        {
            "and": [
                {">=": [{"var": "total_purchase"}, 2]},
                {
                    "or": [
                        {"==": [{"var": "city"}, "Hà Nội"]},
                        {
                            "and": [
                                {"==": [{"var": "gender"}, "female"]},
                                {"<=": [1000000, {"var": "total_purchase_value"}, 20000000]},
                            ]
                        },
                        {"some": [{"var": "short_term_interests"}, {"in": [{"var": ""}, ["fashion", "beauty"]]}]},
                    ]
                },
                {"!": {"==": [{"var": "status"}, "lapsed"]}},
            ]
        },
    ),
)


def generate_profiles(count: int, seed: int) -> list[dict[str, Any]]:
    """Return ``count`` profiles in their JSON form: numbers are floats and ints, as ``json.loads`` gives."""
    generator = random.Random(seed)
    profiles = []
    for number in range(count):
        profile: dict[str, Any] = {"id": str(number)}
        city = generator.choice(CITIES)
        if city is not None:
            profile["city"] = city
        for key, choices in (("status", STATUSES), ("gender", GENDERS)):
            value = generator.choice(choices)
            if value is not None:
                profile[key] = value
        if generator.random() < 0.9:
            orders = generator.randint(0, 30)
            profile["total_purchase"] = orders
            profile["total_purchase_value"] = round(orders * generator.uniform(50_000, 1_500_000), 2)
        views = generator.sample(PRODUCTS[:8], generator.randint(0, 4)) + generator.sample(PRODUCTS, 3)
        profile["product_views"] = {key: generator.randint(1, 4) for key in views}
        profile["short_term_interests"] = generator.sample(CATEGORIES, generator.randint(0, 4))
        profiles.append(profile)
    return profiles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=100_000, help="number of generated profiles")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per rule and evaluator, of which the best counts")
    parser.add_argument("--seed", type=int, default=20240501)
    arguments = parser.parse_args(argv)
    try:
        from json_logic import jsonLogic
        from json_logic.builtins import to_bool
    except ImportError:
        print("panzi-json-logic is not installed: .venv/bin/pip install panzi-json-logic==1.0.1", file=sys.stderr)
        return 2

    registry = get_registry()
    raw_profiles = generate_profiles(arguments.profiles, arguments.seed)
    profiles = [coerce_profile(profile, registry) for profile in raw_profiles]

    print(f"command:  {describe_command()}")
    print(f"machine:  {describe_machine()}")
    print(f"profiles: {len(profiles):,} generated with seed {arguments.seed}; best of {arguments.repeat} runs")
    print()
    print(f"{'rule':<16} {'matches':>8} {'segmento s':>11} {'JsonLogic s':>12} {'segmento p/s':>13} {'JsonLogic p/s':>14} {'ratio':>7}")

    ratios = []
    for case in CASES:
        segment = parse_segment(case.dsl)
        validate_segment(segment, registry)
        predicate = compile_predicate(segment, registry, as_of=AS_OF)
        logic = case.json_logic

        def run_segmento() -> list[str]:
            return [profile["id"] for profile in profiles if predicate(profile)]

        def run_json_logic() -> list[str]:
            return [profile["id"] for profile in raw_profiles if to_bool(jsonLogic(logic, profile))]

        selected = run_segmento()
        expected = run_json_logic()
        if selected != expected:
            differing = sorted(set(selected) ^ set(expected))[:10]
            print(f"{case.name}: the evaluators disagree, for example on profiles {differing}", file=sys.stderr)
            return 1
        compiled_seconds = best_time(run_segmento, arguments.repeat)
        interpreted_seconds = best_time(run_json_logic, arguments.repeat)
        ratio = interpreted_seconds / compiled_seconds
        ratios.append(ratio)
        print(
            f"{case.name:<16} {len(selected):>8,} {compiled_seconds:>11.4f} {interpreted_seconds:>12.4f} "
            f"{len(profiles) / compiled_seconds:>13,.0f} {len(profiles) / interpreted_seconds:>14,.0f} {ratio:>6.1f}x"
        )

    geometric_mean = math.exp(sum(math.log(ratio) for ratio in ratios) / len(ratios))
    print()
    print("p/s = profiles evaluated per second, ratio = JsonLogic time / segmento time")
    print(f"geometric mean of the ratios: {geometric_mean:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
