"""The test shop copy against the Online Retail file import of the same lines.

The loader puts every accepted row of the file into the test shop, but a shop database
stores two things differently from the file:

- a product has one catalogue row, so all lines of a stock code get the category of
  the description on its first line in the file. The file import derives the category
  from each line's own description, and some stock codes change description over time
  ("GINGHAM HEART DECORATION", later "CHRISTMAS GINGHAM HEART");
- an order has one placed time, while a few invoices of the file have lines a minute
  apart.

After the file store's lines and purchase events get the same category and time, both
paths give the same profiles for every customer, apart from the fields of the shop's
customer records (name, gender, birthday, city, country, sign-up time).
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmento.adapters.ingest.loader import SourceSpec, import_source
from segmento.adapters.ingest.model import order_lines, orders, tracked_events
from segmento.adapters.profile_builder import build_profiles
from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.computations import ProfileSettings
from tests.shopdb.databases import Shop, copy, make_store, shop_from
from tests.shopdb.loader import write_subset

pytestmark = pytest.mark.mariadb

SUBSET_LINES = 60_000
"""The rows up to 2011-01-31, which include stock codes bought under two categories and invoices whose lines are a minute apart."""
AS_OF = datetime(2011, 12, 10, tzinfo=UTC)
SETTINGS = ProfileSettings()
RECORD_FIELDS = ("name", "gender", "birthday", "city", "country", "signed_up_at")
"""Profile fields that the shop's customer records set and the file has no value for."""


@dataclass
class Stores:
    """The loaded shop, its copy, and the file import of the same rows (stored at ``file_path``)."""

    shop: Shop
    from_shop: SqlProfileStore
    from_file: SqlProfileStore
    file_path: Path


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    directory = tmp_path_factory.mktemp("parity")
    subset = write_subset(directory / "subset.csv", SUBSET_LINES)
    with shop_from(subset) as shop:
        from_shop = make_store(directory / "shop.db")
        copy(from_shop, shop)
        build_profiles(from_shop, SETTINGS, AS_OF)
        file_path = directory / "file.db"
        from_file = make_store(file_path)
        import_source(from_file.engine, SourceSpec("file", "online_retail", subset, "Europe/London"))
        build_profiles(from_file, SETTINGS, AS_OF)
        yield Stores(shop, from_shop, from_file, file_path)


def test_line_category_is_first_lines_category(stores: Stores) -> None:
    first = first_categories(stores.from_file)
    with stores.from_shop.engine.connect() as connection:
        shop_lines = connection.execute(sa.select(order_lines.c.product_id, order_lines.c.category)).all()
    assert len(shop_lines) == stores.shop.counts.lines
    assert [line for line in shop_lines if line.category != first[line.product_id]] == []


def test_interests_differ_only_for_renamed_products(stores: Stores) -> None:
    with stores.from_file.engine.connect() as connection:
        bought = connection.execute(
            sa.select(tracked_events.c.customer_id, tracked_events.c.product_id, tracked_events.c.category)
        ).all()
    first = first_categories(stores.from_file)
    expected = {row.customer_id for row in bought if row.category != first[row.product_id]}
    from_file = long_term_interests(stores.from_file)
    from_shop = long_term_interests(stores.from_shop)
    customer_ids = from_file.keys() | from_shop.keys()
    differing = {customer_id for customer_id in customer_ids if from_file.get(customer_id) != from_shop.get(customer_id)}
    assert expected, "the subset has no purchase whose category differs from its product's first line"
    assert differing == expected


def test_profiles_agree_after_accounting(stores: Stores, tmp_path: Path) -> None:
    adjusted_path = tmp_path / "adjusted.db"
    shutil.copyfile(stores.file_path, adjusted_path)
    adjusted = SqlProfileStore(f"sqlite:///{adjusted_path}")
    assert give_order_time(adjusted, order_lines) > 0, "the subset has no invoice whose lines are a minute apart"
    give_order_time(adjusted, tracked_events)
    give_lines_product_category(adjusted, first_categories(stores.from_file))
    build_profiles(adjusted, SETTINGS, AS_OF, full=True)

    assert order_profiles(adjusted) == order_profiles(stores.from_shop)
    for name, collection in adjusted.model.collections.items():
        assert table_rows(adjusted, collection.table) == table_rows(stores.from_shop, collection.table), name
    assert event_rows(adjusted) == event_rows(stores.from_shop)


def test_country_of_record_wins(stores: Stores) -> None:
    with stores.shop.engine.connect() as connection:
        record = {str(key): country for key, country in connection.execute(sa.text("SELECT id, quoc_gia FROM khach_hang"))}
    from_shop = profile_column(stores.from_shop, "country")
    from_file = profile_column(stores.from_file, "country")
    assert from_shop == record

    countries: dict[str, set[str]] = defaultdict(set)
    bought: set[str] = set()
    with stores.from_file.engine.connect() as connection:
        for row in connection.execute(sa.select(orders.c.customer_id, orders.c.country, orders.c.is_cancellation)):
            countries[row.customer_id].add(row.country)
            if not row.is_cancellation:
                bought.add(row.customer_id)
    differing = {customer_id for customer_id in from_shop if from_shop[customer_id] != from_file.get(customer_id)}
    assert differing, "the subset has no customer whose record country differs from the orders' country"
    # A customer whose orders all went to one country and who bought something has that country both ways.
    assert {customer_id for customer_id in differing if len(countries[customer_id]) == 1 and customer_id in bought} == set()


# --- helpers ---------------------------------------------------------------------------


def first_categories(store: SqlProfileStore) -> dict[str, str | None]:
    """Return each product's category on its first line in the file, as the loader's catalogue has it."""
    first: dict[str, str | None] = {}
    statement = sa.select(order_lines.c.product_id, order_lines.c.category).order_by(order_lines.c.source_line)
    with store.engine.connect() as connection:
        for product_id, category in connection.execute(statement):
            first.setdefault(product_id, category)
    return first


def give_order_time(store: SqlProfileStore, table: sa.Table) -> int:
    """Give every row of ``table`` (order lines or purchase events) its order's time, and return how many rows moved."""
    order_time = sa.select(orders.c.time).where(orders.c.id == table.c.order_id).scalar_subquery()
    statement = sa.update(table).where(table.c.order_id.is_not(None), table.c.time != order_time).values(time=order_time)
    with store.engine.begin() as connection:
        return connection.execute(statement).rowcount


def give_lines_product_category(store: SqlProfileStore, categories: dict[str, str | None]) -> None:
    """Give every order line and purchase event the category in ``categories`` of its product."""
    with store.engine.connect() as connection:
        pairs = connection.execute(sa.select(order_lines.c.product_id, order_lines.c.category).distinct()).all()
    # Update only the products with lines of another category, because each UPDATE scans the table without an index.
    changed = {product_id for product_id, category in pairs if category != categories[product_id]}
    with store.engine.begin() as connection:
        for table in (order_lines, tracked_events):
            statement = sa.update(table).where(table.c.product_id == sa.bindparam("code")).values(category=sa.bindparam("path"))
            connection.execute(statement, [{"code": code, "path": categories[code]} for code in sorted(changed)])


def order_profiles(store: SqlProfileStore) -> dict[str, dict[str, Any]]:
    """Return every profile's fields other than those of a customer record."""
    table = store.model.profiles
    columns = [column for column in table.columns if not column.name.startswith(RECORD_FIELDS)]
    with store.engine.connect() as connection:
        return {row.id: row._asdict() for row in connection.execute(sa.select(*columns))}


def profile_column(store: SqlProfileStore, name: str) -> dict[str, Any]:
    table = store.model.profiles
    with store.engine.connect() as connection:
        return dict(connection.execute(sa.select(table.c.id, table.c[name])).tuples().all())


def long_term_interests(store: SqlProfileStore) -> dict[str, list[tuple[Any, ...]]]:
    table = store.model.collections["long_term_interests"].table
    result: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in sorted(table_rows(store, table)):
        result[row[0]].append(row[1:])
    return result


def table_rows(store: SqlProfileStore, table: sa.Table) -> Counter[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return Counter(tuple(row) for row in connection.execute(sa.select(table)))


def event_rows(store: SqlProfileStore) -> Counter[tuple[Any, ...]]:
    """Return the profiles' events without their ids, which differ between the two imports."""
    table = store.model.events
    columns = [column for column in table.columns if column.name != "id"]
    with store.engine.connect() as connection:
        return Counter(tuple(row) for row in connection.execute(sa.select(*columns)))
