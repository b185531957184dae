"""Benchmark: how many rules per second each stage of segmento reads or compiles.

Generates a few hundred realistic rules (seeded): field tests of every family, event
counts and sums over windows, segment references, groups nested up to 3 deep. Each rule
exists as DSL text and as canonical JSON text. The stages timed over the whole set:

- ``json.loads`` of the JSON texts, the baseline every other stage is compared with;
- JSON load + validate (``jsonform.load_segment`` + ``validation.validate_segment``),
  and the validation alone on the loaded segments;
- DSL parse (``dsl.parser.parse_segment``);
- memory compile (``evaluator.compile_predicate``);
- SQL compile and render to text for SQLite, MySQL and PostgreSQL
  (``plugins.sql.compile_segment`` + ``render_query``).

    .venv/bin/python benchmarks/bench_compile.py [--rules N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from segmento.engine.ast import Segment, depth, leaf_count
from segmento.engine.dsl.formatter import format_segment
from segmento.engine.dsl.parser import parse_segment
from segmento.engine.evaluator import compile_predicate
from segmento.engine.jsonform import dumps_segment, load_segment
from segmento.engine.registry import get_registry
from segmento.engine.validation import validate_segment
from segmento.plugins.sql import ProfileModel, compile_segment, render_query

from machine import describe_command, describe_machine
from timing import best_time

AS_OF = datetime(2024, 5, 1, tzinfo=UTC)
CITIES = ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế")
CATEGORIES = ("fashion", "beauty", "electronics.smartphone", "home.kitchen", "sports", "books")
EVENTS = ("page_view", "product_view", "add_to_cart", "purchase", "search")


def _names(generator: random.Random, choices: Sequence[str], low: int, high: int) -> str:
    return ", ".join(f'"{name}"' for name in generator.sample(list(choices), generator.randint(low, high)))


def _products(generator: random.Random) -> str:
    # A repeated id is dropped, because validation rejects a key listed twice.
    ids = [str(generator.randint(1000, 9999)) for _ in range(generator.randint(1, 5))]
    return ", ".join(dict.fromkeys(ids))


LEAVES: tuple[Callable[[random.Random], str], ...] = (
    lambda g: f"total_purchase_value >= {g.randint(1, 100) * 100_000}",
    lambda g: f"total_purchase between {g.randint(1, 5)} and {g.randint(6, 50)}",
    lambda g: f"avg_purchase_value < {g.randint(1, 30)}00000.50",
    lambda g: f'city = "{g.choice(CITIES)}" ignoring case, accents',
    lambda g: f"city in [{_names(g, CITIES, 2, 4)}]",
    lambda g: 'country != "Việt Nam"',
    lambda g: f'gender = "{g.choice(("female", "male"))}"',
    lambda g: f"status in [{_names(g, ('new', 'active', 'at_risk', 'lapsed'), 1, 3)}]",
    lambda g: f"age between {g.randint(18, 30)} and {g.randint(31, 65)}",
    lambda g: f"birthday in next {g.randint(1, 60)} days",
    lambda g: f"last_purchase_at in last {g.randint(1, 90)} days",
    lambda g: f"signed_up_at in {g.choice(('this month', 'last month', 'this year'))}",
    lambda g: f"long_term_interests contains any [{_names(g, CATEGORIES, 1, 3)}]",
    lambda g: f'short_term_interests["{g.choice(CATEGORIES)}"] <= {g.randint(1, 4)}',
    lambda g: f"product_views[{_products(g)}] >= {g.randint(1, 10)}",
    lambda g: 'favorite_category starts with "home"',
    lambda g: 'name contains "Nguyễn" ignoring accents',
    lambda g: f"count({g.choice(EVENTS)}) >= {g.randint(1, 5)} in last {g.randint(1, 30)} days",
    lambda g: f'count(purchase of categories ["{g.choice(CATEGORIES)}"]) >= 1 in this year',
    lambda g: f"sum(purchase.value) > {g.randint(1, 50)}_000_000 in last {g.randint(7, 90)} days",
    lambda g: f"count(add_to_cart of products [{_products(g)}]) >= 1 in last {g.randint(1, 14)} days",
    lambda g: f"{g.choice(('', 'not '))}in segment {g.choice(('blocked_customers', 'vip_hanoi', 'newsletter'))}",
)


def generate_condition(generator: random.Random, depth: int, indent: str) -> list[str]:
    """Return the DSL lines of a random condition: a leaf, or a group nested at most ``depth`` more levels."""
    if depth == 0 or generator.random() < 0.35:
        return [indent + generator.choice(LEAVES)(generator)]
    kind = generator.choices(("all", "any", "none"), weights=(6, 3, 1))[0]
    lines = [f"{indent}{kind} {{"]
    for _ in range(generator.randint(2, 5)):
        lines.extend(generate_condition(generator, depth - 1, indent + "  "))
    lines.append(indent + "}")
    return lines


def generate_rules(count: int, seed: int) -> list[Segment]:
    """Return ``count`` valid segments, parsed from generated DSL text."""
    generator = random.Random(seed)
    registry = get_registry()
    segments = []
    for number in range(count):
        condition = generate_condition(generator, 3, "")
        text = "\n".join([f'segment rule_{number} "Rule {number}"', *condition]) + "\n"
        segment = parse_segment(text)
        validate_segment(segment, registry)
        segments.append(segment)
    return segments


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=300, help="number of generated rules")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per stage, of which the best counts")
    parser.add_argument("--seed", type=int, default=20240501)
    arguments = parser.parse_args(argv)

    registry = get_registry()
    segments = generate_rules(arguments.rules, arguments.seed)
    json_texts = [dumps_segment(segment) for segment in segments]
    dsl_texts = [format_segment(segment) for segment in segments]
    model = ProfileModel(registry)
    leaves = sum(leaf_count(segment) for segment in segments) / len(segments)
    deepest = max(depth(segment) for segment in segments)

    def sql_stage(dialect: str) -> Callable[[], object]:
        return lambda: [
            render_query(compile_segment(segment, model, dialect=dialect, as_of=AS_OF, registry=registry), dialect)
            for segment in segments
        ]

    stages: list[tuple[str, Callable[[], object]]] = [
        ("json.loads (baseline)", lambda: [json.loads(text) for text in json_texts]),
        ("JSON load + validate", lambda: [validate_segment(load_segment(text), registry) for text in json_texts]),
        ("validate only", lambda: [validate_segment(segment, registry) for segment in segments]),
        ("DSL parse", lambda: [parse_segment(text) for text in dsl_texts]),
        ("memory compile", lambda: [compile_predicate(segment, registry, as_of=AS_OF) for segment in segments]),
        ("SQL sqlite", sql_stage("sqlite")),
        ("SQL mysql", sql_stage("mysql")),
        ("SQL postgresql", sql_stage("postgresql")),
    ]

    print(f"command:  {describe_command()}")
    print(f"machine:  {describe_machine()}")
    print(f"versions: SQLAlchemy {sa.__version__}")
    print(
        f"rules:    {len(segments)} generated with seed {arguments.seed}, {leaves:.1f} conditions per rule "
        f"on average, groups up to {deepest} deep; best of {arguments.repeat} runs"
    )
    print()
    print(f"{'stage':<22} {'rules/s':>10} {'µs/rule':>9} {'x baseline time':>16}")
    baseline = 0.0
    for name, run in stages:
        run()  # warm caches (grammar, schema validator, SQLAlchemy dialects) outside the timing
        seconds = best_time(run, arguments.repeat)
        baseline = baseline or seconds
        print(
            f"{name:<22} {len(segments) / seconds:>10,.0f} {seconds / len(segments) * 1e6:>9.1f} "
            f"{seconds / baseline:>15.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
