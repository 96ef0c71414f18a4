"""The officials' web app in a real browser: Debian's Chromium driven by Playwright against ``thidua serve`` on the
demo's year. Sign-in and sign-out, the lock after wrong passwords, the drill-down equal to the API, a live
dashboard, exports equal to the screen, the subtree rule, CSRF, session expiry, accessibility and page weight."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from services.kernel.db import make_engine
from services.kernel.store import utcnow
from services.web.accounts.tables import web_session
from tests.e2e.lgsp import Clients, Node
from tests.e2e.web import (
    Meter,
    Weight,
    axe_violations,
    cells,
    chromium,
    demo_web_node,
    dump,
    report_weights,
    shot,
    signins,
)
from tests.web_support import PASSWORD, api_row, screen_row

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the test extra installs it (the browser fixture says so)
    expect = None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with demo_web_node(tmp_path_factory.mktemp("web-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def context(browser: Any, node: Node) -> Iterator[Any]:
    """A fresh browser profile (no cookies, empty cache); CSP bypassed only so that axe can be injected."""
    opened = browser.new_context(
        base_url=node.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        bypass_csp=True,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    yield opened
    opened.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    if "/dang-nhap" not in page.url:
        page.goto("/dang-nhap")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_sign_in_and_sign_out(page: Any, context: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/dang-nhap")
    sign_in(page, "lan.batxat")
    expect(page.locator("h1")).to_have_text("Xã Bát Xát")
    session = next(c for c in context.cookies() if c["name"] == "thidua_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.click("text=Đăng xuất")
    expect(page.locator(".notice")).to_have_text("Bạn đã đăng xuất.")
    assert not any(c["name"] == "thidua_session" for c in context.cookies())
    page.goto("/tong-hop")
    assert "/dang-nhap?next=%2Ftong-hop" in page.url


def test_five_wrong_passwords_lock_the_account(page: Any, node: Node) -> None:
    failures = 0
    while failures < 5:
        sign_in(page, "khoa.thu", "mật khẩu sai")
        summary = page.locator(".error-summary").inner_text()
        if "Xin chờ" in summary:  # the back-off between tries: wait as a person would
            time.sleep(1.1)
            continue
        assert "không đúng" in summary, summary
        failures += 1
    sign_in(page, "khoa.thu", PASSWORD)  # the right password, too late
    expect(page.locator(".error-summary")).to_contain_text("Tài khoản tạm khóa đến")
    assert "/dang-nhap" in page.url
    log = signins(node, "khoa.thu")
    assert log[0] == "LOCKED" and log.count("FAILED") == 5, log


def test_drill_down_from_the_country_to_a_commune_equals_the_api(page: Any, node: Node) -> None:
    api = Clients(node)("VN", "auditor")
    sign_in(page, "trung.uong")
    page.goto("/tong-hop")
    for name, code in ((None, "VN"), ("Tỉnh Lào Cai", "15"), ("Xã Bát Xát", "02683")):
        if name is not None:
            page.click(f"#rollup-table a:text-is('{name}')")
        page.wait_for_url(f"**/tong-hop/{code}?period=*" if name else f"**/tong-hop/{code}")
        body = api.get(f"/api/v1/org-units/{code}/rollup", period="2026", level="children", limit=500).json()
        expected = [api_row(item) for item in body["drill_down"]["items"]]
        assert [screen_row(c) for c in cells(page)] == expected, code
        reports = body["reports"]
        expect(page.locator("[data-figure=submitted] .figure-value")).to_have_text(
            f"{reports['submitted']}/{reports['expected']}"
        )
    expect(page.locator(".breadcrumbs")).to_contain_text("Cả nước")


def test_a_report_submitted_through_the_api_shows_up_on_an_open_dashboard(page: Any, node: Node) -> None:
    # Phường Cam Đường is in Lào Cai's khối thi đua số 12, bound by the plan's duty, and has not reported in the demo
    sign_in(page, "minh.camduong")
    figure = page.locator("[data-figure=submitted] .figure-value")
    expect(figure).to_have_text("0/1")
    page.evaluate("window.stillTheSamePage = true")
    page.wait_for_function(
        "() => { const el = document.querySelector('[sse-connect]'); "
        "const source = el && el['htmx-internal-data'] && el['htmx-internal-data'].sseEventSource; "
        "return source && source.readyState === 1; }"
    )
    submitter = Clients(node)("VN/15/02671", "submitter")
    submitter.ok(
        "/api/v1/reports",
        {
            "plan_id": "lao-cai-draft-2026-05",
            "unit_path": "VN/15/02671",
            "period": "2026",
            "narrative": "Báo cáo năm 2026 của phường Cam Đường",
        },
    )
    expect(figure).to_have_text("1/1", timeout=15_000)
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place, not reloaded
    expect(page.locator("#home-live")).to_contain_text("Nộp báo cáo")


def test_an_export_opened_with_openpyxl_equals_the_screen(page: Any) -> None:
    sign_in(page, "tdkt.laocai")
    page.goto("/tong-hop/15?period=2026")
    page.click("#rollup-table th a:text-is('Chưa nộp')")  # sorted by htmx, the table only
    page.wait_for_url("**sort=missing**")
    screen = cells(page)
    with page.expect_download() as download:
        page.click("text=Tải bảng (XLSX)")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    keys = [c.get_attribute("data-key") or "" for c in page.locator("#rollup-table tbody tr:first-child td").all()]
    assert len(header) == len(keys) == 12 and len(rows) == len(screen) == 102
    for shown, filed in zip(screen, rows, strict=True):
        for key, value in zip(keys, filed, strict=True):
            on_screen = shown[key]
            if key in ("name", "code", "plan_state_label"):
                assert on_screen == (value or "–"), (key, on_screen, value)
            else:
                assert screen_row({**shown, "code": ""})[key] == value, (key, on_screen, value)


def test_a_commune_officer_typing_another_provinces_address_gets_the_403_page(page: Any, node: Node) -> None:
    hue = Clients(node)("VN/46", "auditor").get("/api/v1/org-units/46/rollup", period="2026").json()
    sign_in(page, "lan.batxat")
    for url in ("/tong-hop/46", "/tong-hop/46?period=2026", "/ke-hoach/hue-220-2026", "/don-vi/46"):
        response = page.goto(url)
        assert response.status == 403, url
        expect(page.locator("h1")).to_have_text("Không được phép truy cập")
        text = page.locator("main").inner_text()
        assert "OUT_OF_SUBTREE" in text and "trong phạm vi đơn vị của mình" in text
        assert "Huế" not in page.content() and hue["org_unit"]["name"] not in page.content()
        assert f"{hue['reports']['submitted']}/{hue['reports']['expected']}" not in page.content()
    shot(page, "ui-12-loi-403")


def test_a_post_without_the_csrf_token_is_refused(page: Any) -> None:
    sign_in(page, "lan.batxat")
    page.evaluate("""() => { const form = document.createElement('form'); form.method = 'post';
                             form.action = '/dang-xuat'; document.body.appendChild(form); form.submit(); }""")
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("CSRF_FAILED")
    refused = page.request.post("/dang-xuat", form={"csrf_token": "doan-bua"})
    assert refused.status == 403 and "text/html" in refused.headers["content-type"]
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Xã Bát Xát")  # nothing was done: still signed in


def test_an_expired_session_returns_to_sign_in(page: Any, node: Node) -> None:
    sign_in(page, "lan.batxat")
    engine = make_engine(f"sqlite:///{node.data / 'thidua.db'}")
    with engine.begin() as conn:  # 31 minutes without a request (the idle limit is 30)
        idle = utcnow() - timedelta(minutes=31)
        conn.execute(update(web_session).where(web_session.c.username == "lan.batxat").values(last_seen_at=idle))
    engine.dispose()
    page.click("nav >> text=Tổng hợp")
    page.wait_for_url("**/dang-nhap?**")
    expect(page.locator(".notice")).to_contain_text("Phiên làm việc đã hết hạn")
    sign_in(page, "lan.batxat")
    assert page.url.endswith("/tong-hop/02683") or "/tong-hop" in page.url


PAGES = [  # (screenshot name, address) — every page of the app, as the province's emulation office sees it
    ("ui-02-trang-chu", "/"),
    ("ui-03-tong-hop-tinh", "/tong-hop/15?period=2026"),
    ("ui-04-tong-hop-xa", "/tong-hop/02683?period=2026"),
    ("ui-05-chua-nop", "/tong-hop/15/bao-cao?period=2026&status=missing"),
    ("ui-06-ke-hoach", "/ke-hoach"),
    ("ui-07-ke-hoach-chi-tiet", "/ke-hoach/lao-cai-draft-2026-05"),
    ("ui-08-khen-thuong", "/khen-thuong"),
    ("ui-09-ho-so-khen-thuong", "/khen-thuong/bk-lc-2026-1"),
    ("ui-10-so-khen-thuong", "/khen-thuong/so-khen-thuong"),
    ("ui-11-don-vi", "/don-vi/DN-BATXAT"),
    ("ui-13-kiem-tra", "/kiem-tra"),
    ("ui-14-lich-su-luong", "/kiem-tra/luong?id=award-bk-lc-2026-1"),
    ("ui-15-xac-minh", "/kiem-tra/xac-minh"),
    ("ui-16-doi-mat-khau", "/doi-mat-khau"),
    ("ui-17-khong-tim-thay", "/trang-khong-co"),
]


def signed_in_without_loading_a_page(page: Any) -> None:
    """Sign in over HTTP with the page's cookie jar (no stylesheet or script is fetched, the cache stays empty)."""
    form = page.request.get("/dang-nhap").text()
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = page.request.post(
        "/dang-nhap", form={"username": "tdkt.laocai", "password": PASSWORD, "csrf_token": token}, max_redirects=0
    )
    assert done.status == 303


def test_axe_finds_what_it_should(page: Any) -> None:
    """The checker itself: a page with an unlabelled field and an image without text fails it."""
    page.set_content('<html lang="vi"><body><main><input type="text"><img src="x.png"></main></body></html>')
    assert {v["id"] for v in axe_violations(page)} >= {"label", "image-alt"}


def test_every_page_is_accessible_light_and_photographed(browser: Any, node: Node) -> None:
    weights: list[Weight] = []
    problems: dict[str, Any] = {}
    cold = browser.new_context(base_url=node.url, bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = cold.new_page()
    meter = Meter(cold, page)
    weights.append(meter.measure(page, "/dang-nhap", cold=True))  # the very first page: nothing cached
    problems["/dang-nhap"] = axe_violations(page)
    shot(page, "ui-01-dang-nhap")
    sign_in(page, "tdkt.laocai", "sai mật khẩu")  # the error summary pattern
    problems["/dang-nhap (lỗi)"] = axe_violations(page)
    shot(page, "ui-01b-dang-nhap-loi")
    sign_in(page, "tdkt.laocai")
    for name, url in PAGES:
        weights.append(meter.measure(page, url, cold=False))  # later pages: the browser keeps the assets
        page.wait_for_load_state("networkidle")
        problems[url] = axe_violations(page)
        shot(page, name)
    page.goto("/ngon-ngu?lang=en&next=/tong-hop/15")
    problems["/tong-hop/15 (English)"] = axe_violations(page)
    shot(page, "ui-18-english")
    cold.close()
    first = browser.new_context(base_url=node.url, viewport={"width": 1280, "height": 900})
    other = first.new_page()
    signed_in_without_loading_a_page(other)  # a new browser, empty cache: the heaviest page first
    weights.append(Meter(first, other).measure(other, "/tong-hop/15?period=2026", cold=True))
    first.close()
    print("\n" + report_weights(weights))
    assert {url: found for url, found in problems.items() if found} == {}, dump(problems)
    assert all(w.bytes <= 300 * 1024 for w in weights if w.cold), report_weights(weights)
    assert all(w.bytes <= 60 * 1024 for w in weights if not w.cold), report_weights(weights)
