"""The benchmark generator is deterministic and makes the sizes it is asked for (no database: in-memory log)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from bench.generator import Scale
from bench.memory import history
from services.bootstrap import bootstrap
from services.kernel.settings import Settings

pytestmark = pytest.mark.unit


def _rows(tmp_path: Path, scale: Scale) -> list[dict]:
    node = bootstrap(Settings(node_id="bench", database_url=f"sqlite:///{tmp_path}/unused.db", data_dir=tmp_path))
    try:
        return [r for _, appends in history(scale, node) for a in appends for r in a.rows]
    finally:
        node.close()


def test_same_seed_gives_the_same_events(tmp_path: Path) -> None:
    scale = Scale(units=40, years=2, seed=7)
    first, second = _rows(tmp_path / "a", scale), _rows(tmp_path / "b", scale)
    assert [(r["event_id"], r["stream_id"], r["body"], r["hash"]) for r in first] == [
        (r["event_id"], r["stream_id"], r["body"], r["hash"]) for r in second
    ]
    other = _rows(tmp_path / "c", Scale(units=40, years=2, seed=8))
    assert [r["body"] for r in other] != [r["body"] for r in first]


def test_sizes_follow_the_scale(tmp_path: Path) -> None:
    counts = collections.Counter(r["event_type"] for r in _rows(tmp_path, Scale(units=50, years=3)))
    assert counts["OrgUnitRegistered"] == 50
    assert counts["TargetsRegistered"] == 150
    assert counts["ReportSubmitted"] == 150
    assert counts["PlanIssued"] >= 6 + 2  # the seed plans and at least two commune plans
