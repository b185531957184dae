"""``segmento convert``: write the segments of a rule file in the other form, DSL or JSON.

The file is checked as ``validate`` checks it, and nothing is written when it has a
problem. The converted text is read back before it is written and must give the same
segments, so a conversion never changes what a rule selects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import click

from segmento.cli.common import EXIT_INVALID
from segmento.cli.problems import ProblemPrinter
from segmento.cli.rule_input import RuleFile, check_rule_files, exit_invalid, fields_option, load_registry
from segmento.engine.ast import Segment
from segmento.engine.errors import Location, RuleError, SegmentoError
from segmento.engine.jsonform import dump_segment, dump_segments, encode_json, load_segments

logger = logging.getLogger(__name__)

Form = Literal["json", "dsl"]
FORMS: Final[tuple[Form, ...]] = ("json", "dsl")
_FORM_OF_SUFFIX: Final[dict[str, Form]] = {".json": "json", ".seg": "dsl"}
_SUFFIX_OF_FORM: Final[dict[Form, str]] = {"json": ".json", "dsl": ".seg"}


class ConversionError(SegmentoError):
    """The converted text would not read back as the same segments, so nothing is written."""

    code = "conversion_failed"


@click.command("convert")
@click.argument("rule", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "form",
    type=click.Choice(FORMS),
    help="Form to write: json (segment objects) or dsl (rule text). "
    "Default: the form that the suffix of --output names (.json or .seg), else the other form of RULE.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write, replacing it if it exists. Default: standard output.",
)
@fields_option
def convert_command(rule: Path, form: Form | None, output: Path | None, catalog: Path | None) -> None:
    """Convert the segments of RULE from the DSL (.seg) to the JSON form (.json), or back.

    RULE is checked as validate checks it, except that references to segments in other
    files are not checked. When it has a problem, every problem is printed and nothing
    is written. The JSON form is one segment object, or a list of them when RULE contains
    several segments. JSON has no comments, so those of a .seg file are dropped, with a
    note that gives how many.
    """
    target = _target_form(rule, form, output)
    printer = ProblemPrinter()
    try:
        registry = load_registry(catalog)
    except SegmentoError as error:
        exit_invalid(printer, error)
    checked = check_rule_files([rule], registry, printer, check_references=False)
    if checked.problems:
        for problem in checked.problems:
            printer.echo(problem)
        count = len(checked.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} in {rule}; nothing converted", err=True)
        raise SystemExit(EXIT_INVALID)
    rule_file = checked.rule_files[0]
    try:
        text = converted_text(rule_file, target)
    except SegmentoError as error:
        exit_invalid(printer, error)
    if output is None:
        click.echo(text, nl=False)
        _note_dropped_comments(rule_file, target)
        return
    _write_output(output, text, printer)
    _note_dropped_comments(rule_file, target)
    count = len(rule_file.segments)
    click.echo(f"wrote {output} ({count} segment{'s' if count != 1 else ''})")


def converted_text(rule_file: RuleFile, form: Form) -> str:
    """Return the segments of ``rule_file`` as text of ``form``, ending with a line break.

    A file already in ``form`` gets its canonical text, as ``segmento fmt`` writes it,
    comments and a ``"$schema"`` key included. Raises ``ConversionError`` when the text
    does not read back as the same segments, and ``RuleError`` for a rule that only the
    DSL can hold, such as a list that mixes numbers and strings.
    """
    if _FORM_OF_SUFFIX.get(rule_file.path.suffix.lower()) == form:
        # Imported here so that the command list does not import the formatter.
        from segmento.cli.canonical import canonical_text

        return canonical_text(rule_file)
    text = segments_text(rule_file.segments, form)
    _check_same_segments(text, form, rule_file)
    return text


def segments_text(segments: Sequence[Segment], form: Form) -> str:
    """Return ``segments`` as a JSON document or DSL text, ending with a line break.

    The JSON document is one segment object, or a list when there are several segments
    or none.
    """
    if form == "dsl":
        from segmento.engine.dsl.formatter import format_segments

        return format_segments(segments)
    if len(segments) == 1:
        return encode_json(dump_segment(segments[0])) + "\n"
    return encode_json(dump_segments(segments)) + "\n"


def _check_same_segments(text: str, form: Form, rule_file: RuleFile) -> None:
    location = Location(source=rule_file.source)
    hint = "Nothing was written; please report this with the rule file attached"
    try:
        if form == "json":
            segments = load_segments(text)
        else:
            from segmento.engine.dsl.parser import parse_segments

            segments = parse_segments(text)
    except SegmentoError as error:
        raise ConversionError(
            f"the converted text does not read back: {error.message}", location=location, hint=hint
        ) from error
    if segments != rule_file.segments:
        raise ConversionError("the converted text does not give the same segments", location=location, hint=hint)


def _target_form(rule: Path, form: Form | None, output: Path | None) -> Form:
    output_form = _FORM_OF_SUFFIX.get(output.suffix.lower()) if output is not None else None
    if form is None:
        if output_form is not None:
            return output_form
        return "json" if _FORM_OF_SUFFIX.get(rule.suffix.lower()) == "dsl" else "dsl"
    if output is not None and output_form is not None and output_form != form:
        raise click.BadParameter(
            f"{output} ends in {output.suffix}, but --to {form} writes {_SUFFIX_OF_FORM[form]} text; "
            f"name the output {output.with_suffix(_SUFFIX_OF_FORM[form]).name} or leave out --to",
            param_hint="'--output'",
        )
    return form


def _note_dropped_comments(rule_file: RuleFile, form: Form) -> None:
    if form != "json" or _FORM_OF_SUFFIX.get(rule_file.path.suffix.lower()) != "dsl":
        return
    from segmento.cli.canonical import count_comments

    count = count_comments(rule_file.text)
    if count:
        comments = "comment is" if count == 1 else "comments are"
        click.echo(f"note: the JSON form has no comments, so {count} {comments} not in the output", err=True)


def _write_output(path: Path, text: str, printer: ProblemPrinter) -> None:
    """Write ``text`` to ``path``; an existing file is replaced in one step, keeping its permissions."""
    from segmento.cli.canonical import write_text

    try:
        if path.exists():
            write_text(path, text)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        exit_invalid(
            printer,
            RuleError(
                f"failed to write the file: {error.strerror}",
                location=Location(source=str(path)),
                hint="Check that the directory exists and that you may write there",
                code="output_unwritable",
            ),
        )
    logger.debug("wrote %s", path)
