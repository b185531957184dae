"""Segment type: shopping habits (how much, how often, what basket size).

Aggregates are net of cancellations. Money fields are exact decimals.
"""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl


@hookimpl
def segmento_fields() -> Sequence[FieldSpec]:
    return (
        FieldSpec("total_purchase", "integer", "number of orders"),
        FieldSpec("total_purchase_value", "decimal", "total spent over all orders"),
        FieldSpec("avg_purchase_value", "decimal", "average order value"),
        FieldSpec("min_purchase_value", "decimal", "smallest order value"),
        FieldSpec("max_purchase_value", "decimal", "largest order value"),
        FieldSpec("avg_basket_size", "decimal", "average number of items per order"),
        FieldSpec("first_purchase_at", "datetime", "time of the first order"),
        FieldSpec("last_purchase_at", "datetime", "time of the latest order"),
    )
