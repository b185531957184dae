"""Segment type: identity and demographics (gender, birthday, age, city, country)."""

from __future__ import annotations

from collections.abc import Sequence

from segmento.engine.catalog import FieldSpec
from segmento.engine.hookspecs import hookimpl


@hookimpl
def segmento_fields() -> Sequence[FieldSpec]:
    return (
        FieldSpec("name", "string", "full name"),
        FieldSpec("gender", "string", "gender as the shop records it", allowed_values=("female", "male", "other")),
        FieldSpec("birthday", "date", "date of birth"),
        FieldSpec("age", "integer", "whole years at the local date of as_of", derived_from="birthday"),
        FieldSpec("city", "string", "city of the customer's address"),
        FieldSpec("country", "string", "country of the customer's address"),
        FieldSpec("signed_up_at", "datetime", "when the customer account was created"),
    )
