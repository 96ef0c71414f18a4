"""Property (SQLite): for random plan commands sent through the message bus (new plans implementing the seeds and
each other, drafts numbered later, amendments, criteria sets), the plans read model maintained incrementally
equals a rebuild from scratch in a random cross-stream order that keeps each stream's own order."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from projections.plans import PlansProjection
from services.kernel.errors import ThiduaError
from services.planning.commands import AmendPlan, AssignPlanNumber, IssuePlan, RegisterCriteria
from services.planning.seed_import import import_seeds
from tests.domain_fixtures import LAO_CAI_COMMUNE, at, register
from tests.factories import SYSTEM_ACTOR
from tests.integration.test_awards_readmodel import rebuild, runner_for, snapshot, stored_events
from tests.integration.test_awards_readmodel_properties import node_at

pytestmark = pytest.mark.slow
NEW = {  # new plan: (issuer, parents it may implement)
    "n0": ("VN/15", ["vn-462-2026"]),
    "n1": (LAO_CAI_COMMUNE, ["n0", "lao-cai-draft-2026-05"]),
    "n2": (f"{LAO_CAI_COMMUNE}/HTX-1", ["n1"]),
    "n3": ("VN/46", ["vn-462-2026", "n0"]),  # n0 is not Huế's ancestor: refused when chosen
}
SEED_ISSUERS = {"lao-cai-draft-2026-05": "VN/15", "dai-son-draft-2026-06": "VN/31/11086", "hue-220-2026": "VN/46"}
PLANS = [*NEW, *SEED_ISSUERS]
PHASES = [{"code": "P1", "name": "Giai đoạn 1", "start_date": date(2026, 7, 1), "end_date": date(2027, 12, 31)}]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plans-template")
    node = node_at(folder / "t.db")
    import_seeds(node.bus.handle)
    register(node, LAO_CAI_COMMUNE, "HTX-1", "Hợp tác xã Bát Xát", kind="COOPERATIVE", category="ENTERPRISE")
    node.engine.dispose()
    return folder / "t.db"


def command(kind: str, plan_id: str, pick: int) -> Any:
    """One planning command for ``plan_id``; ``pick`` chooses among its variants."""
    when = at(2026, 7, pick % 28 + 1)
    if kind == "issue" and plan_id in NEW:
        issuer, parents = NEW[plan_id]
        number = None if pick % 3 == 0 else str(pick % 7 + 1)
        return IssuePlan(
            plan_id,
            issuer,
            "KH-UBND",
            f"Kế hoạch {plan_id}",
            when,
            SYSTEM_ACTOR,
            document_number=number,
            issue_date=date(2026, 7, 1) if number else None,
            implements=(parents[pick % len(parents)],),
            phases=tuple(PHASES) if pick % 2 else (),
        )
    if kind == "number":
        return AssignPlanNumber(plan_id, str(pick % 9 + 1), date(2026, 7, 2), when, SYSTEM_ACTOR)
    if kind == "amend":
        phases = tuple(PHASES) if pick % 2 else None
        return AmendPlan(
            plan_id, "Điều chỉnh", when, SYSTEM_ACTOR, title=f"Sửa {pick}" if pick % 3 else None, phases=phases
        )
    indicator = {"code": f"{plan_id}-{pick % 4}", "name": "Tỷ lệ", "unit": "%", "comparator": "GE", "threshold": 80.0}
    items = ({"code": "I.1", "title": "Chuyển đổi số", "indicators": [indicator]},)
    owner = NEW[plan_id][0] if plan_id in NEW else SEED_ISSUERS[plan_id]
    return RegisterCriteria(f"{plan_id}/c{pick % 2}", plan_id, owner, "AGENCY_LOCALITY", when, SYSTEM_ACTOR, items)


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[str, str, int]]:
    """Plans issued parents first (mostly), then numbered, amended and given criteria, with projection points."""
    picks = st.integers(0, 99)
    steps = [("issue", p, draw(picks)) for p in draw(st.lists(st.sampled_from(list(NEW)), max_size=4, unique=True))]
    kinds = st.sampled_from(["issue", "number", "amend", "criteria", "criteria", "project"])
    steps += draw(st.lists(st.tuples(kinds, st.sampled_from(PLANS), picks), max_size=12))
    return steps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios(), st.integers(1, 12), st.randoms(use_true_random=False))
def test_incremental_equals_a_rebuild_in_any_interleaving(
    template: Path, tmp_path: Path, steps: list[tuple[str, str, int]], batch: int, rnd: Any
) -> None:
    db = tmp_path / f"run-{id(steps)}.db"
    shutil.copy(template, db)
    node = node_at(db)
    try:
        runner = runner_for(node, PlansProjection(), batch_size=batch)
        for kind, plan_id, pick in steps:
            if kind == "project":
                runner.run_once()
                continue
            try:
                node.bus.handle(command(kind, plan_id, pick))
                event(f"accepted {kind}")
            except ThiduaError as refusal:
                event(f"refused {kind} {refusal.code}")
        runner.run_until_idle()
        live = snapshot(node.engine, PlansProjection())
        rebuild(node.engine, PlansProjection(), stored_events(node), rnd)
        assert snapshot(node.engine, PlansProjection()) == live
    finally:
        node.engine.dispose()
        db.unlink()
