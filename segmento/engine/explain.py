"""Explanations: why a profile is or is not in a segment, node by node.

``explain`` evaluates a rule on one profile and returns a tree that mirrors the rule.
Each leaf is tested through the same plan (``LeafPlan``) that the compiled predicate
uses, so an explanation's results agree with ``evaluator.select``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Final

from segmento.engine.ast import Comparison, Condition, EventCondition, Group, Node, Segment, SegmentRef, TextOptions
from segmento.engine.errors import UnsupportedError
from segmento.engine.evaluator import SEGMENTS_KEY, LeafPlan, MemoryCompiler, Profile
from segmento.engine.jsonform_dump import encode_json
from segmento.engine.temporal import Window
from segmento.engine.operators import COMPARISON_SYMBOLS, OperatorSpec
from segmento.engine.registry import Registry
from segmento.engine.temporal import DEFAULT_TIMEZONE

TRUE_MARK: Final = "✓"
FALSE_MARK: Final = "✗"
MAX_VALUE_TEXT: Final = 80
"""Maximum length of a value shown in a reason. Longer lists and maps are cut."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One node of a rule, its result on a profile, and the reason in plain English.

    ``tested`` is the profile's value that the node tested. It is ``None`` when the
    value is missing, and for groups. ``expected`` is the rule's value as the rule
    wrote it. ``location`` is where the node sits in the rule, when known.
    """

    label: str
    result: bool
    reason: str
    tested: Any = None
    expected: Any = None
    location: str | None = None
    children: tuple[Explanation, ...] = ()

    def render(self) -> str:
        """Return the tree as indented lines, each marked ✓ (true) or ✗ (false)."""
        lines: list[str] = []
        self._render_into(lines, 0)
        return "\n".join(lines)

    def _render_into(self, lines: list[str], depth: int) -> None:
        mark = TRUE_MARK if self.result else FALSE_MARK
        lines.append(f"{'  ' * depth}{mark} {self.label}: {self.reason}")
        for child in self.children:
            child._render_into(lines, depth + 1)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form: decimals as strings, dates and times in ISO 8601."""
        return {
            "label": self.label,
            "result": self.result,
            "reason": self.reason,
            "tested": _jsonable(self.tested),
            "expected": _jsonable(self.expected),
            "location": self.location,
            "children": [child.to_dict() for child in self.children],
        }


def explain(
    segment: Segment | Condition,
    profile: Profile,
    *,
    registry: Registry | None = None,
    as_of: datetime | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
) -> Explanation:
    """Evaluate ``segment`` (or a single condition) on ``profile`` and explain each result."""
    compiler = MemoryCompiler(registry, as_of=as_of, timezone=timezone)
    return _Explainer(compiler, profile).explain(segment)


class _Explainer:
    def __init__(self, compiler: MemoryCompiler, profile: Profile) -> None:
        self.compiler = compiler
        self.profile = profile

    def explain(self, node: Node) -> Explanation:
        if isinstance(node, Segment):
            return self._segment(node)
        if isinstance(node, Group):
            return self._group(node)
        if isinstance(node, Comparison):
            return self._comparison(node)
        if isinstance(node, EventCondition):
            return self._event(node)
        if isinstance(node, SegmentRef):
            return self._segment_ref(node)
        if self.compiler.registry.condition_kind_for(node) is not None:
            return self._plugin_condition(node)
        raise UnsupportedError(
            f"cannot explain a {type(node).__name__} condition",
            location=node.loc,
            params={"target": "memory", "node": type(node).__name__},
        )

    def _segment(self, node: Segment) -> Explanation:
        child = self.explain(node.condition)
        reason = "the profile is in the segment" if child.result else "the profile is not in the segment"
        return Explanation(f"segment {node.id}", child.result, reason, location=_where(node), children=(child,))

    def _group(self, node: Group) -> Explanation:
        children = tuple(self.explain(child) for child in node.conditions)
        total = len(children)
        true_count = sum(1 for child in children if child.result)
        if node.kind == "all":
            result = true_count == total
            reason = _all_true(total) if result else f"{_of(total - true_count, total)} false"
        elif node.kind == "any":
            result = true_count > 0
            reason = f"{_of(true_count, total)} true" if result else "no condition is true"
        else:
            result = true_count == 0
            reason = "no condition is true" if result else f"{_of(true_count, total)} true"
        label = f"{node.kind} of"
        if node.negated:
            result = not result
            label = f"not {label}"
            reason = f"{reason}, and 'not' inverts the group"
        return Explanation(label, result, reason, location=_where(node), children=children)

    def _comparison(self, node: Comparison) -> Explanation:
        spec = self.compiler.operator_spec(node, node.operator)
        positive = self.compiler.registry.positive_operator(spec.name)
        plan = self.compiler.comparison_plan(node, positive, self.compiler.field_spec(node))
        value_text = _rule_value_text(spec, node.value)
        label = f"{plan.subject} {_operator_text(spec)}{value_text}{_options_text(node.options)}"
        return self._leaf(node, spec, plan, label)

    def _event(self, node: EventCondition) -> Explanation:
        spec = self.compiler.operator_spec(node, node.operator)
        positive = self.compiler.registry.positive_operator(spec.name)
        plan = self.compiler.event_plan(node, positive)
        label = f"{plan.subject} {_operator_text(spec)}{_rule_value_text(spec, node.value)}"
        return self._leaf(node, spec, plan, label)

    def _leaf(self, node: Comparison | EventCondition, spec: OperatorSpec, plan: LeafPlan, label: str) -> Explanation:
        value = plan.read(self.profile)
        positive_result = plan.test_value(value)
        result = not positive_result if spec.negates else positive_result
        operator = _operator_text(spec)
        test = f"{operator}{_rule_value_text(spec, node.value)}"
        verdict = "true" if result else "false"
        if value is None:
            if plan.read_kind == "rank":
                reason = f"none of the keys of {plan.subject} is ranked, so {test} is {verdict}"
            else:
                reason = f"{plan.subject} is missing, so {test} is {verdict}"
        else:
            subject = f"the best rank in {plan.subject}" if plan.read_kind == "rank" else plan.subject
            tested_text = _value_text(value)
            if spec.name in COMPARISON_SYMBOLS and not spec.negates:
                negation = "" if result else "not "
                reason = f"{subject} is {tested_text}, which is {negation}{operator} {_value_text(plan.rule_value)}"
            else:
                reason = f"{subject} is {tested_text}, so {test} is {verdict}"
            if isinstance(plan.rule_value, Window):
                reason = f"{reason} (window {plan.rule_value})"
        return Explanation(label, result, reason, value, node.value, _where(node))

    def _plugin_condition(self, node: Node) -> Explanation:
        # A plugin's kind gives no reason of its own: the explanation is its result.
        kind = self.compiler.registry.condition_kind_for(node)
        value = kind.to_json(node) if kind is not None else None
        label = f"use {kind.name if kind else type(node).__name__} {encode_json(value, indent=None)}"
        result = bool(self.compiler.compile(node)(self.profile))
        reason = "the profile matches it" if result else "the profile does not match it"
        return Explanation(label, result, reason, None, value, _where(node))

    def _segment_ref(self, node: SegmentRef) -> Explanation:
        segments = self.profile.get(SEGMENTS_KEY)
        member = segments is not None and node.segment in segments
        result = not member if node.negated else member
        label = f"{'not in' if node.negated else 'in'} segment {node.segment}"
        if not segments:
            reason = "the profile belongs to no segment"
        elif member:
            reason = f"the profile's segments include {node.segment}"
        else:
            reason = f"the profile's segments do not include {node.segment}"
        return Explanation(label, result, reason, segments, node.segment, _where(node))


# --- text ---------------------------------------------------------------------------


def _where(node: Node) -> str | None:
    location = str(node.loc)
    return None if location == "<unknown>" else location


def _all_true(total: int) -> str:
    return "the only condition is true" if total == 1 else f"all {total} conditions are true"


def _of(count: int, total: int) -> str:
    noun = "condition" if total == 1 else "conditions"
    verb = "is" if count == 1 else "are"
    return f"{count} of {total} {noun} {verb}"


def _operator_text(spec: OperatorSpec) -> str:
    return COMPARISON_SYMBOLS.get(spec.name, spec.name.replace("_", " "))


def _rule_value_text(spec: OperatorSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.shape == "pair":
        return f" {_value_text(value[0])} and {_value_text(value[1])}"
    return f" {_value_text(value)}"


def _options_text(options: TextOptions) -> str:
    ignored = [name for name, on in (("case", options.ignore_case), ("accents", options.ignore_accents)) if on]
    return f" ignoring {', '.join(ignored)}" if ignored else ""


def _value_text(value: Any) -> str:
    text = json.dumps(_jsonable(value), ensure_ascii=False) if isinstance(value, (str, list, tuple, Mapping)) else None
    if text is None:
        jsonable = _jsonable(value)
        text = jsonable if isinstance(jsonable, str) else json.dumps(jsonable, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 1] + "…"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(item) for item in value), key=str)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
