"""Authorisation before state: a caller from another subtree that acts on (or reads) a target by
id gets the same 403, whatever the target's state — open, closed, decided, returned — and when there is no such
target; nothing in the answer tells them apart. The table covers every command endpoint that addresses a target
by id, the commands that name a unit or an id in their body, and the read of one proposal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.awards.commands import DecideAward, ReturnAward
from services.bootstrap import bootstrap
from services.demo.data import DAI_SON
from services.demo.year import DAI_SON_PLAN, _propose, _walk, at, run_demo
from services.kernel.settings import Settings
from services.reporting.commands import ReviewReport
from tests.api_auth import bearer
from tests.factories import SYSTEM_ACTOR

FOREIGN = "VN/15"  # tỉnh Lào Cai, every role; the targets below are in Hải Phòng (VN/31), xã Đại Sơn
UNKNOWN = "khong-co-2026"

PROPOSALS = {  # state → proposal id
    "open": "bk-ds-2027-1",  # PENDING (the demo), held by Hải Phòng
    "decided": "gk-ds-2026-1",  # APPROVED (the demo)
    "closed": "gk-ds-2026-rejected",  # REJECTED (below)
    "returned": "gk-ds-2026-returned",  # RETURNED (below)
    "unknown": UNKNOWN,
}
REPORTS = {
    "open": f"{DAI_SON_PLAN}:MN-DS:2026",  # submitted, awaiting review (the demo)
    "decided": f"{DAI_SON_PLAN}:THCS-DS:2026",  # ACCEPTED (the demo)
    "closed": f"{DAI_SON_PLAN}:TH-DS:2026",  # returned, resubmitted, then ACCEPTED (the demo)
    "returned": f"{DAI_SON_PLAN}:TYT-DS:2026",  # RETURNED (below)
    "unknown": f"{UNKNOWN}:X:2026",
}
PLANS = {
    "open": DAI_SON_PLAN,  # a draft of xã Đại Sơn
    "closed": "hai-phong-2159-2026",  # issued by Hải Phòng
    "unknown": UNKNOWN,
}

DECIDE = {"outcome": "APPROVED", "decision_number": "9/QĐ-UBND", "decision_date": "2026-12-20"}
BY_ID = [  # (method, path template, body, targets by state)
    ("POST", "/api/v1/awards/proposals/{}/forward", {"note": "Kính trình"}, PROPOSALS),
    ("POST", "/api/v1/awards/proposals/{}/return", {"reason": "Thiếu hồ sơ"}, PROPOSALS),
    ("POST", "/api/v1/awards/proposals/{}/decide", DECIDE, PROPOSALS),
    ("POST", "/api/v1/reports/{}/review", {"outcome": "ACCEPTED"}, REPORTS),
    ("POST", "/api/v1/reports/{}/review", {"outcome": "RETURNED", "reason": "Thiếu số liệu"}, REPORTS),
    ("POST", "/api/v1/plans/{}/number", {"document_number": "99", "issue_date": "2026-12-01"}, PLANS),
    ("POST", "/api/v1/plans/{}/amend", {"reason": "Bổ sung", "title": "Kế hoạch sửa đổi"}, PLANS),
    ("GET", "/api/v1/awards/{}", None, PROPOSALS),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("authz")
    node = bootstrap(Settings(data_dir=data, database_url=f"sqlite:///{data / 'api.db'}", node_id="p31"))
    node.init_db()
    run_demo(node)
    handle = node.bus.handle
    for pid in (PROPOSALS["closed"], PROPOSALS["returned"]):
        who = f"{DAI_SON}/THCS-DS"
        handle(
            _propose(pid, who, who, "COLLECTIVE", "Trường THCS Đại Sơn", "GK_XA", "ANNUAL", DAI_SON_PLAN, at(12, 12))
        )
        _walk(node, pid, at(12, 13))
    handle(DecideAward(PROPOSALS["closed"], DAI_SON, "REJECTED", at(12, 14), SYSTEM_ACTOR, reason="Chưa đủ"))
    handle(ReturnAward(PROPOSALS["returned"], DAI_SON, "Thiếu hồ sơ", at(12, 14), SYSTEM_ACTOR))
    handle(ReviewReport(REPORTS["returned"], DAI_SON, "RETURNED", at(12, 14), SYSTEM_ACTOR, reason="Thiếu số liệu"))
    with TestClient(create_app(node, run_webhooks=False)) as test_client:
        node.runner.run_until_idle()
        yield test_client


def _answer(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, str]:
    response = client.request(method, path, json=body, headers=headers)
    return response.status_code, response.text


def _without(text: str, target: str) -> dict[str, Any]:
    """The problem with the id the caller sent blanked out (the only thing an answer may repeat)."""
    return json.loads(text.replace(json.dumps(target)[1:-1], "<id>"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("if_match", [None, '"1"'], ids=["no If-Match", "If-Match"])
@pytest.mark.parametrize(("method", "template", "body", "targets"), BY_ID, ids=[f"{m} {t}" for m, t, *_ in BY_ID])
def test_a_foreign_caller_gets_the_same_403_whatever_the_targets_state(
    client: TestClient, method: str, template: str, body: Any, targets: dict[str, str], if_match: str | None
) -> None:
    headers = bearer(client.app, FOREIGN)  # type: ignore[arg-type]
    if if_match is not None and method == "POST":
        headers["If-Match"] = if_match
    answers = {
        state: _answer(client, method, template.format(target), body, headers) for state, target in targets.items()
    }
    assert {status for status, _ in answers.values()} == {403}, answers
    problems = {state: _without(text, targets[state]) for state, (_, text) in answers.items()}
    first = problems["unknown"]
    assert first["code"] == "OUT_OF_SUBTREE" and first["rule"] == "SUBTREE", first
    assert all(p == first for p in problems.values()), problems
    assert "VN/31" not in json.dumps(first)  # nothing of where the target is


def test_the_table_holds_targets_in_every_state(client: TestClient) -> None:
    """The states the table claims are the states the targets are in (a central caller sees them)."""
    central = bearer(client.app, "VN")  # type: ignore[arg-type]
    states = {
        s: client.get(f"/api/v1/awards/{pid}", headers=central).json().get("state")
        for s, pid in PROPOSALS.items()
        if s != "unknown"
    }
    assert states == {"open": "PENDING", "decided": "APPROVED", "closed": "REJECTED", "returned": "RETURNED"}
    assert client.get(f"/api/v1/awards/{UNKNOWN}", headers=central).status_code == 404  # the root learns it
    plans = {
        s: client.get(f"/api/v1/plans/{pid}", headers=central).json()["status"]
        for s, pid in PLANS.items()
        if s != "unknown"
    }
    assert plans == {"open": "DRAFT", "closed": "ISSUED"}
    slots = client.get(
        f"/api/v1/org-units/{DAI_SON.rsplit('/')[-1]}/reports", params={"period": "2026", "limit": 500}, headers=central
    ).json()["items"]
    review = {e["report_id"]: e["review"] for e in slots}
    assert [review[REPORTS[s]] for s in ("open", "decided", "closed", "returned")] == [
        None,
        "ACCEPTED",
        "ACCEPTED",
        "RETURNED",
    ], review


def test_the_owning_subtree_still_learns_the_state(client: TestClient) -> None:
    """Inside its subtree a caller gets the domain's answer: the proposal is closed, the report was reviewed."""
    own = bearer(client.app, DAI_SON)  # type: ignore[arg-type]
    decided = client.post(f"/api/v1/awards/proposals/{PROPOSALS['decided']}/decide", json=DECIDE, headers=own)
    assert (decided.status_code, decided.json()["code"]) == (409, "PROPOSAL_CLOSED")
    reviewed = client.post(f"/api/v1/reports/{REPORTS['decided']}/review", json={"outcome": "ACCEPTED"}, headers=own)
    assert (reviewed.status_code, reviewed.json()["code"]) == (409, "REPORT_NOT_AWAITING_REVIEW")
    unknown = client.post(f"/api/v1/awards/proposals/{UNKNOWN}/forward", json={}, headers=own)
    assert unknown.status_code == 403  # below the root an unknown id is told apart from nothing


CREATES = [  # commands naming a unit of another subtree in their body, with an id that exists and one that does not
    (
        "/api/v1/awards/proposals",
        "proposal_id",
        {
            "proposer_path": f"{DAI_SON}/THCS-DS",
            "nominee_kind": "COLLECTIVE",
            "nominee_name": "Trường",
            "nominee_path": f"{DAI_SON}/THCS-DS",
            "form_code": "GK_XA",
            "occasion": "ANNUAL",
            "achievements": "Thành tích",
        },
        PROPOSALS["decided"],
    ),
    (
        "/api/v1/plans",
        "plan_id",
        {"issuer_path": DAI_SON, "document_symbol": "KH-UBND", "title": "Kế hoạch"},
        PLANS["open"],
    ),
    ("/api/v1/reports", "plan_id", {"unit_path": f"{DAI_SON}/THCS-DS", "period": "2026"}, DAI_SON_PLAN),
]


@pytest.mark.parametrize(("path", "id_field", "body", "existing"), CREATES, ids=[c[0] for c in CREATES])
def test_a_command_for_a_foreign_unit_is_403_whether_its_id_exists_or_not(
    client: TestClient, path: str, id_field: str, body: dict[str, Any], existing: str
) -> None:
    headers = bearer(client.app, FOREIGN)  # type: ignore[arg-type]
    found = [client.post(path, json={**body, id_field: target}, headers=headers) for target in (existing, UNKNOWN)]
    assert [r.status_code for r in found] == [403, 403], [r.text for r in found]
    assert _without(found[0].text, existing) == _without(found[1].text, UNKNOWN)
