"""Reading a DSL file with syntax errors segment by segment, to report a problem in each segment."""

from __future__ import annotations

import pytest

from segmento.engine.dsl.parser import parse_segments
from segmento.engine.dsl.recovery import parse_segments_recovering, segment_blocks
from segmento.engine.errors import RuleSyntaxError

BROKEN_FILE = """\
# Rules of the Hà Nội team.
segment a "A"
all {
  total_purchase_value >= 5.000.000
}

segment b "B"
city = 'Huế'

segment c "C"
all {
  last_purchase_at after 2024-02-30
  last_purchase_at between 2024-13-01 and 2024-02-31
}

# A valid segment between broken ones.
segment d "D"
city = "Hà Nội"

segment e "E"
all {
  total_purchase >= 1
"""


def test_each_broken_segment_reports_its_problem() -> None:
    parsed = parse_segments_recovering(BROKEN_FILE, "rules.seg")

    found = [(problem.location.line, problem.location.column, problem.code) for problem in parsed.problems]
    assert found == [
        (4, 27, "invalid_number"),
        (8, 8, "stray_character"),
        (12, 26, "invalid_date"),
        (13, 28, "invalid_date"),
        (13, 43, "invalid_date"),
        (21, 5, "unclosed_brace"),
    ]
    assert all(problem.location.source == "rules.seg" for problem in parsed.problems)


def test_first_problem_is_the_one_parse_raises() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_segments(BROKEN_FILE, "rules.seg")

    first = parse_segments_recovering(BROKEN_FILE, "rules.seg").problems[0]

    assert str(first) == str(raised.value)


def test_problem_shows_its_own_source_line() -> None:
    parsed = parse_segments_recovering(BROKEN_FILE, "rules.seg")

    date_problem = parsed.problems[2]

    assert isinstance(date_problem, RuleSyntaxError)
    assert date_problem.source_line == "  last_purchase_at after 2024-02-30"
    assert date_problem.message == "2024-02-30 is not a valid date"


def test_segments_that_parse_are_returned() -> None:
    parsed = parse_segments_recovering(BROKEN_FILE, "rules.seg")

    assert [segment.id for segment in parsed.segments] == ["d"]
    assert parsed.segments[0].loc.line == 17
    assert parsed.segments[0].comments == ("# A valid segment between broken ones.",)


def test_valid_file_gives_segments_and_no_problem() -> None:
    text = 'segment a "A"\ncity = "x"\n\nsegment b "B"\ncity = "y"\n'

    parsed = parse_segments_recovering(text)

    assert parsed.problems == []
    assert parsed.segments == parse_segments(text)


def test_text_before_first_header_is_its_own_block() -> None:
    text = 'city = "x"\nsegment a "A"\ncity = "y"\nsegment b "B"\ncity = \n'

    parsed = parse_segments_recovering(text)

    assert [(problem.location.line, problem.code) for problem in parsed.problems] == [
        (1, "missing_header"),
        (5, "missing_value"),
    ]
    assert [segment.id for segment in parsed.segments] == ["a"]


def test_header_word_inside_a_group_does_not_split() -> None:
    # Only a line with a name and a title after `segment` starts a block.
    text = 'segment a "A"\nall {\n  segment = 1\n}\nsegment b "B"\ncity = \n'

    assert segment_blocks(text.split("\n")) == [(0, 4), (4, 7)]
    parsed = parse_segments_recovering(text)
    assert [(problem.location.line, problem.code) for problem in parsed.problems] == [
        (3, "keyword_as_name"),
        (6, "missing_value"),
    ]


def test_several_value_problems_in_one_segment() -> None:
    text = 'segment a "A"\nall {\n  x = "\\q"\n  y = 2024-02-30\n  z[1_0] = 1\n  w = 007\n}\n'

    parsed = parse_segments_recovering(text)

    assert [problem.code for problem in parsed.problems] == [
        "invalid_escape",
        "invalid_date",
        "invalid_key",
        "invalid_number",
    ]
    assert parsed.segments == []


def test_unknown_condition_kind_in_one_segment() -> None:
    text = 'segment a "A"\nuse no_such_kind {"x": 1}\n\nsegment b "B"\ncity = \n'

    parsed = parse_segments_recovering(text)

    assert [(problem.location.line, problem.code) for problem in parsed.problems] == [
        (2, "unknown_condition_kind"),
        (5, "missing_value"),
    ]
