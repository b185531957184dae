"""Every case of the shared table on the in-memory evaluator and on each SQL database."""

from __future__ import annotations

import pytest

from segmento.engine.evaluator import select
from segmento.engine.profiles import coerce_profile
from tests.cases import Case, all_cases, case_registry
from tests.conftest import SqlBackend

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[item.id for item in CASES])
def test_memory_selects_expected(case: Case) -> None:
    registry = case_registry()
    profiles = [coerce_profile(raw, registry) for raw in case.profiles]
    mark = case.mark_for("memory")
    if mark is not None:
        with pytest.raises(mark.raises):
            select(case.rule, profiles, registry, as_of=case.as_of, timezone=case.timezone)
        return

    selected = select(case.rule, profiles, registry, as_of=case.as_of, timezone=case.timezone)

    assert sorted(selected) == list(case.expected)


@pytest.mark.parametrize("case", CASES, ids=[item.id for item in CASES])
def test_sql_selects_expected(sql_backend: SqlBackend, case: Case) -> None:
    sql_backend.load(case.profiles)
    mark = case.mark_for(sql_backend.name)
    if mark is not None:
        with pytest.raises(mark.raises) as raised:
            sql_backend.store.members(case.rule, as_of=case.as_of, timezone=case.timezone)
        assert "'sql'" in str(raised.value), mark.reason
        return

    selected = sql_backend.store.members(case.rule, as_of=case.as_of, timezone=case.timezone)

    assert selected == list(case.expected)
