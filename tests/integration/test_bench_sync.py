"""``thidua bench sync`` at a tiny size on the real services: two nodes with their own ``thidua sync`` and the
parent's ``thidua serve``; every accepted report reaches the parent's rollup, in a causal order, and every process
the benchmark started is gone afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from bench.generator import Scale
from bench.sync import AT_CHILD, AT_PARENT, FLOOR, Plan, run_sync
from services.kernel.settings import Settings

pytestmark = pytest.mark.integration


def _children() -> set[int]:
    """Pids of this process's children (the processes the benchmark starts are its children)."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    return {int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()}


def test_reports_accepted_at_a_province_reach_central_rollup(postgres_url: str, kafka_bootstrap: str) -> None:
    settings = Settings(database_url=postgres_url, kafka_bootstrap_servers=kafka_bootstrap)
    before = _children()
    output = Console(record=True, width=280)

    rows, latencies = run_sync(settings, Scale(60, 1, 7), Plan(10, [20.0], 1.5, 4), output)

    by = {(r.backend, r.stage): r for r in latencies}
    child = by[(AT_CHILD, "20/s: accepted → child's rollup")].samples
    imported = by[(AT_PARENT, "20/s: accepted → imported at the parent")].samples
    parent = by[(AT_PARENT, "20/s: accepted → parent's rollup")].samples
    accepted = next(r for r in rows if r.stage == "offered 20/s: accepted").count
    assert accepted == len(child) == len(imported) == len(parent) > 20  # nothing shed at 20/s, all reached central
    assert all(0 < i <= p for i, p in zip(imported, parent, strict=True))  # imported before the rollup shows it
    assert sorted(parent)[len(parent) // 2] > sorted(child)[len(child) // 2]  # a hop through Kafka costs more
    assert len(by[(FLOOR, "20/s: produce → consume")].samples) == 30
    text = output.export_text()
    assert "check: the parent's rollup equals the child's" in text and "rollup_count rows" in text
    assert "thidua sync (parent)" in text
    assert _children() == before  # every sync and serve process was stopped
