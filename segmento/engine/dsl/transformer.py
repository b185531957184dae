"""Build rule nodes (``segmento.engine.ast``) from the parse tree of ``segmento_v1.lark``.

There is one method per grammar rule. A rule without a method is a bug in this module,
so the default handler raises instead of passing the subtree through. Every node gets
the line and column of its first token, and ``ends`` records where each node ends, so
that comments can be attached afterwards (``comments.py``). A leaf also records where
its value and each item of a list or range start (``value_loc``), so that a problem of
the value points at the value.

A value that lexes but cannot be read (an impossible date, a bad escape, a number with
a leading zero) raises a located error. Given a ``problems`` list, the builder records
each such error there instead and goes on, so one pass finds them all. The nodes it
then returns contain placeholders and must be thrown away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from lark import Token, Transformer_NonRecursive, v_args
from lark.tree import Meta

from segmento.engine.ast import (
    EXACT,
    Comparison,
    Condition,
    EventCondition,
    Group,
    Node,
    Segment,
    SegmentRef,
    TextOptions,
    ValueLocation,
)
from segmento.engine.dsl import literals
from segmento.engine.dsl.failures import syntax_error
from segmento.engine.dsl.lexicon import BIRTHDAY_FIELD, GRAMMAR_FILE, SYMBOL_OPERATORS
from segmento.engine.dsl.number_errors import has_leading_zero, leading_zero_error
from segmento.engine.catalog import closest
from segmento.engine.errors import Location, RuleError, RuleSchemaError, RuleSyntaxError
from segmento.engine.jsonform import parse_json_text
from segmento.engine.jsonform_schema import schema_problems
from segmento.engine.registry import Registry, get_registry
from segmento.engine.text import normalize
from segmento.engine.values import CalendarPeriod, Duration

_DURATION_UNITS = {
    "minute": "minutes",
    "minutes": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
}


_Value = TypeVar("_Value")


class _Span(NamedTuple):
    """Where a JSON value sits in the DSL text: character offsets, and its line and column."""

    start: int
    end: int
    line: int
    column: int


class _Written(NamedTuple):
    """A value of a test and where the text writes it."""

    value: Any
    loc: ValueLocation


class _Test(NamedTuple):
    """Operator and value that follow a field or an event count."""

    operator: str
    value: Any = None
    value_loc: ValueLocation | None = None


def _test(operator: str, written: _Written) -> _Test:
    return _Test(operator, written.value, written.loc)


def _range_test(operator: str, low: _Written, high: _Written) -> _Test:
    """Return a ``between`` test, located at the lower bound with each bound as an item."""
    return _Test(operator, (low.value, high.value), ValueLocation(low.loc.start, (low.loc.start, high.loc.start)))


@v_args(meta=True, inline=True)
class RuleBuilder(Transformer_NonRecursive[Token, Any]):
    """Transformer from the parse tree to ``Segment`` and ``Condition`` nodes."""

    def __init__(
        self,
        text: str,
        source: str | None,
        registry: Registry | None = None,
        problems: list[RuleError] | None = None,
    ) -> None:
        super().__init__(visit_tokens=False)
        self._text = text
        self._source = source
        self._registry = registry
        self._problems = problems
        self.ends: dict[tuple[int, int], tuple[int, int]] = {}
        """The position just after each node's last token, by the position of its first token."""

    def __default__(self, data: str, children: list[Any], meta: Meta) -> Any:
        raise TypeError(f"grammar rule {data!r} of {GRAMMAR_FILE} has no method in {type(self).__name__}")

    # --- helpers ---------------------------------------------------------------------------

    def _loc(self, meta: Meta) -> Location:
        """Return the location of a new node, and record where the node ends."""
        self.ends[(meta.line, meta.column)] = (meta.end_line, meta.end_column)
        return Location(line=meta.line, column=meta.column, source=self._source)

    def _value_loc(self, meta: Meta) -> Location:
        """Return the location of a value; unlike ``_loc`` it records no node end for comments."""
        return Location(line=meta.line, column=meta.column, source=self._source)

    def _written(self, meta: Meta, value: Any) -> _Written:
        return _Written(value, ValueLocation(self._value_loc(meta)))

    def _error(
        self, token: Token, message: str, *, code: str, offset: int = 0, hint: str | None = None
    ) -> RuleSyntaxError:
        return syntax_error(
            self._text,
            token.line or 1,
            (token.column or 1) + offset,
            message,
            code=code,
            source=self._source,
            hint=hint,
            value=str(token.value),
        )

    def _report(self, error: RuleError, placeholder: _Value) -> _Value:
        """Raise ``error``, or record it and return ``placeholder`` when the builder collects problems."""
        if self._problems is None:
            raise error
        self._problems.append(error)
        return placeholder

    def _read(self, token: Token, reader: Callable[[str], _Value]) -> _Value | None:
        """Return ``reader(token text)``, turning a ``LiteralError`` into a located syntax error.

        Returns ``None`` when the builder collects problems and the text cannot be read.
        """
        try:
            return reader(str(token.value))
        except literals.LiteralError as error:
            located = self._error(token, error.message, code=error.code, offset=error.offset, hint=error.hint)
            return self._report(located, None)

    # --- files and segments ----------------------------------------------------------------

    def start(self, meta: Meta, *segments: Segment) -> list[Segment]:
        return list(segments)

    def condition_only(self, meta: Meta, condition: Condition) -> Condition:
        return condition

    def segment(
        self, meta: Meta, _segment: Token, name: str, title: Token, description: str | None, condition: Condition
    ) -> Segment:
        return Segment(
            id=name,
            name=self._read(title, literals.read_quoted) or "",
            condition=condition,
            description=description or "",
            loc=self._loc(meta),
        )

    def description(self, meta: Meta, _description: Token, text: Token) -> str:
        return self._read(text, literals.read_quoted) or ""

    # --- groups and references -------------------------------------------------------------

    def group(self, meta: Meta, negation: Token | None, kind: str, *conditions: Condition) -> Group:
        return Group(kind, tuple(conditions), negated=negation is not None, loc=self._loc(meta))  # type: ignore[arg-type]

    def group_kind(self, meta: Meta, kind: Token) -> str:
        return str(kind.value)

    def segment_ref(self, meta: Meta, negation: Token | None, _in: Token, _segment: Token, name: str) -> SegmentRef:
        return SegmentRef(name, negated=negation is not None, loc=self._loc(meta))

    def plugin_condition(self, meta: Meta, _use: Token, name: str, json_value: _Span) -> Node:
        if self._problems is None:
            return self._plugin_condition(meta, name, json_value)
        try:
            return self._plugin_condition(meta, name, json_value)
        except RuleError as error:
            return self._report(error, Group("all", (), loc=self._loc(meta)))

    def _plugin_condition(self, meta: Meta, name: str, json_value: _Span) -> Node:
        registry = self._registry or get_registry()
        kind = registry.condition_kinds.get(name)
        if kind is None:
            raise self._unknown_kind(meta, name, sorted(registry.condition_kinds))
        location = self._loc(meta)
        try:
            value = parse_json_text(self._text[json_value.start : json_value.end])
        except RuleSyntaxError as error:
            raise syntax_error(
                self._text,
                json_value.line,
                json_value.column,
                error.message,
                code=error.code,
                source=self._source,
                hint=error.hint,
                value=name,
            ) from None
        kinds = tuple(registry.condition_kinds.values())
        problems = schema_problems({kind.key: value}, "condition", location, kinds)
        try:
            if problems:
                raise problems[0]
            return kind.from_json(value, location)
        except RuleSchemaError as error:
            # JSON pointers mean nothing in DSL text, so the problem is placed at the condition.
            raise RuleSchemaError(
                error.message,
                location=location,
                value=error.value,
                hint=error.hint,
                code=error.code,
                params=error.params,
            ) from None

    def _unknown_kind(self, meta: Meta, name: str, known: list[str]) -> RuleSyntaxError:
        suggestion = closest(name, known)
        if suggestion:
            hint = f'Did you mean "{suggestion}"?'
        else:
            hint = "Condition kinds of the installed plugins: " + (", ".join(known) or "none")
        return syntax_error(
            self._text,
            meta.line,
            meta.column,
            f'unknown condition kind "{name}"',
            code="unknown_condition_kind",
            source=self._source,
            hint=hint,
            value=name,
        )

    def json_object(self, meta: Meta, *members: None) -> _Span:
        return _Span(meta.start_pos, meta.end_pos, meta.line, meta.column)

    def json_array(self, meta: Meta, *items: Any) -> None:
        return None

    def json_member(self, meta: Meta, key: Token, value: Any) -> None:
        return None

    # --- comparisons -----------------------------------------------------------------------

    def comparison(
        self, meta: Meta, field: str, include: tuple[str, ...] | None, test: _Test, options: TextOptions | None
    ) -> Comparison:
        return Comparison(
            field,
            test.operator,
            test.value,
            include,
            options or EXACT,
            loc=self._loc(meta),
            value_loc=test.value_loc,
        )

    def birthday_comparison(
        self, meta: Meta, _birthday: Token, include: tuple[str, ...] | None, test: _Test, options: TextOptions | None
    ) -> Comparison:
        return self.comparison(meta, BIRTHDAY_FIELD, include, test, options)

    def birthday_test_of_field(self, meta: Meta, _birthday: Token, field: str | None, test: _Test) -> Comparison:
        return Comparison(field or BIRTHDAY_FIELD, test.operator, test.value, loc=self._loc(meta), value_loc=test.value_loc)

    def include(self, meta: Meta, *keys: str) -> tuple[str, ...]:
        return keys

    def key(self, meta: Meta, token: Token) -> str:
        if token.type == "STRING":
            return self._read(token, literals.read_quoted) or ""
        text = str(token.value)
        if not text.isdigit():
            invalid = self._error(
                token,
                f"{text} is not a valid key",
                code="invalid_key",
                hint=f'Write keys as plain digits or as strings: "{text}"',
            )
            return self._report(invalid, text)
        return text

    def options(self, meta: Meta, _ignoring: Token, first: Token, second: Token | None) -> TextOptions:
        if second is not None and second.value == first.value:
            self._report(self._error(second, f"`{second.value}` is given twice", code="duplicate_option"), None)
        words = {first.value, second.value if second is not None else None}
        return TextOptions(ignore_case="case" in words, ignore_accents="accents" in words)

    def text_option(self, meta: Meta, word: Token) -> Token:
        return word

    # --- tests, one per operator -----------------------------------------------------------

    def compare(self, meta: Meta, symbol: Token, value: _Written) -> _Test:
        return _test(SYMBOL_OPERATORS[symbol.type], value)

    def between(self, meta: Meta, _between: Token, low: _Written, _and: Token, high: _Written) -> _Test:
        return _range_test("between", low, high)

    def not_between(
        self, meta: Meta, _not: Token, _between: Token, low: _Written, _and: Token, high: _Written
    ) -> _Test:
        return _range_test("not_between", low, high)

    def in_list(self, meta: Meta, _in: Token, values: _Written) -> _Test:
        return _test("in", values)

    def not_in_list(self, meta: Meta, _not: Token, _in: Token, values: _Written) -> _Test:
        return _test("not_in", values)

    def is_set(self, meta: Meta, _is: Token, _set: Token) -> _Test:
        return _Test("is_set")

    def is_not_set(self, meta: Meta, _is: Token, _not: Token, _set: Token) -> _Test:
        return _Test("is_not_set")

    def is_empty(self, meta: Meta, _is: Token, _empty: Token) -> _Test:
        return _Test("is_empty")

    def is_not_empty(self, meta: Meta, _is: Token, _not: Token, _empty: Token) -> _Test:
        return _Test("is_not_empty")

    def contains(self, meta: Meta, _contains: Token, value: _Written) -> _Test:
        return _test("contains", value)

    def not_contains(self, meta: Meta, _not: Token, _contains: Token, value: _Written) -> _Test:
        return _test("not_contains", value)

    def starts_with(self, meta: Meta, _starts: Token, _with: Token, value: _Written) -> _Test:
        return _test("starts_with", value)

    def ends_with(self, meta: Meta, _ends: Token, _with: Token, value: _Written) -> _Test:
        return _test("ends_with", value)

    def contains_any(self, meta: Meta, _contains: Token, _any: Token, values: _Written) -> _Test:
        return _test("contains_any", values)

    def contains_all(self, meta: Meta, _contains: Token, _all: Token, values: _Written) -> _Test:
        return _test("contains_all", values)

    def contains_none(self, meta: Meta, _contains: Token, _none: Token, values: _Written) -> _Test:
        return _test("contains_none", values)

    def before(self, meta: Meta, _before: Token, value: _Written) -> _Test:
        return _test("before", value)

    def after(self, meta: Meta, _after: Token, value: _Written) -> _Test:
        return _test("after", value)

    def on(self, meta: Meta, _on: Token, value: _Written) -> _Test:
        return _test("on", value)

    def in_last(self, meta: Meta, _in: Token, _last: Token, duration: _Written) -> _Test:
        return _test("in_last", duration)

    def not_in_last(self, meta: Meta, _not: Token, _in: Token, _last: Token, duration: _Written) -> _Test:
        return _test("not_in_last", duration)

    def in_next(self, meta: Meta, _in: Token, _next: Token, duration: _Written) -> _Test:
        return _test("in_next", duration)

    def in_period(self, meta: Meta, _in: Token, period: _Written) -> _Test:
        return _test("in_period", period)

    def not_in_period(self, meta: Meta, _not: Token, _in: Token, period: _Written) -> _Test:
        return _test("not_in_period", period)

    def named_operator(self, meta: Meta, name: Token, operand: _Written | None) -> _Test:
        operator = normalize(str(name.value)[1:])
        return _Test(operator) if operand is None else _test(operator, operand)

    def birthday_in_next(self, meta: Meta, _in: Token, next_word: Token, written: _Written) -> _Test:
        duration: Duration = written.value
        if duration.unit != "days":
            not_days = syntax_error(
                self._text,
                next_word.end_line or 1,
                (next_word.end_column or 1) + 1,
                f"`birthday in next` counts days, not {duration.unit}",
                code="birthday_days",
                source=self._source,
                hint="Write the number of days, for example birthday in next 14 days",
                value=str(duration),
            )
            self._report(not_days, None)
        return _Test("birthday_in_next", duration.amount, written.loc)

    def birthday_today(self, meta: Meta, _today: Token) -> _Test:
        return _Test("birthday_today")

    def birthday_in_month(self, meta: Meta, _in: Token, _month: Token, month: Token) -> _Test:
        return _Test("birthday_in_month", literals.read_integer(str(month.value)))

    # --- events ----------------------------------------------------------------------------

    def event_condition(
        self,
        meta: Meta,
        aggregate: str,
        event: str,
        measure: str | None,
        restriction: tuple[tuple[str, ...] | None, tuple[str, ...] | None] | None,
        test: _Test,
        window: Duration | CalendarPeriod | None,
    ) -> EventCondition:
        products, categories = restriction or (None, None)
        return EventCondition(
            event,
            aggregate,  # type: ignore[arg-type]
            test.operator,
            test.value,
            measure=measure,
            products=products,
            categories=categories,
            window=window,
            loc=self._loc(meta),
            value_loc=test.value_loc,
        )

    def aggregate(self, meta: Meta, word: Token) -> str:
        return str(word.value)

    def measure(self, meta: Meta, name: str) -> str:
        return name

    def products_restriction(
        self,
        meta: Meta,
        _of: Token,
        _products: Token,
        products: tuple[str, ...],
        _and: Token | None,
        _categories: Token | None,
        categories: tuple[str, ...] | None,
    ) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        return products, categories

    def categories_restriction(
        self, meta: Meta, _of: Token, _categories: Token, categories: tuple[str, ...]
    ) -> tuple[None, tuple[str, ...]]:
        return None, categories

    def key_list(self, meta: Meta, *keys: str) -> tuple[str, ...]:
        return keys

    def window_last(self, meta: Meta, _in: Token, _last: Token, duration: _Written) -> Duration:
        return duration.value  # type: ignore[no-any-return]

    def window_period(self, meta: Meta, _in: Token, period: _Written) -> CalendarPeriod:
        return period.value  # type: ignore[no-any-return]

    # --- values ----------------------------------------------------------------------------

    def scalar(self, meta: Meta, token: Token) -> _Written:
        return self._written(meta, self._scalar_value(token))

    def _scalar_value(self, token: Token) -> Any:
        kind = token.type
        if kind == "STRING":
            return self._read(token, literals.read_quoted)
        if kind in ("INTEGER", "DECIMAL") and has_leading_zero(str(token.value)):
            return self._report(leading_zero_error(self._text, token, self._source), 0)
        if kind == "INTEGER":
            return literals.read_integer(str(token.value))
        if kind == "DECIMAL":
            return literals.read_decimal(str(token.value))
        if kind == "DATE":
            return self._read(token, literals.read_date)
        if kind == "DATETIME":
            return self._read(token, literals.read_datetime)
        if kind in ("TRUE", "FALSE"):
            return kind == "TRUE"
        raise TypeError(f"terminal {kind} is not a scalar")

    def value_list(self, meta: Meta, *items: _Written) -> _Written:
        located = ValueLocation(self._value_loc(meta), tuple(item.loc.start for item in items))
        return _Written(tuple(item.value for item in items), located)

    def duration(self, meta: Meta, amount: Token, unit: str) -> _Written:
        return self._written(meta, Duration(literals.read_integer(str(amount.value)), unit))  # type: ignore[arg-type]

    def duration_unit(self, meta: Meta, word: Token) -> str:
        return _DURATION_UNITS[str(word.value)]

    def period(self, meta: Meta, *words: Token) -> _Written:
        return self._written(meta, CalendarPeriod("_".join(str(word.value) for word in words)))  # type: ignore[arg-type]

    def name(self, meta: Meta, token: Token) -> str:
        if token.type == "NAME":
            return normalize(str(token.value))
        text = self._read(token, literals.read_quoted)
        if text is None:
            return ""
        if not text:
            empty = self._error(token, "empty name", code="empty_name", hint="Write the name between the backticks")
            return self._report(empty, "")
        return text
