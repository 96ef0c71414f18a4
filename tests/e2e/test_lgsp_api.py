"""The LGSP integration API end to end, over HTTP against `thidua serve`: the demo's year driven by clients of
different org units (with the refusals a wrong subtree, role or authority earns), retries with one Idempotency-Key,
If-Match, subtree-filtered reads and event feed, and webhooks that a receiver verifies, fails and sees retried."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from services.bootstrap import bootstrap
from services.demo.data import DAI_SON, DAI_SON_REPORTS, HUE_REPORTS, LAO_CAI, LAO_CAI_BLOCS, LAO_CAI_TARGETS, UNITS
from services.demo.report import events_by_type
from services.demo.year import DAI_SON_PLAN, HUE_PLAN, LAO_CAI_PLAN, at, run_demo
from services.kernel.settings import Settings
from services.planning.seed_import import criteria_commands, issue_plan_command, load_seed_files
from services.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.e2e.lgsp import Caller, Clients, Node, Receiver, body_of, problem, running_node, wait_for

pytestmark = pytest.mark.e2e

PATHS = {code: f"{parent}/{code}" for parent, code, *_ in UNITS}
BAT_XAT = f"{LAO_CAI}/02683"
SETTINGS = {
    "node_id": "p31",
    "projection_poll_seconds": "0.05",
    "webhook_poll_seconds": "0.1",
    "webhook_backoff_base_seconds": "0.2",
    "webhook_max_attempts": "4",
}


@dataclass
class Story:
    """The node after the story, its clients, the receiver, and what the story saw."""

    node: Node
    clients: Clients
    receiver: Receiver
    secrets: dict[str, str]
    refusals: dict[str, dict[str, Any]] = field(default_factory=dict)


def when(moment: Any) -> str:
    """Business time as ISO 8601."""
    return str(moment.isoformat())


def province_of(path: str) -> str:
    """VN/46/19753 → VN/46."""
    return "/".join(path.split("/")[:2])


def award(central: Caller, proposal_id: str, version: int) -> dict[str, Any]:
    """The proposal as the read model has it once it caught up with ``version``."""

    def caught_up() -> dict[str, Any] | None:
        response = central.get(f"/api/v1/awards/{proposal_id}")
        return response.json() if response.status_code == 200 and response.headers["etag"] == f'"{version}"' else None

    return wait_for(caught_up, what=f"{proposal_id} at version {version}")  # type: ignore[no-any-return]


def walk(clients: Clients, proposal_id: str, version: int, moment: str) -> int:
    """Forward a proposal, each step by a client of the unit holding it with that step's role, up to its decider."""
    central = clients("VN", "auditor")
    while True:
        holder = award(central, proposal_id, version)["holder"]
        if holder["role"] == "DECIDE":
            return version
        actor = clients(holder["org_unit"]["path"], "submitter" if holder["role"] == "PROPOSE" else "reviewer")
        version = actor.ok(f"/api/v1/awards/proposals/{proposal_id}/forward", {"occurred_at": moment})["version"]


def propose(
    caller: Caller, pid: str, proposer: str, nominee: str, name: str, form: str, occasion: str, plan: str, moment: str
) -> httpx.Response:
    """POST /awards/proposals as the demo proposes."""
    body = {
        "proposal_id": pid,
        "proposer_path": proposer,
        "nominee_kind": "COLLECTIVE",
        "nominee_name": name,
        "nominee_path": nominee,
        "form_code": form,
        "occasion": occasion,
        "achievements": "Thành tích xuất sắc trong Phong trào thi đua",
        "plan_id": plan,
        "occurred_at": moment,
    }
    return caller.post("/api/v1/awards/proposals", body)


def plans_and_units(clients: Clients) -> None:
    """Each plan issued by an operator of its issuer; units registered by an operator above them."""
    for seed in load_seed_files():
        command = issue_plan_command(seed)
        operator = clients(command.issuer_path, "operator")
        operator.ok("/api/v1/plans", body_of(command))
        for criteria in criteria_commands(seed, command):
            operator.ok("/api/v1/criteria", body_of(criteria))
    for code, name, members in LAO_CAI_BLOCS:
        body = {
            "bloc_code": code,
            "province_path": LAO_CAI,
            "kind": "KHOI",
            "name": name,
            "members": list(members),
            "occurred_at": when(at(5, 4, hour=8)),
        }
        clients(LAO_CAI, "operator").ok("/api/v1/emulation-blocs", body)
    for parent, code, name, kind, category, bloc, agency in UNITS:
        operator = clients(DAI_SON if parent == DAI_SON else province_of(parent), "operator")
        body = {
            "parent_path": parent,
            "code": code,
            "name": name,
            "unit_kind": kind,
            "subject_category": category,
            "emulation_bloc": bloc,
            "valid_from": "2026-05-04",
            "occurred_at": when(at(5, 4)),
            "agency_type": agency,
        }
        operator.ok("/api/v1/org-units", body)


def registrations_and_reports(story: Story) -> None:
    """Lào Cai's registrations; Đại Sơn's reports (one returned and resubmitted) and reviews; Huế's and Lào Cai's."""
    clients = story.clients
    lao_cai = clients(LAO_CAI, "submitter")
    for path, targets in LAO_CAI_TARGETS.items():
        values = [{"indicator_code": c, "value": v, "note": None} for c, v in targets]
        body = {
            "registration_id": f"dk-{path.rsplit('/', 1)[1]}-2026",
            "plan_id": LAO_CAI_PLAN,
            "unit_path": path,
            "year": 2026,
            "targets": values,
            "occurred_at": when(at(6, 15)),
        }
        lao_cai.ok("/api/v1/registrations", body)
    dai_son = clients(DAI_SON, "submitter")
    report = {"plan_id": DAI_SON_PLAN, "period": "2026", "narrative": "Báo cáo kết quả thực hiện Phong trào thi đua"}
    values = [{"indicator_code": "DS-1", "value": 1.0, "note": None}]
    story.refusals["report of another province"] = lao_cai.post(
        "/api/v1/reports", {**report, "unit_path": PATHS["THCS-DS"], "values": values}
    ).json()
    for code, day, month in DAI_SON_REPORTS:
        moment = when(at(month, day, hour=15))
        dai_son.ok("/api/v1/reports", {**report, "unit_path": PATHS[code], "values": values, "occurred_at": moment})
    reviewer = clients(DAI_SON, "reviewer")
    rid = f"{DAI_SON_PLAN}:TH-DS:2026"
    returned = {"outcome": "RETURNED", "reason": "Thiếu số liệu mô hình chuyển đổi số", "occurred_at": when(at(11, 29))}
    story.refusals["review by a submitter"] = dai_son.post(f"/api/v1/reports/{rid}/review", returned).json()
    reviewer.ok(f"/api/v1/reports/{rid}/review", returned)
    resubmit = {"plan_id": DAI_SON_PLAN, "unit_path": PATHS["TH-DS"], "period": "2026", "narrative": "Bổ sung số liệu"}
    dai_son.ok("/api/v1/reports", {**resubmit, "occurred_at": when(at(12, 4))})
    for code in ("THCS-DS", "TH-DS", "DN-DS1"):
        accepted = {"outcome": "ACCEPTED", "occurred_at": when(at(12, 8))}
        reviewer.ok(f"/api/v1/reports/{DAI_SON_PLAN}:{code}:2026/review", accepted)
    for plan, paths, moment in ((HUE_PLAN, HUE_REPORTS, at(12, 15)), (LAO_CAI_PLAN, list(LAO_CAI_TARGETS), at(12, 10))):
        for path in paths:
            submitter = clients(province_of(path), "submitter")
            submitter.ok(
                "/api/v1/reports", {"plan_id": plan, "unit_path": path, "period": "2026", "occurred_at": when(moment)}
            )


def awards(story: Story) -> None:
    """The demo's five award stories, each step by the unit that holds it."""
    clients, refusals = story.clients, story.refusals
    # 1. Giấy khen of xã Đại Sơn: the school proposes and sends it on, the commune's decider decides.
    school = clients(PATHS["THCS-DS"], "submitter")
    created = propose(
        school,
        "gk-ds-2026-1",
        PATHS["THCS-DS"],
        PATHS["THCS-DS"],
        "Trường THCS Đại Sơn",
        "GK_XA",
        "ANNUAL",
        DAI_SON_PLAN,
        when(at(12, 10)),
    )
    assert created.status_code == 201, created.text
    walk(clients, "gk-ds-2026-1", created.json()["version"], when(at(12, 11)))
    decision = {
        "outcome": "APPROVED",
        "decision_number": "215/QĐ-UBND",
        "decision_date": "2026-12-20",
        "occurred_at": when(at(12, 20)),
    }
    path = "/api/v1/awards/proposals/gk-ds-2026-1/decide"
    refusals["decision by the neighbour's decider"] = clients(BAT_XAT, "decider").post(path, decision).json()
    refusals["decision without the role"] = clients(DAI_SON, "submitter", "reviewer").post(path, decision).json()
    clients(DAI_SON, "decider").ok(path, decision)
    # 2. Bằng khen tỉnh Lào Cai from xã Bát Xát, forwarded up and decided by the province.
    created = propose(
        clients(BAT_XAT, "submitter"),
        "bk-lc-2026-1",
        BAT_XAT,
        PATHS["DN-BATXAT"],
        "Công ty TNHH Chè Bát Xát",
        "BK_TINH",
        "ANNUAL",
        LAO_CAI_PLAN,
        when(at(12, 12)),
    )
    walk(clients, "bk-lc-2026-1", created.json()["version"], when(at(12, 14)))
    decision = {
        "outcome": "APPROVED",
        "decision_number": "3105/QĐ-UBND",
        "decision_date": "2026-12-28",
        "occurred_at": when(at(12, 28)),
    }
    clients(LAO_CAI, "decider").ok("/api/v1/awards/proposals/bk-lc-2026-1/decide", decision)
    # 3. Bằng khen Thủ tướng from Huế's Sở KH&CN at the sơ kết: it travels up to the central authority.
    created = propose(
        clients(PATHS["SKHCN-46"], "submitter"),
        "bkttg-hue-2027-1",
        PATHS["SKHCN-46"],
        PATHS["SKHCN-46"],
        "Sở Khoa học và Công nghệ thành phố Huế",
        "BK_TTG",
        "SO_KET",
        HUE_PLAN,
        when(at(12, 5, 2027)),
    )
    walk(clients, "bkttg-hue-2027-1", created.json()["version"], when(at(12, 10, 2027)))
    # 4. Phường Phú Xuân's own Giấy khen at Huế's sơ kết: its council proposes, its Chủ tịch decides.
    phu_xuan = "VN/46/19753"
    body = {
        "proposal_id": "gk-px-2027-1",
        "proposer_path": phu_xuan,
        "nominee_kind": "INDIVIDUAL",
        "nominee_name": "Nguyễn Thị Hoa",
        "nominee_path": phu_xuan,
        "form_code": "GK_XA",
        "occasion": "SO_KET",
        "achievements": "Thành tích xuất sắc trong Phong trào thi đua",
        "plan_id": HUE_PLAN,
        "occurred_at": when(at(12, 5, 2027)),
    }
    created = clients(phu_xuan, "submitter").post("/api/v1/awards/proposals", body)
    assert created.status_code == 201, created.text
    walk(clients, "gk-px-2027-1", created.json()["version"], when(at(12, 6, 2027)))
    decision = {
        "outcome": "APPROVED",
        "decision_number": "45/QĐ-UBND",
        "decision_date": "2027-12-09",
        "occurred_at": when(at(12, 9, 2027)),
    }
    clients(phu_xuan, "decider").ok("/api/v1/awards/proposals/gk-px-2027-1/decide", decision)
    # 5. Xã Đại Sơn may not decide a Bằng khen tỉnh (AUTHORITY_MISMATCH); it is sent up instead.
    created = propose(
        clients(DAI_SON, "submitter"),
        "bk-ds-2027-1",
        DAI_SON,
        PATHS["TH-DS"],
        "Trường Tiểu học Đại Sơn",
        "BK_TINH",
        "SO_KET",
        DAI_SON_PLAN,
        when(at(12, 1, 2027)),
    )
    wrong = {
        "outcome": "APPROVED",
        "decision_number": "9/QĐ-UBND",
        "decision_date": "2027-12-02",
        "occurred_at": when(at(12, 2, 2027)),
    }
    refusals["decision above the commune's authority"] = (
        clients(DAI_SON, "decider").post("/api/v1/awards/proposals/bk-ds-2027-1/decide", wrong).json()
    )
    walk(clients, "bk-ds-2027-1", created.json()["version"], when(at(12, 3, 2027)))
    # 6. A Huân chương at Đại Sơn's tổng kết: the plan offers none.
    refusals["form the plan does not offer"] = propose(
        clients(DAI_SON, "submitter"),
        "hcld-ds-2030-1",
        DAI_SON,
        DAI_SON,
        "Ủy ban nhân dân xã Đại Sơn",
        "HCLD_3",
        "TONG_KET",
        DAI_SON_PLAN,
        when(at(11, 20, 2030)),
    ).json()
    # 7. A Cờ thi đua (an emulation title) as an ad-hoc award: the law gives none (Art. 8, 26).
    refusals["an emulation title as an ad-hoc award"] = propose(
        clients(BAT_XAT, "submitter"),
        "co-lc-2026-1",
        BAT_XAT,
        PATHS["DN-BATXAT"],
        "Công ty TNHH Chè Bát Xát",
        "CO_TINH",
        "DOT_XUAT",
        LAO_CAI_PLAN,
        when(at(9, 15)),
    ).json()


def subscribe(caller: Caller, url: str, types: list[str]) -> dict[str, Any]:
    """A webhook subscription of ``caller`` (its secret is in the answer)."""
    response = caller.post("/api/v1/webhooks", {"url": url, "event_types": types})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    folder = tmp_path_factory.mktemp("lgsp")
    receiver = Receiver(failures=2)
    with running_node(folder / "node", **SETTINGS) as node:
        # The central operator's credentials come from the CLI, as docs/api.md tells an operator to do.
        added = json.loads(
            node.cli(
                "clients",
                "add",
                "--name",
                "LGSP trung ương",
                "--org-unit",
                "VN",
                "--roles",
                "operator,auditor",
                "--json",
            )
        )
        clients = Clients(node)
        clients._cache[("VN", ("auditor",))] = Caller(node, added["client_id"], added["client_secret"])
        story = Story(node, clients, receiver, {})
        flaky = subscribe(clients(DAI_SON, "auditor"), f"{receiver.url}/flaky", ["AwardDecided"])
        dead = subscribe(clients(LAO_CAI, "auditor"), f"{receiver.url}/dead", ["vn.thidua.events.AwardProposed"])
        story.secrets = {
            "flaky": flaky["secret"],
            "dead": dead["secret"],
            "flaky_id": flaky["subscription_id"],
            "dead_id": dead["subscription_id"],
        }
        plans_and_units(clients)
        registrations_and_reports(story)
        awards(story)
        yield story
    receiver.close()


def test_the_demo_year_through_the_api_writes_what_the_demo_writes(story: Story, tmp_path: Path) -> None:
    demo = bootstrap(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}"))
    demo.init_db()
    run_demo(demo)
    expected = Counter({name: len(events) for name, events in events_by_type(demo).items()})
    demo.close()
    central = story.clients("VN", "auditor")
    seen: Counter[str] = Counter()
    cursor = None
    while True:
        page = central.get("/api/v1/events", limit=500, **({"after": cursor} if cursor else {})).json()
        # the serve thread's automatic checkpoints (every 10 s with new events) are not part of the demo year
        seen.update(t for item in page["items"] if (t := item["type"].rsplit(".", 1)[-1]) != "CheckpointSigned")
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == expected
    rollup = wait_for(lambda: _rollup(central), what="the rollup to catch up")
    # Phòng VH-XH receives the report (not bound); Phòng Kinh tế is held to its own undated duty; HTX-DS is missing.
    assert (rollup["expected"], rollup["submitted"], rollup["missing"], rollup["late"]) == (8, 7, 1, 3)
    conferred = central.get("/api/v1/awards/conferred").json()["items"]
    assert {c["proposal_id"]: c["decision_number"] for c in conferred} == {
        "gk-ds-2026-1": "215/QĐ-UBND",
        "bk-lc-2026-1": "3105/QĐ-UBND",
        "gk-px-2027-1": "45/QĐ-UBND",
    }


def _rollup(central: Caller) -> dict[str, Any] | None:
    reports = central.get("/api/v1/org-units/11086/rollup", period="2026").json()["reports"]
    return reports if reports["submitted"] == 7 else None


def test_refusals_name_the_rule_vietnamese_first(story: Story) -> None:
    refusals = story.refusals
    codes = {what: body["code"] for what, body in refusals.items()}
    assert codes == {
        "report of another province": "OUT_OF_SUBTREE",
        "review by a submitter": "ROLE_NOT_ALLOWED",
        "decision by the neighbour's decider": "OUT_OF_SUBTREE",
        "decision without the role": "ROLE_NOT_ALLOWED",
        "decision above the commune's authority": "AUTHORITY_MISMATCH",
        "form the plan does not offer": "FORM_NOT_ALLOWED_IN_PLAN",
        "an emulation title as an ad-hoc award": "FORM_NOT_FOR_OCCASION",
    }
    outside = refusals["report of another province"]
    assert outside["status"] == 403 and outside["rule"] == "SUBTREE"
    assert outside["title"].startswith("Đơn vị VN/15 chỉ được thao tác trong phạm vi") and "/" in outside["detail"]
    role = refusals["decision without the role"]
    assert role["status"] == 403 and role["required_roles"] == ["decider"] and role["title"].startswith("Quy tắc")
    assert refusals["decision above the commune's authority"]["status"] == 403


def test_reads_are_filtered_to_the_callers_subtree(story: Story) -> None:
    lao_cai = story.clients(LAO_CAI, "auditor")
    ids = [a["proposal_id"] for a in lao_cai.get("/api/v1/awards").json()["items"]]
    assert ids == ["bk-lc-2026-1"]
    problem(lao_cai.get("/api/v1/awards/gk-ds-2026-1"), 403, "OUT_OF_SUBTREE")
    problem(lao_cai.get("/api/v1/org-units/11086/rollup", period="2026"), 403, "OUT_OF_SUBTREE")
    problem(lao_cai.get("/api/v1/awards/waiting", at="11086"), 403, "OUT_OF_SUBTREE")
    school = story.clients(PATHS["THCS-DS"], "auditor")
    plans = [p["plan_id"] for p in school.get("/api/v1/plans").json()["items"]]
    assert plans == ["dai-son-draft-2026-06", "hai-phong-2159-2026", "vn-462-2026"]  # the chain above it
    problem(school.get("/api/v1/plans/hue-220-2026"), 403, "OUT_OF_SUBTREE")
    assert school.get("/api/v1/org-units/31").status_code == 200  # an ancestor
    problem(school.get("/api/v1/org-units/11086/children"), 403, "OUT_OF_SUBTREE")
    assert [c["proposal_id"] for c in school.get("/api/v1/awards/conferred").json()["items"]] == ["gk-ds-2026-1"]


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_appends_nothing(story: Story) -> None:
    operator = story.clients(DAI_SON, "operator")
    body = {
        "guidance_id": "hd-ds-2026-1",
        "issuer_path": DAI_SON,
        "title": "Hướng dẫn khen thưởng tổng kết năm",
        "addressed_to": [DAI_SON],
    }
    first = operator.post("/api/v1/guidance", body, key="lgsp-retry-1")
    again = operator.post("/api/v1/guidance", body, key="lgsp-retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"] == '"1"'
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))  # same JSON, other key order
    assert operator.post("/api/v1/guidance", reordered, key="lgsp-retry-1").json() == first.json()
    problem(
        operator.post("/api/v1/guidance", {**body, "title": "Khác"}, key="lgsp-retry-1"), 422, "IDEMPOTENCY_KEY_REUSED"
    )
    guidance = story.clients("VN", "auditor").get("/api/v1/events", types="GuidanceIssued").json()["items"]
    assert [g["data"]["guidance_id"] for g in guidance] == ["hd-ds-2026-1"]
    # A refusal is a first answer too: the retry gets it again, nothing is written in between.
    refused = operator.post("/api/v1/guidance", body, key="lgsp-retry-2")
    problem(refused, 409, "GUIDANCE_EXISTS")
    assert operator.post("/api/v1/guidance", body, key="lgsp-retry-2").json() == refused.json()
    # Keys belong to one client: another client's same key is another request.
    other = story.clients(DAI_SON, "operator", "auditor")
    problem(other.post("/api/v1/guidance", body, key="lgsp-retry-1"), 409, "GUIDANCE_EXISTS")


def test_if_match_guards_a_plan_amendment(story: Story) -> None:
    operator = story.clients(DAI_SON, "operator")
    plan = wait_for(lambda: operator.get(f"/api/v1/plans/{DAI_SON_PLAN}"), what="the plan")
    version = plan.headers["etag"]
    amend = {"reason": "Bổ sung thời hạn báo cáo", "title": "Kế hoạch thi đua (sửa đổi)"}
    stale = operator.post(f"/api/v1/plans/{DAI_SON_PLAN}/amend", amend, **{"If-Match": '"1"'})
    assert version != '"1"' and problem(stale, 409, "VERSION_CONFLICT")["expected_version"] == 1
    done = operator.post(f"/api/v1/plans/{DAI_SON_PLAN}/amend", amend, **{"If-Match": version})
    assert done.status_code == 201 and done.headers["etag"] == f'"{int(version.strip(chr(34))) + 1}"'
    problem(
        story.clients(LAO_CAI, "operator").post(f"/api/v1/plans/{DAI_SON_PLAN}/amend", amend), 403, "OUT_OF_SUBTREE"
    )


def test_the_event_feed_pages_through_the_callers_subtree_as_cloudevents(story: Story) -> None:
    dai_son = story.clients(DAI_SON, "auditor")
    items, cursor = [], None
    while True:
        page = dai_son.get(
            "/api/v1/events", types="AwardProposed,AwardDecided", limit=1, **({"after": cursor} if cursor else {})
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [(i["type"].rsplit(".", 1)[-1], i["subject"]) for i in items] == [
        ("AwardProposed", "award-gk-ds-2026-1"),
        ("AwardDecided", "award-gk-ds-2026-1"),
        ("AwardProposed", "award-bk-ds-2027-1"),
    ]
    decided = items[1]
    assert decided["specversion"] == "1.0" and decided["source"] == "/thidua/p31"
    assert decided["datacontenttype"] == "application/json" and decided["orgunit"] == DAI_SON
    assert decided["dataschema"].startswith("urn:avro:crc64:")
    schema = dai_son.get(f"/api/v1/schemas/{decided['dataschema'].rsplit(':', 1)[-1]}").json()
    assert schema["name"] == "vn.thidua.events.AwardDecided" and decided["data"]["decision_number"] == "215/QĐ-UBND"
    assert decided["data"]["meta"]["actor"]["kind"] == "CLIENT"
    assert all(i["orgunit"].startswith(DAI_SON) for i in items)
    end = dai_son.get("/api/v1/events", types="AwardProposed,AwardDecided", after=cursor).json()
    assert end["items"] == [] and end["next_cursor"] == cursor  # the end: poll again with the same cursor
    problem(dai_son.get("/api/v1/events", subtree=LAO_CAI), 403, "OUT_OF_SUBTREE")
    problem(dai_son.get("/api/v1/events", types="NoSuchEvent"), 422, "UNKNOWN_EVENT_TYPE")


def test_webhooks_are_signed_and_retried_after_two_failures(story: Story) -> None:
    deliveries = wait_for(
        lambda: len(story.receiver.received("/flaky")) >= 3 and story.receiver.received("/flaky"), what="three attempts"
    )
    assert [r["headers"]["X-Thidua-Attempt"] for r in deliveries] == ["1", "2", "3"]
    assert {r["event_id"] for r in deliveries} == {deliveries[0]["event_id"]}  # one event: the Giấy khen decided
    for request in deliveries:
        headers = request["headers"]
        assert verify(story.secrets["flaky"], headers[TIMESTAMP_HEADER], request["body"], headers[SIGNATURE_HEADER])
        assert not verify("whsec_wrong", headers[TIMESTAMP_HEADER], request["body"], headers[SIGNATURE_HEADER])
        assert Webhook(story.secrets["flaky"]).verify(request["body"], headers)["id"] == request["event_id"]
    assert len({r["headers"]["webhook-id"] for r in deliveries}) == 1  # one message, retried: one webhook-id
    event = json.loads(deliveries[-1]["body"])
    assert event["type"] == "vn.thidua.events.AwardDecided" and event["data"]["proposal_id"] == "gk-ds-2026-1"
    dai_son = story.clients(DAI_SON, "auditor")
    log = wait_for(lambda: _delivered(dai_son, story.secrets["flaky_id"]), what="the delivery log")
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 200]
    problem(
        story.clients(LAO_CAI, "auditor").get(f"/api/v1/webhooks/{story.secrets['flaky_id']}/deliveries"),
        404,
        "UNKNOWN_SUBSCRIPTION",
    )


def _delivered(caller: Caller, subscription_id: str) -> dict[str, Any] | None:
    items = caller.get(f"/api/v1/webhooks/{subscription_id}/deliveries").json()["items"]
    return items[0] if items and items[0]["state"] == "DELIVERED" else None


def test_a_webhook_that_keeps_failing_is_given_up_with_the_failure_recorded(story: Story) -> None:
    lao_cai = story.clients(LAO_CAI, "auditor")
    subscription = story.secrets["dead_id"]

    def failed() -> list[dict[str, Any]] | None:
        items = lao_cai.get(f"/api/v1/webhooks/{subscription}/deliveries").json()["items"]
        return items if items and all(i["state"] == "FAILED" for i in items) else None

    items = wait_for(failed, what="the deliveries to be given up")
    assert [i["event_type"] for i in items] == ["AwardProposed"]  # Bát Xát's proposal, the one in Lào Cai's subtree
    (item,) = items
    assert item["attempts"] == 4 and item["last_status"] == 503 and item["last_error"] == "HTTP 503"
    assert [a["attempt"] for a in item["attempt_log"]] == [1, 2, 3, 4]
    assert len(story.receiver.received("/dead")) == 4


def test_tokens_401_403_429(story: Story) -> None:
    url = story.node.url
    problem(httpx.get(f"{url}/api/v1/plans"), 401, "MISSING_TOKEN")
    problem(httpx.get(f"{url}/api/v1/plans", headers={"Authorization": "Bearer not.a.jwt"}), 401, "INVALID_TOKEN")
    wrong = httpx.post(f"{url}/api/v1/token", data={"grant_type": "client_credentials"}, auth=("nobody", "secret"))
    assert problem(wrong, 401, "INVALID_CLIENT")["error"] == "invalid_client"
    client, secret = story.clients.store.add("kiểm thử hạn mức", LAO_CAI, ["auditor"], rate_limit_per_minute=3)
    caller = Caller(story.node, client.client_id, secret)
    answers = [caller.get("/api/v1/plans") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(problem(answers[-1], 429, "RATE_LIMITED") and answers[-1].headers["retry-after"]) >= 1
    story.node.cli("clients", "revoke", client.client_id)
    problem(caller.get("/api/v1/plans"), 401, "TOKEN_REVOKED")
    jwks = httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]
    assert [(k["kty"], k["alg"]) for k in jwks] == [("OKP", "EdDSA")]
