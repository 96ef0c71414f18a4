"""The web app's command forms in-process (TestClient) on the demo's year: a preview writes nothing, a repeated form
appends once, a stale form is refused, refusals land beside their field, drafts are the person's own and never
events, the role rules of the API apply, and the decision's list downloads as DOCX and XLSX."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.bootstrap import Node
from services.kernel.settings import Settings
from services.web.accounts.users import NewUser, UserStore
from tests.conftest import _postgres_engine
from tests.web_support import PASSWORD, csrf_of, demo_node, sign_in, web_client

pytestmark = pytest.mark.integration
DAI_SON_PLAN = "dai-son-draft-2026-06"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The demo's year with the people of these tests, on each backend (the preview's rollback, the idempotency
    records and If-Match behave the same on both)."""
    folder = tmp_path_factory.mktemp("web-work")
    if request.param == "sqlite":
        yield from _with_people(demo_node(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/web.db")))
        return
    for engine in _postgres_engine(request.getfixturevalue("postgres_url")):
        yield from _with_people(demo_node(Settings(data_dir=folder, node_id="local"), engine))


def _with_people(node: Node) -> Iterator[Node]:
    people = [
        NewUser("canbo.daison", "Vũ Thị Hằng", "VN/31/11086", ("submitter", "reviewer")),
        NewUser("chutich.daison", "Nguyễn Văn Sơn", "VN/31/11086", ("decider",)),
        NewUser("canbo2.daison", "Trần Văn Hai", "VN/31/11086", ("submitter",)),
    ]
    UserStore(node.engine).add_many(people, [PASSWORD] * len(people))
    yield node
    node.close()


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with web_client(node) as test_client:
        # the projection tail does not run here: pages need not wait for it (the test runs the runner itself)
        test_client.web.state.web.live.from_runner = False  # type: ignore[attr-defined]
        yield test_client


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden and filled inputs of the form posting to ``action`` (the first one)."""
    start = html.index(f'method="post" action="{action}"')
    body = html[start : html.index("</form>", start)]
    found = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', body))
    return {k: v.replace("&amp;", "&") for k, v in found.items()}


def heads(node: Node) -> int:
    """How many events the store holds (not the head position: on PostgreSQL a rolled-back append, such as a
    preview's, burns its position and leaves a gap, as the store allows)."""
    from sqlalchemy import func, select

    from services.kernel.tables import event

    with node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event)).scalar_one())


def test_a_preview_writes_nothing_and_a_repeated_form_appends_once(node: Node, client: TestClient) -> None:
    sign_in(client, "canbo.daison")
    page = client.get(f"/don-vi/HTX-DS/nop-bao-cao?plan={DAI_SON_PLAN}&period=2026").text
    form = form_of(page, "/don-vi/HTX-DS/nop-bao-cao") | {"report_date": "20/11/2026", "narrative": "Báo cáo"}
    before = heads(node)
    checked = client.post("/don-vi/HTX-DS/nop-bao-cao", data=form | {"step": "preview"})
    assert checked.status_code == 200 and "Kiểm tra trước khi nộp" in checked.text and "Đúng hạn" in checked.text
    assert heads(node) == before  # the handler ran and rolled back
    sent = [client.post("/don-vi/HTX-DS/nop-bao-cao", data=form | {"step": "send"}) for _ in range(2)]
    assert [r.status_code for r in sent] == [303, 303] and sent[1].headers["location"] == "/don-vi/HTX-DS#bao-cao"
    assert heads(node) == before + 1
    assert len(node.store.read_stream(f"report-{DAI_SON_PLAN}:HTX-DS:2026")) == 1
    other = client.post("/don-vi/HTX-DS/nop-bao-cao", data=form | {"step": "send", "narrative": "Khác"})
    assert other.status_code == 422 and "IDEMPOTENCY_KEY_REUSED" in other.text  # the same key, other content
    again = client.post("/don-vi/HTX-DS/nop-bao-cao", data=form | {"step": "send", "form_key": "k-new-1"})
    assert again.status_code == 409 and "VERSION_CONFLICT" in again.text and heads(node) == before + 1  # a new key


def test_a_stale_review_form_is_refused_and_the_queue_shows_the_new_state(node: Node, client: TestClient) -> None:
    node.runner.run_until_idle()
    sign_in(client, "canbo.daison")
    page = client.get("/tiep-nhan-bao-cao?period=2026").text
    rid = f"{DAI_SON_PLAN}:MN-DS:2026"
    row = page[page.index(f'data-report="{rid}"') :]
    form = form_of(row, "/tiep-nhan-bao-cao")
    other = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    sign_in(other, "canbo.daison")
    first = other.post(
        "/tiep-nhan-bao-cao",
        data=form | {"form_key": "k-other", "outcome": "ACCEPTED", "csrf_token": csrf_of(other.get("/").text)},
    )
    assert first.status_code == 303
    node.runner.run_until_idle()
    stale = client.post("/tiep-nhan-bao-cao", data=form | {"outcome": "RETURNED", "reason": "Thiếu số liệu"})
    assert stale.status_code == 409 and "VERSION_CONFLICT" in stale.text and "người khác thay đổi" in stale.text
    assert f'data-report="{rid}"' not in stale.text  # the queue as it now is: accepted, no longer waiting
    assert [e.NAME for e in _events(node, f"report-{rid}")] == ["ReportSubmitted", "ReportReviewed"]


def _events(node: Node, stream: str) -> list[Any]:
    from services.kernel.events import decode_event

    return [decode_event(s.body, node.codec, node.bus.types) for s in node.store.read_stream(stream)]


def test_a_refusal_lands_beside_its_field(client: TestClient) -> None:
    sign_in(client, "lan.batxat")
    url = "/don-vi/02683/dang-ky-thi-dua"
    form = form_of(client.get(f"{url}?plan=lao-cai-draft-2026-05&year=2026").text, url)
    refused = client.post(url, data=form | {"t-LC-24": "22", "t-LC-36": "1"})
    assert refused.status_code == 422
    assert re.search(r'id="t-LC-24-error">.*TARGET_NOT_FOR_UNIT', refused.text, re.S)
    assert 'href="#t-LC-24"' in refused.text  # the summary links to the field
    assert form["form_key"] not in refused.text  # the refused key keeps its answer: a fresh one for the correction
    bad = client.post(url, data=form_of(refused.text, url) | {"t-LC-36": "một"})
    assert bad.status_code == 422 and 'id="t-LC-36-error"' in bad.text and "không phải là số" in bad.text


def test_drafts_are_the_persons_own_and_never_events(node: Node, client: TestClient) -> None:
    sign_in(client, "canbo.daison")
    url = "/don-vi/TYT-DS/nop-bao-cao"
    form = form_of(client.get(f"{url}?plan={DAI_SON_PLAN}&period=2027").text, url)
    before = heads(node)
    saved = client.post(url, data=form | {"step": "draft", "narrative": "Bản nháp chưa gửi"})
    assert saved.status_code == 303 and heads(node) == before
    assert "Bản nháp chưa gửi" in client.get(f"{url}?plan={DAI_SON_PLAN}&period=2027").text
    colleague = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    sign_in(colleague, "canbo2.daison")
    assert "Bản nháp chưa gửi" not in colleague.get(f"{url}?plan={DAI_SON_PLAN}&period=2027").text


def test_role_rules_of_the_api_apply_to_the_forms(client: TestClient) -> None:
    sign_in(client, "chutich.daison")  # a decider: no submitter role
    refused = client.get(f"/don-vi/THCS-DS/nop-bao-cao?plan={DAI_SON_PLAN}")
    assert refused.status_code == 403 and "ROLE_NOT_ALLOWED" in refused.text
    assert client.get("/tiep-nhan-bao-cao").status_code == 403
    batxat = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    sign_in(batxat, "lan.batxat")
    outside = batxat.get("/don-vi/THCS-DS/nop-bao-cao")  # another province's unit
    assert outside.status_code == 403 and "OUT_OF_SUBTREE" in outside.text


def test_the_decision_list_downloads_as_docx_and_xlsx(client: TestClient) -> None:
    sign_in(client, "canbo.daison")
    page = client.get("/khen-thuong/gk-ds-2026-1").text
    link = re.search(r'href="(/quyet-dinh\?[^"]+)" id="decision-list"', page)
    assert link, page
    listed = client.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200 and "Trường THCS Đại Sơn" in listed.text and "215/QĐ-UBND" in listed.text
    query = link.group(1).split("?", 1)[1].replace("&amp;", "&")
    docx = client.get(f"/quyet-dinh/xuat.docx?{query}")
    assert docx.status_code == 200 and docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    xml = zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode("utf-8")
    assert "DANH SÁCH KHEN THƯỞNG" in xml and "Kèm theo Quyết định số 215/QĐ-UBND" in xml
    assert "Trường THCS Đại Sơn" in xml
    sheet = load_workbook(io.BytesIO(client.get(f"/quyet-dinh/xuat.xlsx?{query}").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("STT", "Tên tập thể, cá nhân") and rows[1][:2] == (1, "Trường THCS Đại Sơn")


def _xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_upload_with_bad_rows_appends_nothing_and_names_them(node: Node, client: TestClient) -> None:
    sign_in(client, "canbo.daison")
    template = client.get(f"/tai-len-bao-cao/mau.xlsx?plan={DAI_SON_PLAN}")
    header = next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))
    assert header[:3] == ("Mã đơn vị", "Tên đơn vị", "Ngày ký báo cáo")
    token = csrf_of(client.get("/tai-len-bao-cao").text)
    rows = [
        ["Mã đơn vị", "Tên đơn vị", "Ngày ký báo cáo", "Nội dung báo cáo", "Mô hình, sáng kiến"],
        ["THON-1", "Thôn Đại Sơn 1", "", "Báo cáo", ""],
        ["XX-1", "", "", "", ""],  # not a unit of mine
        ["THON-2", "Thôn Bình Lăng", "31/11/2026", "", ""],  # no such day
        ["MN-DS", "", "", "", ""],
        ["DN-BATXAT", "", "", "", ""],  # another province's unit
    ]
    before = heads(node)
    data = {"csrf_token": token, "form_key": "k-up-1", "plan": DAI_SON_PLAN, "period": "2027"}
    refused = client.post("/tai-len-bao-cao", data=data, files={"file": ("bc.xlsx", _xlsx(rows))})
    assert refused.status_code == 422 and heads(node) == before
    lines = re.findall(r'data-key="line">(\d+)<', refused.text)
    assert sorted(set(lines)) == ["3", "4", "6"], refused.text[-3000:]
    assert "Tệp có lỗi: chưa ghi dòng nào" in refused.text and "OUT_OF_SUBTREE" in refused.text
    good = [rows[0], rows[1], rows[4]]
    clean = client.post("/tai-len-bao-cao", data=data, files={"file": ("bc.xlsx", _xlsx(good))})
    assert clean.status_code == 200 and "Đã ghi 2 dòng" in clean.text and heads(node) == before + 2
    again = client.post("/tai-len-bao-cao", data=data, files={"file": ("bc.xlsx", _xlsx(good))})
    assert heads(node) == before + 2, again.text[-2000:]  # the same file again: each row replayed, nothing twice


def test_a_registration_upload_is_checked_by_the_domain_before_anything_is_appended(
    node: Node, client: TestClient
) -> None:
    sign_in(client, "lan.batxat")
    plan = "lao-cai-draft-2026-05"
    template = client.get(f"/tai-len-bao-cao/mau.xlsx?plan={plan}&loai=dang-ky")
    header = next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))
    assert header[:2] == ("Mã đơn vị", "Tên đơn vị") and "LC-36" in header and "Ngày ký báo cáo" not in header
    token = csrf_of(client.get("/tai-len-bao-cao?loai=dang-ky").text)
    data = {"csrf_token": token, "form_key": "k-up-2", "plan": plan, "period": "2027", "kind": "dang-ky"}
    rows = [
        ["Mã đơn vị", "Tên đơn vị", "LC-36", "LC-24"],
        ["02683", "Xã Bát Xát", 1, None],
        ["DN-BATXAT", "", None, 22],
    ]
    before = heads(node)
    refused = client.post("/tai-len-bao-cao", data=data, files={"file": ("dk.xlsx", _xlsx(rows))})
    assert refused.status_code == 422 and heads(node) == before
    assert re.findall(r'data-key="line">(\d+)<', refused.text) == ["3"] and "TARGET_NOT_FOR_UNIT" in refused.text
    clean = client.post("/tai-len-bao-cao", data=data, files={"file": ("dk.xlsx", _xlsx(rows[:2]))})
    assert clean.status_code == 200 and heads(node) == before + 1
    assert [e.NAME for e in _events(node, f"registration-{plan}:02683:2027")] == ["TargetsRegistered"]
