"""Text of stored instants and dates for terminal output, in the workspace's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any


def show_instant(value: datetime, zone: tzinfo) -> str:
    """Return ``value`` as local time in ``zone`` with its UTC offset: ``2026-12-01 19:00:00 +07:00``.

    A naive ``value`` is taken to be UTC, because the stores keep instants as UTC.
    Fractions of a second are dropped.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    text = aware.astimezone(zone).isoformat(sep=" ", timespec="seconds")
    # isoformat writes the offset right after the 19 characters of "YYYY-MM-DD HH:MM:SS".
    return f"{text[:19]} {text[19:]}"


def show_value(value: Any, zone: tzinfo) -> str:
    """Return a profile or run value as text: instants in ``zone``, dates as ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return show_instant(value, zone)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
