"""Property (SQLite): for random valid award flows sent through the message bus, the award pipeline maintained
incrementally (random batch sizes, projected at random moments) equals a rebuild from scratch in a random
cross-stream order that keeps each stream's own order."""

from __future__ import annotations

import contextlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from projections.awards import AwardsProjection
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.awards.model import fold, proposal_stream
from services.bootstrap import Node, bootstrap
from services.kernel.db import make_engine
from services.kernel.errors import ThiduaError
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from services.migrations import upgrade
from services.planning.seed_import import import_seeds
from tests.domain_fixtures import LAO_CAI_COMMUNE, at, register
from tests.factories import SYSTEM_ACTOR
from tests.integration.test_awards_readmodel import rebuild, runner_for, snapshot, stored_events

pytestmark = pytest.mark.slow
DAI_SON = "VN/31/11086"
ROUTES = [  # (proposer = nominee, form, occasion, governing plan): routes of 2 to 4 steps
    (f"{DAI_SON}/U-1", "GK_XA", "SO_KET", "dai-son-draft-2026-06"),
    (LAO_CAI_COMMUNE, "BK_TINH", "TONG_KET", "lao-cai-draft-2026-05"),
    ("VN/46", "BK_TTG", "SO_KET", "hue-220-2026"),
    ("VN/46/SO-1", "BK_TTG", "SO_KET", "hue-220-2026"),
]
DAYS = [at(2027, 12, d) for d in (1, 5, 9, 20)]


def node_at(path: Path) -> Node:
    """A node on the SQLite file ``path``."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return bootstrap(Settings(data_dir=path.parent), engine=engine)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("awards-template")
    node = node_at(folder / "t.db")
    import_seeds(node.bus.handle)
    register(node, DAI_SON, "U-1", "Trường Tiểu học Đại Sơn")
    register(node, "VN/46", "SO-1", "Sở Khoa học và Công nghệ", kind="AGENCY")
    node.engine.dispose()
    return folder / "t.db"


def act(node: Node, kind: str, pid: str, pick: int) -> None:
    """Send one command; the acting unit is the proposal's current holder (so flows mostly follow the rules)."""
    when = DAYS[pick % len(DAYS)]
    if kind == "propose":
        proposer, form, occasion, plan = ROUTES[pick % len(ROUTES)]
        command: Any = ProposeAward(
            pid, proposer, "COLLECTIVE", "Tập thể", proposer, form, occasion, "Tốt", when, SYSTEM_ACTOR, plan_id=plan
        )
    else:
        events = [
            decode_event(s.body, node.codec, node.bus.types) for s in node.store.read_stream(proposal_stream(pid))
        ]
        proposal = fold(events)
        holder = proposal.current_step["org_unit"]["path"] if proposal else DAI_SON
        command = {
            "forward": ForwardAward(pid, holder, when, SYSTEM_ACTOR),
            "return": ReturnAward(pid, holder, "Bổ sung hồ sơ", when, SYSTEM_ACTOR),
            "approve": DecideAward(
                pid, holder, "APPROVED", when, SYSTEM_ACTOR, f"{pick}/QĐ-UBND", date(2027, 12, pick % 28 + 1)
            ),
            "reject": DecideAward(pid, holder, "REJECTED", when, SYSTEM_ACTOR, reason="Chưa đạt"),
        }[kind]
    with contextlib.suppress(ThiduaError):  # a refusal writes nothing: the read model must not notice
        node.bus.handle(command)


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[str, str, int]]:
    """A few proposal flows (propose, forwards, maybe an end), interleaved, with projection points and noise."""
    picks = st.integers(0, 99)
    flows = []
    for pid in draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True)):
        flow = [("propose", pid, draw(picks))]
        flow += [("forward", pid, draw(picks)) for _ in range(draw(st.integers(0, 3)))]
        end = draw(st.sampled_from([None, "return", "approve", "approve", "reject"]))
        flows.append(flow + ([(end, pid, draw(picks))] if end else []))
    noise = st.tuples(st.sampled_from(["propose", "forward", "return", "approve", "project"]), st.just("a"), picks)
    flows.append(draw(st.lists(noise, max_size=4)))
    rnd, merged = draw(st.randoms(use_true_random=False)), []
    while flows := [f for f in flows if f]:
        merged.append(rnd.choice(flows).pop(0))
        if rnd.random() < 0.25:
            merged.append(("project", "", 0))
    return merged


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios(), st.integers(1, 12), st.randoms(use_true_random=False))
def test_incremental_equals_a_rebuild_in_any_interleaving(
    template: Path, tmp_path: Path, steps: list[tuple[str, str, int]], batch: int, rnd: Any
) -> None:
    db = tmp_path / f"run-{id(steps)}.db"
    shutil.copy(template, db)
    node = node_at(db)
    try:
        runner = runner_for(node, AwardsProjection(), batch_size=batch)
        for kind, pid, pick in steps:
            if kind == "project":
                runner.run_once()
            else:
                act(node, kind, pid, pick)
        runner.run_until_idle()
        live = snapshot(node.engine, AwardsProjection())
        for row in live["awards_proposal"]:
            event(f"{row['state']} with {len(row['route'])} steps")
        rebuild(node.engine, AwardsProjection(), stored_events(node), rnd)
        assert snapshot(node.engine, AwardsProjection()) == live
    finally:
        node.engine.dispose()
        db.unlink()
