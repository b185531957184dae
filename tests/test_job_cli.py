"""The run, profile and segment show commands through click's CliRunner."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from segmento.cli import main

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROWS = (
    "1001,85123A,WHITE HANGING HEART T-LIGHT HOLDER,10,2011-11-01 10:00:00,2.55,100.0,United Kingdom\n"
    "1002,22423,REGENCY CAKESTAND 3 TIER,4,2011-11-02 10:00:00,12.75,200.0,France\n"
    "1003,22139,check,10,2011-11-02 11:00:00,0.0,,United Kingdom\n"
)
CLICKS = (
    '{"time": "2011-11-09T10:00:00Z", "customer_id": "200", "kind": "product_view", "product_id": "22423", "category": "home.kitchen"}\n'
    '{"time": "2011-11-09T10:05:00Z", "customer_id": "200", "kind": "add_to_cart", "product_id": "22423", "category": "home.kitchen", "price": "12.75"}\n'
)
CONFIG = """\
workspaces:
  shop:
    store: sqlite:///var/shop.db
    timezone: Europe/London
    as_of: 2011-11-10T00:00:00
    rules: rules
    reports: var/reports
    sources:
      - {name: orders, format: online_retail, path: orders.csv}
      - {name: clicks, format: jsonl, path: clicks.jsonl}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "orders.csv").write_text(HEADER + ROWS, encoding="utf-8")
    (tmp_path / "clicks.jsonl").write_text(CLICKS, encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "spenders.seg").write_text(
        'segment big_spenders "Big spenders"\ndescription "Spent £40 or more"\ntotal_purchase_value >= 40\n',
        encoding="utf-8",
    )
    (rules / "carts.seg").write_text(
        'segment carted "Added to cart"\ncount(add_to_cart) >= 1 in last 7 days\n', encoding="utf-8"
    )
    (tmp_path / "segmento.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def invoke(project: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, [*args, "--config", str(project / "segmento.yaml")])
    return result.exit_code, result.stdout, result.stderr


def test_run_prints_summary_and_writes_report(project: Path) -> None:
    status, output, errors = invoke(project, "run")
    assert status == 0, errors
    assert "big_spenders" in output
    assert "carted" in output
    assert "rejected rows: 1" in output
    report = json.loads((project / "var" / "reports" / "shop-run-1.json").read_text(encoding="utf-8"))
    assert report["rejected_rows"] == 1
    assert [(item["rows_deleted"], item["reconciliation"]) for item in report["imports"]] == [(0, None), (0, None)]
    assert {item["segment"]: item["members"] for item in report["segments"]} == {"big_spenders": 1, "carted": 1}


def test_run_twice_reports_no_changes(project: Path) -> None:
    invoke(project, "run")
    status, output, _ = invoke(project, "run", "--report", str(project / "again.json"))
    assert status == 0
    assert "imported before" in output
    report = json.loads((project / "again.json").read_text(encoding="utf-8"))
    assert all(item["joined"] == 0 and item["left"] == 0 for item in report["segments"])


def test_run_as_of_moves_windows(project: Path) -> None:
    status, _, errors = invoke(project, "run", "--as-of", "2011-12-01T00:00:00", "--tz", "Europe/London")
    assert status == 0, errors
    report = json.loads((project / "var" / "reports" / "shop-run-1.json").read_text(encoding="utf-8"))
    assert report["as_of"] == "2011-12-01T00:00:00+00:00"
    assert {item["segment"]: item["members"] for item in report["segments"]} == {"big_spenders": 1, "carted": 0}


def test_profile_shows_aggregates_and_segments(project: Path) -> None:
    invoke(project, "run")
    status, output, errors = invoke(project, "profile", "200")
    assert status == 0, errors
    assert "total_purchase_value" in output
    assert "51" in output
    assert "top viewed products: 22423 (1)" in output
    assert "big_spenders" in output
    assert "carted" in output


def test_profile_unknown_customer(project: Path) -> None:
    invoke(project, "run")
    status, _, errors = invoke(project, "profile", "999")
    assert status == 1
    assert "no profile with id '999'" in errors


def test_segment_show_prints_history(project: Path) -> None:
    invoke(project, "run")
    status, output, errors = invoke(project, "segment", "show", "big_spenders")
    assert status == 0, errors
    assert "1 members" in output
    assert "200 (since run 1)" in output


def test_segment_show_suggests_a_name(project: Path) -> None:
    invoke(project, "run")
    status, _, errors = invoke(project, "segment", "show", "big_spender")
    assert status == 1
    assert "did you mean 'big_spenders'" in errors


def test_run_with_broken_rule_names_file_and_line(project: Path) -> None:
    (project / "rules" / "broken.seg").write_text('segment broken "Broken"\ntotal_purchase_value >=\n', encoding="utf-8")
    status, _, errors = invoke(project, "run")
    assert status == 1
    assert "broken.seg:2" in errors
    assert not (project / "var" / "reports").exists()


def test_run_with_missing_source_names_the_file(project: Path) -> None:
    (project / "orders.csv").unlink()
    status, _, errors = invoke(project, "run")
    assert status == 1
    assert "orders.csv" in errors
    assert "import file not found" in errors


def test_config_with_unknown_key(project: Path) -> None:
    (project / "segmento.yaml").write_text(CONFIG.replace("timezone:", "time_zone:"), encoding="utf-8")
    status, _, errors = invoke(project, "run")
    assert status == 1
    assert "/workspaces/shop/time_zone" in errors
    assert "did you mean 'timezone'" in errors.lower()


def test_as_of_must_be_a_time(project: Path) -> None:
    status, _, errors = invoke(project, "run", "--as-of", "last tuesday")
    assert status == 2
    assert "--as-of" in errors


# --- logging: a progress bar on a terminal, info lines elsewhere ---------------------------

INFO_LINE = " INFO segmento.adapters.runs: run 1 of workspace shop started"


def run_process(project: Path, *args: str, terminal: bool) -> tuple[int, str, str]:
    """Run ``segmento ARGS run`` in a new process, its standard error a terminal or a pipe."""
    command = [str(Path(sys.executable).parent / "segmento"), *args, "run", "--config", str(project / "segmento.yaml")]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    controller, terminal_end = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal_end, text=True)
    os.close(terminal_end)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed its end of the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    output = process.stdout.read() if process.stdout is not None else ""
    return process.wait(timeout=120), output, b"".join(chunks).decode("utf-8", "replace")


def test_run_off_terminal_logs_info(project: Path) -> None:
    status, output, errors = run_process(project, terminal=False)
    assert status == 0, errors
    assert INFO_LINE in errors
    assert "import done source=orders" in errors
    assert "big_spenders" in output


def test_run_on_terminal_logs_info_only_with_verbose(project: Path) -> None:
    status, output, errors = run_process(project, terminal=True)
    assert status == 0, errors
    assert " INFO " not in errors
    assert "orders.csv" in errors  # the progress bar's label
    assert "big_spenders" in output

    status, _, errors = run_process(project, "-v", terminal=True)
    assert status == 0, errors
    assert "run 2 of workspace shop started" in errors


def test_verbose_help_names_run_without_terminal() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "'segmento run' logs info even without -v" in " ".join(result.output.split())


# --- times: the workspace's time zone with the offset, or UTC with --utc ---------------------


@pytest.fixture
def saigon_project(project: Path) -> Path:
    """The project with its workspace, and so its order times, in Asia/Ho_Chi_Minh (UTC+7)."""
    config = CONFIG.replace("timezone: Europe/London", "timezone: Asia/Ho_Chi_Minh")
    (project / "segmento.yaml").write_text(config, encoding="utf-8")
    return project


def test_profile_shows_local_times(saigon_project: Path) -> None:
    invoke(saigon_project, "run")
    status, output, errors = invoke(saigon_project, "profile", "200")
    assert status == 0, errors
    assert "times in Asia/Ho_Chi_Minh" in output
    # Invoice 1002 was written at 10:00 shop time, stored as 03:00 UTC.
    assert re.search(r"last_purchase_at +2011-11-02 10:00:00 \+07:00", output)
    assert "big_spenders  since 2011-11-10 00:00:00 +07:00 (run 1)" in output
    assert "UTC" not in output


def test_profile_utc_flag(saigon_project: Path) -> None:
    invoke(saigon_project, "run")
    status, output, errors = invoke(saigon_project, "profile", "200", "--utc")
    assert status == 0, errors
    assert "times in UTC" in output
    assert re.search(r"last_purchase_at +2011-11-02 03:00:00 \+00:00", output)
    assert "big_spenders  since 2011-11-09 17:00:00 +00:00 (run 1)" in output


def test_segment_show_history_in_local_time(saigon_project: Path) -> None:
    invoke(saigon_project, "run")
    status, output, errors = invoke(saigon_project, "segment", "show", "big_spenders")
    assert status == 0, errors
    assert "as of (Asia/Ho_Chi_Minh)" in output
    assert "2011-11-10 00:00:00 +07:00" in output

    status, output, errors = invoke(saigon_project, "segment", "show", "big_spenders", "--utc")
    assert status == 0, errors
    assert "as of (UTC)" in output
    assert "2011-11-09 17:00:00 +00:00" in output


# --- evaluate: changed: segments whose rule and inputs did not change are skipped -------------


@pytest.fixture
def changed_project(project: Path) -> Path:
    """The project with ``evaluate: changed`` in Asia/Ho_Chi_Minh (UTC+7)."""
    config = CONFIG.replace("timezone: Europe/London", "timezone: Asia/Ho_Chi_Minh").replace(
        "    rules: rules\n", "    rules: rules\n    evaluate: changed\n"
    )
    (project / "segmento.yaml").write_text(config, encoding="utf-8")
    return project


def test_run_all_skipped_says_since_when(changed_project: Path) -> None:
    invoke(changed_project, "run")
    status, output, errors = invoke(changed_project, "run", "--report", str(changed_project / "again.json"))
    assert status == 0, errors
    assert "segments: all 2 skipped: no rule or input changed since run 1, so they keep their members" in output
    # No empty segments table.
    assert "┃ segment" not in output
    report = json.loads((changed_project / "again.json").read_text(encoding="utf-8"))
    assert report["segments"] == []
    skipped = sorted((item["segment"], item["last_run"]) for item in report["skipped_segments"])
    assert skipped == [("big_spenders", 1), ("carted", 1)]


def test_run_some_skipped_names_them(changed_project: Path) -> None:
    invoke(changed_project, "run")
    rule = changed_project / "rules" / "spenders.seg"
    rule.write_text(rule.read_text(encoding="utf-8").replace(">= 40", ">= 50"), encoding="utf-8")
    status, output, errors = invoke(changed_project, "run")
    assert status == 0, errors
    assert "big_spenders" in output
    assert "1 segment skipped (carted): no rule or input changed since run 1, so it keeps its members" in output


def test_run_log_shows_as_of_in_workspace_zone(changed_project: Path) -> None:
    status, _, errors = run_process(changed_project, terminal=False)
    assert status == 0, errors
    # as_of 2011-11-10T00:00:00 is shop time, 2011-11-09 17:00 UTC.
    assert "run 1 of workspace shop started as of 2011-11-10 00:00:00+07:00 (Asia/Ho_Chi_Minh)" in errors
    assert "run 1 of workspace shop succeeded: 2 segments evaluated, 0 skipped" in errors
