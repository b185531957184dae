"""The rule commands of ``segmento``: validate, fmt, compile, match and explain.

Most tests call the command in-process through click's ``CliRunner``; the last ones
run the installed ``segmento`` script as a real process and check the exit status and
the messages a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

from segmento.cli import main
from segmento.cli.rules_commands import SQL_DIALECTS
from segmento.engine.dsl.formatter import format_segments
from segmento.engine.dsl.parser import parse_segments
from segmento.engine.dsl.reformat import reformat
from segmento.plugins.sql.dialects import DIALECT_NAMES
from tests.conftest import MARIADB_URL, server_unavailable

SEGMENTO = Path(sys.executable).with_name("segmento")

VIP_RULE = """\
segment vip_hanoi "Khách VIP Hà Nội"
description "Đã chi từ 5 triệu và sống ở Hà Nội"
all {
  total_purchase_value >= 5_000_000
  city = "ha noi" ignoring case, accents
}
"""

RECENT_RULE = """\
segment recent_buyers "Mua trong 7 ngày qua"
last_purchase_at in last 7 days
"""

TWO_RULES = """\
segment vip_hanoi "Khách VIP Hà Nội"
all {
  total_purchase_value >= 5_000_000
  city = "ha noi" ignoring case, accents
}

segment vip_not_blocked "VIP, not blocked"
all {
  in segment vip_hanoi
  not in segment blocked
}
"""

JSON_RULE = {
    "id": "big_spenders",
    "name": "Big spenders",
    "condition": {"field": "total_purchase_value", "operator": "gte", "type": "number", "value": 10000000},
}

PROFILES: list[dict[str, Any]] = [
    {
        "id": "1",
        "city": "Hà Nội",
        "total_purchase_value": "6000000",
        "last_purchase_at": "2024-04-25T10:00:00Z",
        "segments": ["vip_hanoi"],
    },
    {
        "id": "2",
        "city": "Đà Nẵng",
        "total_purchase_value": "9000000",
        "last_purchase_at": "2024-04-30T17:30:00Z",
        "segments": [],
    },
    {
        "id": "3",
        "city": "ha noi",
        "total_purchase_value": "5000000",
        "last_purchase_at": "2024-03-01T00:00:00Z",
        "segments": ["vip_hanoi", "blocked"],
    },
    {"id": "4", "city": "HÀ NỘI", "total_purchase_value": "4999999.99"},
    {"id": "5"},
]


def invoke(*args: object) -> Result:
    """Run ``segmento ARGS`` in this process."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_profiles(directory: Path, profiles: Sequence[Mapping[str, Any]] = PROFILES) -> Path:
    lines = [json.dumps(profile, ensure_ascii=False) for profile in profiles]
    return write(directory, "profiles.jsonl", "\n".join(lines) + "\n")


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- validate ----------------------------------------------------------------------------


def test_validate_prints_ok_per_file(tmp_path: Path) -> None:
    rules = write(tmp_path, "two.seg", TWO_RULES)
    big = write(tmp_path, "big.json", json.dumps(JSON_RULE))
    result = invoke("validate", rules, big)
    # "blocked" is not defined in these files.
    assert result.exit_code == 1
    assert 'refers to unknown segment "blocked"' in result.stderr

    blocked = write(tmp_path, "blocked.seg", 'segment blocked "Blocked"\nstatus = "lapsed"\n')
    result = invoke("validate", rules, big, blocked)
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == [
        f"ok {rules} (2 segments)",
        f"ok {big} (1 segment)",
        f"ok {blocked} (1 segment)",
    ]
    assert result.stderr == ""


def test_validate_directory_reads_rule_files(tmp_path: Path) -> None:
    write(tmp_path, "rules/a.seg", VIP_RULE)
    write(tmp_path, "rules/sub/b.json", json.dumps(JSON_RULE))
    write(tmp_path, "rules/.drafts/broken.seg", "segment broken")
    write(tmp_path, "rules/notes.txt", "not a rule")
    result = invoke("validate", tmp_path / "rules")
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == [
        f"ok {tmp_path / 'rules/a.seg'} (1 segment)",
        f"ok {tmp_path / 'rules/sub/b.json'} (1 segment)",
    ]


def test_validate_reference_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "first.seg", 'segment first "First"\nin segment second\n')
    second = write(tmp_path, "second.seg", 'segment second "Second"\nstatus = "active"\n')
    assert invoke("validate", first, second).exit_code == 0

    result = invoke("validate", first)
    assert result.exit_code == 1
    assert f'{first}:2:1: error: segment "first" refers to unknown segment "second"' in result.stderr


def test_validate_duplicate_id_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "first.seg", VIP_RULE)
    second = write(tmp_path, "second.seg", VIP_RULE)
    result = invoke("validate", first, second)
    assert result.exit_code == 1
    assert f'{second}:1:1: error: segment id "vip_hanoi" is used more than once' in result.stderr
    assert f"ok {first} (1 segment)" in result.stdout


def test_validate_cycle_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "first.seg", 'segment first "First"\nin segment second\n')
    second = write(tmp_path, "second.seg", 'segment second "Second"\nin segment first\n')
    result = invoke("validate", first, second)
    assert result.exit_code == 1
    assert "segments refer to each other in a cycle: first → second → first" in result.stderr


def test_validate_unknown_field_suggests_name(tmp_path: Path) -> None:
    rule = write(tmp_path, "bad.seg", 'segment bad "Bad"\nall {\n  citty = "Hà Nội"\n}\n')
    result = invoke("validate", rule)
    assert result.exit_code == 1
    assert lines(result.stderr)[:4] == [
        f'{rule}:3:3: error: unknown field "citty"',
        '      citty = "Hà Nội"',
        "      ^",
        '  hint: Did you mean "city"?',
    ]
    assert result.stdout == ""


def test_validate_syntax_error_shows_position(tmp_path: Path) -> None:
    rule = write(tmp_path, "syntax.seg", 'segment s "S"\nall {\n  city = \n}\n')
    result = invoke("validate", rule)
    assert result.exit_code == 1
    assert lines(result.stderr)[:3] == [
        f"{rule}:3:9: error: missing value after `=`",
        "      city = ",
        "            ^",
    ]
    assert "hint: Write a value" in result.stderr


def test_validate_json_problem_has_pointer(tmp_path: Path) -> None:
    document = {**JSON_RULE, "condition": {**JSON_RULE["condition"], "field": "total_purchase_valu"}}
    rule = write(tmp_path, "bad.json", json.dumps(document))
    result = invoke("validate", rule)
    assert result.exit_code == 1
    assert f'{rule}#/condition/field: error: unknown field "total_purchase_valu"' in result.stderr
    assert 'hint: Did you mean "total_purchase_value"?' in result.stderr


def test_validate_missing_file_checks_others(tmp_path: Path) -> None:
    good = write(tmp_path, "good.seg", VIP_RULE)
    missing = tmp_path / "missing.seg"
    result = invoke("validate", missing, good)
    assert result.exit_code == 1
    assert f"{missing}: error: rule file not found" in result.stderr
    assert f"ok {good} (1 segment)" in result.stdout


def test_validate_rejects_other_file_types(tmp_path: Path) -> None:
    notes = write(tmp_path, "rules.txt", VIP_RULE)
    result = invoke("validate", notes)
    assert result.exit_code == 1
    assert f'{notes}: error: unsupported rule file type ".txt"' in result.stderr


def test_validate_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke("validate", tmp_path / "empty")
    assert result.exit_code == 1
    assert "directory contains no rule files" in result.stderr


def test_validate_needs_a_path() -> None:
    result = invoke("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_validate_json_format(tmp_path: Path) -> None:
    good = write(tmp_path, "good.seg", VIP_RULE)
    bad = write(tmp_path, "bad.seg", 'segment bad "Bad"\ncitty = "x"\n')
    result = invoke("validate", "--format", "json", good, bad)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["files"] == [
        {"path": str(good), "segments": 1, "problems": 0},
        {"path": str(bad), "segments": 1, "problems": 1},
    ]
    [problem] = report["problems"]
    assert problem["code"] == "unknown_field"
    assert (problem["source"], problem["line"], problem["column"]) == (str(bad), 2, 1)
    assert problem["hint"] == 'Did you mean "city"?'
    assert problem["text"].startswith(f'{bad}:2:1: error: unknown field "citty"')


def test_validate_fields_catalog(tmp_path: Path) -> None:
    rule = write(tmp_path, "tier.seg", 'segment gold "Gold"\nloyalty_tier = "gold"\n')
    assert invoke("validate", rule).exit_code == 1
    yaml_catalog = write(tmp_path, "catalog.yaml", "fields:\n  loyalty_tier: {type: string, description: Tier}\n")
    json_catalog = write(tmp_path, "catalog.json", json.dumps({"fields": {"loyalty_tier": "string"}}))
    for catalog in (yaml_catalog, json_catalog):
        result = invoke("validate", "--fields", catalog, rule)
        assert result.exit_code == 0, result.stderr
        assert f"ok {rule} (1 segment)" in result.stdout


def test_validate_bad_catalog(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    catalog = write(tmp_path, "catalog.yaml", "fields:\n  tier: colour\n")
    result = invoke("validate", "--fields", catalog, rule)
    assert result.exit_code == 1
    assert f"{catalog}#/fields/tier: error: field 'tier' has unknown type 'colour'" in result.stderr


BROKEN_SEGMENTS = """\
segment spent_5m "Chi từ 5 triệu"
total_purchase_value >= 5.000.000

segment recent "Mua gần đây"
last_purchase_at after 2024-02-30

segment hanoi "Hà Nội"
all {
  citty = "Hà Nội"
  in segment not_in_these_files
}
"""


def test_validate_reports_problem_in_each_segment(tmp_path: Path) -> None:
    rule = write(tmp_path, "broken.seg", BROKEN_SEGMENTS)
    result = invoke("validate", rule)
    assert result.exit_code == 1
    assert lines(result.stderr) == [
        f"{rule}:2:25: error: `5.000.000` is not a valid number: `.` is the decimal point, so it cannot separate "
        "thousands",
        "    total_purchase_value >= 5.000.000",
        "                            ^",
        "  hint: Write 5_000_000 or 5000000",
        f"{rule}:5:24: error: 2024-02-30 is not a valid date",
        "    last_purchase_at after 2024-02-30",
        "                           ^",
        "  hint: Write a real calendar date as YYYY-MM-DD, for example 2024-02-29",
        f'{rule}:9:3: error: unknown field "citty"',
        '      citty = "Hà Nội"',
        "      ^",
        '  hint: Did you mean "city"?',
        "3 problems in 1 of 1 file",
    ]
    # The reference is not reported: with two segments unread, it might point to one of them.
    assert "not_in_these_files" not in result.stderr


def test_validate_json_broken_file_count(tmp_path: Path) -> None:
    rule = write(tmp_path, "broken.seg", BROKEN_SEGMENTS)
    result = invoke("validate", "--format", "json", rule)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["files"] == [{"path": str(rule), "segments": None, "problems": 3}]
    assert [problem["code"] for problem in report["problems"]] == ["invalid_number", "invalid_date", "unknown_field"]


def test_validate_names_operators_as_the_file_writes_them(tmp_path: Path) -> None:
    dsl = write(tmp_path, "city.seg", 'segment s "S"\ncity contains any ["Huế"]\n')
    condition = {"field": "city", "operator": "contains_any", "type": "string", "value": ["Huế"]}
    document = {"id": "j", "name": "J", "condition": condition}
    json_rule = write(tmp_path, "city.json", json.dumps(document, ensure_ascii=False))
    result = invoke("validate", dsl, json_rule)
    assert result.exit_code == 1
    assert f'{dsl}:2:1: error: operator "contains any" is not allowed on field "city" of type string' in result.stderr
    assert "hint: Operators allowed here: =, !=, in [...], not in [...], is set, is not set, contains" in result.stderr
    assert (
        f'{json_rule}#/condition/operator: error: operator "contains_any" is not allowed on field "city"'
        in result.stderr
    )
    assert "hint: Operators allowed here: contains, ends_with, eq, in" in result.stderr


# --- fmt ---------------------------------------------------------------------------------

MESSY_RULE = """\
segment vip_hanoi   "Khách VIP"
all {
      total_purchase_value>=5000000
  city = "ha noi" ignoring case,accents
  none {
  status = "lapsed" }
}
"""

COMMENTED_RULE = """\
# Khách VIP: reviewed by marketing.
# Second header line.

segment vip_hanoi "Khách VIP #1"   # trailing on the header
all {
    # about spending
    total_purchase_value >= 5000000     # five million
  city = "ha noi # not a comment" ignoring case,accents
  any {
     long_term_interests contains any ["giày",
        "túi xách"]  # on a continuation line
     product_views[1234, 5678] >= 3
  }
  # end of the group
}
# above the next segment

segment lapsed "Lapsed"
status="lapsed"   # one line
# at the end of the file
"""

COMMENTS = (
    "# Khách VIP: reviewed by marketing.",
    "# Second header line.",
    "# trailing on the header",
    "# about spending",
    "# five million",
    "# on a continuation line",
    "# end of the group",
    "# above the next segment",
    "# one line",
    "# at the end of the file",
)


def test_fmt_rewrites_canonical_form(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", MESSY_RULE)
    result = invoke("fmt", rule)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"reformatted {rule}\n"
    assert rule.read_text(encoding="utf-8") == format_segments(parse_segments(MESSY_RULE))
    assert "1 file reformatted, 0 unchanged" in result.stderr


def test_fmt_keeps_comments(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", COMMENTED_RULE)
    result = invoke("fmt", rule)
    assert result.exit_code == 0, result.stderr
    text = rule.read_text(encoding="utf-8")
    assert text == reformat(COMMENTED_RULE)
    for comment in COMMENTS:
        assert comment in text
    assert text.startswith("# Khách VIP: reviewed by marketing.\n# Second header line.\n\nsegment vip_hanoi")
    assert "  total_purchase_value >= 5_000_000  # five million\n" in text
    assert 'city = "ha noi # not a comment" ignoring case, accents\n' in text
    assert parse_segments(text) == parse_segments(COMMENTED_RULE)


def test_fmt_twice_changes_nothing(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", COMMENTED_RULE)
    assert invoke("fmt", rule).exit_code == 0
    formatted = rule.read_bytes()
    result = invoke("fmt", rule)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "0 files reformatted, 1 unchanged" in result.stderr
    assert rule.read_bytes() == formatted


def test_fmt_check_writes_nothing(tmp_path: Path) -> None:
    messy = write(tmp_path, "messy.seg", MESSY_RULE)
    tidy = write(tmp_path, "tidy.seg", format_segments(parse_segments(VIP_RULE)))
    result = invoke("fmt", "--check", messy, tidy)
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert messy.read_text(encoding="utf-8") == MESSY_RULE

    result = invoke("fmt", "--check", tidy)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_fmt_json_canonical_keeps_schema(tmp_path: Path) -> None:
    condition = dict(reversed(list(JSON_RULE["condition"].items())))
    document = [{"$schema": "https://example.com/rule.schema.json", "description": "", **JSON_RULE, "condition": condition}]
    rule = write(tmp_path, "big.json", json.dumps(document))
    result = invoke("fmt", rule)
    assert result.exit_code == 0, result.stderr
    text = rule.read_text(encoding="utf-8")
    assert text.endswith("}\n]\n")
    rewritten = json.loads(text)
    assert list(rewritten[0]) == ["$schema", "id", "name", "condition"]
    assert list(rewritten[0]["condition"]) == ["field", "operator", "type", "value"]
    assert invoke("fmt", "--check", rule).exit_code == 0


def test_fmt_leaves_unparsable_file(tmp_path: Path) -> None:
    broken_text = 'segment s "S"\nall {\n  city = \n}\n'
    broken = write(tmp_path, "broken.seg", broken_text)
    messy = write(tmp_path, "messy.seg", MESSY_RULE)
    result = invoke("fmt", broken, messy)
    assert result.exit_code == 1
    assert f"{broken}:3:9: error: missing value after `=`" in result.stderr
    assert broken.read_text(encoding="utf-8") == broken_text
    assert result.stdout == f"reformatted {messy}\n"


def nested_rule(depth: int, indent: str = "  ") -> str:
    """Return a segment whose condition sits in ``depth`` nested all groups."""
    opening = [indent * level + "all {" for level in range(depth)]
    closing = [indent * level + "}" for level in reversed(range(depth))]
    return "\n".join(['segment deep "Deep"', *opening, indent * depth + 'city = "x"', *closing]) + "\n"


def test_fmt_formats_invalid_rule_with_warning(tmp_path: Path) -> None:
    messy = nested_rule(60, indent=" ")
    rule = write(tmp_path, "deep.seg", messy)
    result = invoke("fmt", rule)
    assert result.exit_code == 0, result.stderr
    assert rule.read_text(encoding="utf-8") == reformat(messy)
    assert result.stdout == f"reformatted {rule}\n"
    # The warning points at the formatted file: the 11th group is on line 12, indented by 10 levels.
    assert lines(result.stderr) == [
        f"{rule}:12:21: warning: groups are nested more than 10 deep",
        "    " + "  " * 10 + "all {",
        "    " + "  " * 10 + "^",
        "  hint: Merge nested groups of the same kind, or move part of the rule into its own segment and refer to it",
        "1 file reformatted, 0 unchanged, 1 validation warning (segmento validate reports it as an error)",
    ]
    assert invoke("validate", rule).exit_code == 1


def test_fmt_check_shows_validation_warnings(tmp_path: Path) -> None:
    tidy = write(tmp_path, "tidy.seg", 'segment bad "Bad"\nall {\n  citty = "x"\n  total_purchase >= 1\n}\n')
    messy = write(tmp_path, "messy.seg", 'segment bad2 "Bad"\nall {\n  citty   = "y"\n}\n')
    result = invoke("fmt", "--check", tidy)
    assert result.exit_code == 0
    assert f'{tidy}:3:3: warning: unknown field "citty"' in result.stderr
    assert "0 files would be reformatted, 1 unchanged, 1 validation warning" in result.stderr

    result = invoke("fmt", "--check", tidy, messy)
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert f'{messy}:3:3: warning: unknown field "citty"' in result.stderr
    summary = "1 file would be reformatted, 1 unchanged, 2 validation warnings (segmento validate reports them as errors)"
    assert lines(result.stderr)[-1] == summary


def test_fmt_fields_catalog_removes_warning(tmp_path: Path) -> None:
    rule = write(tmp_path, "tier.seg", 'segment gold "Gold"\nloyalty_tier = "gold"\n')
    catalog = write(tmp_path, "catalog.json", json.dumps({"fields": {"loyalty_tier": "string"}}))
    assert "warning: unknown field" in invoke("fmt", rule).stderr
    result = invoke("fmt", "--fields", catalog, rule)
    assert result.exit_code == 0
    assert "warning" not in result.stderr


def test_fmt_does_not_check_references_outside_files(tmp_path: Path) -> None:
    rule = write(tmp_path, "ref.seg", 'segment a "A"\nin segment elsewhere\n')
    result = invoke("fmt", rule)
    assert result.exit_code == 0
    assert "warning" not in result.stderr


# --- convert -------------------------------------------------------------------------------


def test_convert_dsl_to_json_on_stdout(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("convert", rule, "--to", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "id": "vip_hanoi",
        "name": "Khách VIP Hà Nội",
        "description": "Đã chi từ 5 triệu và sống ở Hà Nội",
        "condition": {
            "all": [
                {"field": "total_purchase_value", "operator": "gte", "type": "integer", "value": 5000000},
                {
                    "field": "city",
                    "operator": "eq",
                    "type": "string",
                    "value": "ha noi",
                    "ignore_case": True,
                    "ignore_accents": True,
                },
            ]
        },
    }
    assert result.stderr == ""


def test_convert_several_segments_gives_list(tmp_path: Path) -> None:
    rule = write(tmp_path, "two.seg", TWO_RULES)
    result = invoke("convert", rule, "--to", "json")
    assert result.exit_code == 0, result.stderr
    assert [segment["id"] for segment in json.loads(result.stdout)] == ["vip_hanoi", "vip_not_blocked"]


def test_convert_json_to_dsl_file(tmp_path: Path) -> None:
    rule = write(tmp_path, "big.json", json.dumps(JSON_RULE))
    output = tmp_path / "big.seg"
    result = invoke("convert", rule, "--to", "dsl", "-o", output)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"wrote {output} (1 segment)\n"
    assert output.read_text(encoding="utf-8") == (
        'segment big_spenders "Big spenders"\ntotal_purchase_value >= 10_000_000.0\n'
    )


def test_convert_round_trip_through_files(tmp_path: Path) -> None:
    rule = write(tmp_path, "two.seg", TWO_RULES)
    as_json = tmp_path / "two.json"
    back = tmp_path / "back.seg"
    assert invoke("convert", rule, "-o", as_json).exit_code == 0
    result = invoke("convert", as_json, "-o", back)
    assert result.exit_code == 0, result.stderr
    assert back.read_text(encoding="utf-8") == format_segments(parse_segments(TWO_RULES))
    assert parse_segments(back.read_text(encoding="utf-8")) == parse_segments(TWO_RULES)


def test_convert_default_form_is_the_other_one(tmp_path: Path) -> None:
    rule = write(tmp_path, "big.json", json.dumps(JSON_RULE))
    result = invoke("convert", rule)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('segment big_spenders "Big spenders"\n')


def test_convert_same_form_writes_canonical_text(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", COMMENTED_RULE)
    result = invoke("convert", rule, "--to", "dsl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == reformat(COMMENTED_RULE)


def test_convert_notes_dropped_comments(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", COMMENTED_RULE)
    result = invoke("convert", rule, "--to", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "note: the JSON form has no comments, so 10 comments are not in the output\n"


def test_convert_invalid_rule_writes_nothing(tmp_path: Path) -> None:
    rule = write(tmp_path, "broken.seg", BROKEN_SEGMENTS)
    output = tmp_path / "broken.json"
    result = invoke("convert", rule, "-o", output)
    assert result.exit_code == 1
    assert not output.exists()
    assert result.stdout == ""
    assert f"{rule}:2:25: error: `5.000.000` is not a valid number" in result.stderr
    assert f"{rule}:5:24: error: 2024-02-30 is not a valid date" in result.stderr
    assert f'{rule}:9:3: error: unknown field "citty"' in result.stderr
    assert lines(result.stderr)[-1] == f"3 problems in {rule}; nothing converted"


def test_convert_missing_file(tmp_path: Path) -> None:
    result = invoke("convert", tmp_path / "nope.seg", "--to", "json")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.seg'}: error: rule file not found" in result.stderr


def test_convert_output_suffix_must_match_form(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("convert", rule, "--to", "dsl", "-o", tmp_path / "vip.json")
    assert result.exit_code == 2
    assert "vip.json ends in .json, but --to dsl writes .seg text" in result.stderr
    assert not (tmp_path / "vip.json").exists()


def test_convert_fields_catalog(tmp_path: Path) -> None:
    rule = write(tmp_path, "tier.seg", 'segment gold "Gold"\nloyalty_tier = "gold"\n')
    catalog = write(tmp_path, "catalog.yaml", "fields:\n  loyalty_tier: {type: string, description: Tier}\n")
    assert invoke("convert", rule, "--to", "json").exit_code == 1
    result = invoke("convert", "--fields", catalog, rule, "--to", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["condition"]["field"] == "loyalty_tier"


# --- compile -----------------------------------------------------------------------------


def test_compile_sql_prints_query_and_parameters(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("compile", "--target", "sql", rule)
    assert result.exit_code == 0, result.stderr
    output = lines(result.stdout)
    assert output[0] == "-- segment vip_hanoi: Khách VIP Hà Nội"
    assert output[1].startswith("SELECT profiles.id")
    assert "profiles.city_ci_ai = :city_ci_ai_1" in result.stdout
    assert "-- parameters:" in output
    assert '--   :city_ci_ai_1 = "ha noi"' in output


@pytest.mark.parametrize("dialect", ["sqlite", "mysql", "mariadb", "postgresql"])
def test_compile_each_dialect(tmp_path: Path, dialect: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("compile", "--dialect", dialect, rule)
    assert result.exit_code == 0, result.stderr
    assert "FROM profiles" in result.stdout


def test_compile_dialect_choices_match_plugin() -> None:
    assert SQL_DIALECTS == DIALECT_NAMES


def test_compile_json_fixes_window_at_as_of(tmp_path: Path) -> None:
    rule = write(tmp_path, "recent.seg", RECENT_RULE)
    result = invoke("compile", "--format", "json", "--as-of", "2024-05-01", rule)
    assert result.exit_code == 0, result.stderr
    [document] = json.loads(result.stdout)
    assert document["segment"] == "recent_buyers"
    assert document["dialect"] == "sqlite"
    # Local midnight in Asia/Ho_Chi_Minh (UTC+7) and the instant 7 days before it.
    assert sorted(document["parameters"].values()) == ["2024-04-23T17:00:00+00:00", "2024-04-30T17:00:00+00:00"]


def test_compile_unknown_target_lists_targets(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("compile", "--target", "spark", rule)
    assert result.exit_code == 2
    assert "unknown target 'spark'; registered targets: sql" in result.stderr


def test_compile_memory_target_explains(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("compile", "--target", "memory", rule)
    assert result.exit_code == 2
    assert "target 'memory' evaluates rules in this process and has no query to print" in result.stderr
    assert "use segmento match" in result.stderr


def test_compile_unknown_dialect(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("compile", "--dialect", "oracle", rule)
    assert result.exit_code == 2
    assert "'oracle' is not one of 'sqlite', 'mysql', 'mariadb', 'postgresql'" in result.stderr


def test_compile_picks_segment(tmp_path: Path) -> None:
    rules = write(tmp_path, "two.seg", TWO_RULES)
    result = invoke("compile", "--segment", "vip_not_blocked", rules)
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout)[0] == "-- segment vip_not_blocked: VIP, not blocked"
    assert "vip_hanoi:" not in result.stdout

    result = invoke("compile", "--segment", "vip_hanoj", rules)
    assert result.exit_code == 2
    assert "no segment 'vip_hanoj'" in result.stderr
    assert "did you mean 'vip_hanoi'?" in result.stderr


# --- match -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_match_prints_sorted_ids(tmp_path: Path, backend: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--backend", backend)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n3\n"
    assert result.stderr == "2 of 5 profiles match segment vip_hanoi\n"


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_match_reads_memberships(tmp_path: Path, backend: str) -> None:
    rules = write(tmp_path, "two.seg", TWO_RULES)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rules, "--segment", "vip_not_blocked", "--profiles", profiles, "--backend", backend)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n"


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("as_of", "timezone", "expected"),
    [
        # Local midnight (UTC+7) is 2024-04-30T17:00Z: the purchase at 17:30Z is later.
        ("2024-05-01", "Asia/Ho_Chi_Minh", "1\n"),
        ("2024-05-01T00:00:00", "Asia/Ho_Chi_Minh", "1\n"),
        ("2024-05-01T00:00:00", "UTC", "1\n2\n"),
        ("2024-04-30T17:30:00Z", "Asia/Ho_Chi_Minh", "1\n2\n"),
        ("2024-03-05", "Asia/Ho_Chi_Minh", "3\n"),
    ],
)
def test_match_window_at_as_of(tmp_path: Path, backend: str, as_of: str, timezone: str, expected: str) -> None:
    rule = write(tmp_path, "recent.seg", RECENT_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--as-of", as_of, "--tz", timezone, "--backend", backend)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


def test_match_unknown_backend(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--backend", "elastic")
    assert result.exit_code == 2
    assert "Invalid value for '--backend': unknown backend 'elastic'; use memory, sqlite" in result.stderr


def test_match_unsupported_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    monkeypatch.setenv("SEGMENTO_TEST_URL", "oracle://scott:tiger@127.0.0.1/orcl")
    result = invoke("match", rule, "--profiles", profiles, "--backend", "env:SEGMENTO_TEST_URL")
    assert result.exit_code == 2
    assert "database 'oracle' of 'oracle://scott:***@127.0.0.1/orcl' is not supported" in result.stderr
    assert "tiger" not in result.output


def test_match_rejects_password_on_command_line(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--backend", "mysql+pymysql://shop:tiger@127.0.0.1/shop")
    assert result.exit_code == 2
    assert "must not be written on the command line" in result.stderr
    assert "env:SEGMENTO_DATABASE_URL" in result.stderr
    assert "tiger" not in result.output


def test_match_rejects_query_password(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--backend", "mysql+pymysql://shop@127.0.0.1/shop?password=tiger")
    assert result.exit_code == 2
    assert "must not be written on the command line" in result.stderr
    assert "tiger" not in result.output


def test_match_masks_query_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    monkeypatch.setenv("SEGMENTO_TEST_URL", "oracle://scott@127.0.0.1/orcl?password=tiger")
    result = invoke("match", rule, "--profiles", profiles, "--backend", "env:SEGMENTO_TEST_URL")
    assert result.exit_code == 2
    assert "database 'oracle' of 'oracle://scott@127.0.0.1/orcl?password=***' is not supported" in result.stderr
    assert "tiger" not in result.output


def test_match_backend_from_empty_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    monkeypatch.setenv("SEGMENTO_EMPTY", " ")
    result = invoke("match", rule, "--profiles", profiles, "--backend", "env:SEGMENTO_EMPTY")
    assert result.exit_code == 2
    assert "environment variable 'SEGMENTO_EMPTY' is empty" in result.stderr


def test_match_backend_from_missing_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    monkeypatch.delenv("SEGMENTO_NOT_SET", raising=False)
    result = invoke("match", rule, "--profiles", profiles, "--backend", "env:SEGMENTO_NOT_SET")
    assert result.exit_code == 2
    assert "environment variable 'SEGMENTO_NOT_SET' is not set" in result.stderr


@pytest.mark.parametrize("as_of", ["2024-13-01", "yesterday", "2024-05-01T25:00"])
def test_match_malformed_as_of(tmp_path: Path, as_of: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--as-of", as_of)
    assert result.exit_code == 2
    assert f"Invalid value for '--as-of': '{as_of}' is not an ISO 8601 date or date and time" in result.stderr


def test_match_unknown_time_zone(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--tz", "Asia/Hanoi_City")
    assert result.exit_code == 2
    assert "unknown time zone 'Asia/Hanoi_City'" in result.stderr


def test_match_needs_segment_choice(tmp_path: Path) -> None:
    rules = write(tmp_path, "two.seg", TWO_RULES)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rules, "--profiles", profiles)
    assert result.exit_code == 2
    assert f"{rules} contains 2 segments (vip_hanoi, vip_not_blocked); choose one with --segment" in result.stderr


def test_match_invalid_rule(tmp_path: Path) -> None:
    rule = write(tmp_path, "bad.seg", 'segment bad "Bad"\ncity_name = "Hà Nội"\n')
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles)
    assert result.exit_code == 1
    assert f'{rule}:2:1: error: unknown field "city_name"' in result.stderr
    assert result.stdout == ""


def test_match_missing_profiles(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("match", rule, "--profiles", tmp_path / "missing.jsonl")
    assert result.exit_code == 1
    assert f"{tmp_path / 'missing.jsonl'}: error: cannot read profiles: No such file or directory" in result.stderr


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_match_invalid_profile_line(tmp_path: Path, backend: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write(tmp_path, "profiles.jsonl", '{"id": "1"}\n{"id": "2", "total_purchase_value": "lots"}\n')
    result = invoke("match", rule, "--profiles", profiles, "--backend", backend)
    assert result.exit_code == 1
    assert f"{profiles}:2#/total_purchase_value: error: invalid value for 'total_purchase_value'" in result.stderr


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    """The URL of a new, empty MariaDB database, dropped after the module's tests."""
    try:
        import pymysql  # noqa: F401
    except ImportError:
        server_unavailable("MariaDB", "PyMySQL is not installed; install the test extra")
    server = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    name = f"segmento_cli_{uuid.uuid4().hex[:10]}"
    try:
        with server.begin() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except sa.exc.OperationalError as error:
        server_unavailable("MariaDB", str(error.orig))
    yield server.url.set(database=name).render_as_string(hide_password=False)
    with server.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE `{name}`")


@pytest.mark.mariadb
def test_match_on_database_url(tmp_path: Path, mariadb_url: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    result = invoke("match", rule, "--profiles", profiles, "--backend", mariadb_url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "1\n3\n"
    engine = sa.create_engine(mariadb_url, poolclass=NullPool)
    assert sa.inspect(engine).get_table_names() == []


@pytest.mark.mariadb
def test_match_keeps_existing_tables(tmp_path: Path, mariadb_url: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    engine = sa.create_engine(mariadb_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE profiles (id VARCHAR(10) PRIMARY KEY)")
        connection.exec_driver_sql("INSERT INTO profiles VALUES ('mine')")
    try:
        result = invoke("match", rule, "--profiles", profiles, "--backend", mariadb_url)
        assert result.exit_code == 1
        assert "error: the database already has tables named profiles" in result.stderr
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT id FROM profiles").scalars().all() == ["mine"]
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE profiles")


@pytest.mark.mariadb
def test_match_masks_password(tmp_path: Path, mariadb_url: str) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profiles = write_profiles(tmp_path)
    url = sa.engine.make_url(mariadb_url).set(password="s3cret@pw").render_as_string(hide_password=False)
    result = CliRunner().invoke(
        main,
        ["-vv", "match", str(rule), "--profiles", str(profiles), "--backend", "env:SEGMENTO_TEST_URL"],
        env={"SEGMENTO_TEST_URL": url},
    )
    assert result.exit_code == 1
    assert "Access denied" in result.stderr
    assert ":***@" in result.stderr
    assert "s3cret" not in result.output
    assert "s3cret%40pw" not in result.output


# --- explain -----------------------------------------------------------------------------

INLINE_PROFILE = '{"id": "9", "city": "Hà Nội", "total_purchase_value": 4000000.50}'


def test_explain_inline_profile(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("explain", rule, "--profile", INLINE_PROFILE)
    assert result.exit_code == 0, result.stderr
    assert lines(result.stdout) == [
        "✗ segment vip_hanoi: the profile is not in the segment",
        "  ✗ all of: 1 of 2 conditions is false",
        "    ✗ total_purchase_value >= 5000000: total_purchase_value is 4000000.50, which is not >= 5000000",
        '    ✓ city = "ha noi" ignoring case, accents: city is "Hà Nội", which is = "ha noi"',
    ]


def test_explain_profile_file_as_json(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    profile = write(tmp_path, "profile.json", json.dumps(PROFILES[0], ensure_ascii=False))
    result = invoke("explain", rule, "--profile", profile, "--format", "json")
    assert result.exit_code == 0, result.stderr
    tree = json.loads(result.stdout)
    assert tree["result"] is True
    assert tree["label"] == "segment vip_hanoi"
    [group] = tree["children"]
    assert [child["result"] for child in group["children"]] == [True, True]
    assert group["children"][0]["tested"] == "6000000"
    assert group["children"][0]["location"] == f"{rule}:4:3"


def test_explain_invalid_json_shows_position(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("explain", rule, "--profile", '{"id": "9", "city": }')
    assert result.exit_code == 1
    assert lines(result.stderr)[:3] == [
        "--profile:1:21: error: invalid JSON: Expecting value",
        '    {"id": "9", "city": }',
        "                        ^",
    ]


def test_explain_missing_profile_file(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("explain", rule, "--profile", tmp_path / "nobody.json")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nobody.json'}: error: profile file not found" in result.stderr


def test_explain_profile_without_id(tmp_path: Path) -> None:
    rule = write(tmp_path, "vip.seg", VIP_RULE)
    result = invoke("explain", rule, "--profile", '{"city": "Hà Nội"}')
    assert result.exit_code == 1
    assert "--profile#/id: error: profile has no id" in result.stderr


# --- the installed script, as a real process -------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write(tmp_path, "vip.seg", VIP_RULE)
    write(tmp_path, "bad.seg", 'segment bad "Bad"\nall {\n  citty = "Hà Nội"\n}\n')
    write(tmp_path, "syntax.seg", 'segment s "S"\nall {\n  city = \n}\n')
    write(tmp_path, "messy.seg", MESSY_RULE)
    write_profiles(tmp_path)
    return tmp_path


PROCESS_CASES = [
    pytest.param(["validate", "vip.seg"], 0, "ok vip.seg (1 segment)", "", id="validate-ok"),
    pytest.param(["validate", "nope.seg"], 1, "", "nope.seg: error: rule file not found", id="validate-missing"),
    pytest.param(
        ["validate", "syntax.seg"], 1, "", "syntax.seg:3:9: error: missing value after `=`", id="validate-syntax"
    ),
    pytest.param(["validate", "bad.seg"], 1, "", 'hint: Did you mean "city"?', id="validate-unknown-field"),
    pytest.param(["fmt", "--check", "messy.seg"], 1, "would reformat messy.seg", "", id="fmt-check"),
    pytest.param(["convert", "vip.seg", "--to", "json"], 0, '"id": "vip_hanoi"', "", id="convert"),
    pytest.param(
        ["convert", "bad.seg", "--to", "json"], 1, "", "1 problem in bad.seg; nothing converted", id="convert-invalid"
    ),
    pytest.param(["compile", "vip.seg", "--dialect", "mysql"], 0, "SELECT profiles.id", "", id="compile"),
    pytest.param(["compile", "nope.seg"], 1, "", "nope.seg: error: rule file not found", id="compile-missing"),
    pytest.param(
        ["match", "vip.seg", "--profiles", "profiles.jsonl", "--backend", "sqlite"], 0, "1\n3\n", "", id="match"
    ),
    pytest.param(
        ["match", "vip.seg", "--profiles", "profiles.jsonl", "--backend", "cassandra"],
        2,
        "",
        "unknown backend 'cassandra'",
        id="match-unknown-backend",
    ),
    pytest.param(
        ["match", "vip.seg", "--profiles", "profiles.jsonl", "--as-of", "01/05/2024"],
        2,
        "",
        "'01/05/2024' is not an ISO 8601 date or date and time",
        id="match-malformed-as-of",
    ),
    pytest.param(
        ["match", "bad.seg", "--profiles", "profiles.jsonl"],
        1,
        "",
        'bad.seg:3:3: error: unknown field "citty"',
        id="match-unknown-field",
    ),
    pytest.param(
        ["explain", "vip.seg", "--profile", INLINE_PROFILE],
        0,
        "✗ segment vip_hanoi: the profile is not in the segment",
        "",
        id="explain",
    ),
]


@pytest.mark.parametrize(("args", "status", "stdout", "stderr"), PROCESS_CASES)
def test_segmento_process(workspace: Path, args: list[str], status: int, stdout: str, stderr: str) -> None:
    process = subprocess.run(
        [str(SEGMENTO), *args], cwd=workspace, capture_output=True, text=True, encoding="utf-8", timeout=120
    )
    assert process.returncode == status, process.stderr
    assert stdout in process.stdout
    assert stderr in process.stderr
