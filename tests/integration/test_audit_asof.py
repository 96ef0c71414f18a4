"""``as_of`` on the read endpoints, on SQLite and PostgreSQL: answers from rebuilds up to the position a system time
maps to, checked against hand-computed numbers; imported events count from their import; the cache of rebuilds.

Timeline (the store's clock is set by the test, Vietnam times): the demo is loaded on 20/11/2026 at 09:00; a report
of Hợp tác xã Đại Sơn (HTX-DS, missing in the demo) is submitted on 01/12 at 10:00, accepted on 02/12 at 08:00; an
award is proposed for it on 03/12 at 10:00; Lào Cai (node p15) recorded a unit on 25/11 that this node imports on
05/12 at 10:00. Requests are made on 10/12.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text

from bench.harness import unit_registered
from projections.shadow import prepare_shadows, shadow_metadata
from services.api.app import create_app
from services.audit.asof import AsOfCache, apply_scoped, prefix_of
from services.awards.commands import ProposeAward
from services.bootstrap import Node, bootstrap
from services.demo.data import DAI_SON
from services.demo.year import ACTOR, DAI_SON_PLAN, run_demo
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine
from services.kernel.settings import Settings
from services.kernel.store import EventStore
from services.kernel.tables import metadata as store_metadata
from services.reporting.commands import ReviewReport, SubmitReport
from tests.api_auth import authorize, bearer
from tests.domain_fixtures import VN

HTX = f"{DAI_SON}/HTX-DS"
REPORT = f"{DAI_SON_PLAN}:HTX-DS:2026"
PROPOSAL = "gk-htx-ds-2026"


def vn(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


T0, T1, T2, T3, T_ORIGIN, T5, NOW = (
    vn(11, 20, 9),
    vn(12, 1, 10),
    vn(12, 2, 8),
    vn(12, 3, 10),
    vn(11, 25, 9),
    vn(12, 5, 10),
    vn(12, 10, 12),
)


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Scenario:
    """The node, its API client and the positions each step of the timeline reached."""

    node: Node
    client: TestClient
    positions: dict[str, int]

    @property
    def cache(self) -> AsOfCache:
        cache: AsOfCache = self.client.app.state.asof  # type: ignore[attr-defined]
        return cache

    def get(self, path: str, as_of: str | None = None, **params: Any) -> Any:
        response = self.client.get(path, params={**params, **({"as_of": as_of} if as_of else {})})
        assert response.status_code == 200, response.text
        return response.json()


def _step(node: Node, clock: Clock, at: datetime, command: Any) -> int:
    clock.at = at
    node.bus.handle(command)
    node.runner.run_until_idle()
    return node.store.head_position()


def _import_from_lao_cai(node: Node, clock: Clock, codec: AvroCodec, folder: Path) -> int:
    origin_engine = make_engine(f"sqlite:///{folder / 'p15.db'}")
    store_metadata.create_all(origin_engine)
    origin = EventStore(origin_engine, codec, "p15", clock=lambda: T_ORIGIN)
    origin.append("orgunit-U-LC1", 0, [unit_registered("U-LC1", "VN/15/02683")])
    sent = origin.read_all()[0]
    origin_engine.dispose()
    clock.at = T5
    with node.engine.begin() as conn:
        node.store.import_foreign(conn, sent.body, "p15", sent.hash, sent.position)
    node.runner.run_until_idle()
    return node.store.head_position()


@pytest.fixture
def scenario(engine: Engine, tmp_path: Path, codec: AvroCodec) -> Iterator[Scenario]:
    settings = Settings(data_dir=tmp_path, node_id="central", webhooks_enabled=False, asof_cache_size=2)
    node = bootstrap(settings, engine=engine)
    clock = Clock(T0)
    node.store.clock = clock
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as client:
        run_demo(node)
        node.runner.run_until_idle()
        positions = {"demo": node.store.head_position()}
        when = datetime(2026, 11, 28, 9, tzinfo=VN)  # business time: before the deadline of 30/11
        positions["submitted"] = _step(node, clock, T1, SubmitReport(DAI_SON_PLAN, HTX, "2026", when, ACTOR))
        review = ReviewReport(REPORT, DAI_SON, "ACCEPTED", T2, ACTOR)
        positions["reviewed"] = _step(node, clock, T2, review)
        propose = ProposeAward(
            PROPOSAL, HTX, "COLLECTIVE", "HTX Đại Sơn", HTX, "GK_XA", "ANNUAL", "Thành tích", T3, ACTOR, DAI_SON_PLAN
        )
        positions["proposed"] = _step(node, clock, T3, propose)
        positions["imported"] = _import_from_lao_cai(node, clock, codec, tmp_path)
        clock.at = NOW
        yield Scenario(node, authorize(client), positions)


def _reports(body: dict[str, Any]) -> tuple[int, ...]:
    r = body["reports"]
    return r["expected"], r["submitted"], r["missing"], r["late"], r["on_time"], r["accepted"]


def test_as_of_answers_with_what_the_node_had_recorded_then(scenario: Scenario) -> None:
    s, at = scenario, scenario.positions
    rollup = "/api/v1/org-units/11086/rollup"
    before = s.get(rollup, "2026-11-20T10:00:00+07:00", period="2026")
    assert (before["as_of"], before["as_of_position"]) == ("2026-11-20T10:00:00+07:00", at["demo"])
    # the demo's year: HTX-DS missing; Phòng VH-XH receives the reports, Phòng Kinh tế reports under its undated duty
    assert _reports(before) == (8, 7, 1, 3, 3, 3)
    submitted = s.get(rollup, "2026-12-01T10:00:00+07:00", period="2026")  # the instant it was recorded
    assert submitted["as_of_position"] == at["submitted"] and _reports(submitted) == (8, 8, 0, 3, 4, 3)
    # no offset: Vietnam time, 07:00 on 02/12 is before the review at 08:00 (as UTC it would be after)
    naive = s.get(rollup, "2026-12-02T07:00:00", period="2026")
    assert naive["as_of"] == "2026-12-02T07:00:00+07:00" and _reports(naive) == (8, 8, 0, 3, 4, 3)
    reviewed = s.get(rollup, "2026-12-02T01:00:00Z", period="2026")  # 08:00 in Vietnam
    assert reviewed["as_of_position"] == at["reviewed"] and _reports(reviewed) == (8, 8, 0, 3, 4, 4)

    reports = "/api/v1/org-units/11086/reports"
    missing = s.get(reports, "2026-11-30T23:59:59", period="2026", status="missing")["items"]
    assert [r["org_unit"]["code"] for r in missing] == ["HTX-DS"]
    assert [r["org_unit"]["code"] for r in s.get(reports, period="2026", status="missing")["items"]] == []
    rows = {r["org_unit"]["code"]: r for r in s.get(reports, "2026-12-01T12:00:00", period="2026")["items"]}
    assert (rows["HTX-DS"]["status"], rows["HTX-DS"]["review"]) == ("ON_TIME", None)
    rows = {r["org_unit"]["code"]: r for r in s.get(reports, "2026-12-02T09:00:00", period="2026")["items"]}
    assert (rows["HTX-DS"]["status"], rows["HTX-DS"]["review"]) == ("ON_TIME", "ACCEPTED")

    def duty(as_of: str, **params: Any) -> dict[str, Any]:
        body = s.get("/api/v1/org-units/HTX-DS/guidance", as_of, **params)
        return {"on": body["on"], **body["reporting_duties"][0]["current"]}

    assert duty("2026-11-20T10:00:00")["on"] == "2026-11-20" and duty("2026-11-20T10:00:00")["state"] == "DUE"
    assert duty("2026-11-30T12:00:00", on="2026-12-01")["state"] == "MISSING"  # recorded nothing, judged later
    pending = duty("2026-12-01T12:00:00")
    assert (pending["state"], pending["report"]["review"], pending["report"]["review_label"]) == (
        "SUBMITTED",
        None,
        "Chờ xem xét",
    )
    assert duty("2026-12-02T08:00:00")["report"]["review"] == "ACCEPTED"

    award = s.client.get(f"/api/v1/awards/{PROPOSAL}", params={"as_of": "2026-12-03T09:59:59"})
    assert award.status_code == 404 and award.json()["code"] == "UNKNOWN_PROPOSAL"
    proposed = s.get(f"/api/v1/awards/{PROPOSAL}", "2026-12-03T10:00:00")
    assert proposed["state"] == "PENDING" and proposed["as_of_position"] == at["proposed"]
    live_ids = [a["proposal_id"] for a in s.get("/api/v1/awards")["items"]]
    earlier_ids = [a["proposal_id"] for a in s.get("/api/v1/awards", "2026-12-03T09:00:00")["items"]]
    assert sorted([*earlier_ids, PROPOSAL]) == sorted(live_ids)
    plans = s.get("/api/v1/plans", "2026-11-20T09:00:00")
    assert plans["as_of_position"] == at["demo"] and plans["items"] == s.get("/api/v1/plans")["items"]


def test_after_the_last_step_rebuilds_equal_live_and_the_head_reads_live(scenario: Scenario) -> None:
    s, at = scenario, scenario.positions
    params = {"period": "2026", "level": "children"}
    live = s.get("/api/v1/org-units/11086/rollup", **params)
    rebuilt = s.get("/api/v1/org-units/11086/rollup", "2026-12-04T00:00:00", **params)  # before the import
    assert rebuilt.pop("as_of_position") == at["proposed"] < at["imported"] and rebuilt.pop("as_of")
    assert rebuilt == live
    for path in ("/api/v1/awards", "/api/v1/awards/waiting", "/api/v1/awards/conferred", f"/api/v1/awards/{PROPOSAL}"):
        as_of = s.get(path, "2026-12-04T00:00:00", as_now="2026-12-10T12:00:00+07:00")
        assert {k: v for k, v in as_of.items() if not k.startswith("as_of")} == s.get(path, as_now=NOW.isoformat())
    head = s.get("/api/v1/org-units/11086/rollup", "2026-12-10T12:00:00", **params)
    assert head.pop("as_of_position") == at["imported"] and head.pop("as_of") and head == live
    stats = s.cache.stats
    # two rebuilds: the rollup within xã Đại Sơn, awards with the org units and plans they read; the head read the
    # live tables: nothing built for it
    assert (stats.builds, stats.copies) == (2, 0)


def test_an_imported_event_counts_from_its_import_not_its_origin_time(scenario: Scenario) -> None:
    s, at = scenario, scenario.positions
    unit = "/api/v1/org-units/U-LC1"
    recorded_there = s.client.get(unit, params={"as_of": "2026-11-26T00:00:00"})  # after Lào Cai recorded it
    assert recorded_there.status_code == 404 and recorded_there.json()["code"] == "UNKNOWN_ORG_UNIT"
    assert s.client.get(unit, params={"as_of": "2026-12-05T09:59:00"}).status_code == 404
    imported = s.get(unit, "2026-12-05T10:00:00")
    assert imported["name"] and imported["as_of_position"] == at["imported"]
    children = s.get("/api/v1/org-units/02683/children", "2026-12-05T09:59:00")["items"]
    assert "U-LC1" not in [c["code"] for c in children]
    assert "U-LC1" in [c["code"] for c in s.get("/api/v1/org-units/02683/children")["items"]]
    status = s.get("/api/v1/audit/as-of", "2026-11-26T00:00:00")
    assert (status["as_of_position"], status["head_position"]) == (at["demo"], at["imported"])


def _rows(conn: Any, projections: Any, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for projection in projections:
        for table in shadow_metadata(projection, prefix).sorted_tables:
            found[table.name[len(prefix) :]] = sorted(map(tuple, conn.execute(select(table))), key=repr)
    return found


def test_rebuilds_are_cached_by_position_copied_forward_and_evicted(scenario: Scenario) -> None:
    s, at = scenario, scenario.positions
    cache, engine = s.cache, s.node.engine
    rollup = "/api/v1/org-units/11086/rollup"
    s.get(rollup, "2026-11-21T00:00:00", period="2026")
    s.get(rollup, "2026-11-30T23:00:00", period="2026")  # another time, the same position: no second build
    assert (cache.stats.builds, cache.stats.copies, cache.stats.hits) == (1, 0, 1)
    assert cache.positions() == [at["demo"]]
    s.get(rollup, "2026-12-01T12:00:00", period="2026")  # the demo's rebuild copied, one event applied
    assert (cache.stats.builds, cache.stats.copies) == (1, 1)
    entry = cache.status(at["submitted"], ["rollup"], DAI_SON)["entry"]
    assert entry["copied_from"] == at["demo"] and entry["scope"] == DAI_SON and entry["read_models"] == ["rollup"]
    # the copy plus one event holds what replaying the same question from the start gives
    rollup_model = [p for p in s.node.projections if p.name == "rollup"]
    prepare_shadows(engine, rollup_model, "shadow_")
    key = cache.key(at["submitted"], ["rollup"], DAI_SON)
    apply_scoped(
        engine,
        s.node.codec,
        EVENT_TYPES,
        rollup_model,
        "shadow_",
        event_types=rollup_model[0].event_types,
        scope=DAI_SON,
        after=0,
        to_position=at["submitted"],
    )
    with engine.connect() as conn:
        assert _rows(conn, rollup_model, key.prefix) == _rows(conn, rollup_model, "shadow_")

    s.get(rollup, "2026-12-02T09:00:00", period="2026")  # a third position: the least recently used goes
    assert cache.positions() == [at["submitted"], at["reviewed"]] and cache.stats.evictions == 1
    tables = set(inspect(engine).get_table_names())
    demo, reviewed = (cache.key(at[k], ["rollup"], DAI_SON).prefix for k in ("demo", "reviewed"))
    assert f"{demo}rollup_count" not in tables and f"{reviewed}rollup_count" in tables
    assert s.get(rollup, "2026-12-01T12:00:00", period="2026")["reports"]["accepted"] == 3  # still cached
    assert (cache.stats.builds, cache.stats.copies, cache.stats.hits) == (1, 2, 2)
    again = s.get(rollup, "2026-11-21T00:00:00", period="2026")  # evicted: rebuilt from the start
    assert _reports(again) == (8, 7, 1, 3, 3, 3) and cache.stats.builds == 2
    assert cache.positions() == [at["submitted"], at["demo"]]


def test_concurrent_requests_for_one_position_build_it_once(scenario: Scenario) -> None:
    s, cache = scenario, scenario.cache
    point = cache.resolve(datetime(2026, 12, 2, 9, tzinfo=VN))

    start = threading.Barrier(4)

    def read(_: int) -> int:
        start.wait()  # all four ask at once
        with cache.connect(point) as conn:
            return int(conn.execute(text("SELECT count(*) FROM awards_proposal")).scalar_one())

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(read, range(4)))  # a failure in a thread is raised here
    assert cache.stats.builds + cache.stats.copies == 1 and cache.stats.hits == 3
    with s.node.engine.connect() as conn:
        live = conn.execute(text("SELECT count(*) FROM awards_proposal")).scalar_one()
    assert counts == [live - 1] * 4  # the rewrite read asof_<p>_awards_proposal: the last proposal not yet there


def test_rebuilds_for_different_positions_run_one_at_a_time(scenario: Scenario, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cache, at = scenario.cache, scenario.positions
    inside, most, guard = [0], [0], threading.Lock()
    build = cache._build_now

    def counted(entry: Any) -> None:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.05)  # a build takes a while: without the limit, the three overlap here
            build(entry)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(cache, "_build_now", counted)
    points = [cache.resolve(moment) for moment in (T1, T2, T3)]
    assert [p.position for p in points] == [at["submitted"], at["reviewed"], at["proposed"]]
    assert not any(p.live for p in points)
    start = threading.Barrier(3)

    def read(point: Any) -> None:
        start.wait()
        with cache.connect(point):
            pass

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(read, points))
    assert most[0] == 1 and cache.stats.builds + cache.stats.copies == 3


def test_a_bad_as_of_is_a_422_problem(scenario: Scenario) -> None:
    bad = {"15/12/2026": "INVALID_AS_OF", "2026-12-01": "INVALID_AS_OF", "2026-12-10T12:00:01+07:00": "AS_OF_IN_FUTURE"}
    for value, code in bad.items():
        for path in ("/api/v1/org-units/11086/rollup?period=2026", "/api/v1/plans", "/api/v1/audit/as-of"):
            response = scenario.client.get(path, params={"as_of": value})
            assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["code"] == code and body["title"].startswith("Thời điểm as_of") and " / " in body["detail"]
    assert scenario.cache.positions() == []


def test_access_is_unchanged_by_as_of(scenario: Scenario) -> None:
    s, client = scenario, scenario.client
    params = {"period": "2026", "as_of": "2026-12-01T12:00:00"}
    dai_son = bearer(client.app, DAI_SON, ["auditor"])  # type: ignore[arg-type]
    lao_cai = bearer(client.app, "VN/15", ["auditor"])  # type: ignore[arg-type]
    assert client.get("/api/v1/org-units/11086/rollup", params=params, headers=dai_son).status_code == 200
    refused = client.get("/api/v1/org-units/11086/rollup", params=params, headers=lao_cai)
    assert refused.status_code == 403 and refused.json()["code"] == "OUT_OF_SUBTREE"
    proposal = client.get(f"/api/v1/awards/{PROPOSAL}", params={"as_of": "2026-12-04T00:00:00"}, headers=lao_cai)
    assert proposal.status_code == 403
    status = client.get("/api/v1/audit/as-of", params={"as_of": "2026-12-01T12:00:00"}, headers=lao_cai).json()
    assert status["as_of_position"] == s.positions["submitted"] and status["source"] == "cache"
    submitter = bearer(client.app, DAI_SON, ["submitter"])  # type: ignore[arg-type]
    denied = client.get("/api/v1/audit/as-of", params={"as_of": "2026-12-01T12:00:00"}, headers=submitter)
    assert denied.status_code == 403 and denied.json()["code"] == "ROLE_NOT_ALLOWED"


def test_rebuild_table_names_fit_postgresql_identifiers(tmp_path: Path) -> None:
    node = bootstrap(Settings(data_dir=tmp_path))  # no database touched
    prefix = prefix_of(9_999_999_999)
    names = [
        str(name)
        for projection in node.projections
        for table in shadow_metadata(projection, prefix).sorted_tables
        for name in [table.name, *(getattr(i, "name", None) for i in [*table.indexes, *table.constraints])]
        if name
    ]
    assert max(map(len, names)) <= 63
    assert all(name.count(prefix) == 1 for name in names), [n for n in names if n.count(prefix) != 1]


def test_a_caller_outside_the_subtree_makes_nothing_rebuilt(scenario: Scenario) -> None:
    s, client = scenario, scenario.client
    lao_cai = bearer(client.app, "VN/15", ["auditor"])  # type: ignore[arg-type]
    as_of = {"as_of": "2026-12-01T12:00:00"}
    refused = client.get("/api/v1/org-units/11086/rollup", params={"period": "2026", **as_of}, headers=lao_cai)
    assert refused.status_code == 403 and refused.json()["code"] == "OUT_OF_SUBTREE"
    guidance = client.get("/api/v1/org-units/HTX-DS/guidance", params=as_of, headers=lao_cai)
    assert guidance.status_code == 403 and guidance.json()["code"] == "OUT_OF_SUBTREE"
    assert (s.cache.stats.builds, s.cache.stats.copies) == (0, 0) and s.cache.positions() == []
