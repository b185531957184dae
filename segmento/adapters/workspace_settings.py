"""Parsers of the tuning settings of a workspace in ``segmento.yaml``, such as run locks, retries, profile rules and ``as_of``.

Each parser takes the YAML value and its ``Location`` in the file, and raises
``DataError`` at that location for a value it cannot use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from segmento.adapters.ingest.model import EVENT_KINDS
from segmento.adapters.locks import LockSettings
from segmento.adapters.retry import RetryPolicy
from segmento.engine.catalog import closest
from segmento.engine.computations import ProfileSettings
from segmento.engine.errors import DataError, Location

EVALUATE_MODES: Final = ("all", "changed")
STATUS_KEYS: Final = ("new_days", "new_max_orders", "active_days", "lapsed_days")
INTEREST_KEYS: Final = frozenset({"short_term_days", "short_term_size", "weights"})
LOCK_KEYS: Final = frozenset({"wait", "stale_after"})
RETRY_KEYS: Final = frozenset({"attempts", "delay", "max_delay"})


def lock_settings(value: Any, location: Location) -> LockSettings:
    seconds = _seconds(value, LOCK_KEYS, location)
    return LockSettings(**seconds)


def retry_policy(value: Any, location: Location) -> RetryPolicy:
    seconds = _seconds(value, RETRY_KEYS - {"attempts"}, location, extra=frozenset({"attempts"}))
    attempts = (value or {}).get("attempts", RetryPolicy.attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise DataError(
            "attempts must be a whole number of at least 1 (1 turns retries off)",
            location=location.child("attempts"),
            value=attempts,
            code="config_value",
        )
    return RetryPolicy(attempts=attempts, **seconds)


def _seconds(
    value: Any, keys: frozenset[str], location: Location, extra: frozenset[str] = frozenset()
) -> dict[str, float]:
    """Return the numbers of seconds under ``keys`` of mapping ``value``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError("expected a mapping of settings", location=location, value=value, code="config_shape")
    check_keys(value, keys | extra, location)
    seconds: dict[str, float] = {}
    for key in keys & set(value):
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise DataError(
                "expected a number of seconds, 0 or more",
                location=location.child(key),
                value=number,
                code="config_value",
            )
        seconds[key] = float(number)
    if seconds.get("stale_after") == 0:
        raise DataError("stale_after must be above 0", location=location.child("stale_after"), value=0, code="config_value")
    return seconds


def evaluate_mode(value: Any, location: Location) -> str:
    if value is None:
        return "all"
    if value not in EVALUATE_MODES:
        raise DataError(
            f"unknown evaluate mode {value!r}",
            location=location,
            value=value,
            hint="Use 'all' to evaluate every segment on each run, or 'changed' for only those whose inputs changed",
            code="config_value",
        )
    return str(value)


def profile_settings(entry: Mapping[str, Any], location: Location) -> ProfileSettings:
    values: dict[str, Any] = {}
    status = entry.get("status") or {}
    interests = entry.get("interests") or {}
    if not isinstance(status, Mapping) or not isinstance(interests, Mapping):
        raise DataError("'status' and 'interests' must be mappings", location=location, code="config_shape")
    check_keys(status, frozenset(STATUS_KEYS), location.child("status"))
    check_keys(interests, INTEREST_KEYS, location.child("interests"))
    for key in STATUS_KEYS:
        if key in status:
            values[key] = _whole_days(status[key], location.child("status", key))
    for key in ("short_term_days", "short_term_size"):
        if key in interests:
            values[key] = _whole_days(interests[key], location.child("interests", key))
    if "weights" in interests:
        values["interest_weights"] = _weights(interests["weights"], location.child("interests", "weights"))
    settings = ProfileSettings(**values)
    if not settings.new_days <= settings.active_days <= settings.lapsed_days:
        raise DataError(
            "status thresholds must satisfy new_days <= active_days <= lapsed_days",
            location=location.child("status"),
            value=dict(status),
            code="config_value",
        )
    return settings


def _weights(value: Any, location: Location) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise DataError("weights must map event kinds to numbers", location=location, value=value, code="config_shape")
    weights: dict[str, Decimal] = {}
    for kind, weight in value.items():
        if kind not in EVENT_KINDS:
            suggestion = closest(str(kind), EVENT_KINDS)
            raise DataError(
                f"unknown event kind {kind!r}",
                location=location.child(str(kind)),
                hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Kinds: " + ", ".join(EVENT_KINDS),
                code="config_value",
            )
        try:
            number = Decimal(str(weight))
        except InvalidOperation:
            number = Decimal("NaN")
        if isinstance(weight, bool) or not number.is_finite() or number < 0 or number != number.quantize(Decimal("0.0001")):
            raise DataError(
                "a weight must be a number of at least 0 with at most 4 decimal places",
                location=location.child(str(kind)),
                value=weight,
                code="config_value",
            )
        weights[str(kind)] = number
    return weights


def _whole_days(value: Any, location: Location) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError("expected a whole number of at least 1", location=location, value=value, code="config_value")
    return value


def as_of_setting(value: Any, location: Location) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(
            "as_of must be a date and time such as 2011-12-10T00:00:00",
            location=location,
            value=value,
            code="config_value",
        ) from None


def check_keys(entry: Mapping[str, Any], allowed: frozenset[str], location: Location) -> None:
    for key in entry:
        if key not in allowed:
            suggestion = closest(str(key), allowed)
            raise DataError(
                f"unknown setting {key!r}",
                location=location.child(str(key)),
                hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Settings: " + ", ".join(sorted(allowed)),
                code="config_key",
            )
