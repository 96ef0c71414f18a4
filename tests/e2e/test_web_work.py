"""The demo's year worked in a real browser (Debian's Chromium, Playwright) against ``thidua serve`` holding only the
demo's setup (``thidua demo --setup-only``): registrations, reports (on time, late, returned and resubmitted),
reviews, award proposals with their computed route, forwarding and decisions, by the commune officer, the commune
chair, the province's emulation officer and the province chair (and the offices of Bát Xát and Huế for their own
units); then the counts and decisions compared with what ``thidua demo`` records. On the way: a double-submitted form
appends once, a stale decide form is refused with the new state shown, the domain's refusals are shown beside their
field, and axe-core finds no serious or critical violation on the new forms."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.bootstrap import bootstrap
from services.demo.report import award_states, events_by_type
from services.kernel.settings import Settings
from services.kernel.vntime import today_vn
from tests.e2e.lgsp import THIDUA, Node
from tests.e2e.web import axe_violations, chromium, demo_web_node, dump, shot
from tests.web_support import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAI_SON_PLAN, LAO_CAI_PLAN, HUE_PLAN = "dai-son-draft-2026-06", "lao-cai-draft-2026-05", "hue-220-2026"
TODAY = today_vn().strftime("%d/%m/%Y")
# Đại Sơn's units report on the demo's days where they are past; the demo's 10/12 (late) becomes 03/12 (still late)
DAI_SON_REPORTS = [
    ("THCS-DS", "25/11/2026"),
    ("TH-DS", "28/11/2026"),
    ("MN-DS", "30/11/2026"),
    ("TYT-DS", "03/12/2026"),
    ("DN-DS1", "20/11/2026"),
    ("DN-DS2", "03/12/2026"),
    ("PKT-DS", "05/12/2026"),
]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with demo_web_node(tmp_path_factory.mktemp("web-work"), setup_only=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as opened:
        yield opened


class Desk:
    """One person at their own browser (a fresh profile), signed in."""

    def __init__(self, browser: Any, node: Node, username: str) -> None:
        self.context = browser.new_context(
            base_url=node.url,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            bypass_csp=True,
            viewport={"width": 1280, "height": 900},
        )
        self.page = self.context.new_page()
        self.page.goto("/dang-nhap")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()
        assert "/dang-nhap" not in self.page.url, self.page.content()[:2000]

    def close(self) -> None:
        self.context.close()


class Axe:
    """Serious and critical violations found on the pages checked."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict[str, Any]]] = {}

    def check(self, page: Any, name: str) -> None:
        violations = axe_violations(page)
        if violations:
            self.found[name] = violations


def submit_report(
    page: Any,
    unit: str,
    plan: str,
    day: str,
    *,
    twice: bool = False,
    values: dict[str, str] | None = None,
    axe: Axe | None = None,
) -> str:
    """Fill the report form of ``unit``, check, send; returns the check page's verdict (on time / late)."""
    page.goto(f"/don-vi/{unit}/nop-bao-cao?plan={plan}&period=2026")
    page.fill("#report_date", day)
    for name, value in (values or {}).items():
        page.fill(f"#{name}", value)
    page.fill("#narrative", "Báo cáo kết quả thực hiện Phong trào thi đua năm 2026")
    page.fill("#att-1-so", f"15/BC-{unit}")
    page.fill("#att-1-ngay", day)
    page.fill("#att-1-noi", unit)
    page.click("button[value=preview]")
    verdict = page.inner_text("[data-key=check-late]")
    if axe is not None:
        axe.check(page, "report check page")
    if twice:
        page.dblclick("button[value=send]")
    else:
        page.click("button[value=send]")
    page.wait_for_url(f"**/don-vi/{unit}*")
    assert "Đã nộp báo cáo" in page.inner_text(".notice")
    return verdict


def register(page: Any, unit: str, targets: dict[str, str]) -> None:
    page.goto(f"/don-vi/{unit}/dang-ky-thi-dua?plan={LAO_CAI_PLAN}&year=2026")
    for code, value in targets.items():
        page.fill(f"#t-{code}", value)
    page.click("#send-targets")
    page.wait_for_load_state()


def propose(page: Any, nominee: str, name: str, offer: str, axe: Axe | None = None) -> tuple[str, str, str]:
    """Propose through the check page; returns the route and prerequisites shown before sending, and the id."""
    page.goto("/de-nghi-khen-thuong")
    page.select_option("#nominee_path", nominee)
    page.check("#kind-COLLECTIVE")
    page.fill("#nominee_name", name)
    page.select_option("#offer", offer)
    page.fill("#achievements", "Thành tích xuất sắc trong Phong trào thi đua")
    page.click("button[value=preview]")
    route, checks = page.inner_text("#route"), page.inner_text("#prerequisites")
    if axe is not None:
        axe.check(page, "proposal check page")
        shot(page, "ui-26-kiem-tra-de-nghi")
    page.click("button[value=send]")
    page.wait_for_url("**/khen-thuong/dn-*")
    return route, checks, page.url.rsplit("/", 1)[1]


def upload(page: Any, rows: list[list[str]]) -> None:
    """Choose a spreadsheet of ``rows`` and upload it."""
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    page.set_input_files("#file", files=[{"name": "bao-cao.xlsx", "mimeType": mime, "buffer": buffer.getvalue()}])
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def store_facts(database: Path) -> dict[str, Any]:
    """Counts and decisions recorded in a node's store (as ``thidua demo`` prints them)."""
    node = bootstrap(Settings(database_url=f"sqlite:///{database}"))
    try:
        events = events_by_type(node)
        decided = [
            (a["form_code"], a["decision"]["decider"]["path"], a["state"])
            for a in award_states(events).values()
            if a["decision"]
        ]
        return {
            "registrations": len(events.get("TargetsRegistered", [])),
            "reports": len(events.get("ReportSubmitted", [])),
            "late": sum(e.data["late"] for e in events.get("ReportSubmitted", [])),
            "returned": sum(e.data["outcome"] == "RETURNED" for e in events.get("ReportReviewed", [])),
            "accepted": sum(e.data["outcome"] == "ACCEPTED" for e in events.get("ReportReviewed", [])),
            "decided": sorted(decided),
        }
    finally:
        node.close()


def test_the_demo_year_worked_in_the_browser(browser: Any, node: Node, tmp_path: Path) -> None:
    axe = Axe()
    officer, chair = Desk(browser, node, "canbo.daison"), Desk(browser, node, "chutich.daison")
    province, governor = Desk(browser, node, "vu.tdkt"), Desk(browser, node, "chutich.laocai")
    batxat, hue = Desk(browser, node, "lan.batxat"), Desk(browser, node, "nop.hue")

    # Đăng ký thi đua: the province's emulation office for two sở, Bát Xát for itself
    register(province.page, "SKHCN-15", {"LC-24": "22", "LC-26": "70"})
    axe.check(province.page, "targets after send")
    register(province.page, "STC-15", {"LC-23": "1,2", "LC-29": "3"})
    # a refusal of the domain beside its field: a province-wide indicator is not a commune's own target
    register(batxat.page, "02683", {"LC-36": "1", "LC-04": "1", "LC-05": "100", "LC-24": "22"})
    page = batxat.page
    assert page.locator("#t-LC-24-error").is_visible()
    assert "TARGET_NOT_FOR_UNIT" in page.inner_text(".error-summary") and "toàn tỉnh" in page.inner_text(
        "#t-LC-24-error"
    )
    axe.check(page, "targets form with a refusal")
    shot(page, "ui-20-dang-ky-loi")
    page.fill("#t-LC-24", "")
    page.click("#send-targets")
    page.wait_for_url("**/don-vi/02683*")
    assert "Đã đăng ký 3 chỉ tiêu" in page.inner_text(".notice")

    # Nộp báo cáo: Đại Sơn's units through the commune officer; one is sent with a double click
    page = officer.page
    page.goto(f"/don-vi/THCS-DS/nop-bao-cao?plan={DAI_SON_PLAN}&period=2026")
    axe.check(page, "report form")
    shot(page, "ui-21-nop-bao-cao")
    verdicts = {
        code: submit_report(page, code, DAI_SON_PLAN, day, twice=code == "MN-DS", axe=axe if code == "TYT-DS" else None)
        for code, day in DAI_SON_REPORTS
    }
    assert [c for c, v in verdicts.items() if "Nộp muộn" in v] == ["TYT-DS", "DN-DS2"], verdicts
    assert "Kế hoạch không nêu hạn" in verdicts["PKT-DS"]  # Phòng Kinh tế reports under an undated duty

    # Tiếp nhận: return one (with a reason), the unit resubmits (late now, the reason shown beside), accept three
    page.goto("/tiep-nhan-bao-cao?period=2026")
    axe.check(page, "review queue")
    shot(page, "ui-22-tiep-nhan")
    assert page.locator("#review-table tbody tr").count() == 7
    row = page.locator(f"tr[data-report='{DAI_SON_PLAN}:TH-DS:2026']")
    row.locator("input[name=reason]").fill("Thiếu số liệu mô hình chuyển đổi số")
    row.locator("button[value=RETURNED]").click()
    page.wait_for_load_state()
    assert "Đã trả lại báo cáo" in page.inner_text(".notice")
    page.goto(f"/don-vi/TH-DS/nop-bao-cao?plan={DAI_SON_PLAN}&period=2026")
    assert "Thiếu số liệu mô hình chuyển đổi số" in page.inner_text("#returned")
    assert submit_report(page, "TH-DS", DAI_SON_PLAN, "04/12/2026").count("Nộp muộn") == 1
    for code in ("THCS-DS", "TH-DS", "DN-DS1"):
        page.goto("/tiep-nhan-bao-cao?period=2026")
        page.locator(f"tr[data-report='{DAI_SON_PLAN}:{code}:2026'] button[value=ACCEPTED]").click()
        page.wait_for_load_state()
    assert page.locator("#review-table tbody tr").count() == 4

    # Lào Cai's and Huế's units report (their duties state no date)
    for unit in ("SKHCN-15", "STC-15"):
        submit_report(province.page, unit, LAO_CAI_PLAN, TODAY)
    submit_report(batxat.page, "02683", LAO_CAI_PLAN, TODAY)
    # Huế's office uploads its units' reports: a file with three bad rows appends nothing and names them
    page = hue.page
    page.goto(f"/tai-len-bao-cao?plan={HUE_PLAN}&period=2026")
    header = ["Mã đơn vị", "Tên đơn vị", "Ngày ký báo cáo", "Nội dung báo cáo", "Mô hình, sáng kiến"]
    good = [["SNNMT-46", "", TODAY, "Báo cáo năm 2026", ""], ["19753", "", TODAY, "", ""], ["BV-KL", "", "", "", ""]]
    bad = [
        good[0],
        ["XX-9", "", TODAY, "", ""],
        ["19753", "", "31/11/2026", "", ""],
        good[2],
        ["DN-BATXAT", "", "", "", ""],
    ]
    before = store_facts(node.data / "thidua.db")["reports"]
    upload(page, [header, *bad])
    assert sorted(set(page.locator("#upload-errors td[data-key=line]").all_inner_texts())) == ["3", "4", "6"]
    assert "chưa ghi dòng nào" in page.inner_text(".error-summary")
    axe.check(page, "upload with errors")
    shot(page, "ui-25-tai-len-loi")
    assert store_facts(node.data / "thidua.db")["reports"] == before
    upload(page, [header, *good])
    assert "Đã ghi 3 dòng" in page.inner_text("#upload-sent")

    # Giấy khen of the Chủ tịch UBND xã Đại Sơn: the route is shown before sending, then forwarded and decided
    route, _, gk = propose(officer.page, "VN/31/11086/THCS-DS", "Trường THCS Đại Sơn", f"{DAI_SON_PLAN}|ANNUAL|GK_XA")
    assert "Chủ tịch Ủy ban nhân dân cấp xã" in route and route.count("Xã Đại Sơn") >= 1, route
    page = officer.page
    axe.check(page, "proposal held by my unit")
    page.click("#forward-form button[type=submit]")
    page.wait_for_load_state()
    chair.page.goto("/hop-thu")
    axe.check(chair.page, "inbox")
    chair.page.click(f"tr[data-proposal='{gk}'] a")
    chair.page.fill("#decision_number", "215/QĐ-UBND")
    chair.page.fill("#decision_date", TODAY)
    axe.check(chair.page, "decide form")
    shot(chair.page, "ui-23-quyet-dinh")
    chair.page.click("#decide-form button[type=submit]")
    chair.page.wait_for_load_state()
    assert "Đã ghi quyết định" in chair.page.inner_text(".notice")

    # Bằng khen of the Chủ tịch UBND tỉnh Lào Cai: proposed by xã Bát Xát, its route and prerequisites shown first
    page = batxat.page
    page.goto("/de-nghi-khen-thuong")
    axe.check(page, "propose form")
    route, checks, bk = propose(
        page, "VN/15/02683/DN-BATXAT", "Công ty TNHH Chè Bát Xát", f"{LAO_CAI_PLAN}|ANNUAL|BK_TINH", axe=axe
    )
    assert "Xã Bát Xát" in route and "Tỉnh Lào Cai" in route and "Chủ tịch Ủy ban nhân dân cấp tỉnh" in route, route
    assert "NOT_CHECKABLE" in checks and "Điều 74" in checks, checks
    page.click("#forward-form button[type=submit]")
    page.wait_for_load_state()
    province.page.goto("/hop-thu")  # the emulation office sees what waits at the province
    assert province.page.locator(f"tr[data-proposal='{bk}']").count() == 1

    # a stale decide form: the chair's office opens it twice; the second tab's decision makes the first stale
    first, second = governor.page, governor.context.new_page()
    first.goto(f"/khen-thuong/{bk}")
    second.goto(f"/khen-thuong/{bk}")
    second.fill("#decision_number", "3105/QĐ-UBND")
    second.fill("#decision_date", TODAY)
    second.click("#decide-form button[type=submit]")
    second.wait_for_load_state()
    first.fill("#decision_number", "3106/QĐ-UBND")
    first.fill("#decision_date", TODAY)
    first.click("#decide-form button[type=submit]")
    first.wait_for_load_state()
    assert "VERSION_CONFLICT" in first.inner_text(".error-summary") and "người khác thay đổi" in first.inner_text(
        ".error-summary"
    )
    assert "Đã khen thưởng" in first.inner_text("main") and "3105/QĐ-UBND" in first.inner_text("main")
    assert first.locator("#decide-form").count() == 0  # the new state: nothing left to decide
    shot(first, "ui-24-bieu-mau-cu")

    # refused on the form: xã Đại Sơn's chair may not decide a Bằng khen of the city's chair (AUTHORITY_MISMATCH)
    _, _, bkds = propose(officer.page, "VN/31/11086/TH-DS", "Trường Tiểu học Đại Sơn", f"{DAI_SON_PLAN}|SO_KET|BK_TINH")
    chair.page.goto(f"/khen-thuong/{bkds}")
    chair.page.fill("#decision_number", "9/QĐ-UBND")
    chair.page.fill("#decision_date", TODAY)
    chair.page.click("#decide-form button[type=submit]")
    chair.page.wait_for_load_state()
    assert "AUTHORITY_MISMATCH" in chair.page.inner_text(".error-summary")
    assert "Sai thẩm quyền" in chair.page.inner_text(".error-summary")
    officer.page.goto(f"/khen-thuong/{bkds}")
    officer.page.click("#forward-form button[type=submit]")
    officer.page.wait_for_load_state()

    for desk in (officer, chair, province, governor, batxat, hue):
        desk.close()
    assert axe.found == {}, dump(axe.found)

    # the same counts and decisions as `thidua demo` (Huế's own proposals are not worked here)
    reference = tmp_path / "demo.db"
    env = node.env | {"THIDUA_DATA_DIR": str(tmp_path)}
    subprocess.run([str(THIDUA), "demo", "--database", str(reference)], env=env, check=True, capture_output=True)
    worked, demo = store_facts(node.data / "thidua.db"), store_facts(reference)
    for key in ("registrations", "reports", "late", "returned", "accepted"):
        assert worked[key] == demo[key], (key, worked, demo)
    in_demo = [d for d in demo["decided"] if not d[1].startswith("VN/46")]
    assert worked["decided"] == in_demo, (worked, demo)
