"""In-memory evaluator: the reference target that every other backend must agree with.

``compile_predicate`` turns a rule into nested closures once. Each closure takes one
profile, a mapping as ``profiles.coerce_profile`` returns it, and returns whether the
profile matches. Everything that does not depend on the profile is computed while
compiling: folded text, frozensets for ``in``, instants for datetime literals, and the
bounds of windows, calendar periods and birthdays for the rule's clock. Operators run
through the ``memory`` implementation table (``memory_operators``), which plugins can
extend through the ``segmento_operator_implementations`` hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Final, Literal

from segmento.engine.ast import EXACT, Comparison, Condition, EventCondition, Node, Segment, SegmentRef, TextOptions
from segmento.engine.catalog import FieldSpec
from segmento.engine.compiler import Compiler
from segmento.engine.errors import DataError, RuleSemanticError
from segmento.engine.memory_operators import (
    MEMORY_OPERATORS,
    MemoryImplementation,
    Reader,
    best_rank_reader,
    bind_check,
    collection_reader,
    event_reader,
    event_subject,
    field_reader,
    sum_reader,
)
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Registry
from segmento.engine.temporal import DEFAULT_TIMEZONE, Window, age_on
from segmento.engine.text import fold_for
from segmento.engine.types import FieldType
from segmento.engine.values import CalendarPeriod, Duration

logger = logging.getLogger(__name__)

Profile = Mapping[str, Any]
Predicate = Callable[[Profile], bool]
ReadKind = Literal["field", "collection", "sum", "rank", "age", "events"]

TRUE_WHEN_MISSING: Final = frozenset({"is_empty"})
"""Positive operators that hold on a missing value: a missing list is an empty list."""

WINDOW_OPERATORS: Final = frozenset({"before", "after", "on", "in_last", "in_next", "in_period"})

SEGMENTS_KEY: Final = "segments"
EVENTS_KEY: Final = "events"


@dataclass(frozen=True, slots=True)
class LeafPlan:
    """A positive leaf test split into what it reads from a profile and how it tests it.

    ``read`` returns ``None`` when the profile has no value. ``field`` is the profile
    key when ``read`` is a plain lookup of it, so the compiled closure can inline it.
    ``subject`` names what is read, for messages and explanations.
    """

    subject: str
    read_kind: ReadKind
    read: Reader
    test: MemoryImplementation
    rule_value: Any
    options: TextOptions = EXACT
    when_missing: bool = False
    field: str | None = None

    def test_value(self, value: Any) -> bool:
        """Return the test's result on a value that ``read`` returned, without compiled shortcuts."""
        if value is None:
            return self.when_missing
        return self.test(value, self.rule_value, self.options)


class MemoryCompiler(Compiler[Predicate]):
    """Compiles rules to predicates over profile mappings."""

    target = "memory"

    # --- combinators ------------------------------------------------------------------

    def all_of(self, parts: Sequence[Predicate]) -> Predicate:
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            first, second = parts
            return lambda profile: first(profile) and second(profile)
        members = tuple(parts)

        def all_true(profile: Profile) -> bool:
            for part in members:
                if not part(profile):
                    return False
            return True

        return all_true

    def any_of(self, parts: Sequence[Predicate]) -> Predicate:
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            first, second = parts
            return lambda profile: first(profile) or second(profile)
        members = tuple(parts)

        def any_true(profile: Profile) -> bool:
            for part in members:
                if part(profile):
                    return True
            return False

        return any_true

    def negate(self, part: Predicate) -> Predicate:
        return lambda profile: not part(profile)

    # --- leaves -----------------------------------------------------------------------

    def compile_comparison(self, node: Comparison, operator: OperatorSpec, field: FieldSpec) -> Predicate:
        return self._leaf(node, self.comparison_plan(node, operator, field))

    def compile_event(self, node: EventCondition, operator: OperatorSpec) -> Predicate:
        return self._leaf(node, self.event_plan(node, operator))

    def compile_segment_ref(self, node: SegmentRef) -> Predicate:
        segment = node.segment

        def in_segment(profile: Profile) -> bool:
            segments = profile.get(SEGMENTS_KEY)
            return segments is not None and segment in segments

        return in_segment

    # --- plans ------------------------------------------------------------------------

    def comparison_plan(self, node: Comparison, operator: OperatorSpec, field: FieldSpec) -> LeafPlan:
        """Return the plan of the positive test ``operator`` on ``node``'s field."""
        test = self._function(node, operator)
        field_type = self.field_type(field)
        read_kind, read, kind = self._reader(node, operator, field, field_type)
        options = node.options if kind == "string" and operator.text_options else EXACT
        subject = node.field if node.include is None else f"{node.field}[{', '.join(node.include)}]"
        return LeafPlan(
            subject=subject,
            read_kind=read_kind,
            read=read,
            test=test,
            rule_value=self._prepare(node, operator, kind, options),
            options=options,
            when_missing=operator.name in TRUE_WHEN_MISSING,
            field=node.field if read_kind == "field" else None,
        )

    def event_plan(self, node: EventCondition, operator: OperatorSpec) -> LeafPlan:
        """Return the plan comparing the count or sum of ``node``'s events with its value."""
        return LeafPlan(
            subject=event_subject(node),
            read_kind="events",
            read=event_reader(node, self._event_window(node), EVENTS_KEY),
            test=self._function(node, operator),
            rule_value=self._prepare(node, operator, "decimal", EXACT),
            field=None,
        )

    def _event_window(self, node: EventCondition) -> Window:
        """Return the bounds of event times that count: the rule's window, cut at ``as_of``."""
        as_of = self.clock.as_of
        window = node.window
        if window is None:
            return Window(high=as_of)
        if isinstance(window, Duration):
            start, end = self.clock.last(window)
            return Window(start, end, low_closed=False)
        if isinstance(window, CalendarPeriod):
            start, end = self.clock.period(window)
            if end <= as_of:
                return Window(start, end, high_closed=False)
            return Window(start, as_of)
        raise _invalid(node, window, "an event window must be a duration or a calendar period")

    def _function(self, node: Node, operator: OperatorSpec) -> MemoryImplementation:
        implementation = self.implementation(node, operator)
        if implementation is None:
            raise self.unsupported(node, operator.name)
        return implementation.function

    def _reader(
        self, node: Comparison, operator: OperatorSpec, field: FieldSpec, field_type: FieldType
    ) -> tuple[ReadKind, Reader, str | None]:
        """Return how to read the tested value, and the scalar kind of that value."""
        name = node.field
        if node.include is not None:
            keys = tuple(node.include)
            if field_type.name == "ranked_list":
                return "rank", best_rank_reader(name, frozenset(keys)), field_type.keyed
            if field_type.keyed is not None:
                return "sum", sum_reader(name, keys), field_type.keyed
            raise self.unsupported(node, operator.name, f"field {name!r} of type {field_type.name!r} has no keys")
        if field.derived_from is not None:
            return "age", self._derived_reader(node, operator, field, field_type), field_type.scalar
        if field_type.scalar is None:
            return "collection", collection_reader(name), field_type.member
        return "field", field_reader(name), field_type.scalar

    def _derived_reader(
        self, node: Comparison, operator: OperatorSpec, field: FieldSpec, field_type: FieldType
    ) -> Reader:
        source = self.registry.catalog.fields.get(field.derived_from or "")
        # NOTE: age is the only derivation so far: an integer derived from a date field.
        if source is None or source.type != "date" or field_type.name != "integer":
            raise self.unsupported(
                node, operator.name, f"derived field {field.name!r} has no computation from {field.derived_from!r}"
            )
        source_name = source.name
        today = self.clock.today

        def age(profile: Profile) -> int | None:
            birthday = profile.get(source_name)
            return None if birthday is None else age_on(birthday, today)

        return age

    # --- rule values ------------------------------------------------------------------

    def _prepare(
        self, node: Comparison | EventCondition, operator: OperatorSpec, kind: str | None, options: TextOptions
    ) -> Any:
        """Return the rule's value in the form the implementation of ``operator`` expects."""
        name = operator.name
        value = node.value
        if name not in MEMORY_OPERATORS:
            return value
        if name in WINDOW_OPERATORS:
            return self._window(node, name, kind, value)
        if name == "birthday_in_next":
            return self.clock.birthdays_in_next(value)
        if name == "birthday_today":
            return self.clock.birthdays_in_next(0)
        if operator.shape == "none":
            return None
        if operator.shape == "pair":
            low, high = value
            return self._constant(node, low, kind, options), self._constant(node, high, kind, options)
        if operator.shape == "list":
            return frozenset(self._constant(node, item, kind, options) for item in value)
        if operator.shape == "scalar":
            return self._constant(node, value, kind, options)
        return value

    def _constant(self, node: Node, value: Any, kind: str | None, options: TextOptions) -> Any:
        if kind == "string" and isinstance(value, str):
            return fold_for(value, options.ignore_case, options.ignore_accents)
        if kind == "datetime":
            if isinstance(value, datetime):
                return self.clock.instant(value)
            raise _invalid(node, value, "a datetime field compares with a date and time here, not a date")
        if kind == "date" and not _is_date(value):
            raise _invalid(node, value, "a date field compares with a date (YYYY-MM-DD)")
        return value

    def _window(self, node: Node, name: str, kind: str | None, value: Any) -> Window:
        """Lower a time operator to constant bounds for this clock (table in docs/semantics.md)."""
        try:
            window = self.clock.time_window(name, value, kind)
        except RuleSemanticError as error:
            raise RuleSemanticError(
                error.message, location=node.loc, value=error.value, hint=error.hint, code=error.code
            ) from error
        if window is None:
            raise _invalid(node, value, f"operator {name!r} cannot take this value on a {kind} field")
        return window

    # --- closures ---------------------------------------------------------------------

    def _leaf(self, node: Node, plan: LeafPlan) -> Predicate:
        """Return the compiled closure of ``plan``; plain fields are read inline."""
        test, rule_value, options, when_missing = plan.test, plan.rule_value, plan.options, plan.when_missing
        key = plan.field
        bound = bind_check(test, rule_value, options)

        if key is not None and bound is not None:

            def field_check(profile: Profile) -> bool:
                value = profile.get(key)
                if value is None:
                    return when_missing
                try:
                    return bound(value)
                except (TypeError, AttributeError) as error:
                    raise _bad_profile_value(node, plan, profile, value) from error

            return field_check

        if key is not None:

            def field_test(profile: Profile) -> bool:
                value = profile.get(key)
                if value is None:
                    return when_missing
                try:
                    return test(value, rule_value, options)
                except (TypeError, AttributeError) as error:
                    raise _bad_profile_value(node, plan, profile, value) from error

            return field_test

        read = plan.read
        check = bound or (lambda value: test(value, rule_value, options))

        def computed_test(profile: Profile) -> bool:
            try:
                value = read(profile)
                if value is None:
                    return when_missing
                return check(value)
            except (TypeError, AttributeError) as error:
                raise _bad_profile_value(node, plan, profile, None) from error

        return computed_test


# --- errors -----------------------------------------------------------------------------


def _is_date(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _invalid(node: Node, value: Any, message: str) -> RuleSemanticError:
    return RuleSemanticError(
        message,
        location=node.loc,
        value=value,
        hint="Validate the rule before evaluating it",
        code="invalid_value",
    )


def _bad_profile_value(node: Node, plan: LeafPlan, profile: Profile, value: Any) -> DataError:
    profile_id = profile.get("id")
    logger.debug("profile %r: cannot test %s against %r", profile_id, plan.subject, plan.rule_value)
    return DataError(
        f"profile {profile_id!r}: {plan.subject} has a value of the wrong type for this rule",
        location=node.loc,
        value=value,
        hint="Read profiles with segmento.engine.profiles.coerce_profile so values have their catalog types",
        code="profile_value_type",
        params={"profile": profile_id, "field": plan.subject},
    )


# --- public API -------------------------------------------------------------------------


def compile_predicate(
    node: Segment | Condition,
    registry: Registry | None = None,
    *,
    as_of: datetime | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
) -> Predicate:
    """Compile ``node`` into a function that returns whether a profile matches it.

    The clock is fixed here: ``as_of`` defaults to now, and a naive ``as_of`` is
    local shop time.
    """
    return MemoryCompiler(registry, as_of=as_of, timezone=timezone).compile(node)


def select(
    node: Segment | Condition,
    profiles: Iterable[Profile],
    registry: Registry | None = None,
    *,
    as_of: datetime | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
) -> list[str]:
    """Return the ids of the profiles that match ``node``, in input order."""
    predicate = compile_predicate(node, registry, as_of=as_of, timezone=timezone)
    selected = [profile.get("id") for profile in profiles if predicate(profile)]
    if None in selected:
        raise DataError(
            "a profile that matches the segment has no id",
            hint="Give every profile an 'id'; coerce_profile rejects a profile without one",
            code="profile_without_id",
        )
    return [profile_id if isinstance(profile_id, str) else str(profile_id) for profile_id in selected]
