"""Benchmark: segments compiled by segmento's SQL compiler against hand-written SQL, on MariaDB.

Generates profiles (default 1,000,000) in segmento's profile tables in a new MariaDB
database, with interests, product views and events. Then it runs each of a set of
realistic segments in two forms, alternating: the query from
``segmento.plugins.sql.compile_segment``, and a hand-written query for the same
members, on the same tables, indexes and connection. It checks that both select the same members and prints, per segment, the
median times, their ratio (the target is at most 1.2) and the EXPLAIN plans of both,
with the machine and the command. The database is dropped at the end unless --keep.

    .venv/bin/python benchmarks/bench_mariadb_segments.py [--profiles 1000000] [--rounds 5]
        [--keep | --database NAME] [--only SEGMENT,...]

The rows are written with ``LOAD DATA LOCAL INFILE`` from generated tab-separated files,
so the server must allow ``local_infile`` (MariaDB's default).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.engine.dsl.parser import parse_segment
from segmento.engine.text import prepared_forms
from segmento.plugins.sql.compiler import compile_segment
from segmento.plugins.sql.model import ProfileModel

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
ZONE = "Asia/Ho_Chi_Minh"
CITIES = (
    ("Hồ Chí Minh", 30), ("Hà Nội", 25), ("Đà Nẵng", 8), ("Hải Phòng", 6), ("Cần Thơ", 5), ("Biên Hòa", 4),
    ("Nha Trang", 3), ("Huế", 3), ("Vũng Tàu", 3), ("Đà Lạt", 2), ("Quy Nhơn", 2), ("Vinh", 2), (None, 7),
)  # fmt: skip
CATEGORIES = (
    "home.kitchen", "home.decor", "toys", "electronics.smartphone", "electronics.audio", "fashion.shoes",
    "fashion.bags", "beauty", "books", "sports.running", "garden", "stationery",
)  # fmt: skip
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hùng", "Lan", "Linh", "Nam", "Phúc", "Thảo", "Trang", "Việt")
EVENT_KINDS = ("product_view", "product_view", "product_view", "add_to_cart", "purchase")


@dataclass(frozen=True)
class Case:
    """A segment rule in the DSL and hand-written SQL that selects the same member ids."""

    rule: str
    sql: str
    parameters: dict[str, Any]




def window(days: int) -> dict[str, datetime]:
    """Return the bounds of ``in last N days`` as the naive UTC times the tables store."""
    end = AS_OF.replace(tzinfo=None)
    return {"start": end - timedelta(days=days), "as_of": end}


CASES = (
    Case(
        'segment vip_hanoi "VIP Hà Nội"\nall {\n  total_purchase_value >= 5_000_000\n  city = "ha noi" ignoring case, accents\n}',
        "SELECT id FROM profiles WHERE total_purchase_value >= :value AND city_ci_ai = :city",
        {"value": 5_000_000, "city": "ha noi"},
    ),
    Case(
        'segment outside_hcm "Outside Hồ Chí Minh"\ncity != "Hồ Chí Minh"',
        "SELECT id FROM profiles WHERE city IS NULL OR city <> :city",
        {"city": "Hồ Chí Minh"},
    ),
    Case(
        'segment lapsed_regulars "Lapsed regulars"\nall {\n  status = "lapsed"\n  total_purchase >= 5\n}',
        "SELECT id FROM profiles WHERE status = 'lapsed' AND total_purchase >= 5",
        {},
    ),
    Case(
        'segment recent_buyers "Bought in the last 30 days"\nlast_purchase_at in last 30 days',
        "SELECT id FROM profiles WHERE last_purchase_at > :start AND last_purchase_at <= :as_of",
        window(30),
    ),
    Case(
        'segment adults "Aged 25 to 40"\nage between 25 and 40',
        "SELECT id FROM profiles WHERE birthday > :born_after AND birthday <= :born_by",
        {"born_after": date(1983, 6, 1), "born_by": date(1999, 6, 1)},
    ),
    Case(
        'segment birthdays "Birthday in the next 30 days"\nbirthday in next 30 days',
        "SELECT id FROM profiles WHERE DATE_FORMAT(birthday, '%m%d') BETWEEN '0601' AND '0701'",
        {},
    ),
    Case(
        'segment kitchen_fans "Kitchen or toys"\nlong_term_interests contains any ["home.kitchen", "toys"]',
        "SELECT DISTINCT profile_id FROM profile_long_term_interests WHERE `key` IN ('home.kitchen', 'toys')",
        {},
    ),
    Case(
        'segment phone_now "Short-term smartphone interest"\nshort_term_interests contains any ["electronics.smartphone"]',
        "SELECT profile_id FROM profile_short_term_interests WHERE `key` = 'electronics.smartphone'",
        {},
    ),
    Case(
        'segment top_viewers "Viewed P1 or P2 three times"\nproduct_views["P1", "P2"] >= 3',
        "SELECT profile_id FROM profile_product_views WHERE `key` IN ('P1', 'P2') GROUP BY profile_id HAVING SUM(value) >= 3",
        {},
    ),
    Case(
        'segment cart_week "Cart in the last 7 days"\ncount(add_to_cart) >= 1 in last 7 days',
        "SELECT DISTINCT profile_id FROM events WHERE kind = 'add_to_cart' AND time > :start AND time <= :as_of",
        window(7),
    ),
    Case(
        'segment kitchen_carts "Kitchen interest and a cart in 30 days"\nall {\n'
        '  long_term_interests contains any ["home.kitchen"]\n  count(add_to_cart) >= 1 in last 30 days\n}',
        "SELECT DISTINCT l.profile_id FROM profile_long_term_interests l WHERE l.`key` = 'home.kitchen'"
        " AND EXISTS (SELECT 1 FROM events e WHERE e.profile_id = l.profile_id AND e.kind = 'add_to_cart'"
        " AND e.time > :start AND e.time <= :as_of)",
        window(30),
    ),
    Case(
        'segment phone_or_cart "Smartphone interest or a cart in 7 days"\nany {\n'
        '  short_term_interests contains any ["electronics.smartphone"]\n  count(add_to_cart) >= 1 in last 7 days\n}',
        "SELECT profile_id FROM profile_short_term_interests WHERE `key` = 'electronics.smartphone'"
        " UNION SELECT profile_id FROM events WHERE kind = 'add_to_cart' AND time > :start AND time <= :as_of",
        window(7),
    ),
    Case(
        'segment women_beauty "Women with a beauty interest"\nall {\n'
        '  gender = "female"\n  long_term_interests contains any ["beauty"]\n}',
        "SELECT p.id FROM profiles p WHERE p.gender = 'female'"
        " AND EXISTS (SELECT 1 FROM profile_long_term_interests l WHERE l.profile_id = p.id AND l.`key` = 'beauty')",
        {},
    ),
    Case(
        'segment no_cart "No cart in 30 days"\nnone {\n  count(add_to_cart) >= 1 in last 30 days\n}',
        "SELECT p.id FROM profiles p WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.profile_id = p.id"
        " AND e.kind = 'add_to_cart' AND e.time > :start AND e.time <= :as_of)",
        window(30),
    ),
    Case(
        'segment hcm_kitchen_carts "HCM kitchen spenders with a recent cart"\nall {\n'
        '  total_purchase_value >= 2_000_000\n  city = "ho chi minh" ignoring case, accents\n'
        '  long_term_interests contains any ["home.kitchen"]\n  count(add_to_cart) >= 1 in last 30 days\n}',
        "SELECT p.id FROM profiles p WHERE p.total_purchase_value >= :value AND p.city_ci_ai = :city"
        " AND EXISTS (SELECT 1 FROM profile_long_term_interests l WHERE l.profile_id = p.id AND l.`key` = 'home.kitchen')"
        " AND EXISTS (SELECT 1 FROM events e WHERE e.profile_id = p.id AND e.kind = 'add_to_cart'"
        " AND e.time > :start AND e.time <= :as_of)",
        {"value": 2_000_000, "city": "ho chi minh", **window(30)},
    ),
)

EXTRA_INDEXES = (
    ("ix_profiles_total_purchase_value", "profiles", ("total_purchase_value",)),
    ("ix_profiles_last_purchase_at", "profiles", ("last_purchase_at",)),
    ("ix_profiles_birthday", "profiles", ("birthday",)),
)
"""Indexes on non-text profile columns that both kinds of query may use."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="number of generated profiles (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each query; the median is printed")
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4", help="MariaDB server URL")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--database", help="run on this database, kept by an earlier --keep run, instead of loading a new one")
    parser.add_argument("--only", help="comma-separated segment ids to run (default: all)")
    arguments = parser.parse_args()
    cases = _selected_cases(arguments.only)

    print(f"command: {' '.join(shlex.quote(item) for item in [sys.executable, *sys.argv])}")
    print(f"machine: nproc={os.cpu_count()}, CPU {_cpu_model()}, Python {platform.python_version()}, SQLAlchemy {sa.__version__}")
    server = sa.create_engine(arguments.server, poolclass=NullPool)
    name = arguments.database or f"segmento_bench_{uuid.uuid4().hex[:8]}"
    with server.begin() as connection:
        print(f"server: MariaDB {connection.exec_driver_sql('SELECT VERSION()').scalar()}, "
              f"innodb_buffer_pool_size={int(connection.exec_driver_sql('SELECT @@innodb_buffer_pool_size').scalar()) // 2**20} MiB")  # fmt: skip
        if not arguments.database:
            connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    engine = sa.create_engine(server.url.set(database=name), poolclass=NullPool, connect_args={"local_infile": True})
    model = ProfileModel()
    if arguments.database:
        print(f"database: {name}, loaded by an earlier run")
        run_cases(engine, model, arguments.rounds, cases)
        engine.dispose()
        return
    try:
        model.metadata.create_all(engine)
        started = time.perf_counter()
        counts = load_profiles(engine, model, arguments.profiles, random.Random(arguments.seed))
        with engine.begin() as connection:
            for index, table, columns in EXTRA_INDEXES:
                connection.execute(sa.schema.CreateIndex(sa.Index(index, *(model.profiles.c[column] for column in columns))))
            for table in model.tables():
                connection.exec_driver_sql(f"ANALYZE TABLE {table.name}").all()
        print(f"loaded {', '.join(f'{table} {rows:,}' for table, rows in counts.items())} in {time.perf_counter() - started:.0f} s")
        print(f"indexes: primary keys, events (profile_id, kind, time), and {', '.join(item[0] for item in EXTRA_INDEXES)}")
        run_cases(engine, model, arguments.rounds, cases)
        if arguments.keep:
            print(f"kept database {name}; rerun with --database {name}")
    finally:
        engine.dispose()
        if not arguments.keep:
            with server.begin() as connection:
                connection.exec_driver_sql(f"DROP DATABASE {name}")
        server.dispose()


# --- data ------------------------------------------------------------------------------------


def load_profiles(engine: sa.Engine, model: ProfileModel, count: int, generator: random.Random) -> dict[str, int]:
    """Write ``count`` generated profiles with their members and events; return rows per table."""
    writers = {table.name: table for table in model.tables() if table.name != "memberships"}
    forms: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as directory:
        paths = {name: Path(directory) / f"{name}.tsv" for name in writers}
        handles = {name: path.open("w", encoding="utf-8") for name, path in paths.items()}
        rows = dict.fromkeys(writers, 0)
        try:
            for number in range(1, count + 1):
                for table, values in generate_profile(number, generator, forms):
                    handles[table].write("\t".join(_field(value) for value in values) + "\n")
                    rows[table] += 1
        finally:
            for handle in handles.values():
                handle.close()
        for name, table in writers.items():
            columns = ", ".join(f"`{column}`" for column in _columns(table))
            with engine.begin() as connection:
                # The path and column names are ours; LOAD DATA takes no bound parameters.
                connection.exec_driver_sql(
                    f"LOAD DATA LOCAL INFILE '{paths[name]}' INTO TABLE {name} CHARACTER SET utf8mb4 "
                    f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns})"
                )
    return rows


def _columns(table: sa.Table) -> list[str]:
    return [column.name for column in table.columns if not (table.name == "events" and column.name == "id")]


def generate_profile(number: int, generator: random.Random, forms: dict[str, dict[str, str]]) -> Iterator[tuple[str, list[Any]]]:
    """Yield ``(table, values)`` rows of one profile, values in the order of ``_columns``."""
    profile_id = f"C{number:08d}"
    city = generator.choices([item for item, _ in CITIES], weights=[weight for _, weight in CITIES])[0]
    gender = generator.choices(("female", "male", "other", None), weights=(50, 44, 2, 4))[0]
    name = f"{generator.choice(FAMILY)} {generator.choice(GIVEN)}"
    birthday = None if generator.random() < 0.08 else date(1950, 1, 1) + timedelta(days=generator.randrange(365 * 55))
    orders = min(int(generator.expovariate(0.3)), 60)
    signed_up = AS_OF - timedelta(days=generator.randrange(30, 1500), seconds=generator.randrange(86400))
    purchase: dict[str, Any] = dict.fromkeys(
        ("avg_basket_size", "avg_purchase_value", "first_purchase_at", "last_purchase_at", "max_purchase_value", "min_purchase_value", "status")
    )
    total_value = 0
    if orders:
        values = [generator.randrange(50, 4000) * 1000 for _ in range(orders)]
        total_value = sum(values)
        last = AS_OF - timedelta(days=generator.expovariate(1 / 120), seconds=generator.randrange(86400))
        first = min(last, signed_up + timedelta(days=generator.randrange(0, 60)))
        status = _status(orders, (AS_OF - first).days, (AS_OF - last).days)
        purchase.update(
            avg_basket_size=f"{generator.randrange(100, 600) / 100:.2f}",
            avg_purchase_value=f"{total_value / orders:.2f}",
            first_purchase_at=first,
            last_purchase_at=last,
            max_purchase_value=max(values),
            min_purchase_value=min(values),
            status=status,
        )

    interests = generator.sample(CATEGORIES, k=min(len(CATEGORIES), int(generator.expovariate(0.35))))
    views = {f"P{generator.randrange(1, 2000)}": generator.randrange(1, 6) for _ in range(int(generator.expovariate(0.5)))}
    scalars = {
        "id": profile_id, **purchase, "birthday": birthday, "city": city, "country": "Việt Nam",
        "favorite_category": interests[0] if interests else None, "gender": gender, "name": name, "signed_up_at": signed_up,
        "total_purchase": orders, "total_purchase_value": total_value, "view_count": sum(views.values()),
    }  # fmt: skip
    yield "profiles", _with_forms(scalars, PROFILE_COLUMNS, forms)

    for rank, key in enumerate(sorted(interests), 1):
        yield "profile_long_term_interests", [profile_id, rank, *_key(key, forms), generator.randrange(1, 200)]
    for rank, key in enumerate(interests[:4] if generator.random() < 0.3 else [], 1):
        yield "profile_short_term_interests", [profile_id, rank, *_key(key, forms)]
    for rank, (key, value) in enumerate(sorted(views.items()), 1):
        yield "profile_product_views", [profile_id, rank, *_key(key, forms), value]
    for _ in range(int(generator.expovariate(0.4))):
        kind = generator.choice(EVENT_KINDS)
        when = AS_OF - timedelta(days=generator.expovariate(1 / 40), seconds=generator.randrange(86400))
        price = generator.randrange(10, 3000) * 1000
        category = generator.choice(CATEGORIES)
        yield "events", [profile_id, kind, when, f"P{generator.randrange(1, 2000)}", category, price, 1, price]


def _status(orders: int, first_days: int, last_days: int) -> str:
    if orders == 1 and first_days <= 30:
        return "new"
    if last_days <= 90:
        return "active"
    if last_days <= 180:
        return "at_risk"
    return "lapsed"


PROFILE_COLUMNS = [column.name for column in ProfileModel().profiles.columns]


def _with_forms(values: dict[str, Any], columns: list[str], forms: dict[str, dict[str, str]]) -> list[Any]:
    row: list[Any] = []
    for column in columns:
        base, suffix = _split(column)
        value = values.get(base)
        if suffix and value is not None:
            value = _forms(str(value), forms)[suffix]
        row.append(value)
    return row


def _split(column: str) -> tuple[str, str]:
    for suffix in ("_ci_ai", "_ci", "_ai"):
        if column.endswith(suffix):
            return column[: -len(suffix)], suffix
    return column, ""


def _key(key: str, forms: dict[str, dict[str, str]]) -> list[str]:
    prepared = _forms(key, forms)
    return [key, prepared["_ci"], prepared["_ai"], prepared["_ci_ai"]]


def _forms(text: str, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    found = cache.get(text)
    if found is None:
        found = cache[text] = prepared_forms(text)
    return found


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


# --- measurement ---------------------------------------------------------------------------------


def _selected_cases(only: str | None) -> list[Case]:
    if not only:
        return list(CASES)
    wanted = [item.strip() for item in only.split(",") if item.strip()]
    by_id = {parse_segment(case.rule).id: case for case in CASES}
    unknown = [item for item in wanted if item not in by_id]
    if unknown:
        raise SystemExit(f"unknown segment ids in --only: {', '.join(unknown)}; known: {', '.join(by_id)}")
    return [by_id[item] for item in wanted]


def run_cases(engine: sa.Engine, model: ProfileModel, rounds: int, cases: list[Case]) -> None:
    print(f"segments as of {AS_OF.isoformat()} ({ZONE}); median of {rounds} runs each, compiled and hand-written alternating")
    print()
    print(f"{'segment':<20} {'members':>9} {'compiled ms':>12} {'hand ms':>9} {'ratio':>6}  same")
    plans: list[str] = []
    with engine.connect() as connection:
        for case in cases:
            segment = parse_segment(case.rule)
            statement = compile_segment(segment, model, dialect="mariadb", as_of=AS_OF, timezone=ZONE)
            # Expanding IN lists are rendered, so the driver receives plain placeholders.
            options = {"render_postcompile": True}
            compiled = statement.compile(dialect=engine.dialect, compile_kwargs=options)
            hand = sa.text(case.sql).bindparams(**case.parameters).compile(dialect=engine.dialect, compile_kwargs=options)
            timings: dict[str, list[float]] = {"compiled": [], "hand": []}
            results: dict[str, set[str]] = {}
            for _ in range(rounds + 1):
                for label, statement in (("compiled", compiled), ("hand", hand)):
                    seconds, ids = _timed(lambda statement=statement: _ids(connection, statement))
                    timings[label].append(seconds)
                    results[label] = ids
            compiled_ms = statistics.median(timings["compiled"][1:]) * 1000
            hand_ms = statistics.median(timings["hand"][1:]) * 1000
            same = "yes" if results["compiled"] == results["hand"] else f"NO ({len(results['hand']):,} hand)"
            print(f"{segment.id:<20} {len(results['compiled']):>9,} {compiled_ms:>12.1f} {hand_ms:>9.1f} {compiled_ms / hand_ms:>6.2f}  {same}")
            plans.append(f"== {segment.id}\n-- compiled:\n{compiled.string}\n{_explain(connection, compiled)}\n"
                         f"-- hand-written:\n{hand.string}\n{_explain(connection, hand)}")  # fmt: skip
    print()
    print("\n\n".join(plans))


def _ids(connection: sa.Connection, compiled: Any) -> set[str]:
    return {row[0] for row in connection.exec_driver_sql(compiled.string, _parameters(compiled))}


def _parameters(compiled: Any) -> Any:
    if compiled.positional:
        return tuple(compiled.params[name] for name in compiled.positiontup)
    return compiled.params


def _explain(connection: sa.Connection, compiled: Any) -> str:
    result = connection.exec_driver_sql("EXPLAIN " + compiled.string, _parameters(compiled))
    columns = list(result.keys())
    rows = [[("" if value is None else str(value)) for value in row] for row in result]
    widths = [max(len(column), *(len(row[index]) for row in rows)) for index, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _timed(action: Callable[[], set[str]]) -> tuple[float, set[str]]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
