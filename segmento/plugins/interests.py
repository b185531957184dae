"""Segment type: products and categories of interest (include by id or by name)."""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl


@hookimpl
def segmento_fields() -> Sequence[FieldSpec]:
    return (
        FieldSpec("long_term_interests", "score_map", "category scores over the whole history"),
        FieldSpec("short_term_interests", "ranked_list", "top 4 categories of the recent window, ranked 1-4"),
        FieldSpec("favorite_category", "string", "category with the highest long-term score"),
        FieldSpec("product_views", "count_map", "number of views per product id"),
        FieldSpec("view_count", "integer", "number of product views"),
    )
