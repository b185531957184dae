"""The shared case table: rules, profiles, and the members every target must select.

A ``Case`` is one rule (built from ``segmento.engine.ast``), the raw JSON profiles it
runs on, and the sorted ids of the profiles it selects. Per-target test modules
(``test_backends_agree.py`` and the modules of other targets) run every case and
compare. A target that cannot express a case is listed in ``Case.marks`` with the
reason and the exception it must raise, so no case is ever commented out.

Each module of this package that defines ``CASES`` (a sequence of ``Case``) is part of
the table. Target names: ``memory``, ``sqlite``, ``mariadb``, ``postgresql``; the mark
key ``sql`` stands for the three SQL databases.

All cases run with ``case_registry()``: the built-in catalog plus the fields below and
a test plugin operator that only the in-memory target implements.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from segmento.engine.ast import Condition, Segment
from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Registry, build_registry, make_plugin_manager
from segmento.engine.types import FieldType

TARGETS: Final = ("memory", "sqlite", "mariadb", "postgresql")
SQL_TARGETS: Final = ("sqlite", "mariadb", "postgresql")

SHOP_TIMEZONE: Final = "Asia/Ho_Chi_Minh"
AS_OF: Final = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
"""Default evaluation instant: 09:00 on Friday 1 March 2024 in the shop's zone (UTC+7)."""

Profile = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Mark:
    """A target that cannot run a case: ``raises`` is the exception it must raise instead."""

    reason: str
    raises: type[Exception]


@dataclass(frozen=True, slots=True)
class Case:
    """One rule, the profiles it runs on, and the ids of the profiles it selects."""

    id: str
    rule: Condition | Segment
    profiles: tuple[Profile, ...]
    expected: tuple[str, ...]
    as_of: datetime = AS_OF
    timezone: str = SHOP_TIMEZONE
    marks: Mapping[str, Mark] = field(default_factory=dict)

    def mark_for(self, target: str) -> Mark | None:
        """Return the mark of ``target``, or of all SQL targets, or ``None``."""
        mark = self.marks.get(target)
        if mark is None and target in SQL_TARGETS:
            mark = self.marks.get("sql")
        return mark


def case(
    case_id: str,
    rule: Condition | Segment,
    profiles: Sequence[Profile],
    expected: Sequence[str],
    **options: Any,
) -> Case:
    """Return a ``Case``; ``expected`` may be given in any order."""
    return Case(case_id, rule, tuple(profiles), tuple(sorted(expected)), **options)


# --- the catalog the cases use ----------------------------------------------------------

PALINDROME = OperatorSpec("is_palindrome", "none", description="reads the same backwards")


class CasePlugin:
    """Fields of the types no built-in field has, and an operator only ``memory`` implements."""

    @hookimpl
    def segmento_field_types(self) -> Sequence[FieldType]:
        return (FieldType("word", frozenset({"eq", "ne", "is_set", "is_not_set", "is_palindrome"}), scalar="string"),)

    @hookimpl
    def segmento_operators(self) -> Sequence[OperatorSpec]:
        return (PALINDROME,)

    @hookimpl
    def segmento_fields(self) -> Sequence[FieldSpec]:
        return (
            FieldSpec("tags", "string_list", "free tags"),
            FieldSpec("lucky_numbers", "number_list", "numbers the customer picked"),
            FieldSpec("is_subscribed", "boolean", "receives the newsletter"),
            FieldSpec("nickname", "word", "a single word"),
        )

    @hookimpl
    def segmento_operator_implementations(self, target: str) -> Mapping[str, Any] | None:
        if target == "memory":
            return {"is_palindrome": lambda value, rule_value, options: value == value[::-1]}
        return None


@functools.cache
def case_registry() -> Registry:
    """Return the registry of the built-in plugins plus ``CasePlugin``."""
    return build_registry(make_plugin_manager([CasePlugin()], load_entry_points=False))


# --- the table ----------------------------------------------------------------------------


@functools.cache
def all_cases() -> tuple[Case, ...]:
    """Return the cases of every module in this package, checking that ids are unique."""
    cases: list[Case] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        cases.extend(getattr(module, "CASES", ()))
    seen: set[str] = set()
    for item in cases:
        if item.id in seen:
            raise ValueError(f"case id {item.id!r} is used twice in tests/cases")
        seen.add(item.id)
    return tuple(cases)
