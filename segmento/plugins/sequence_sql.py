"""The SQL implementation of the ``sequence`` condition of the behaviour plugin.

``EXISTS`` a ``first`` event in the window, old enough that its follow-up time has
passed, for which ``NOT EXISTS`` a ``then_not`` event in ``(first.time, first.time +
within]``. The end of that interval is the only value computed from a row; it uses
``dialects.plus_seconds``, which each supported database spells its own way.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.errors import UnsupportedError
from segmento.engine.values import CalendarPeriod, Duration
from segmento.plugins.behaviour import SequenceCondition
from segmento.plugins.sql.compiler import SqlCompiler
from segmento.plugins.sql.dialects import plus_seconds


def sequence_condition(compiler: SqlCompiler, node: SequenceCondition) -> ColumnElement[bool]:
    """Return the SQL test of ``node`` for the profile row of ``compiler.model``."""
    if not isinstance(node, SequenceCondition):
        raise UnsupportedError(
            f"the sequence implementation got a {type(node).__name__}", location=node.loc, params={"target": "sql"}
        )
    model, clock = compiler.model, compiler.clock
    first = model.events.alias("sequence_first")
    follow_up = model.events.alias("sequence_follow_up")
    within = node.within.to_timedelta()
    seconds = int(within.total_seconds())

    follow_filters: list[ColumnElement[bool]] = [
        follow_up.c.profile_id == first.c.profile_id,
        follow_up.c.kind == node.then_not,
        follow_up.c.time > first.c.time,
        follow_up.c.time <= plus_seconds(first.c.time, sa.bindparam(None, seconds, type_=sa.Integer())),
    ]
    if node.same_product:
        # A cart without a product has no follow-up of the same product.
        follow_filters.append(follow_up.c.product_id == first.c.product_id)
    followed = sa.exists().where(*follow_filters)

    first_filters: list[ColumnElement[bool]] = [
        first.c.profile_id == model.profiles.c.id,
        first.c.kind == node.first,
        # Only a first event whose whole follow-up time has passed by as_of counts.
        first.c.time <= clock.as_of - within,
    ]
    if isinstance(node.window, Duration):
        start, end = clock.last(node.window)
        first_filters.extend((first.c.time > start, first.c.time <= end))
    elif isinstance(node.window, CalendarPeriod):
        start, end = clock.period(node.window)
        first_filters.extend((first.c.time >= start, first.c.time < end))
    return sa.exists().where(*first_filters, sa.not_(followed))
