"""Fill the test shop's database (``schema.sql``) from the bundled Online Retail orders.

The orders, lines, products and prices are the real ones, read by segmento's own
Online Retail parser, so a row that the file import rejects is not in the shop either.
Times become naive Vietnamese local times, as a shop in Vietnam stores them. Each stock
code becomes one product, named and categorized by the description on its first line.
The file import categorizes each line by its own description instead, and
docs/shopdb.md lists what this changes in the profiles. The data has no demographics,
so each customer gets a generated Vietnamese name, gender code, birthday and city,
drawn from a random generator seeded with the customer id: the same customer gets the
same values in every subset.

From the repository's root, this fills a MySQL or MariaDB database that you name, for a
try of ``format: shopdb`` sources (docs/shopdb.md)::

    export SHOP_DB_URL='mysql+pymysql://root@127.0.0.1:3306/segmento_test_shop?charset=utf8mb4'
    .venv/bin/python -m tests.shopdb.loader --url env:SHOP_DB_URL [--lines N] [--replace]
"""

from __future__ import annotations

import gzip
import random
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.items import Parsed
from segmento.adapters.ingest.online_retail import parse
from segmento.adapters.ingest.readers import TextSource, inspect_file
from segmento.adapters.urls import create_engine, mask_url, redact
from segmento.cli.match_backends import url_from_argument

SCHEMA_FILE: Final = Path(__file__).with_name("schema.sql")
RETAIL_FILE: Final = Path(__file__).resolve().parents[2] / "data" / "online_retail" / "online_retail.csv.gz"
FILE_ZONE: Final = ZoneInfo("Europe/London")
SHOP_ZONE: Final = ZoneInfo("Asia/Ho_Chi_Minh")
BATCH: Final = 5000
SHOP_TABLES: Final = tuple(re.findall(r"^CREATE TABLE (\w+)", SCHEMA_FILE.read_text(encoding="utf-8"), re.MULTILINE))
"""The test shop's tables, in the order ``schema.sql`` creates them: parents before children."""

CITIES: Final = (
    ("Hồ Chí Minh", 30), ("Hà Nội", 25), ("Đà Nẵng", 8), ("Hải Phòng", 6), ("Cần Thơ", 5), ("Biên Hòa", 4),
    ("Nha Trang", 3), ("Huế", 3), ("Vũng Tàu", 3), ("Đà Lạt", 2), ("Buôn Ma Thuột", 2), ("Quy Nhơn", 2),
    ("Vinh", 2), ("Thái Nguyên", 2), ("Nam Định", 1), ("Hạ Long", 1),
)  # fmt: skip
"""Cities with rough weights, the big two first."""

FAMILY_NAMES: Final = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
MIDDLE_NAMES: Final = {1: ("Văn", "Hữu", "Đức", "Minh", "Quốc"), 2: ("Thị", "Ngọc", "Thu", "Thanh", "Mai")}
GIVEN_NAMES: Final = {
    1: ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Việt"),
    2: ("Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Ngọc", "Nhung", "Phương", "Thảo", "Trang"),
}
CATEGORY_NAMES: Final = {
    "seasonal": "Theo mùa", "christmas": "Giáng sinh", "easter": "Lễ Phục sinh", "home": "Nhà cửa",
    "lighting": "Đèn và nến", "kitchen": "Nhà bếp", "bathroom": "Phòng tắm", "storage": "Hộp và giỏ đựng",
    "decor": "Trang trí", "bags": "Túi xách", "party": "Tiệc", "stationery": "Văn phòng phẩm", "toys": "Đồ chơi",
    "accessories": "Phụ kiện", "garden": "Vườn",
}  # fmt: skip
PRODUCT_KINDS: Final = {
    "product": "hang_hoa", "shipping": "van_chuyen", "fee": "phi", "discount": "giam_gia", "manual": "thu_cong",
    "sample": "mau", "adjustment": "dieu_chinh",
}  # fmt: skip


@dataclass(frozen=True)
class ShopCounts:
    """Rows loaded into each table of the test shop."""

    categories: int
    customers: int
    products: int
    orders: int
    lines: int


def create_schema(engine: sa.Engine) -> None:
    """Create the shop's tables in ``engine``'s database."""
    text = re.sub(r"--[^\n]*", "", SCHEMA_FILE.read_text(encoding="utf-8"))
    with engine.begin() as connection:
        for statement in text.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)


def write_subset(target: Path, lines: int, source: Path = RETAIL_FILE) -> Path:
    """Write the header and the first ``lines`` rows of the Online Retail file to ``target``."""
    with gzip.open(source, "rt", encoding="utf-8", newline="") as reader, target.open("w", encoding="utf-8", newline="") as writer:
        for number, line in enumerate(reader):
            if number > lines:
                break
            writer.write(line)
    return target


def load_retail_file(engine: sa.Engine, path: Path = RETAIL_FILE) -> ShopCounts:
    """Load every accepted row of an Online Retail file into the shop's (empty) tables."""
    categories: dict[str, int] = {}
    customers: dict[str, dict[str, Any]] = {}
    products: dict[str, dict[str, Any]] = {}
    orders: dict[str, int] = {}
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    for item in _parsed(path):
        for order in item.orders:
            local = _local(order["time"])
            orders[order["id"]] = len(orders) + 1
            status = "tra_hang" if order["is_cancellation"] else "da_giao"
            order_rows.append((orders[order["id"]], order["id"], order["customer_id"], local, status, order["country"], local))
            if order["customer_id"] is not None and order["customer_id"] not in customers:
                customers[order["customer_id"]] = {"since": local, "country": order["country"]}
        for line in item.order_lines:
            product = products.get(line["product_id"])
            if product is None:
                category_id = _category(categories, line["category"]) if line["category"] else None
                product = {
                    "id": len(products) + 1,
                    "name": line["description"] or line["product_id"],
                    "kind": PRODUCT_KINDS[line["line_kind"]],
                    "category": category_id,
                    "since": _local(line["time"]),
                }
                products[line["product_id"]] = product
            price = Decimal(line["unit_price_micros"]).scaleb(-6)
            row = (len(line_rows) + 1, orders[line["order_id"]], product["id"], line["quantity"], price, _local(line["time"]))
            line_rows.append(row)

    parents = {path: path.rpartition(".")[0] or None for path in categories}
    with engine.begin() as connection:
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        _insert(
            connection,
            "INSERT INTO danh_muc (id, ma_danh_muc, ten_danh_muc, danh_muc_cha_id) VALUES (%s, %s, %s, %s)",
            [
                (key, path.rpartition(".")[2], CATEGORY_NAMES.get(path.rpartition(".")[2], path), categories.get(parents[path] or ""))
                for path, key in categories.items()
            ],
        )
        _insert(
            connection,
            "INSERT INTO khach_hang (id, ho_ten, email, gioi_tinh, ngay_sinh, thanh_pho, quoc_gia, ngay_tao, ngay_cap_nhat)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [_customer_row(customer_id, values) for customer_id, values in customers.items()],
        )
        _insert(
            connection,
            "INSERT INTO san_pham (id, ma_sp, ten_sp, loai, danh_muc_id, ngay_cap_nhat) VALUES (%s, %s, %s, %s, %s, %s)",
            [(item["id"], code, item["name"][:255], item["kind"], item["category"], item["since"]) for code, item in products.items()],
        )
        _insert(
            connection,
            "INSERT INTO don_hang (id, ma_don, khach_hang_id, ngay_dat, trang_thai, quoc_gia_giao, ngay_cap_nhat)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            order_rows,
        )
        _insert(
            connection,
            "INSERT INTO chi_tiet_don_hang (id, don_hang_id, san_pham_id, so_luong, don_gia, ngay_cap_nhat)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            line_rows,
        )
        connection.exec_driver_sql("SET SESSION foreign_key_checks = 1")
    return ShopCounts(len(categories), len(customers), len(products), len(order_rows), len(line_rows))


def customer_traits(customer_id: str) -> dict[str, Any]:
    """Return the generated name, gender code, birthday and city of ``customer_id``."""
    generator = random.Random(f"segmento-test-shop:{customer_id}")
    gender = generator.choices((0, 1, 2, 3), weights=(4, 46, 48, 2))[0]
    names = generator.choice((1, 2)) if gender in (0, 3) else gender
    name = " ".join(
        (generator.choice(FAMILY_NAMES), generator.choice(MIDDLE_NAMES[names]), generator.choice(GIVEN_NAMES[names]))
    )
    birthday = None
    if generator.random() < 0.9:
        birthday = date(1950, 1, 1) + timedelta(days=generator.randrange(365 * 45))
    city = generator.choices([city for city, _ in CITIES], weights=[weight for _, weight in CITIES])[0]
    return {"name": name, "gender": gender, "birthday": birthday, "city": city}


def _customer_row(customer_id: str, values: dict[str, Any]) -> tuple[Any, ...]:
    traits = customer_traits(customer_id)
    return (
        int(customer_id),
        traits["name"],
        f"khach{customer_id}@example.com",
        traits["gender"],
        traits["birthday"],
        traits["city"],
        values["country"],
        values["since"].replace(microsecond=0),
        values["since"],
    )


def _category(categories: dict[str, int], path: str) -> int:
    parts = path.split(".")
    for depth in range(1, len(parts) + 1):
        prefix = ".".join(parts[:depth])
        if prefix not in categories:
            categories[prefix] = len(categories) + 1
    return categories[path]


def _parsed(path: Path) -> Iterator[Parsed]:
    with TextSource(inspect_file(path)) as text:
        for item in parse(text, FILE_ZONE):
            if isinstance(item, Parsed):
                yield item


def _local(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC).astimezone(SHOP_ZONE).replace(tzinfo=None)


def _insert(connection: sa.Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    # PyMySQL turns executemany of one INSERT ... VALUES into multi-row statements.
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(statement, list(rows[start : start + BATCH]))


# --- command line ------------------------------------------------------------------------------


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    "url_text",
    required=True,
    callback=lambda context, parameter, value: url_from_argument(value),
    help="MySQL or MariaDB database to fill. env:NAME reads the URL from environment variable NAME; "
    "a URL written here must not contain a password. The database is created when it does not exist.",
)
@click.option(
    "--lines",
    type=click.IntRange(min=1),
    help="Load only the first N rows of the Online Retail file (default: all 437,874).",
)
@click.option("--replace", is_flag=True, help="Drop the test shop's tables first, when the database has them.")
def main(url_text: str, lines: int | None, replace: bool) -> None:
    """Create the test shop's tables (tests/shopdb/schema.sql) and load the bundled Online Retail orders."""
    url = sa.make_url(url_text)
    if url.get_backend_name() not in ("mysql", "mariadb"):
        raise click.BadParameter(
            f"the test shop's schema is written for MySQL and MariaDB, not {url.get_backend_name()}", param_hint="--url"
        )
    if not url.database:
        raise click.BadParameter("the URL names no database; add one, e.g. .../segmento_test_shop", param_hint="--url")
    display = mask_url(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        _prepare_database(engine, replace, display)
        started = time.perf_counter()
        create_schema(engine)
        if lines is None:
            counts = load_retail_file(engine)
        else:
            with tempfile.TemporaryDirectory() as directory:
                counts = load_retail_file(engine, write_subset(Path(directory) / "subset.csv", lines))
        seconds = time.perf_counter() - started
    except sa.exc.SQLAlchemyError as error:
        reason = redact(str(getattr(error, "orig", error)), [url])
        raise click.ClickException(f"loading the test shop into {display} failed: {reason}") from None
    finally:
        engine.dispose()
    click.echo(
        f"{display}: {counts.customers:,} customers, {counts.categories:,} categories, {counts.products:,} products, "
        f"{counts.orders:,} orders and {counts.lines:,} order lines loaded in {seconds:.1f} s"
    )


def _prepare_database(engine: sa.Engine, replace: bool, display: str) -> None:
    """Create the database when it does not exist; stop when it has shop tables, unless ``replace`` drops them."""
    try:
        with engine.connect() as connection:
            existing = [table for table in SHOP_TABLES if sa.inspect(connection).has_table(table)]
    except sa.exc.OperationalError as error:
        # 1049: unknown database. Other errors (access denied, no server) are the caller's to see.
        if error.orig is None or error.orig.args[0] != 1049:
            raise
        server = sa.create_engine(engine.url.set(database=""), poolclass=NullPool)
        quoted = server.dialect.identifier_preparer.quote(engine.url.database or "")
        try:
            with server.begin() as connection:
                connection.exec_driver_sql(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
        finally:
            server.dispose()
        click.echo(f"created database {engine.url.database}")
        return
    if existing and not replace:
        raise click.ClickException(
            f"{display} already has the test shop's tables ({', '.join(existing)}); "
            "pass --replace to drop them and load again, or name another database"
        )
    if existing:
        with engine.begin() as connection:
            for table in reversed(SHOP_TABLES):
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


if __name__ == "__main__":
    main()
