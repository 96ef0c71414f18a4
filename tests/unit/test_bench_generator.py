"""The benchmark generator is deterministic, makes the sizes it is asked for, follows the plans' reporting
duties, and streams in bounded memory (no database: an in-memory log)."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.generator import Scale, chosen_communes, title_decider, units
from bench.memory import Append, GeneratorLog, history
from services.awards.commands import DecideAward, ProposeAward
from services.bootstrap import Node, bootstrap
from services.kernel.settings import Settings
from services.reporting.commands import SubmitReport

pytestmark = pytest.mark.unit


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node whose store only encodes (its database is never touched)."""
    node = bootstrap(Settings(node_id="bench", database_url=f"sqlite:///{tmp_path}/unused.db", data_dir=tmp_path))
    yield node
    node.close()


def _history(node: Node, scale: Scale) -> list[tuple[Any, list[Append]]]:
    return list(history(scale, node))


def _rows(node: Node, scale: Scale) -> list[dict[str, Any]]:
    return [r for _, appends in history(scale, node) for a in appends for r in a.rows]


def test_same_seed_gives_the_same_events(node: Node) -> None:
    scale = Scale(units=40, years=2, seed=7)
    first, second = _rows(node, scale), _rows(node, scale)
    assert [(r["event_id"], r["stream_id"], r["body"], r["hash"]) for r in first] == [
        (r["event_id"], r["stream_id"], r["body"], r["hash"]) for r in second
    ]
    other = _rows(node, Scale(units=40, years=2, seed=8))
    assert [r["body"] for r in other] != [r["body"] for r in first]


def test_sizes_follow_the_scale(node: Node) -> None:
    counts = collections.Counter(r["event_type"] for r in _rows(node, Scale(units=50, years=3)))
    assert counts["OrgUnitRegistered"] == 50
    assert counts["TargetsRegistered"] == 150
    assert counts["ReportSubmitted"] == 150 + 50  # three annual reports, and the sơ kết of 2027
    assert counts["PlanIssued"] >= 6 + 2  # the seed plans and at least two commune plans
    assert 0 < counts["ReportReviewed"] < counts["ReportSubmitted"]


def test_review_reports_answer_the_plans_duties(node: Node) -> None:
    """Sơ kết 2027 and tổng kết 2030 reports are submitted under the commune plan's own duties (R2, R3), the
    annual ones under R1 with its 15/12 deadline: the handlers accepted them as the plans require."""
    duties: dict[str, set[str]] = collections.defaultdict(set)
    for command, appends in _history(node, Scale(units=12, years=5)):
        if isinstance(command, SubmitReport):
            (event,) = appends[0].events
            duties[command.period].add(event.payload["duty_code"])
    assert duties["SO_KET_2027"] == {"R2"}
    assert duties["TONG_KET_2030"] == {"R3"}
    assert duties["2026"] == duties["2030"] == {"R1"}
    assert len(duties) == 5 + 2


def test_some_proposals_of_the_last_year_still_wait(node: Node) -> None:
    counts = collections.Counter(r["event_type"] for r in _rows(node, Scale(units=400, years=2)))
    assert counts["AwardProposed"] > counts["AwardDecided"] > 0
    assert counts["AwardForwarded"] >= counts["AwardProposed"]  # every proposal walked to its decider


def test_memory_is_bounded_by_the_units(node: Node) -> None:
    """Reports, registrations and proposals are forgotten once complete: what the log holds at any time is the
    units (version and encoded registration) and the plans, whatever the number of years."""
    scale = Scale(units=60, years=5)
    log = GeneratorLog(node.store, node.bus.types, scale.seed)
    most = 0
    for _ in history(scale, node, log):
        most = max(most, log.held())
    plans = sum(1 for s in log.streams if s.startswith(("plan-", "criteria-")))
    assert most <= 2 * scale.units + 2 * plans + 10
    assert not [s for s in log.versions if s.startswith(("report-", "registration-", "award-"))]


def test_staff_titles_are_proposed_by_each_unit_and_decided_by_the_competent_head(node: Node) -> None:
    """Lao động tiên tiến (LĐTT) for n people per unit and year, each a distinct person of the unit, decided by the
    head of an enterprise or co-op (Law 06/2022 Art. 80(4)) and, for the other units under a commune, by the Chủ tịch
    UBND xã (Art. 80(2)(3), NĐ 129/2025): the handlers computed that route and accepted the decision."""
    scale = Scale(units=20, years=2, staff_titles=3)
    proposed: collections.Counter[tuple[str, int, str]] = collections.Counter()
    decided: collections.Counter[str] = collections.Counter()
    for command, appends in _history(node, scale):
        if isinstance(command, ProposeAward) and command.form_code == "LDTT":
            (event,) = appends[0].events
            nominee = event.payload["nominee"]
            assert (nominee["kind"], nominee["org_unit"]["path"]) == ("INDIVIDUAL", command.proposer_path)
            proposed[(command.proposer_path, command.occurred_at.year, nominee["name"])] += 1
        if isinstance(command, DecideAward) and command.proposal_id.startswith("ld-"):
            decided[command.acting_path] += 1
    assert len(proposed) == 20 * 2 * 3 and set(proposed.values()) == {1}  # distinct people in each unit-year
    deciders = {title_decider(u) for u in units(chosen_communes(node.official_units, scale), scale)}
    assert deciders == set(decided)
    assert any(d.count("/") == 2 for d in deciders) and any(d.count("/") == 3 for d in deciders)  # xã and firms
    plain = collections.Counter(r["event_type"] for r in _rows(node, Scale(units=20, years=2)))
    titled = collections.Counter(r["event_type"] for r in _rows(node, scale))
    assert titled["AwardProposed"] - plain["AwardProposed"] == 20 * 2 * 3
