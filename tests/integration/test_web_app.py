"""The web app in-process (TestClient) on both backends: sign-in, sessions, CSRF, access rules, error pages,
numbers equal to the API's, exports."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, update

from services.bootstrap import Node
from services.kernel.settings import Settings
from services.kernel.store import utcnow
from services.web.accounts.tables import web_session
from services.web.pages.rollup import COLUMNS
from tests.api_auth import bearer
from tests.conftest import _postgres_engine
from tests.web_support import PASSWORD, api_row, csrf_of, demo_node, screen_row, sign_in, table_rows, web_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sqlite_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    folder = tmp_path_factory.mktemp("web")
    node = demo_node(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/web.db", web_signin_backoff_seconds=0))
    yield node
    node.close()


@pytest.fixture
def client(sqlite_node: Node) -> Iterator[TestClient]:
    with web_client(sqlite_node) as test_client:
        yield test_client


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/dang-nhap"
    signed = sign_in(client, "lan.batxat")
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith("thidua_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    home = client.get("/")
    assert home.status_code == 200 and "Xã Bát Xát" in home.text and home.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in home.headers["content-security-policy"]
    out = client.post("/dang-xuat", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/dang-nhap"
    assert "Bạn đã đăng xuất." in client.get("/dang-nhap").text
    assert client.get("/").status_code == 303


def test_signing_in_again_ends_the_session_the_browser_held(sqlite_node: Node, client: TestClient) -> None:
    from services.web.accounts.sessions import Ended, SessionStore

    sign_in(client, "lan.batxat")
    first = client.cookies["thidua_session"]
    client.cookies.delete("thidua_session")
    token = csrf_of(client.get("/dang-nhap").text)  # the form, as a tab opened before would hold it
    client.cookies.set("thidua_session", first)
    again = client.post("/dang-nhap", data={"username": "tdkt.laocai", "password": PASSWORD, "csrf_token": token})
    cookie = next(h for h in again.headers.get_list("set-cookie") if h.startswith("thidua_session="))
    store = SessionStore(sqlite_node.engine, timedelta(minutes=30), timedelta(hours=12))
    assert first not in cookie and store.resolve(first) == Ended("SIGNED_OUT")
    client.cookies.clear()


def test_cookies_are_secure_over_https(sqlite_node: Node) -> None:
    with web_client(sqlite_node, base_url="https://testserver") as secure:
        signed = sign_in(secure, "lan.batxat")
    cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith("thidua_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_shows_the_error_summary(client: TestClient) -> None:
    refused = sign_in(client, "lan.batxat", "sai-mat-khau-roi")
    assert refused.status_code == 401
    assert 'class="error-summary"' in refused.text and 'href="#password"' in refused.text
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in refused.text and 'aria-invalid="true"' in refused.text
    assert sign_in(client, "lan.batxat").status_code == 303  # a success starts the count again


def test_posts_without_the_token_or_from_another_site_are_refused(client: TestClient) -> None:
    page = client.get("/dang-nhap")
    bare = client.post("/dang-nhap", data={"username": "lan.batxat", "password": PASSWORD})
    assert bare.status_code == 403 and "CSRF_FAILED" in bare.text and "<html" in bare.text
    sign_in(client, "lan.batxat")
    home = client.get("/")
    assert client.post("/dang-xuat", data={}).status_code == 403
    assert client.post("/dang-xuat", data={"csrf_token": csrf_of(page.text)}).status_code == 403  # not the session's
    crossed = client.post(
        "/dang-xuat", data={"csrf_token": csrf_of(home.text)}, headers={"Origin": "https://evil.example"}
    )
    assert crossed.status_code == 403
    assert client.get("/").status_code == 200  # still signed in: nothing was done


def test_a_temporary_password_must_be_changed_first(sqlite_node: Node, client: TestClient) -> None:
    from services.web.accounts.users import UserStore

    temporary = UserStore(sqlite_node.engine).reset_password("hoa.hue")
    assert sign_in(client, "hoa.hue", temporary).headers["location"] == "/doi-mat-khau"
    assert client.get("/tong-hop").headers["location"] == "/doi-mat-khau"
    form = client.get("/doi-mat-khau")
    token = csrf_of(form.text)
    weak = client.post(
        "/doi-mat-khau", data={"current": temporary, "new": "ngan", "confirm": "ngan", "csrf_token": token}
    )
    assert weak.status_code == 400 and 'href="#new"' in weak.text
    changed = client.post(
        "/doi-mat-khau", data={"current": temporary, "new": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
    )
    assert changed.status_code == 303 and "Đã đổi mật khẩu." in client.get("/").text


def test_an_idle_session_returns_to_sign_in_with_the_reason(sqlite_node: Node, client: TestClient) -> None:
    sign_in(client, "lan.batxat")
    assert client.get("/tong-hop/02683").status_code == 200
    _age_sessions(sqlite_node.engine, "lan.batxat", timedelta(minutes=31))
    back = client.get("/tong-hop/02683?period=2026")
    assert back.headers["location"] == "/dang-nhap?next=%2Ftong-hop%2F02683%3Fperiod%3D2026&het-han=IDLE"
    page = client.get(back.headers["location"])
    assert "Phiên làm việc đã hết hạn do lâu không thao tác" in page.text
    token = csrf_of(page.text)
    again = client.post(
        "/dang-nhap",
        data={
            "username": "lan.batxat",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/tong-hop/02683?period=2026",
        },
    )
    assert again.headers["location"] == "/tong-hop/02683?period=2026"


def _age_sessions(engine: Engine, username: str, by: timedelta) -> None:
    with engine.begin() as conn:
        conn.execute(update(web_session).where(web_session.c.username == username).values(last_seen_at=utcnow() - by))


def test_another_provinces_pages_are_refused_with_the_rule_and_none_of_its_data(client: TestClient) -> None:
    sign_in(client, "lan.batxat")
    for url in (
        "/tong-hop/46",
        "/tong-hop/46/xuat.xlsx",
        "/tong-hop/46/bao-cao?status=missing",
        "/don-vi/46",
        "/ke-hoach/hue-220-2026",
        "/su-kien?path=VN/46",
    ):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert (
            "OUT_OF_SUBTREE" in refused.text
            and "SUBTREE" in refused.text
            and "text/html" in refused.headers["content-type"]
        )
        assert "Huế" not in refused.text and "220/KH-UBND" not in refused.text
    assert client.get("/kiem-tra").status_code == 403  # a submitter is no auditor: the ROLE rule
    assert "ROLE_NOT_ALLOWED" in client.get("/kiem-tra").text


def test_error_pages_are_html_and_the_api_keeps_problem_json(client: TestClient) -> None:
    sign_in(client, "tdkt.laocai")
    missing = client.get("/khong-co-trang-nay")
    assert missing.status_code == 404 and "Không tìm thấy trang" in missing.text
    assert client.get("/tong-hop/99999").status_code == 404
    bad = client.get("/tong-hop/15?period=2026-13")
    assert bad.status_code == 422 and "INVALID_PERIOD" in bad.text
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/org-units/15").json()["code"] == "MISSING_TOKEN"
    assert client.get("/healthz").json()["status"] == "ok"


def test_a_crash_is_a_page_with_an_incident_number(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services.web.pages import home

    sign_in(client, "tdkt.laocai")
    monkeypatch.setattr(home, "live_parts", lambda *a: 1 / 0)
    with (
        caplog.at_level(logging.ERROR, logger="thidua.web"),
        TestClient(client.app, raise_server_exceptions=False, cookies=client.cookies) as other,
    ):
        crashed = other.get("/")
    assert crashed.status_code == 500 and "Lỗi hệ thống" in crashed.text and "mã sự cố" in crashed.text
    assert "ZeroDivisionError" in caplog.text and "Traceback" not in crashed.text


def test_english_is_one_click_away(client: TestClient) -> None:
    sign_in(client, "tdkt.laocai")
    switched = client.get("/ngon-ngu?lang=en&next=/tong-hop/15")
    assert switched.headers["location"] == "/tong-hop/15"
    page = client.get("/tong-hop/15")
    assert 'lang="en"' in page.text and "Sign out" in page.text and "Reporting rate (%)" in page.text
    client.get("/ngon-ngu?lang=vi")


def test_drill_down_numbers_equal_the_apis(sqlite_node: Node, client: TestClient) -> None:
    _drill_down_equals_api(sqlite_node, client)


def _drill_down_equals_api(node: Node, client: TestClient) -> None:
    sign_in(client, "trung.uong")
    headers = bearer(client.app, "VN")  # type: ignore[arg-type]
    for code in ("VN", "15", "02683"):
        api = client.get(f"/api/v1/org-units/{code}/rollup?period=2026&level=children&limit=500", headers=headers)
        expected = [api_row(i) for i in api.json()["drill_down"]["items"]]
        page = client.get(f"/tong-hop/{code}?period=2026")
        assert page.status_code == 200
        assert [screen_row(r) for r in table_rows(page.text)] == expected, code
        reports = api.json()["reports"]
        assert f"{reports['submitted']}/{reports['expected']}" in page.text


def test_export_equals_the_table_on_screen(client: TestClient) -> None:
    sign_in(client, "tdkt.laocai")
    page = client.get("/tong-hop/15?period=2026&sort=reporting_rate&dir=desc")
    screen = [screen_row(r) for r in table_rows(page.text)]
    book = load_workbook(
        io.BytesIO(client.get("/tong-hop/15/xuat.xlsx?period=2026&sort=reporting_rate&dir=desc").content)
    )
    header, *rows = list(book.worksheets[0].iter_rows(values_only=True))
    columns = [c.key for c in COLUMNS]
    assert header[0] == "Đơn vị" and len(header) == len(columns)
    filed = [{k: v for k, v in zip(columns, row, strict=True) if k not in ("name", "plan_state_label")} for row in rows]
    assert filed == screen and len(screen) == 102
    csv = client.get("/tong-hop/15/xuat.csv?period=2026&sort=reporting_rate&dir=desc")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\r\n") == 103


def test_sessions_expire_idle_and_absolute_and_end_with_the_account(sqlite_node: Node) -> None:
    from services.web.accounts.sessions import Ended, Session, SessionStore
    from services.web.accounts.users import UserStore

    store = SessionStore(sqlite_node.engine, timedelta(minutes=30), timedelta(hours=12))
    token = store.open("tdkt.laocai", "127.0.0.1", "test")
    now = utcnow()
    assert isinstance(store.resolve(token, now + timedelta(minutes=29)), Session)
    assert store.resolve(token, now + timedelta(minutes=59)) == Ended("IDLE") == store.resolve(token)
    late = store.open("tdkt.laocai", None, None)
    for minutes in range(25, 12 * 60, 25):  # used all day long: never idle, but 12 hours is the end
        found = store.resolve(late, now + timedelta(minutes=minutes))
        assert isinstance(found, Session)
        with sqlite_node.engine.begin() as conn:  # what a request at that time writes
            conn.execute(
                update(web_session)
                .where(web_session.c.token_hash == found.token_hash)
                .values(last_seen_at=now + timedelta(minutes=minutes))
            )
    assert store.resolve(late, now + timedelta(hours=12, minutes=1)) == Ended("EXPIRED")
    third = store.open("hoa.hue", None, None)
    UserStore(sqlite_node.engine).disable("hoa.hue")
    assert store.resolve(third) == Ended("DISABLED")
    UserStore(sqlite_node.engine).enable("hoa.hue")


def test_sign_in_backs_off_then_locks_and_logs_every_attempt(sqlite_node: Node) -> None:
    from services.web.accounts.signin import Client, Policy, SignIn
    from services.web.accounts.users import NewUser, UserStore

    users = UserStore(sqlite_node.engine)
    users.add(NewUser("khoa.thu", "Khóa Thử", "VN/15", ("auditor",)), PASSWORD)
    guard, client, now = SignIn(sqlite_node.engine, users, Policy(3, 2.0, 5, 30.0)), Client("10.0.0.1"), utcnow()
    outcomes = [guard.attempt("khoa.thu", "sai", client, now + timedelta(seconds=s)).outcome for s in (0, 1, 2)]
    assert outcomes == ["FAILED", "FAILED", "FAILED"]
    throttled = guard.attempt("khoa.thu", PASSWORD, client, now + timedelta(seconds=3))
    assert (throttled.outcome, throttled.wait) == ("THROTTLED", 1)  # 2 s after the third failure, not yet
    assert guard.attempt("khoa.thu", "sai", client, now + timedelta(seconds=5)).outcome == "FAILED"
    assert guard.attempt("khoa.thu", "sai", client, now + timedelta(seconds=8)).outcome == "THROTTLED"  # 4 s now
    assert guard.attempt("khoa.thu", "sai", client, now + timedelta(seconds=10)).outcome == "FAILED"  # the fifth
    locked = guard.attempt("khoa.thu", PASSWORD, client, now + timedelta(minutes=10))
    assert locked.outcome == "LOCKED" and locked.until is not None
    assert guard.attempt("khoa.thu", PASSWORD, client, now + timedelta(minutes=31)).outcome == "SUCCESS"
    guard.attempt("ai.do", "sai", client, now)  # an unknown name is counted the same way, and logged
    log = guard.recent("khoa.thu")
    assert [r["outcome"] for r in log][:3] == ["SUCCESS", "LOCKED", "FAILED"] and guard.recent("ai.do")[0][
        "outcome"
    ] == "FAILED"


@pytest.fixture
def pg_node(postgres_url: str, tmp_path) -> Iterator[Node]:  # type: ignore[no-untyped-def]
    for engine in _postgres_engine(postgres_url):  # a fresh schema, dropped afterwards; init_db creates the tables
        yield demo_node(Settings(data_dir=tmp_path, node_id="local"), engine)


def test_pages_on_postgresql_equal_the_api(pg_node: Node) -> None:
    with web_client(pg_node) as client:
        _drill_down_equals_api(pg_node, client)
        for url in (
            "/",
            "/ke-hoach",
            "/ke-hoach/lao-cai-draft-2026-05",
            "/khen-thuong",
            "/khen-thuong/so-khen-thuong",
            "/khen-thuong/bk-lc-2026-1",
            "/don-vi/DN-BATXAT",
            "/kiem-tra",
            "/kiem-tra/xac-minh",
            "/kiem-tra/luong?id=award-bk-lc-2026-1",
            "/tong-hop/15/bao-cao?status=missing",
        ):
            assert client.get(url).status_code == 200, url


class FakeProvider:
    """The province's identity provider as the seam sees it: a redirect out, an identity back."""

    title = "Dịch vụ công tỉnh (thử)"

    def start(self, request: object, state: str) -> str:
        return f"https://idp.example/authorize?state={state}"

    def finish(self, request: object, state: str) -> object:
        from services.web.accounts.sso import Identity

        subject = request.query_params["sub"]  # type: ignore[attr-defined]
        if subject == "forged":
            raise ValueError("bad ID token")
        return Identity("https://idp.example", subject, "Nguyễn Văn An")


def test_single_sign_on_seam_signs_in_only_linked_active_accounts(sqlite_node: Node, client: TestClient) -> None:
    from services.web.accounts.users import UserStore

    client.web.state.accounts.providers["tinh"] = FakeProvider()  # type: ignore[attr-defined]
    try:
        assert "Dịch vụ công tỉnh (thử)" in client.get("/dang-nhap").text
        out = client.get("/dang-nhap/sso/tinh?next=/tong-hop/15")
        assert out.headers["location"].startswith("https://idp.example/authorize?state=")
        state = out.headers["location"].split("state=")[1]
        unlinked = client.get(f"/dang-nhap/sso/tinh/ve?state={state}&sub=an-123")
        assert unlinked.status_code == 401 and "SSO_NOT_LINKED" in unlinked.text
        UserStore(sqlite_node.engine).link_subject("tdkt.laocai", "https://idp.example|an-123")
        assert client.get("/dang-nhap/sso/tinh/ve?state=other&sub=an-123").status_code == 401  # state mismatch
        assert "SSO_FAILED" in client.get(f"/dang-nhap/sso/tinh/ve?state={state}&sub=forged").text
        done = client.get(f"/dang-nhap/sso/tinh/ve?state={state}&sub=an-123")
        assert done.status_code == 303 and done.headers["location"] == "/tong-hop/15"
        assert "Tỉnh Lào Cai" in client.get("/tong-hop/15").text
        assert client.get("/dang-nhap/sso/khac").status_code == 404
    finally:
        client.web.state.accounts.providers.clear()  # type: ignore[attr-defined]
        UserStore(sqlite_node.engine).link_subject("tdkt.laocai", None)


def test_a_command_form_key_is_the_apis_idempotency_key(sqlite_node: Node) -> None:
    from services.api.idempotency import Replay, StoredResponse
    from services.kernel.errors import DomainRefusal
    from services.kernel.orgpaths import OrgPath
    from services.web.accounts.sessions import Session
    from services.web.accounts.users import UserStore
    from services.web.auth import Person
    from services.web.forms import FormErrors, command_key, form_key

    user = UserStore(sqlite_node.engine).get("lan.batxat")
    assert user is not None
    from services.api.security.scopes import Principal

    principal = Principal(user.username, OrgPath(user.org_unit_path), frozenset(user.roles), "local", kind="USER")
    person = Person(user, Session("h", user, "c", utcnow(), utcnow()), principal, "t")
    key = form_key()
    form = {"csrf_token": "x", "form_key": key, "period": "2026", "narrative": "Báo cáo"}
    first = command_key(person, "/bao-cao", form, 24)
    assert first is not None and command_key(person, "/bao-cao", {**form, "csrf_token": "y"}, 24) == first
    with sqlite_node.engine.begin() as conn:
        first.check(conn)  # never seen: goes on
        first.save(conn, StoredResponse(303, b"", "text/html", {"location": "/"}))
    with sqlite_node.engine.begin() as conn, pytest.raises(Replay):
        first.check(conn)  # the double click: the first answer again
    other = command_key(person, "/bao-cao", {**form, "narrative": "Khác"}, 24)
    with sqlite_node.engine.begin() as conn, pytest.raises(DomainRefusal, match="IDEMPOTENCY_KEY_REUSED"):
        other.check(conn)  # type: ignore[union-attr]
    assert command_key(person, "/bao-cao", {"form_key": "có dấu"}, 24) is None
    errors = FormErrors()
    errors.refusal(
        DomainRefusal("OUTSIDE_PLAN_PERIOD", 422, "Ngoài kỳ của kế hoạch.", "Outside."),
        {"OUTSIDE_PLAN_PERIOD": "period"},
    )
    assert errors and errors.items == [
        {"field": "period", "text": "Ngoài kỳ của kế hoạch.", "code": "OUTSIDE_PLAN_PERIOD"}
    ]
