"""The bundled demo run once per test session, shared by the tests that need real data.

Importing the Online Retail file and building its profiles takes tens of seconds, so
the run is cached in this module and every test module's fixture returns the same one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from segmento.adapters.runs import RunReport, open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import Workspace, load_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "segmento.yaml"
RETAIL_FILE = ROOT / "data" / "online_retail" / "online_retail.csv.gz"
REES46_FILE = ROOT / "data" / "rees46" / "events_2019-10-01_sample.csv.gz"


@dataclass
class DemoRun:
    """One workspace of the demo config, run into a temporary store."""

    workspace: Workspace
    store: SqlProfileStore
    report: RunReport


_runs: dict[str, DemoRun] = {}


def demo_run(name: str, directory: Path) -> DemoRun:
    """Return the run of demo workspace ``name``, running it into ``directory`` the first time."""
    if name not in _runs:
        workspace = next(item for item in load_config(CONFIG) if item.name == name)
        workspace = dataclasses.replace(
            workspace, store_url=f"sqlite:///{directory / (name + '.db')}", reports_dir=directory / "reports"
        )
        store = open_store(workspace)
        report = run_workspace(workspace, store=store)
        _runs[name] = DemoRun(workspace, store, report)
    return _runs[name]
