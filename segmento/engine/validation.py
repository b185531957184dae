"""Semantic validation: check rules against the field catalog, the operators and the size limits.

A rule that passed the JSON schema or the DSL grammar can still name an unknown field,
use an operator its field type does not allow, or compare with a value of the wrong
type. ``validate_segment`` finds every such problem in one segment and
``validate_segments`` adds the checks that need the whole set: duplicate ids, references
to unknown segments and reference cycles. Both raise ``RuleErrors``, whose
``errors`` are ``RuleSemanticError`` with the node's location and a hint.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from segmento.engine.ast import GROUP_KINDS, Group, Node, Segment, SegmentRef, leaf_count, walk
from segmento.engine.catalog import closest
from segmento.engine.errors import RuleErrors, RuleSemanticError
from segmento.engine.jsonform_messages import counted
from segmento.engine.registry import Registry, get_registry
from segmento.engine.validation_leaves import LeafChecker
from segmento.engine.validation_values import at

logger = logging.getLogger(__name__)

SEGMENT_ID_PATTERN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Segment ids, as the rule schema and the DSL accept them."""

SEGMENT_ID_MAX_LENGTH: Final = 100

# Problems about the whole rule or rule set come before the problems of single leaves.
_RANK: Final[dict[str, int]] = {"duplicate_segment_id": 0, "too_deep": 1, "too_many_conditions": 1}


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits for one rule.

    ``max_depth`` is the deepest nesting of groups (``all { leaf }`` is 1), and
    ``max_conditions`` the largest number of leaf conditions.
    """

    max_depth: int = 10
    max_conditions: int = 200


DEFAULT_LIMITS: Final = Limits()


def validate_segment(segment: Segment, registry: Registry | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise ``RuleErrors`` listing every problem of ``segment``, the most useful first.

    ``registry`` defaults to the registry of the installed plugins. References to other
    segments are not checked here, except a reference of the segment to itself.
    """
    problems = segment_problems(segment, registry, limits)
    if problems:
        raise RuleErrors(problems)


def validate_segments(
    segments: Sequence[Segment],
    registry: Registry | None = None,
    limits: Limits = DEFAULT_LIMITS,
    *,
    known_segments: Collection[str] | None = (),
) -> None:
    """Raise ``RuleErrors`` listing every problem of a set of segments, the most useful first.

    Besides each segment's own problems, this checks that ids are unique, that every
    referenced segment is in ``segments`` or in ``known_segments`` (ids stored
    elsewhere), and that no segments refer to each other in a cycle. With
    ``known_segments=None`` references to segments outside the set are not checked.
    """
    registry = registry or get_registry()
    problems: list[RuleSemanticError] = list(_duplicate_ids(segments))
    ids = {segment.id for segment in segments}
    for segment in segments:
        problems.extend(segment_problems(segment, registry, limits))
        if known_segments is not None:
            problems.extend(_unknown_references(segment, ids | set(known_segments)))
    problems.extend(_reference_cycles(segments))
    if problems:
        logger.debug("%d problems in %d segments", len(problems), len(segments))
        raise RuleErrors(sorted(problems, key=lambda problem: _RANK.get(problem.code, 2)))


def segment_problems(
    segment: Segment, registry: Registry | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[RuleSemanticError]:
    """Return every problem of ``segment``, the most useful first, without raising."""
    registry = registry or get_registry()
    checker = LeafChecker(registry)
    problems: list[RuleSemanticError] = []
    problems.extend(_identity_problems(segment))
    problems.extend(_limit_problems(segment, limits))
    for node in walk(segment.condition):
        if isinstance(node, Group):
            problems.extend(_group_problems(node))
        elif isinstance(node, SegmentRef):
            problems.extend(_reference_problems(node, segment))
        elif (kind := registry.condition_kind_for(node)) is not None:
            problems.extend(kind.validate(node, registry))
        else:
            problems.extend(checker.check(node))
    return sorted(problems, key=lambda problem: _RANK.get(problem.code, 2))


def _identity_problems(segment: Segment) -> Iterable[RuleSemanticError]:
    if not SEGMENT_ID_PATTERN.match(segment.id) or len(segment.id) > SEGMENT_ID_MAX_LENGTH:
        yield RuleSemanticError(
            f'invalid segment id "{segment.id}"',
            location=at(segment.loc, "id"),
            value=segment.id,
            hint="Start with a letter or underscore and use only letters, digits and underscores, "
            f"at most {SEGMENT_ID_MAX_LENGTH} characters, for example vip_hanoi",
            code="invalid_segment_id",
            params={"id": segment.id},
        )
    if not segment.name.strip():
        yield RuleSemanticError(
            f'segment "{segment.id}" has an empty name',
            location=at(segment.loc, "name"),
            value=segment.name,
            hint="Give the segment a name that marketers will recognise",
            code="empty_name",
            params={"id": segment.id},
        )


def _limit_problems(segment: Segment, limits: Limits) -> Iterable[RuleSemanticError]:
    too_deep = _first_group_deeper_than(segment.condition, limits.max_depth, 1)
    if too_deep is not None:
        yield RuleSemanticError(
            f"groups are nested more than {limits.max_depth} deep",
            location=too_deep.loc,
            hint="Merge nested groups of the same kind, or move part of the rule into its own segment "
            "and refer to it",
            code="too_deep",
            params={"max_depth": limits.max_depth},
        )
    count = leaf_count(segment)
    if count > limits.max_conditions:
        yield RuleSemanticError(
            f'segment "{segment.id}" has {counted(count, "condition")}, '
            f"more than the maximum of {limits.max_conditions}",
            location=segment.loc,
            value=count,
            hint="Split the rule into smaller segments and combine them with segment references",
            code="too_many_conditions",
            params={"count": count, "max_conditions": limits.max_conditions},
        )


def _first_group_deeper_than(node: Node, max_depth: int, level: int) -> Group | None:
    """Return the first group, in document order, that sits ``max_depth + 1`` groups deep."""
    if not isinstance(node, Group):
        return None
    if level > max_depth:
        return node
    for child in node.conditions:
        found = _first_group_deeper_than(child, max_depth, level + 1)
        if found is not None:
            return found
    return None


def _group_problems(group: Group) -> Iterable[RuleSemanticError]:
    if group.kind not in GROUP_KINDS:
        yield RuleSemanticError(
            f'unknown group kind "{group.kind}"',
            location=group.loc,
            value=group.kind,
            hint="A group is all, any or none",
            code="unknown_group_kind",
            params={"kind": group.kind},
        )
    if not group.conditions:
        yield RuleSemanticError(
            f"the {group.kind} group is empty",
            location=group.loc,
            hint="Add a condition to the group or remove it",
            code="empty_group",
            params={"kind": group.kind},
        )


def _reference_problems(reference: SegmentRef, segment: Segment) -> Iterable[RuleSemanticError]:
    if not SEGMENT_ID_PATTERN.match(reference.segment):
        yield RuleSemanticError(
            f'invalid segment id "{reference.segment}"',
            location=at(reference.loc, "segment"),
            value=reference.segment,
            hint="Segment ids use only letters, digits and underscores",
            code="invalid_segment_id",
            params={"id": reference.segment},
        )
    if reference.segment == segment.id:
        yield RuleSemanticError(
            f'segment "{segment.id}" refers to itself',
            location=reference.loc,
            value=reference.segment,
            hint="A segment cannot depend on its own membership; remove the reference",
            code="segment_cycle",
            params={"cycle": [segment.id, segment.id]},
        )


def _duplicate_ids(segments: Sequence[Segment]) -> Iterable[RuleSemanticError]:
    first_seen: dict[str, Segment] = {}
    for segment in segments:
        first = first_seen.setdefault(segment.id, segment)
        if first is not segment:
            yield RuleSemanticError(
                f'segment id "{segment.id}" is used more than once',
                location=segment.loc,
                value=segment.id,
                hint=f"The first segment with this id is at {first.loc}; give each segment its own id",
                code="duplicate_segment_id",
                params={"id": segment.id, "first": str(first.loc)},
            )


def _unknown_references(segment: Segment, known: set[str]) -> Iterable[RuleSemanticError]:
    for node in walk(segment.condition):
        if isinstance(node, SegmentRef) and node.segment not in known:
            suggestion = closest(node.segment, known)
            hint = f'Did you mean "{suggestion}"?' if suggestion else "Define that segment, or remove the reference"
            yield RuleSemanticError(
                f'segment "{segment.id}" refers to unknown segment "{node.segment}"',
                location=at(node.loc, "segment"),
                value=node.segment,
                hint=hint,
                code="unknown_segment",
                params={"id": node.segment, "suggestion": suggestion},
            )


def _reference_cycles(segments: Sequence[Segment]) -> Iterable[RuleSemanticError]:
    """Yield a problem at each reference that closes a cycle between different segments.

    The references are the back edges of a depth-first walk that starts from the
    segments in their given order, so removing all of them leaves no cycle. A segment
    that refers to itself is reported by ``segment_problems``.
    """
    by_id: dict[str, Segment] = {}
    for segment in segments:
        by_id.setdefault(segment.id, segment)
    edges: dict[str, list[SegmentRef]] = {
        segment_id: [
            node
            for node in walk(segment.condition)
            if isinstance(node, SegmentRef) and node.segment in by_id and node.segment != segment_id
        ]
        for segment_id, segment in by_id.items()
    }
    done: set[str] = set()
    for start in by_id:
        if start in done:
            continue
        path: list[str] = [start]
        stack: list[Iterator[SegmentRef]] = [iter(edges[start])]
        while stack:
            reference = next(stack[-1], None)
            if reference is None:
                done.add(path.pop())
                stack.pop()
                continue
            target = reference.segment
            if target in path:
                yield _cycle_problem(reference, [*path[path.index(target) :], target])
            elif target not in done:
                path.append(target)
                stack.append(iter(edges[target]))


def _cycle_problem(reference: SegmentRef, cycle: list[str]) -> RuleSemanticError:
    cycle_text = " → ".join(cycle)
    return RuleSemanticError(
        f"segments refer to each other in a cycle: {cycle_text}",
        location=reference.loc,
        value=reference.segment,
        hint="A segment cannot depend on its own membership; remove one of the references in the cycle",
        code="segment_cycle",
        params={"cycle": cycle},
    )
