"""The examples of docs/configuration.md: each YAML block loads, and the errors shown are the real ones."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from segmento.adapters.ingest.loader import SourceSpec
from segmento.adapters.shopdb.copy import ShopDbSource
from segmento.adapters.workspace import load_config
from segmento.cli import main
from tests.store_helpers import ROOT

DOC = ROOT / "docs" / "configuration.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, re.DOTALL)
ENVIRON = {"SEGMENTO_DB_PASSWORD": "p@ss:w/rd", "SEGMENTO_STORE_URL": "sqlite:///var/production.db"}


def write_config(directory: Path, text: str) -> Path:
    path = directory / "segmento.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_doc_has_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{number}" for number in range(1, len(BLOCKS) + 1)])
def test_example_loads(tmp_path: Path, block: str) -> None:
    workspaces = load_config(write_config(tmp_path, block), ENVIRON)
    assert workspaces
    for workspace in workspaces:
        assert workspace.rules_dir.is_relative_to(tmp_path)


def test_complete_example_applies_defaults(tmp_path: Path) -> None:
    shop, gift_shop = load_config(write_config(tmp_path, BLOCKS[0]), ENVIRON)

    assert (shop.name, gift_shop.name) == ("shop", "uk_gift_shop")
    assert shop.store_url == "mysql+pymysql://segmento:p%40ss%3Aw%2Frd@127.0.0.1:3306/shop"
    assert shop.store_display == "mysql+pymysql://segmento:***@127.0.0.1:3306/shop"
    assert gift_shop.store_url == f"sqlite:///{tmp_path}/var/uk_gift_shop.db"
    assert shop.timezone == "Asia/Ho_Chi_Minh"
    assert gift_shop.timezone == "Europe/London"
    assert shop.reports_dir == gift_shop.reports_dir == tmp_path / "var" / "reports"
    assert shop.retry.attempts == gift_shop.retry.attempts == 4
    assert shop.evaluate == "changed"
    assert gift_shop.evaluate == "all"
    assert shop.as_of is None
    assert isinstance(shop.sources[0], ShopDbSource)
    assert shop.sources[0].mapping == tmp_path / "config" / "shopdb-mapping.yaml"
    clicks = shop.sources[1]
    assert isinstance(clicks, SourceSpec)
    assert (clicks.path, clicks.timezone) == (tmp_path / "exports" / "events.jsonl.gz", "Asia/Ho_Chi_Minh")
    assert gift_shop.settings.interest_weights == {"purchase": Decimal(1)}


def test_status_keeps_other_defaults(tmp_path: Path) -> None:
    block = next(block for block in BLOCKS if "status: {active_days: 60" in block)
    settings = load_config(write_config(tmp_path, block), ENVIRON)[0].settings
    assert (settings.new_days, settings.new_max_orders, settings.active_days, settings.lapsed_days) == (30, 1, 60, 365)


def db_status_error(directory: Path, monkeypatch: pytest.MonkeyPatch, config: str, environ: dict[str, str]) -> str:
    """Return the error line of ``segmento db status`` run in ``directory`` with ``config`` as its segmento.yaml."""
    write_config(directory, config)
    monkeypatch.chdir(directory)
    for name in ENVIRON:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["db", "status"], env=environ)
    assert result.exit_code == 1
    return result.stderr.strip()


def test_unknown_key_error_is_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = BLOCKS[0].replace("    rules: rules/shop\n", "    rules: rules/shop\n    time_zone: UTC\n", 1)
    line = db_status_error(tmp_path, monkeypatch, config, ENVIRON)
    assert line.startswith("error: segmento.yaml#/workspaces/shop/time_zone: unknown setting 'time_zone'")
    assert line in TEXT


def test_unset_variable_error_is_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = next(block for block in BLOCKS if "staging:" in block)
    line = db_status_error(tmp_path, monkeypatch, config, {})
    expected = "error: segmento.yaml#/workspaces/staging/store: environment variable SEGMENTO_DB_PASSWORD is not set"
    assert line.startswith(expected)
    assert line in TEXT
