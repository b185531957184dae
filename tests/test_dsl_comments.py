"""Comments in DSL text: where the parser attaches them and where the formatter prints them."""

from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmento.engine.ast import Comparison, Condition, Group, Node, Segment, walk
from segmento.engine.dsl.formatter import format_condition, format_segment, format_segments
from segmento.engine.dsl.parser import parse_condition, parse_segment, parse_segments
from segmento.engine.dsl.reformat import reformat
from segmento.engine.jsonform import dump_segment, dumps_segment, load_segment
from tests.strategies import commented, conditions, segments

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def comment_texts(text: str) -> list[str]:
    """Return every ``#`` comment of ``text`` in order; the texts used here have no ``#`` inside strings."""
    return [match.rstrip() for match in re.findall(r"#[^\n]*", text)]


def places(node: Node) -> list[tuple[str, Any]]:
    """Return the comments of ``node`` and of every node below it, in document order, with their place."""
    found: list[tuple[str, Any]] = []
    for item in walk(node):
        name = type(item).__name__
        found.append((f"{name} above", item.comments))
        found.append((f"{name} inline", item.inline_comment))
        if isinstance(item, (Group, Segment)):
            found.append((f"{name} trailing", item.trailing_comments))
    return found


def strip_comments(text: str) -> str:
    return re.sub(r" *#[^\n]*", "", text)


def cycle(text: str) -> str:
    return format_segments(parse_segments(text))


# --- canonical text keeps every comment in place -------------------------------------------

COMMENTED_FILE = """\
# Khách hàng thân thiết, reviewed by the marketing team.
# Thresholds are in VND.

# Spent a lot and lives in Hà Nội.
segment vip_hanoi "Khách VIP Hà Nội"  # owner: team Hà Nội
description "Đã chi trên 5 triệu và sống ở Hà Nội"
all {  # every test must hold
  # 5 triệu đồng, before discounts

  total_purchase_value >= 5_000_000
  city = "ha noi" ignoring case, accents  # spelled without accents in old profiles

  # Either interested in shoes and bags,
  # or a frequent viewer.
  any {
    long_term_interests contains any ["giày", "túi xách"]
    product_views[1234, 5678] >= 3  # top products
    # a third way to qualify goes here
  }
  none { status = "lapsed" }  # lapsed customers get the win-back campaign
  not in segment blocked_customers
  # keep the blocked check last
}
# TODO: add the birthday campaign

segment blocked_customers "Blocked"
in segment manual_blocklist

# End of the VIP rules.
"""


def test_commented_file_is_canonical() -> None:
    assert cycle(COMMENTED_FILE) == COMMENTED_FILE


def test_comments_attach_to_nodes() -> None:
    vip, blocked = parse_segments(COMMENTED_FILE)
    group = vip.condition
    assert isinstance(group, Group)
    spend, city, any_group, none_group, reference = group.conditions

    assert vip.comments == (
        "# Khách hàng thân thiết, reviewed by the marketing team.",
        "# Thresholds are in VND.",
        "",
        "# Spent a lot and lives in Hà Nội.",
    )
    assert vip.inline_comment == "# owner: team Hà Nội"
    assert group.inline_comment == "# every test must hold"
    assert spend.comments == ("# 5 triệu đồng, before discounts", "")
    assert city.inline_comment == "# spelled without accents in old profiles"
    assert any_group.comments == ("", "# Either interested in shoes and bags,", "# or a frequent viewer.")
    assert isinstance(any_group, Group)
    assert any_group.conditions[1].inline_comment == "# top products"
    assert any_group.trailing_comments == ("# a third way to qualify goes here",)
    assert none_group.inline_comment == "# lapsed customers get the win-back campaign"
    assert none_group.conditions[0].inline_comment is None
    assert reference.comments == ()
    assert group.trailing_comments == ("# keep the blocked check last",)
    assert vip.trailing_comments == ("# TODO: add the birthday campaign",)
    assert blocked.comments == ()
    assert blocked.trailing_comments == ("", "# End of the VIP rules.")


def test_comments_ignored_by_equality() -> None:
    commented_rule = parse_segments(COMMENTED_FILE)[0]
    bare = parse_segment(strip_comments(format_segment(commented_rule)))

    assert bare.comments == ()
    assert bare == commented_rule
    assert hash(bare) == hash(commented_rule)


def test_every_comment_survives_in_order() -> None:
    assert comment_texts(cycle(COMMENTED_FILE)) == comment_texts(COMMENTED_FILE)


# --- comments at each position -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("file header", '# rules of the shop\n\nsegment a "A"\nx = 1\n'),
        ("header without blank line", '# about a\nsegment a "A"\nx = 1\n'),
        ("above second segment", 'segment a "A"\nx = 1\n\n# about b\nsegment b "B"\ny = 1\n'),
        ("below a segment", 'segment a "A"\nx = 1\n# still about a\n\nsegment b "B"\ny = 1\n'),
        ("segment header line", 'segment a "A"  # header\ndescription "D"\nx = 1\n'),
        ("above top condition", 'segment a "A"\ndescription "D"\n# why\nx = 1\n'),
        ("above a condition", 'segment a "A"\nall {\n  x = 1\n  # why y\n  y = 2\n}\n'),
        ("blank line before comment", 'segment a "A"\nall {\n  x = 1\n\n  # why y\n  y = 2\n}\n'),
        ("blank line after comment", 'segment a "A"\nall {\n  # section\n\n  x = 1\n}\n'),
        ("end of leaf line", 'segment a "A"\nall {\n  x = 1  # note\n  y = 2\n}\n'),
        ("end of group line", 'segment a "A"\nall {  # note\n  x = 1\n  y = 2\n}\n'),
        ("one-line group", 'segment a "A"\nall {\n  none { x = 1 }  # note\n  y = 2\n}\n'),
        ("empty group", 'segment a "A"\nall {}  # nothing yet\n'),
        ("comment in empty group", 'segment a "A"\nall {\n  # nothing yet\n}\n'),
        ("after last condition", 'segment a "A"\nall {\n  x = 1\n  # more later\n}\n'),
        ("blank before trailing", 'segment a "A"\nall {\n  x = 1\n\n  # more later\n}\n'),
        (
            "nested groups",
            'segment a "A"\nall {\n  # outer\n  any {\n    # inner\n    not none {\n'
            "      # deepest\n      x = 1\n      y = 2  # y\n      # end deepest\n    }\n"
            "    # end inner\n  }\n  # end outer\n}\n",
        ),
        ("end of file", 'segment a "A"\nx = 1\n# the end\n'),
        ("end of file after blank", 'segment a "A"\nx = 1\n\n# the end\n\n# really\n'),
        (
            "event and reference",
            'segment a "A"\nall {\n  count(purchase) >= 1 in last 7 days  # buyers\n  # not these\n'
            "  not in segment b\n}\n",
        ),
    ],
)
def test_canonical_text_with_comment(case: str, text: str) -> None:
    assert cycle(text) == text


def test_vietnamese_comments_kept_verbatim() -> None:
    decomposed = unicodedata.normalize("NFD", "# Khách ở Đà Nẵng")
    text = f'# Phân khúc khách hàng: ưu đãi tháng 12\nsegment a "A"\nall {{\n  {decomposed}\n  city = "Đà Nẵng"  # thành phố\n}}\n'

    output = cycle(text)

    assert output == text
    assert decomposed in output


# --- comments that move to a canonical place -----------------------------------------------


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "description line",
            'segment a "A"\n# about the description\ndescription "D"  # note\nx = 1\n',
            'segment a "A"\ndescription "D"\n# about the description\n# note\nx = 1\n',
        ),
        (
            "after closing brace",
            'segment a "A"\nall {\n  any {\n    x = 1\n    y = 2\n  }  # end any\n  z = 3\n}  # end all\n',
            'segment a "A"\nall {\n  any {\n    x = 1\n    y = 2\n  }\n  # end any\n  z = 3\n}\n# end all\n',
        ),
        (
            "inside a list",
            'segment a "A"\nall {\n  # cities\n  city in [  # big ones\n    "Hà Nội",  # capital\n    "Huế",\n  ]  # enough\n}\n',
            'segment a "A"\nall {\n  # cities\n  # big ones\n  # capital\n  city in ["Hà Nội", "Huế"]  # enough\n}\n',
        ),
        (
            "inside include keys",
            'segment a "A"\nproduct_views[\n  "1",  # phone\n  "2",\n] >= 3\n',
            'segment a "A"\n# phone\nproduct_views[1, 2] >= 3\n',
        ),
        (
            "one-line group broken by leaf comment",
            'segment a "A"\nnone {\n  # why\n  status = "lapsed"\n}\n',
            'segment a "A"\nnone {\n  # why\n  status = "lapsed"\n}\n',
        ),
        (
            "one-line group joined",
            'segment a "A"\nnone {  # why\n  status = "lapsed"\n}\n',
            'segment a "A"\nnone { status = "lapsed" }  # why\n',
        ),
        (
            "blank lines collapsed",
            '\n\n# one\n\n\n\n# two\n\n\nsegment a "A"\nall {\n\n  # first\n  x = 1\n  # last\n\n}\n\n\n',
            '# one\n\n# two\n\nsegment a "A"\nall {\n  # first\n  x = 1\n  # last\n}\n',
        ),
        (
            "spacing and markers",
            '  #   spaced   \nsegment   a   "A"  #note\t\nall{  #  open\n\tx=1#tight\n}',
            '#   spaced\nsegment a "A"  #note\nall {  #  open\n  x = 1  #tight\n}\n',
        ),
        (
            "between segments without blank line",
            'segment a "A"\nx = 1\n# about b\nsegment b "B"\ny = 2\n',
            'segment a "A"\nx = 1\n\n# about b\nsegment b "B"\ny = 2\n',
        ),
        (
            "crlf line ends",
            '# header\r\nsegment a "A"  # note\r\nx = 1\r\n',
            '# header\nsegment a "A"  # note\nx = 1\n',
        ),
    ],
)
def test_comment_moves_to_canonical_place(case: str, text: str, expected: str) -> None:
    output = cycle(text)

    assert output == expected
    assert cycle(output) == output
    assert comment_texts(output) == comment_texts(text)


def test_hash_inside_string_is_not_comment() -> None:
    text = 'segment a "A # 1"\nall {\n  tag = "#sale"  # real one\n}\n'

    segment = parse_segment(text)

    assert segment.name == "A # 1"
    assert segment.inline_comment is None
    assert isinstance(segment.condition, Group)
    assert segment.condition.conditions[0].inline_comment == "# real one"
    assert cycle(text) == text


# --- single conditions and comment-only files -----------------------------------------------


def test_condition_comments_round_trip() -> None:
    text = '# spenders\nall {  # both\n  x = 1\n  # and\n  y = 2  # y\n}'

    condition = parse_condition(text)

    assert condition.comments == ("# spenders",)
    assert format_condition(condition) == text


def test_comment_after_condition_moves_inside() -> None:
    condition = parse_condition("all {\n  x = 1\n}\n# after")

    assert isinstance(condition, Group)
    assert condition.trailing_comments == ("# after",)
    assert format_condition(condition) == "all {\n  x = 1\n  # after\n}"


def test_comment_only_file_kept_by_reformat() -> None:
    text = "# nothing yet\n\n\n# see the wiki\n# ask the data team\n"

    assert parse_segments(text) == []
    assert reformat(text) == "# nothing yet\n\n# see the wiki\n# ask the data team\n"
    assert reformat("\n\n") == ""


def test_reformat_equals_format_of_parse() -> None:
    assert reformat(COMMENTED_FILE, source="vip.seg") == cycle(COMMENTED_FILE)


# --- the formatter on nodes built in code ---------------------------------------------------


def test_built_node_comments_printed() -> None:
    leaf = Comparison("x", "eq", 1, comments=("# one", "", "", "# two", ""), inline_comment="# x")
    group = Group("all", (leaf,), comments=("", "# top"), trailing_comments=("", "# tail", ""))
    segment = Segment("a", "A", group, comments=("", "# about a"), trailing_comments=("# end",))

    text = format_segment(segment)

    assert text == '# about a\nsegment a "A"\n# top\nall {\n  # one\n\n  # two\n\n  x = 1  # x\n\n  # tail\n}\n# end\n'
    assert cycle(text) == text


def test_segment_trailing_blank_dropped_before_next() -> None:
    first = Segment("a", "A", Comparison("x", "eq", 1), trailing_comments=("# one", "", "# two"))
    second = Segment("b", "B", Comparison("y", "eq", 2))

    text = format_segments([first, second])

    assert text == 'segment a "A"\nx = 1\n# one\n# two\n\nsegment b "B"\ny = 2\n'
    assert parse_segments(text)[0].trailing_comments == ("# one", "# two")


@pytest.mark.parametrize("comment", ["note", "# two\n# lines", "  // note"])
def test_invalid_comment_rejected(comment: str) -> None:
    with pytest.raises(ValueError, match="a comment is one line that starts with #"):
        format_condition(Comparison("x", "eq", 1, comments=(comment,)))
    with pytest.raises(ValueError, match="a comment is one line that starts with #"):
        format_condition(Comparison("x", "eq", 1, inline_comment=comment))


# --- the JSON form ignores comments ---------------------------------------------------------


def test_json_form_ignores_comments() -> None:
    commented_rule = parse_segments(COMMENTED_FILE)[0]

    document = dumps_segment(commented_rule)
    loaded = load_segment(document)

    assert "#" not in document
    assert "comment" not in document
    assert loaded == commented_rule
    assert loaded.comments == ()
    assert dump_segment(loaded) == dump_segment(commented_rule)
    assert "#" not in format_segment(loaded)


# --- rule files of the repository ------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(RULES_DIR.rglob("*.seg")), ids=lambda path: path.name)
def test_rule_file_keeps_comments(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    output = reformat(text, source=str(path))

    assert comment_texts(text)
    assert comment_texts(output) == comment_texts(text)
    assert reformat(output) == output


# --- concurrency -------------------------------------------------------------------------------


def test_parallel_parses_keep_own_comments() -> None:
    texts = [f'# rule {number}\nsegment s{number} "S"\nx = {number}  # value {number}\n' for number in range(40)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(cycle, texts * 5))

    assert outputs == texts * 5


# --- generated rules --------------------------------------------------------------------------


@PROPERTY
@given(commented(segments(unusual=True)))
def test_generated_comments_round_trip(segment: Segment) -> None:
    text = format_segment(segment)
    parsed = parse_segment(text)

    assert parsed == segment
    assert places(parsed) == places(segment)
    assert format_segment(parsed) == text


@PROPERTY
@given(commented(conditions(unusual=True)))
def test_generated_condition_comments_round_trip(condition: Condition) -> None:
    text = format_condition(condition)
    parsed = parse_condition(text)

    assert parsed == condition
    assert places(parsed) == places(condition)
    assert format_condition(parsed) == text


@PROPERTY
@given(st.lists(commented(segments()), min_size=1, max_size=3))
def test_generated_file_comments_round_trip(many: list[Segment]) -> None:
    text = format_segments(many)
    parsed = parse_segments(text)

    assert parsed == many
    assert format_segments(parsed) == text
    # Blank lines in a segment's trailing comments are dropped when another segment follows.
    assert without_blanks(parsed) == without_blanks(many)


def without_blanks(many: list[Segment]) -> list[list[tuple[str, Any]]]:
    return [
        [(place, tuple(line for line in value if line) if isinstance(value, tuple) else value) for place, value in places(segment)]
        for segment in many
    ]
