"""Segment type: customer status derived from recency and frequency."""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl

STATUSES = ("new", "active", "at_risk", "lapsed")


@hookimpl
def segmento_fields() -> Sequence[FieldSpec]:
    return (FieldSpec("status", "string", "new, active, at_risk or lapsed", allowed_values=STATUSES),)
