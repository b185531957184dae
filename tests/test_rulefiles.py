"""Reading rule files and directories of them, in the JSON form and in the DSL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segmento.engine.ast import Comparison, Group, SegmentRef
from segmento.engine.errors import RuleError, RuleErrors, RuleSyntaxError
from segmento.engine.jsonform import load_segment
from segmento.engine.rulefiles import load_rule_dir, load_rule_file
from segmento.engine.validation import Limits

VIP = {
    "id": "vip",
    "name": "Khách VIP",
    "condition": {"field": "total_purchase_value", "operator": "gte", "type": "integer", "value": 5000000},
}
VIP_HANOI = {
    "id": "vip_hanoi",
    "name": "Khách VIP Hà Nội",
    "condition": {
        "all": [{"segment": "vip"}, {"field": "city", "operator": "eq", "type": "string", "value": "Hà Nội"}]
    },
}
VIP_HANOI_DSL = """segment vip_hanoi "Khách VIP Hà Nội"
all {
  in segment vip
  city = "Hà Nội"
}
"""


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_json_file_with_one_segment(tmp_path: Path) -> None:
    path = write_json(tmp_path / "vip.json", VIP)

    segments = load_rule_file(path)

    assert segments == [load_segment(VIP)]
    assert segments[0].loc.source == str(path)
    assert segments[0].condition.loc.pointer == "/condition"


def test_json_file_with_array(tmp_path: Path) -> None:
    path = write_json(tmp_path / "vip.json", [VIP, VIP_HANOI])

    segments = load_rule_file(path)

    assert [segment.id for segment in segments] == ["vip", "vip_hanoi"]
    assert segments[1].loc.pointer == "/1"


def test_json_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "vip.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(VIP).encode("utf-8"))

    assert [segment.id for segment in load_rule_file(path)] == ["vip"]


def test_dsl_file(tmp_path: Path) -> None:
    path = tmp_path / "vip_hanoi.seg"
    path.write_text(VIP_HANOI_DSL, encoding="utf-8")

    segments = load_rule_file(path)

    assert segments == [load_segment(VIP_HANOI)]
    condition = segments[0].condition
    assert isinstance(condition, Group)
    assert condition.conditions[1].loc.line == 4
    assert condition.conditions[1].loc.source == str(path)


def test_dsl_file_problem_has_line(tmp_path: Path) -> None:
    path = tmp_path / "typo.seg"
    path.write_text('segment typo "Typo"\nall {\n  cty = "Huế"\n}\n', encoding="utf-8")

    with pytest.raises(RuleErrors) as raised:
        load_rule_file(path)

    assert raised.value.errors[0].code == "unknown_field"
    assert (raised.value.errors[0].location.line, raised.value.errors[0].location.column) == (3, 3)
    assert str(raised.value).startswith(f"{path}:3:3: unknown field")


def test_references_outside_file_are_not_checked(tmp_path: Path) -> None:
    path = write_json(tmp_path / "vip_hanoi.json", VIP_HANOI)

    assert [segment.id for segment in load_rule_file(path)] == ["vip_hanoi"]
    with pytest.raises(RuleErrors) as raised:
        load_rule_file(path, known_segments=())
    assert raised.value.errors[0].code == "unknown_segment"


def test_file_segments_are_validated(tmp_path: Path) -> None:
    document = {**VIP, "condition": {"field": "total_purchase_value", "operator": "gte", "type": "string",
                                     "value": "5000000"}}
    path = write_json(tmp_path / "vip.json", document)

    with pytest.raises(RuleErrors) as raised:
        load_rule_file(path)

    assert raised.value.errors[0].code == "wrong_value_type"
    assert str(raised.value.errors[0].location) == f"{path}#/condition/value"


def test_file_limits_apply(tmp_path: Path) -> None:
    path = write_json(tmp_path / "vip.json", VIP_HANOI)

    with pytest.raises(RuleErrors) as raised:
        load_rule_file(path, limits=Limits(max_conditions=1))

    assert raised.value.errors[0].code == "too_many_conditions"


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.json", b"", "empty_rule_file"),
        ("blank.seg", b"  \n\t\n", "empty_rule_file"),
        ("latin1.json", '{"id": "vip", "name": "Khách"}'.encode("latin-1"), "not_utf8"),
        ("vip.yaml", b"id: vip", "unsupported_file_type"),
        ("vip", b"{}", "unsupported_file_type"),
    ],
)
def test_unusable_file_is_named(tmp_path: Path, name: str, content: bytes, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(RuleError) as raised:
        load_rule_file(path)

    assert raised.value.code == code
    assert raised.value.location.source == str(path)
    assert str(raised.value).startswith(str(path))


def test_unsupported_file_type_lists_extensions(tmp_path: Path) -> None:
    path = tmp_path / "vip.txt"
    path.write_text("segment vip", encoding="utf-8")

    with pytest.raises(RuleError) as raised:
        load_rule_file(path)

    assert raised.value.hint is not None
    assert ".json" in raised.value.hint
    assert ".seg" in raised.value.hint


def test_non_utf8_file_reports_position(tmp_path: Path) -> None:
    path = tmp_path / "vip.seg"
    path.write_bytes(b'segment vip "VIP"\ncity = "Hu\xe1\xba"\n')

    with pytest.raises(RuleSyntaxError) as raised:
        load_rule_file(path)

    assert (raised.value.location.line, raised.value.location.column) == (2, 11)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"

    with pytest.raises(RuleError) as raised:
        load_rule_file(path)

    assert raised.value.code == "rule_file_not_found"
    assert str(raised.value) == f"{path}: rule file not found. Check the path"


def test_unreadable_file(tmp_path: Path) -> None:
    # A directory named like a rule file cannot be read as one, even by root.
    path = tmp_path / "folder.json"
    path.mkdir()

    with pytest.raises(RuleError) as raised:
        load_rule_file(path)

    assert raised.value.code == "rule_file_unreadable"
    assert raised.value.location.source == str(path)


def test_json_syntax_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"id": "vip",\n "name": }', encoding="utf-8")

    with pytest.raises(RuleSyntaxError) as raised:
        load_rule_file(path)

    assert (raised.value.location.source, raised.value.location.line) == (str(path), 2)


# --- directories ----------------------------------------------------------------------


def test_directory_is_one_rule_set(tmp_path: Path) -> None:
    write_json(tmp_path / "b_vip.json", VIP)
    (tmp_path / "a_vip_hanoi.seg").write_text(VIP_HANOI_DSL, encoding="utf-8")
    nested = tmp_path / "more"
    nested.mkdir()
    (nested / "blocked.seg").write_text('segment blocked "Blocked"\nnot in segment vip_hanoi\n', encoding="utf-8")

    segments = load_rule_dir(tmp_path)

    assert [segment.id for segment in segments] == ["vip_hanoi", "vip", "blocked"]
    assert segments[2].condition == SegmentRef("vip_hanoi", negated=True)


def test_directory_skips_hidden_and_other_files(tmp_path: Path) -> None:
    write_json(tmp_path / "vip.json", VIP)
    (tmp_path / "README.md").write_text("# Rules", encoding="utf-8")
    (tmp_path / ".draft.json").write_text("{", encoding="utf-8")
    hidden = tmp_path / ".git"
    hidden.mkdir()
    (hidden / "old.seg").write_text("broken", encoding="utf-8")

    assert [segment.id for segment in load_rule_dir(tmp_path)] == ["vip"]


def test_empty_directory(tmp_path: Path) -> None:
    assert load_rule_dir(tmp_path) == []


def test_directory_collects_problems_of_all_files(tmp_path: Path) -> None:
    broken = tmp_path / "a_broken.json"
    broken.write_text("{", encoding="utf-8")
    typo = tmp_path / "b_typo.seg"
    typo.write_text('segment typo "Typo"\ncty is set\n', encoding="utf-8")
    empty = tmp_path / "c_empty.seg"
    empty.write_text("", encoding="utf-8")
    write_json(tmp_path / "d_vip_hanoi.json", VIP_HANOI)

    with pytest.raises(RuleErrors) as raised:
        load_rule_dir(tmp_path)

    found = [(error.location.source, error.code) for error in raised.value.errors]
    assert found == [
        (str(broken), "json_syntax"),
        (str(typo), "unknown_field"),
        (str(empty), "empty_rule_file"),
    ]


def test_directory_checks_references_between_files(tmp_path: Path) -> None:
    path = write_json(tmp_path / "vip_hanoi.json", VIP_HANOI)

    with pytest.raises(RuleErrors) as raised:
        load_rule_dir(tmp_path)

    assert [error.code for error in raised.value.errors] == ["unknown_segment"]
    assert str(raised.value.errors[0].location) == f"{path}#/condition/all/0/segment"


def test_directory_reports_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write_json(tmp_path / "a.json", VIP)
    second = tmp_path / "b.seg"
    second.write_text('segment vip "VIP again"\ncity is set\n', encoding="utf-8")

    with pytest.raises(RuleErrors) as raised:
        load_rule_dir(tmp_path)

    assert [error.code for error in raised.value.errors] == ["duplicate_segment_id"]
    assert raised.value.errors[0].location.source == str(second)
    assert raised.value.errors[0].hint is not None
    assert str(first) in raised.value.errors[0].hint


def test_directory_reports_cycle_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.seg").write_text('segment a "A"\nin segment b\n', encoding="utf-8")
    (tmp_path / "b.seg").write_text('segment b "B"\nin segment a\n', encoding="utf-8")

    with pytest.raises(RuleErrors) as raised:
        load_rule_dir(tmp_path)

    assert [error.code for error in raised.value.errors] == ["segment_cycle"]


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as raised:
        load_rule_dir(tmp_path / "missing")

    assert raised.value.code == "rule_dir_not_found"


def test_json_and_dsl_files_give_equal_segments(tmp_path: Path) -> None:
    json_path = write_json(tmp_path / "vip_hanoi.json", VIP_HANOI)
    dsl_path = tmp_path / "vip_hanoi.seg"
    dsl_path.write_text(VIP_HANOI_DSL, encoding="utf-8")

    from_json = load_rule_file(json_path)
    from_dsl = load_rule_file(dsl_path)

    assert from_json == from_dsl
    condition = from_dsl[0].condition
    assert isinstance(condition, Group)
    assert condition.conditions[1] == Comparison("city", "eq", "Hà Nội")
