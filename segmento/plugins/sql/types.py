"""Column types that keep profile values exact on every supported database.

- ``ExactText``: Unicode text compared code point by code point. MySQL and MariaDB get
  a binary collation without trailing-space padding.
- ``ExactDecimal``: money and scores with at most ``DECIMAL_SCALE`` fractional digits.
  MySQL, MariaDB and PostgreSQL store ``DECIMAL(18, 4)``. SQLite has no decimal type
  (its NUMERIC affinity converts to a float), so there the value is an integer count of
  1/10 000 units, which SQLite compares and sums exactly.
- ``UtcDateTime``: an instant stored as a naive UTC date and time with microseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

DECIMAL_PRECISION: Final = 18
DECIMAL_SCALE: Final = 4
DECIMAL_UNIT: Final = Decimal(1).scaleb(-DECIMAL_SCALE)
DECIMAL_LIMIT: Final = Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)
"""Stored decimals lie strictly between ``-DECIMAL_LIMIT`` and ``DECIMAL_LIMIT``."""

SUM_LIMIT: Final = Decimal(9) * DECIMAL_LIMIT
"""Largest magnitude a rule value keeps: sums of stored decimals stay below it.

On SQLite, ``SUM_LIMIT`` in 1/10 000 units (9 × 10**18) still fits a signed 64-bit integer.
"""

INTEGER_LIMIT: Final = 2**63 - 1
"""Integers are 64-bit on every database (``BIGINT``, SQLite ``INTEGER``)."""

KEY_LENGTH: Final = 191
"""Length of indexed text columns: ids and event kinds.

191 utf8mb4 characters (764 bytes) keep composite indexes within InnoDB's limit.
"""

_MYSQL_FAMILY: Final = frozenset({"mysql", "mariadb"})

# MariaDB's utf8mb4_bin pads with spaces, so 'a' = 'a ' is true under it; the NOPAD
# variant compares exactly. MySQL 8 has no utf8mb4_nopad_bin, and its utf8mb4_0900_bin
# already does not pad.
_MARIADB_EXACT_COLLATION: Final = "utf8mb4_nopad_bin"
_MYSQL_EXACT_COLLATION: Final = "utf8mb4_0900_bin"


def exact_collation(dialect: Dialect) -> str:
    """Return the MySQL or MariaDB collation that compares text exactly."""
    return _MARIADB_EXACT_COLLATION if getattr(dialect, "is_mariadb", False) else _MYSQL_EXACT_COLLATION


class ExactText(TypeDecorator[str]):
    """Unicode text compared exactly: no case or accent folding, no trailing-space padding.

    ``length`` bounds the text in characters, for columns that are indexed. Without it
    the column is ``TEXT``.
    NOTE: MySQL and MariaDB ``TEXT`` stores at most 65,535 bytes, and a longer value
    fails on insert.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, length: int | None = None) -> None:
        super().__init__()
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL_FAMILY:
            collation = exact_collation(dialect)
            if self.length is None:
                return dialect.type_descriptor(mysql.TEXT(charset="utf8mb4", collation=collation))
            return dialect.type_descriptor(mysql.VARCHAR(self.length, charset="utf8mb4", collation=collation))
        if self.length is None:
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.String(self.length))


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal with ``DECIMAL_SCALE`` fractional digits; integer units on SQLite.

    Binding a value that the column cannot store exactly raises ``ValueError``. Users do
    not meet that error, because the store checks profile values first (``check_decimal``)
    and the compiler rounds rule bounds (``segmento.plugins.sql.bounds``).
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(DECIMAL_PRECISION, DECIMAL_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = Decimal(value)
        if dialect.name == "sqlite":
            units = number.scaleb(DECIMAL_SCALE)
            if units != units.to_integral_value() or abs(units) > INTEGER_LIMIT:
                raise ValueError(f"{number} does not fit an exact decimal with {DECIMAL_SCALE} decimal places")
            return int(units)
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-DECIMAL_SCALE)
        return Decimal(value)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored as naive UTC with microseconds and read back as aware UTC.

    A naive value is taken to be UTC already, as profile instants are.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL_FAMILY:
            # MySQL's DATETIME drops fractional seconds unless fsp is given.
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=False))

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def check_decimal(value: Decimal) -> str | None:
    """Return why ``value`` cannot be stored exactly in an ``ExactDecimal`` column, or ``None``."""
    if not value.is_finite():
        return "it is not a finite number"
    if abs(value) >= DECIMAL_LIMIT:
        return f"its magnitude is not below {DECIMAL_LIMIT:,}"
    if value != value.quantize(DECIMAL_UNIT, rounding=ROUND_DOWN):
        return f"it has more than {DECIMAL_SCALE} decimal places"
    return None


def check_integer(value: int) -> str | None:
    """Return why ``value`` cannot be stored in a 64-bit integer column, or ``None``."""
    if abs(value) > INTEGER_LIMIT:
        return "it does not fit a 64-bit integer"
    return None
