"""A new order in the shop database updates one profile and only the segments that read it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from segmento.adapters.ingest.model import run_segments
from segmento.adapters.runs import RunReport, open_store, run_workspace
from segmento.adapters.sql_store import SqlProfileStore
from segmento.adapters.workspace import Workspace, load_config
from tests.shopdb.databases import MAPPING_FILE, loaded_shop
from tests.shopdb.loader import write_subset

pytestmark = pytest.mark.mariadb

RULES = """
segment big_spenders "Big spenders"
total_purchase_value >= 1000

segment hanoi "Hà Nội"
city = "ha noi" ignoring case, accents

segment women "Women"
gender = "female"

segment recent_buyers "Bought in the last 30 days"
last_purchase_at in last 30 days

segment big_in_hanoi "Big spenders in Hà Nội"
all {
  in segment big_spenders
  in segment hanoi
}
"""

CONFIG = """
store: sqlite:///store.db
timezone: Asia/Ho_Chi_Minh
as_of: 2011-12-10T07:00:00
rules: rules
reports: reports
evaluate: {evaluate}
sources:
  - name: shop
    format: shopdb
    mapping: {mapping}
"""


@dataclass
class ShopRun:
    workspace: Workspace
    store: SqlProfileStore
    shop: sa.Engine

    def run(self, **options: Any) -> RunReport:
        return run_workspace(self.workspace, store=self.store, **options)


def make_run(tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch, evaluate: str) -> ShopRun:
    monkeypatch.setenv("SHOP_DB_URL", shop_url)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.seg").write_text(RULES, encoding="utf-8")
    config = tmp_path / "segmento.yaml"
    config.write_text(CONFIG.format(evaluate=evaluate, mapping=MAPPING_FILE), encoding="utf-8")
    workspace = load_config(config)[0]
    return ShopRun(workspace, open_store(workspace), sa.create_engine(shop_url, poolclass=NullPool))


@pytest.fixture(scope="module")
def subset_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_subset(tmp_path_factory.mktemp("retail") / "subset.csv", 5000)


@pytest.fixture
def shop_url(subset_file: Path) -> Iterator[str]:
    with loaded_shop(subset_file) as (url, _):
        yield url


def profile_rows(store: SqlProfileStore) -> dict[str, dict[str, Any]]:
    table = store.model.profiles
    with store.engine.connect() as connection:
        return {row["id"]: dict(row) for row in connection.execute(sa.select(table)).mappings()}


def members(store: SqlProfileStore, segment_id: str) -> set[str]:
    memberships = store.model.memberships
    with store.engine.connect() as connection:
        statement = sa.select(memberships.c.profile_id).where(memberships.c.segment_id == segment_id)
        return set(connection.scalars(statement))


def place_order(shop: sa.Engine, customer_id: str, quantity: int) -> None:
    """Insert a paid order of ``quantity`` items at 10.50, placed on 2011-12-09 local time."""
    with shop.begin() as connection:
        order_id = connection.execute(
            sa.text(
                "INSERT INTO don_hang (ma_don, khach_hang_id, ngay_dat, trang_thai, quoc_gia_giao)"
                " VALUES ('WEB-1', :customer, '2011-12-09 15:00:00', 'da_giao', 'Vietnam')"
            ),
            {"customer": int(customer_id)},
        ).lastrowid
        connection.execute(
            sa.text(
                "INSERT INTO chi_tiet_don_hang (don_hang_id, san_pham_id, so_luong, don_gia)"
                " VALUES (:order, 1, :quantity, 10.50)"
            ),
            {"order": order_id, "quantity": quantity},
        )


def test_new_order_updates_one_profile_and_its_segments(
    tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make_run(tmp_path, shop_url, monkeypatch, "changed")
    first = setup.run()
    assert set(first.evaluation.evaluate) == {"big_spenders", "hanoi", "women", "recent_buyers", "big_in_hanoi"}
    before = profile_rows(setup.store)
    customer_id = min(key for key, row in before.items() if 500 <= row["total_purchase_value"] < 1000)
    assert customer_id not in members(setup.store, "big_spenders")

    place_order(setup.shop, customer_id, quantity=100)
    second = setup.run()

    assert second.imports[0].touched == {customer_id}
    assert second.build is not None
    assert second.build.built == 1
    after = profile_rows(setup.store)
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {customer_id}
    assert after[customer_id]["total_purchase"] == before[customer_id]["total_purchase"] + 1
    assert after[customer_id]["total_purchase_value"] == before[customer_id]["total_purchase_value"] + 1050
    assert after[customer_id]["last_purchase_at"] > before[customer_id]["last_purchase_at"]
    assert customer_id in members(setup.store, "big_spenders")

    assert second.report_path is not None
    report = json.loads(second.report_path.read_text(encoding="utf-8"))
    evaluation = report["evaluation"]
    assert evaluation["evaluated"]["big_spenders"] == ["fields_changed"]
    assert "reference_evaluated" in evaluation["evaluated"]["big_in_hanoi"]
    assert evaluation["evaluated"]["recent_buyers"] == ["fields_changed"]
    assert sorted(evaluation["skipped"]) == ["hanoi", "women"]
    assert "total_purchase_value" in evaluation["changed_fields"]
    assert "city" not in evaluation["changed_fields"]
    outcomes = {item["segment"]: item for item in report["segments"]}
    assert set(outcomes) == {"big_spenders", "recent_buyers", "big_in_hanoi"}
    assert outcomes["big_spenders"]["joined"] == 1
    with setup.store.engine.connect() as connection:
        recorded = set(connection.scalars(sa.select(run_segments.c.segment_id).where(run_segments.c.run_id == second.run_id)))
    assert recorded == set(outcomes)


def test_nothing_new_skips_every_segment(tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_run(tmp_path, shop_url, monkeypatch, "changed")
    setup.run()
    hanoi = members(setup.store, "hanoi")
    again = setup.run()
    assert again.evaluation is not None
    assert again.evaluation.evaluate == {}
    assert again.segments == []
    assert members(setup.store, "hanoi") == hanoi
    assert hanoi


def test_clock_moves_reevaluate_time_rules(tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_run(tmp_path, shop_url, monkeypatch, "changed")
    setup.run()
    later = setup.run(as_of=datetime(2011, 12, 20, 7, 0))
    assert later.evaluation is not None
    assert later.evaluation.evaluate["recent_buyers"][0] == "clock_moved"
    assert "hanoi" in later.evaluation.skip
    assert "women" in later.evaluation.skip


def test_edited_rule_is_reevaluated(tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_run(tmp_path, shop_url, monkeypatch, "changed")
    setup.run()
    rules = tmp_path / "rules" / "shop.seg"
    rules.write_text(rules.read_text(encoding="utf-8").replace('gender = "female"', 'gender = "male"'), encoding="utf-8")
    edited = setup.run()
    assert edited.evaluation is not None
    assert edited.evaluation.evaluate == {"women": ["rule_changed"]}


def test_evaluate_all_runs_every_segment(tmp_path: Path, shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = make_run(tmp_path, shop_url, monkeypatch, "all")
    setup.run()
    again = setup.run()
    assert again.evaluation is not None
    assert again.evaluation.skip == []
    assert len(again.segments) == 5


def test_evaluate_all_is_the_default(tmp_path: Path) -> None:
    config = tmp_path / "segmento.yaml"
    text = CONFIG.format(evaluate="all", mapping=MAPPING_FILE).replace("evaluate: all\n", "")
    config.write_text(text, encoding="utf-8")
    assert load_config(config)[0].evaluate == "all"
