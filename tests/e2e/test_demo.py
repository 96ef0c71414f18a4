"""`thidua demo` on the embedded default: its numbers checked against values computed here, independently."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.bootstrap import bootstrap
from services.cli.main import app
from services.demo.data import DAI_SON_REPORTS, HUE_REPORTS, LAO_CAI_TARGETS, UNDATED_DUTY, UNITS
from services.demo.report import award_states, events_by_type
from services.kernel.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:  # type: ignore[type-arg]
    data = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo"], env={"THIDUA_DATA_DIR": str(data), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    node = bootstrap(Settings(data_dir=data, database_url=f"sqlite:///{data / 'demo.db'}"))
    events = events_by_type(node)
    node.close()
    return result.output, events


def test_demo_prints_the_plans_routes_and_refusals(demo: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    output, _ = demo
    for text in (
        "220/KH-UBND",
        "113/KH-UBND",
        "462/QĐ-TTg",
        "(dự thảo)",
        "215/QĐ-UBND",
        "Thủ tướng Chính phủ",
        "AUTHORITY_MISMATCH",
        "FORM_NOT_ALLOWED_IN_PLAN",
        "FORM_NOT_FOR_OCCASION",
        "Báo cáo nộp muộn",
        "Ủy ban nhân dân thành phố Đồng Nai",  # the printed issuer, beside the register's "Tỉnh Đồng Nai"
    ):
        assert text in output, text


def test_demo_counts_match_an_independent_computation(demo: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    _, events = demo
    assert len(events["OrgUnitRegistered"]) == len(UNITS) == 26
    assert len(events["TargetsRegistered"]) == len(LAO_CAI_TARGETS)
    # Đại Sơn: "trước ngày 01/12" → a report on 01/12 or later is late, except under a duty without a date (Phòng
    # Kinh tế's own); TH-DS is returned and resubmitted on 04/12.
    late_first = [
        code
        for code, day, month in DAI_SON_REPORTS
        if date(2026, month, day) >= date(2026, 12, 1) and code not in UNDATED_DUTY
    ]
    expected_late = sorted([*late_first, "TH-DS"])
    submitted = events["ReportSubmitted"]
    assert len(submitted) == len(DAI_SON_REPORTS) + 1 + len(HUE_REPORTS) + len(LAO_CAI_TARGETS)
    assert sorted(e.data["unit"]["code"] for e in submitted if e.data["late"]) == expected_late
    hue = [e.data for e in submitted if e.data["plan_id"] == "hue-220-2026"]
    assert all(r["deadline"] is None and not r["late"] for r in hue)  # no deadline stated
    # Huế's R1 binds the xã/phường and the sở it names; a hospital under a xã reports with no duty binding it
    assert {r["unit"]["path"]: r["duty_code"] for r in hue} == {
        "VN/46/SNNMT-46": "R1",
        "VN/46/19753": "R1",
        "VN/46/19774/BV-KL": None,
    }
    lao_cai = [e.data for e in submitted if e.data["plan_id"] == "lao-cai-draft-2026-05"]
    assert {r["unit"]["path"] for r in lao_cai if r["duty_code"] == "R1"} == set(LAO_CAI_TARGETS)  # khối members
    assert len(events["EmulationBlocRegistered"]) == 2
    reviews = [(e.data["report_id"].split(":")[1], e.data["outcome"]) for e in events["ReportReviewed"]]
    assert reviews.count(("TH-DS", "RETURNED")) == 1 and ("TH-DS", "ACCEPTED") in reviews


def test_demo_awards_follow_their_routes(demo: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    _, events = demo
    awards = award_states(events)
    assert {pid: a["state"] for pid, a in awards.items()} == {
        "gk-ds-2026-1": "APPROVED",
        "bk-lc-2026-1": "APPROVED",
        "bkttg-hue-2027-1": "PENDING",
        "gk-px-2027-1": "APPROVED",
        "bk-ds-2027-1": "PENDING",
    }
    deciders = {pid: (a["route"][-1]["org_unit"]["path"], a["route"][-1]["authority"]) for pid, a in awards.items()}
    assert deciders == {
        "gk-ds-2026-1": ("VN/31/11086", "CHU_TICH_UBND_XA"),
        "bk-lc-2026-1": ("VN/15", "CHU_TICH_UBND_TINH"),
        "bkttg-hue-2027-1": ("VN", "THU_TUONG"),
        "gk-px-2027-1": ("VN/46/19753", "CHU_TICH_UBND_XA"),
        "bk-ds-2027-1": ("VN/31", "CHU_TICH_UBND_TINH"),
    }
    so = [(s["org_unit"]["path"], s["authority"]) for s in awards["bkttg-hue-2027-1"]["route"]]
    assert so == [("VN/46/SKHCN-46", "GIAM_DOC_SO"), ("VN/46", "CHU_TICH_UBND_TINH"), ("VN", "THU_TUONG")]
    assert awards["gk-px-2027-1"]["occasion_period"] == "SO_KET_2027"
    for pid in ("bkttg-hue-2027-1", "bk-ds-2027-1"):  # waiting at the deciding authority
        assert awards[pid]["holder"] == len(awards[pid]["route"]) - 1
    lao_cai = [e.data for e in events["AwardForwarded"] if e.data["proposal_id"] == "bk-lc-2026-1"]
    assert [(f["from_unit"]["path"], f["to_unit"]["path"]) for f in lao_cai] == [("VN/15/02683", "VN/15")]
    assert {e.data["decision_number"] for e in events["AwardDecided"]} == {"215/QĐ-UBND", "3105/QĐ-UBND", "45/QĐ-UBND"}


def test_demo_runs_twice(tmp_path: Path) -> None:
    runner = CliRunner()
    for _ in range(2):  # the demo database is recreated each time
        assert runner.invoke(app, ["demo"], env={"THIDUA_DATA_DIR": str(tmp_path)}).exit_code == 0


def test_seeds_import_command(tmp_path: Path) -> None:
    env = {"THIDUA_DATA_DIR": str(tmp_path), "THIDUA_DATABASE_URL": f"sqlite:///{tmp_path / 'node.db'}"}
    result = CliRunner().invoke(app, ["seeds", "import"], env=env)
    assert result.exit_code == 0, result.output
    assert "6 kế hoạch, 16 bộ tiêu chí" in result.output and "lao-cai-draft-2026-05: 30 cảnh báo" in result.output
    again = CliRunner().invoke(app, ["seeds", "import"], env=env)
    assert again.exit_code == 1  # importing twice is refused, not doubled, in two readable lines
    assert "Lỗi: Kế hoạch vn-462-2026 đã tồn tại." in again.output and "Error [PLAN_EXISTS]: " in again.output
