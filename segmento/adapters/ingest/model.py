"""Tables of the event and order model, of imports and rejects, and of segment runs.

They live in the same database as the profile store, so one URL names a whole
workspace. The SQL is portable: every table works on SQLite, MariaDB/MySQL and
PostgreSQL through SQLAlchemy Core.

Conventions:

- Times are UTC, stored without a zone (``DateTime``), and read back as aware UTC
  datetimes by ``utc``.
- Money is an integer number of micro-units (``*_micros``, a millionth of the
  currency unit), so sums stay exact on every database; SQLite has no exact decimal
  type. ``to_micros`` and ``from_micros`` convert from and to ``Decimal``.
- Ids of orders, order lines and events are deterministic, derived from the source
  record, so importing the same data again finds them and inserts nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

MONEY_SCALE: Final = 6
"""Decimal places kept for money; amounts are stored as integers of 10**-6 units."""

_MICROS: Final = Decimal(10) ** MONEY_SCALE

MONEY_PLACES: Final = 4
"""Decimal places an imported price may have: the profile store keeps sums with 4 places."""

ID_LENGTH: Final = 96
"""Maximum length of an id column; MariaDB needs a bounded VARCHAR for indexed columns."""

metadata = MetaData()

# MySQL's DATETIME drops fractions of a second unless it is declared with a precision.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# MySQL's TEXT stores at most 64 KiB, too little for some raw JSON records.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False, doc="source name from the workspace config"),
    Column("format", String(32), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("checksum", String(64), nullable=False, doc="SHA-256 of the file's bytes"),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_stored", Integer, nullable=False, default=0),
    Column("rows_known", Integer, nullable=False, default=0, doc="rows already stored by an earlier import"),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("customers_touched", Integer, nullable=False, default=0),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=False),
    Index("ix_imports_checksum", "checksum"),
)

rejects = Table(
    "rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("source_file", String(255), nullable=False),
    Column("line", Integer, nullable=False, doc="line number in the source file, the header being line 1"),
    Column("raw_row", LongText, nullable=False),
    Column("reason", String(64), nullable=False, doc="short code, for example 'malformed_date'"),
    Column("detail", String(500), nullable=False, doc="what is wrong with the row, in English"),
    Index("ix_rejects_import", "import_id", "line"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(255)),
    Column("gender", String(16)),
    Column("birthday", Date),
    Column("city", String(255)),
    Column("country", String(255)),
    Column("signed_up_at", Timestamp),
    Column("updated_at", Timestamp, nullable=False, doc="time of the latest identify record applied"),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True, doc="the shop's order (invoice) number"),
    Column("customer_id", String(ID_LENGTH), doc="empty for a guest checkout"),
    Column("time", Timestamp, nullable=False),
    Column("country", String(255)),
    Column("is_cancellation", Boolean, nullable=False),
    Column("source", String(64), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("source_line", Integer, nullable=False, doc="line of the order's first row in the source file"),
    Index("ix_orders_customer", "customer_id", "time"),
)

LINE_KINDS: Final[tuple[str, ...]] = ("product", "shipping", "fee", "discount", "manual", "sample", "adjustment")
"""Kinds of order line. Only ``product`` lines count towards purchase aggregates."""

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True, doc="order id, '/', and a hash of the line"),
    Column("order_id", String(ID_LENGTH), nullable=False),
    Column("customer_id", String(ID_LENGTH), doc="copied from the order, for grouping without a join"),
    Column("time", Timestamp, nullable=False),
    Column("is_cancellation", Boolean, nullable=False),
    Column("line_kind", String(16), nullable=False),
    Column("product_id", String(ID_LENGTH), nullable=False),
    Column("description", String(500)),
    Column("category", String(255)),
    Column("quantity", Integer, nullable=False, doc="negative on cancellation lines"),
    Column("unit_price_micros", BigInteger, nullable=False),
    Column("value_micros", BigInteger, nullable=False, doc="quantity × unit price"),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("source_line", Integer, nullable=False),
    Index("ix_order_lines_customer", "customer_id", "time"),
    Index("ix_order_lines_order", "order_id"),
)

EVENT_KINDS: Final[tuple[str, ...]] = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "search",
)

tracked_events = Table(
    "tracked_events",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("time", Timestamp, nullable=False),
    Column("customer_id", String(ID_LENGTH), doc="set when the visitor is a known customer"),
    Column("anonymous_id", String(ID_LENGTH), doc="the tracker's visitor id when no customer is known"),
    Column("session_id", String(ID_LENGTH)),
    Column("kind", String(32), nullable=False),
    Column("product_id", String(ID_LENGTH)),
    Column("category", String(255), doc="dotted category path, for example 'electronics.smartphone'"),
    Column("brand", String(255)),
    Column("price_micros", BigInteger),
    Column("quantity", Integer),
    Column("value_micros", BigInteger, doc="price × quantity when both are known"),
    Column("search_query", String(500)),
    Column("order_id", String(ID_LENGTH), doc="the order a purchase event belongs to"),
    Column("source", String(64), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("source_line", Integer, nullable=False),
    Column("raw", LongText, doc="the source record as read, or empty for events derived from order lines"),
    Index("ix_tracked_events_customer", "customer_id", "time"),
    Index("ix_tracked_events_time", "time"),
)

dirty_profiles = Table(
    "dirty_profiles",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("import_id", Integer, nullable=False, doc="the import that last touched the customer"),
)
"""Customers whose data changed since their profile was last built."""

profile_builds = Table(
    "profile_builds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("as_of", Timestamp, nullable=False),
    Column("settings_hash", String(64), nullable=False, doc="hash of the computation settings"),
    Column("profiles_built", Integer, nullable=False),
    Column("profiles_removed", Integer, nullable=False),
    Column("full", Boolean, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("finished_at", Timestamp, nullable=False),
)

segment_runs = Table(
    "segment_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace", String(64), nullable=False),
    Column("as_of", Timestamp, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Column("status", String(16), nullable=False, doc="running, succeeded or failed"),
    Column("error", LongText),
)

run_segments = Table(
    "run_segments",
    metadata,
    Column("run_id", Integer, ForeignKey("segment_runs.id"), primary_key=True),
    Column("segment_id", String(ID_LENGTH), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("members", Integer, nullable=False),
    Column("joined", Integer, nullable=False),
    Column("left", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
)

membership_history = Table(
    "membership_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("segment_id", String(ID_LENGTH), nullable=False),
    Column("profile_id", String(ID_LENGTH), nullable=False),
    Column("joined_run", Integer, nullable=False),
    Column("joined_at", Timestamp, nullable=False, doc="as_of of the run that added the profile"),
    Column("left_run", Integer),
    Column("left_at", Timestamp, doc="as_of of the run that removed the profile; empty while a member"),
    Index("ix_membership_history_segment", "segment_id", "left_run"),
    Index("ix_membership_history_profile", "profile_id"),
)
"""One row per stay of a profile in a segment: from the run that added it to the run that removed it."""


def to_micros(amount: Decimal) -> int:
    """Return ``amount`` as an integer of micro-units; raise ``ValueError`` if it has more decimals."""
    scaled = amount * _MICROS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {MONEY_SCALE} decimal places")
    return int(scaled)


def from_micros(micros: int | None) -> Decimal | None:
    """Return the ``Decimal`` amount of ``micros``, without trailing zeros past the cents."""
    if micros is None:
        return None
    amount = Decimal(int(micros)) / _MICROS
    return amount.quantize(Decimal("0.01")) if amount == amount.quantize(Decimal("0.01")) else amount.normalize()


def utc(value: datetime | None) -> datetime | None:
    """Return a stored timestamp as an aware UTC datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """Return an aware datetime as the naive UTC value the tables store."""
    return value.astimezone(UTC).replace(tzinfo=None)
