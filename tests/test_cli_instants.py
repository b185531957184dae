"""Text of instants and dates in the terminal output of profile and segment show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from segmento.cli.instants import show_instant, show_value

SAIGON = ZoneInfo("Asia/Ho_Chi_Minh")


def test_instant_in_shop_zone() -> None:
    assert show_instant(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), SAIGON) == "2026-12-01 19:00:00 +07:00"


def test_instant_crosses_local_midnight() -> None:
    assert show_instant(datetime(2026, 11, 30, 17, 30, tzinfo=UTC), SAIGON) == "2026-12-01 00:30:00 +07:00"


def test_naive_instant_is_utc() -> None:
    assert show_instant(datetime(2026, 12, 1, 12, 0), SAIGON) == "2026-12-01 19:00:00 +07:00"


def test_instant_drops_fraction() -> None:
    assert show_instant(datetime(2026, 12, 1, 12, 0, 5, 999_999, tzinfo=UTC), UTC) == "2026-12-01 12:00:05 +00:00"


def test_instant_with_negative_offset() -> None:
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert show_instant(moment, ZoneInfo("America/New_York")) == "2026-07-01 08:00:00 -04:00"


def test_date_stays_a_date() -> None:
    assert show_value(date(1990, 12, 10), SAIGON) == "1990-12-10"


def test_other_values_as_text() -> None:
    assert show_value(Decimal("51.0000"), SAIGON) == "51.0000"
    assert show_value("Hà Nội", SAIGON) == "Hà Nội"
