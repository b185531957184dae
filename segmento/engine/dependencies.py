"""Dependencies of segment rules on profile fields, events and the clock, and the rules a run evaluates again.

A segment's members depend only on its inputs: the stored values of the profile fields
its rule reads, the profiles' events (behavioural leaves), and the members of the
segments it refers to. Some rules also read the clock, which is the instant ``as_of``
and the shop's time zone. A rule whose inputs are unchanged since its last evaluation
selects the same members, so a run may skip it.

A rule reads the clock when it has:

- a leaf whose operator takes a duration, a calendar period or a number of days
  (``in last 7 days``, ``in period this_month``, ``birthday in next 30 days``), or is
  ``birthday_today``;
- a leaf on a derived field (``age`` is computed from ``birthday`` at the local date
  of ``as_of``);
- a behavioural leaf, with or without a window, because only events up to ``as_of``
  count;
- a leaf with an operator that no built-in plugin defines, because its meaning is
  unknown here;
- a reference to a segment whose rule reads the clock.

Such a rule is evaluated again whenever ``as_of`` differs from the one of its last
evaluation. A change of time zone evaluates every rule again, because local dates and
datetime literals without an offset depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from segmento.engine.ast import Comparison, EventCondition, Segment, SegmentRef, walk
from segmento.engine.catalog import Catalog
from segmento.engine.operators import BUILTIN_OPERATORS, OperatorSpec

EVENTS: Final = "events"
"""Name that stands for the profiles' events among the fields a rule reads."""

ALL_FIELDS: Final = "*"
"""Name that stands for every field in a change set: changes unknown, or profiles added or removed."""

_CLOCK_SHAPES: Final = frozenset({"duration", "period", "days"})
_CLOCK_OPERATORS: Final = frozenset({"birthday_today"})
_BUILTIN_NAMES: Final = frozenset(spec.name for spec in BUILTIN_OPERATORS)

Reason = Literal[
    "new", "rule_changed", "timezone_changed", "clock_moved", "fields_changed", "reference_evaluated", "evaluate_all"
]


@dataclass(frozen=True, slots=True)
class Dependencies:
    """The inputs of one segment's members, including those of the segments it refers to.

    ``fields`` are stored profile fields, and ``EVENTS`` when a behavioural leaf reads
    the events. ``segments`` are the ids of every segment referred to, directly or not.
    """

    fields: frozenset[str]
    segments: frozenset[str]
    reads_clock: bool


def rule_dependencies(
    segment: Segment, catalog: Catalog, operators: Mapping[str, OperatorSpec]
) -> Dependencies:
    """Return what ``segment``'s own condition reads, without following segment references."""
    fields: set[str] = set()
    references: set[str] = set()
    reads_clock = False
    for node in walk(segment.condition):
        if isinstance(node, Comparison):
            spec = catalog.fields.get(node.field)
            if spec is not None and spec.derived_from is not None:
                fields.add(spec.derived_from)
                reads_clock = True
            else:
                fields.add(node.field)
            reads_clock = reads_clock or _operator_reads_clock(node.operator, operators)
        elif isinstance(node, EventCondition):
            fields.add(EVENTS)
            reads_clock = True
        elif isinstance(node, SegmentRef):
            references.add(node.segment)
    return Dependencies(frozenset(fields), frozenset(references), reads_clock)


def segment_dependencies(
    segments: Sequence[Segment], catalog: Catalog, operators: Mapping[str, OperatorSpec]
) -> dict[str, Dependencies]:
    """Return each segment's dependencies, following references transitively.

    A reference to a segment that is not in ``segments`` adds that id and nothing else.
    Reference cycles are allowed here (validation reports them elsewhere).
    """
    direct = {segment.id: rule_dependencies(segment, catalog, operators) for segment in segments}
    result: dict[str, Dependencies] = {}
    for segment_id in direct:
        fields: set[str] = set()
        reached: set[str] = set()
        reads_clock = False
        pending = [segment_id]
        visited: set[str] = set()
        while pending:
            current = pending.pop()
            if current in visited:
                continue
            visited.add(current)
            own = direct.get(current)
            if own is None:
                continue
            fields |= own.fields
            reads_clock = reads_clock or own.reads_clock
            reached |= own.segments
            pending.extend(own.segments)
        result[segment_id] = Dependencies(frozenset(fields), frozenset(reached - {segment_id}), reads_clock)
    return result


def _operator_reads_clock(name: str, operators: Mapping[str, OperatorSpec]) -> bool:
    spec = operators.get(name)
    if spec is None or name not in _BUILTIN_NAMES:
        return True
    return spec.shape in _CLOCK_SHAPES or (spec.negates or spec.name) in _CLOCK_OPERATORS


# --- which segments to evaluate -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LastEvaluation:
    """The rule fingerprint, ``as_of`` (UTC) and time zone of a segment's last evaluation."""

    rule_hash: str
    as_of: datetime
    timezone: str


@dataclass
class EvaluationPlan:
    """The segments a run evaluates, each with its reasons, and those it skips.

    ``changed_fields`` are the fields whose stored value changed for some profile since
    the segments were last evaluated; ``ALL_FIELDS`` among them means every field.
    """

    evaluate: dict[str, list[Reason]] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)
    changed_fields: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, object]:
        return {
            "changed_fields": sorted(self.changed_fields),
            "evaluated": {segment_id: list(reasons) for segment_id, reasons in self.evaluate.items()},
            "skipped": list(self.skip),
        }


def plan_evaluation(
    segments: Sequence[Segment],
    dependencies: Mapping[str, Dependencies],
    rule_hashes: Mapping[str, str],
    last: Mapping[str, LastEvaluation],
    changed_fields: Iterable[str],
    *,
    as_of: datetime,
    timezone: str,
) -> EvaluationPlan:
    """Return which of ``segments`` a run evaluates, and why.

    A segment is evaluated when it was never evaluated, when its rule or the time zone
    changed, when it reads the clock and ``as_of`` moved, or when it reads a changed
    field. A segment that refers, directly or not, to one of those is evaluated too.
    The others keep their members.
    """
    changed = frozenset(changed_fields)
    every_field = ALL_FIELDS in changed
    own: dict[str, list[Reason]] = {}
    for segment in segments:
        reasons: list[Reason] = []
        previous = last.get(segment.id)
        needs = dependencies[segment.id]
        if previous is None:
            reasons.append("new")
        else:
            if previous.rule_hash != rule_hashes[segment.id]:
                reasons.append("rule_changed")
            if previous.timezone != timezone:
                reasons.append("timezone_changed")
            if needs.reads_clock and previous.as_of != as_of:
                reasons.append("clock_moved")
        if every_field or needs.fields & changed:
            reasons.append("fields_changed")
        own[segment.id] = reasons
    plan = EvaluationPlan(changed_fields=changed)
    for segment in segments:
        reasons = list(own[segment.id])
        # References are transitive in ``Dependencies``, so one look covers the whole chain.
        if any(own.get(reference) for reference in dependencies[segment.id].segments):
            reasons.append("reference_evaluated")
        if reasons:
            plan.evaluate[segment.id] = reasons
        else:
            plan.skip.append(segment.id)
    return plan
