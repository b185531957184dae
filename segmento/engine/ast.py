"""Rule model: immutable nodes that the JSON loader and the DSL parser both build.

Each node keeps the location it came from (``loc``) and the ``#`` comments written
beside it in DSL text. Both are left out of equality, so a rule read from JSON equals
the same rule read from DSL. Values are Python
objects: ``str``, ``int``, ``Decimal`` (never ``float``), ``bool``, ``date``,
``datetime``, ``tuple`` for lists and for ``between`` bounds, ``Duration``,
``CalendarPeriod`` and ``None`` for operators that take no value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from segmento.engine.errors import UNKNOWN_LOCATION, Location
from segmento.engine.values import CalendarPeriod, Duration

GroupKind = Literal["all", "any", "none"]
GROUP_KINDS: Final[tuple[GroupKind, ...]] = ("all", "any", "none")

Aggregate = Literal["count", "sum"]
AGGREGATES: Final[tuple[Aggregate, ...]] = ("count", "sum")


@dataclass(frozen=True, slots=True)
class TextOptions:
    """Comparison mode of a string operator: exact, or ignoring case and/or diacritics."""

    ignore_case: bool = False
    ignore_accents: bool = False

    @property
    def exact(self) -> bool:
        return not (self.ignore_case or self.ignore_accents)


EXACT: Final = TextOptions()


@dataclass(frozen=True, slots=True)
class ValueLocation:
    """Position of a leaf's value in DSL text.

    ``start`` is the first character of the value: a scalar, the ``[`` of a list or
    the lower bound of ``between``. ``items`` contains the start of each list item or
    bound, in order, and is empty for a scalar.
    """

    start: Location
    items: tuple[Location, ...] = ()


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every rule node.

    ``comments`` are the comment lines above the node, each from ``#`` to the end of
    its line. An empty string among them is a blank line. ``inline_comment`` is the
    comment at the end of the node's line (``city = "x"  # note``).
    """

    loc: Location = field(default=UNKNOWN_LOCATION, compare=False, kw_only=True, repr=False)
    comments: tuple[str, ...] = field(default=(), compare=False, kw_only=True, repr=False)
    inline_comment: str | None = field(default=None, compare=False, kw_only=True, repr=False)

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """A leaf that tests one profile field: ``total_purchase_value >= 5000000``.

    ``include`` lists the keys of a map or ranked field the test is about
    (``product_views[1234, 5678] >= 3``); it is ``None`` for a plain field.
    """

    field: str
    operator: str
    value: Any = None
    include: tuple[str, ...] | None = None
    options: TextOptions = EXACT
    value_loc: ValueLocation | None = field(default=None, compare=False, kw_only=True, repr=False)
    """Position of ``value`` in DSL text, or ``None`` for a rule read from JSON."""


@dataclass(frozen=True, slots=True)
class EventCondition(Node):
    """A behavioural leaf: a count or sum of events of one kind compared with a number.

    ``count(add_to_cart) >= 1 in last 7 days``. ``measure`` names the event
    property that ``sum`` adds up (``value`` = price × quantity). ``products`` and
    ``categories`` restrict the events counted; ``window`` is a ``Duration`` (the last N
    units before ``as_of``), a ``CalendarPeriod``, or ``None`` for the whole history.
    """

    event: str
    aggregate: Aggregate
    operator: str
    value: Any
    measure: str | None = None
    products: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    window: Duration | CalendarPeriod | None = None
    value_loc: ValueLocation | None = field(default=None, compare=False, kw_only=True, repr=False)
    """Position of ``value`` in DSL text, or ``None`` for a rule read from JSON."""


@dataclass(frozen=True, slots=True)
class SegmentRef(Node):
    """Membership of another segment: ``in segment vip`` or ``not in segment blocked``."""

    segment: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Group(Node):
    """``all`` (and), ``any`` (or) or ``none`` (not any) of the child conditions.

    ``negated`` is the JSON form's ``"not": true``: the group's result is inverted.
    ``trailing_comments`` are the comment lines after the last condition, before ``}``.
    """

    kind: GroupKind
    conditions: tuple[Condition, ...]
    negated: bool = False
    trailing_comments: tuple[str, ...] = field(default=(), compare=False, kw_only=True, repr=False)

    def children(self) -> tuple[Node, ...]:
        return self.conditions


Condition = Comparison | EventCondition | SegmentRef | Group


@dataclass(frozen=True, slots=True)
class Segment(Node):
    """A named segment and its condition; the unit that rule files and the API exchange.

    ``trailing_comments`` are the comment lines after the condition, such as those at
    the end of a file.
    """

    id: str
    name: str
    condition: Condition
    description: str = ""
    trailing_comments: tuple[str, ...] = field(default=(), compare=False, kw_only=True, repr=False)

    def children(self) -> tuple[Node, ...]:
        return (self.condition,)


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, depth first, in document order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def depth(node: Node) -> int:
    """Return the nesting depth of groups: a single leaf is 0, ``all { leaf }`` is 1."""
    inner = max((depth(child) for child in node.children()), default=0)
    return inner + 1 if isinstance(node, Group) else inner


def leaf_count(node: Node) -> int:
    """Return the number of leaf conditions, the measure of a rule's size."""
    return sum(1 for item in walk(node) if not isinstance(item, (Group, Segment)))


def referenced_segments(node: Node) -> frozenset[str]:
    """Return the ids of every segment that ``node`` refers to."""
    return frozenset(item.segment for item in walk(node) if isinstance(item, SegmentRef))
