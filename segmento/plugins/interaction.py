"""Segment type: interaction (views, carts, searches, sessions in a time window)."""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import EventSpec
from segmento.engine.hookspecs import hookimpl


@hookimpl
def segmento_events() -> Sequence[EventSpec]:
    return (
        EventSpec("page_view", "a page was shown"),
        EventSpec("product_view", "a product page was shown"),
        EventSpec("add_to_cart", "a product was added to the cart"),
        EventSpec("remove_from_cart", "a product was removed from the cart"),
        EventSpec("search", "a search was made"),
        EventSpec("session_start", "a visit began"),
    )
