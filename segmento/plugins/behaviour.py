"""Segment type: behaviour (purchases combined with other events over time)."""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import EventSpec
from segmento.engine.hookspecs import hookimpl


@hookimpl
def segmento_events() -> Sequence[EventSpec]:
    return (EventSpec("purchase", "an order line was bought"),)
