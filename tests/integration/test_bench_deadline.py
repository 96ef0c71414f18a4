"""``thidua bench deadline`` at a tiny rate on the real services: central and two provinces, each with its own
``thidua sync`` and ``thidua serve``; every report accepted over HTTP at either province reaches central's rollup,
after its import, and every process the benchmark started is gone afterwards."""

from __future__ import annotations

import pytest
from rich.console import Console

from bench.deadline import CENTRAL, LABEL, Day, run_deadline
from services.kernel.settings import Settings
from tests.integration.test_bench_sync import _children

pytestmark = pytest.mark.integration


def test_reports_at_two_provinces_reach_central_rollup(postgres_url: str, kafka_bootstrap: str) -> None:
    settings = Settings(database_url=postgres_url, kafka_bootstrap_servers=kafka_bootstrap)
    before = _children()
    output = Console(record=True, width=300)

    rows, latencies, outcome = run_deadline(
        settings, Day(rate=8.0, seconds=2.0, threads=4, units_per_commune=5), output
    )

    by = {(r.backend, r.stage): r.samples for r in latencies}
    imported = by[(LABEL[CENTRAL], "accepted → imported at central")]
    central = by[(LABEL[CENTRAL], "accepted → central's rollup")]
    provinces = [by[(LABEL[name], "accepted → the province's rollup")] for name in ("hue", "laocai")]
    assert outcome.offered == 16 and outcome.accepted + outcome.shed == 16 and outcome.failed == 0
    assert len(central) == len(imported) == outcome.accepted == sum(map(len, provinces)) > 8  # all reached central
    assert all(0 < i <= c for i, c in zip(imported, central, strict=True))  # imported before the rollup shows it
    assert [len(p) for p in provinces] == [r.count for r in rows[:2]] and all(provinces)  # both provinces served
    assert outcome.p99_ms == pytest.approx(sorted(central)[-1] * 1000)  # nearest rank of 16: the largest
    text = output.export_text()
    assert "thidua bench deadline — the day" in text and "backlog at the end" in text and "goal ≤ 500 ms" in text
    assert "thidua serve (Lào Cai (p15))" in text and "thidua sync (central)" in text
    assert _children() == before  # every sync and serve process was stopped
