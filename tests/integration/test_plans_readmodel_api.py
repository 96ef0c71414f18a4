"""The plan endpoints on the embedded default (SQLite) over the demo's data: filters, pagination, one plan with
its criteria, warnings and parent chain, and problem+json errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.planning.seed_import import load_seed_files
from tests.integration.test_awards_readmodel_api import demo_client, problem

SEEDS = {s["plan_key"]: s for s in load_seed_files()}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from demo_client(tmp_path_factory.mktemp("plans-api"))


def test_pages_walk_every_plan_once_in_id_order(client: TestClient) -> None:
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/plans", params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        assert len(body["items"]) <= 4
        seen += [i["plan_id"] for i in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert seen == sorted(SEEDS)


def test_filters_by_issuer_and_status_with_labels(client: TestClient) -> None:
    drafts = client.get("/api/v1/plans", params={"status": "DRAFT"}).json()["items"]
    assert sorted(p["plan_id"] for p in drafts) == sorted(
        p for p, s in SEEDS.items() if s["document"].get("number") is None
    )
    assert {(p["status_label"], p["document_label"]) for p in drafts} == {("Dự thảo", "…/KH-UBND")}
    (hue,) = client.get("/api/v1/plans", params={"issuer": "46"}).json()["items"]
    assert (hue["document_label"], hue["issue_date"], hue["issuer"]["level_label"]) == (
        "220/KH-UBND",
        "2026-04-15",
        "Cấp tỉnh",
    )
    assert client.get("/api/v1/plans", params={"issuer": "99"}).json() == {"items": [], "next_cursor": None}
    problem(client.get("/api/v1/plans", params={"status": "SIGNED"}), 422, "VALIDATION_FAILED")
    problem(client.get("/api/v1/plans", params={"cursor": "not-a-cursor!"}), 400, "INVALID_CURSOR")


def test_one_plan_with_criteria_warnings_and_parent_chain(client: TestClient) -> None:
    dai_son = client.get("/api/v1/plans/dai-son-draft-2026-06").json()
    assert [(p["plan_id"], p["document_label"], p["depth"]) for p in dai_son["parent_chain"]] == [
        ("vn-462-2026", "462/QĐ-TTg", 2),
        ("hai-phong-2159-2026", "2159/QĐ-UBND", 1),
    ]
    duty = dai_son["duties"][0]
    assert (duty["period_label"], duty["deadline_label"]) == ("Hằng năm", "Trước ngày 01/12 hằng năm")
    forms = {(a["occasion_label"], a["form_code"]): a["form_name"] for a in dai_son["award_forms"]}
    assert forms[("Hằng năm", "BY_AUTHORITY")] == "Khen thưởng theo thẩm quyền"
    assert forms[("Sơ kết", "GIAY_KHEN")] == "Giấy khen (của cấp có thẩm quyền đối với người được đề nghị)"
    means = {(a["occasion"], a["form_code"]): a["means"] for a in dai_son["award_forms"]}
    assert means[("SO_KET", "GIAY_KHEN")] == ["GK_UNIT", "GK_XA", "GK_SO"]  # each level's own Giấy khen
    lao_cai = client.get("/api/v1/plans/lao-cai-draft-2026-05").json()
    seed = SEEDS["lao-cai-draft-2026-05"]
    assert lao_cai["indicator_count"] == 40 == sum(len(i["indicators"]) for c in seed["criteria"] for i in c["items"])
    indicators = {i["code"]: i for c in lao_cai["criteria"] for item in c["items"] for i in item["indicators"]}
    assert indicators["LC-01"]["target_label"] == "≤ 15 thứ hạng"
    conflicts = [w for c in lao_cai["criteria"] for w in c["warnings"] if w["code"] == "CONFLICTING_TARGETS"]
    assert len(conflicts) == 4 and all(w["message_vi"] for w in conflicts)
    assert {w["code"] for w in lao_cai["warnings"]} >= {"SEED_TYPO_DOT_XUAT"}
    assert lao_cai["warning_count"] == len(lao_cai["warnings"]) + sum(len(c["warnings"]) for c in lao_cai["criteria"])
    national = client.get("/api/v1/plans/vn-462-2026").json()
    children = sorted(p for p, s in SEEDS.items() if "vn-462-2026" in s["implements"])
    assert national["parent_chain"] == [] and [c["plan_id"] for c in national["implemented_by"]] == children


def test_an_unknown_plan_is_a_bilingual_problem(client: TestClient) -> None:
    body = problem(client.get("/api/v1/plans/ke-hoach-khong-co"), 404, "UNKNOWN_PLAN")
    assert body["title"].startswith("Không tìm thấy kế hoạch") and "Unknown plan" in body["detail"]
