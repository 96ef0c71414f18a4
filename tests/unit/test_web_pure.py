"""The web app without I/O: formats by language, tables and their exports, translations, passwords, safe redirects,
the import file's checks."""

from __future__ import annotations

import ast
import io
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.web import formats, grids
from services.web.accounts.importer import check_rows
from services.web.accounts.passwords import hash_password, policy_problem, temporary_password, verify_password
from services.web.auth import safe_next
from services.web.errors import RULES, TITLES
from services.web.grids import Column, Grid
from services.web.i18n import Translator
from services.web.pages.rollup import COLUMNS, REPORT_COLUMNS, STATUSES
from services.web.rendering import FLASH_MESSAGES, NAV, REVIEW_NAV
from services.web.texts_en import EN

pytestmark = pytest.mark.unit
WEB = Path(__file__).resolve().parents[2] / "services" / "web"


def test_vietnamese_and_english_numbers_dates_and_rates() -> None:
    assert formats.number(1234567) == "1.234.567" and formats.number(1234567, "en") == "1,234,567"
    assert formats.percent(0.875) == "87,5\u00a0%" and formats.percent(0.875, "en") == "87.5%"
    assert formats.percent(0.0472) == "4,7\u00a0%" and formats.percent(None) == "–"
    assert formats.number(2.5, "vi", 1) == "2,5" and formats.number(None) == "–"
    assert formats.day("2026-04-15") == "15/04/2026" and formats.day(date(2026, 12, 1)) == "01/12/2026"
    # 17:30 UTC on 31/12 is already 1 January in Vietnam (UTC+7)
    assert formats.moment(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "00:30 01/01/2027"
    assert formats.day(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "01/01/2027"


def test_grid_sorts_numbers_and_vietnamese_names_with_blanks_last() -> None:
    rows = [
        {"name": "Xã Y Tý", "rate": 0.5},
        {"name": "Phường Âu Lâu", "rate": None},
        {"name": "Xã Bát Xát", "rate": 1.0},
    ]
    grid = Grid("t", "s", [Column("name", "Đơn vị"), Column("rate", "Tỷ lệ nộp", "rate")], list(rows))
    assert [r["name"] for r in grid.sort("name", False).rows] == ["Phường Âu Lâu", "Xã Bát Xát", "Xã Y Tý"]
    assert [r["rate"] for r in grid.sort("rate", True).rows] == [1.0, 0.5, None]
    assert [r["rate"] for r in grid.sort("no-such-column", False).rows] == [1.0, 0.5, None]


def test_csv_and_xlsx_hold_the_screens_numbers() -> None:
    rows = [{"name": "Xã Bát Xát", "n": 1234, "rate": 0.4444}, {"name": "Xã Y Tý", "n": 0, "rate": None}]
    grid = Grid(
        "Tổng hợp báo cáo",
        "Tỉnh Lào Cai",
        [Column("name", "Đơn vị"), Column("n", "Phải nộp", "int"), Column("rate", "Tỷ lệ nộp", "rate")],
        rows,
    )
    text = grids.to_csv(grid, Translator("vi")).decode("utf-8")
    assert text.startswith("\ufeffĐơn vị,Phải nộp,Tỷ lệ nộp (%)\r\n") and "Xã Bát Xát,1234,44.4\r\n" in text
    assert text.endswith("Xã Y Tý,0,\r\n")
    sheet = load_workbook(io.BytesIO(grids.to_xlsx(grid, Translator("en")))).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values == [["Units", "Expected", "Reporting rate (%)"], ["Xã Bát Xát", 1234, 44.4], ["Xã Y Tý", 0, None]]


def test_passwords_are_argon2id_checked_by_length_and_nfc() -> None:
    stored = hash_password("mật khẩu dài")
    assert stored.startswith("$argon2id$") and verify_password(stored, "mật khẩu dài")
    decomposed = "ma\u0302\u0323t kha\u0302\u0309u da\u0300i"  # the same words typed with combining marks
    assert verify_password(stored, decomposed) and not verify_password(stored, "mat khau dai")
    assert not verify_password(None, "anything")
    assert policy_problem("short", "lan") is not None and policy_problem("lan.batxat", "lan.batxat") is not None
    assert policy_problem("một câu đủ dài", "lan") is None
    first, second = temporary_password(), temporary_password()
    assert first != second and re.fullmatch(r"([a-z2-9]{4}-){3}[a-z2-9]{4}", first)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)", ""])
def test_sign_in_never_redirects_off_site(target: str) -> None:
    assert safe_next(target) == "/"


def test_sign_in_redirects_to_this_sites_pages() -> None:
    assert safe_next("/tong-hop/15?period=2026") == "/tong-hop/15?period=2026"


def _template_texts() -> set[str]:
    found: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        found |= set(re.findall(r'\b_\(\s*"([^"]+)"', template.read_text(encoding="utf-8")))
    for module in WEB.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_text_has_its_english() -> None:
    dynamic = (
        {t for _, t in [*NAV, REVIEW_NAV]} | set(TITLES.values()) | set(RULES.values()) | set(FLASH_MESSAGES.values())
    )
    dynamic |= {c.title for c in COLUMNS + REPORT_COLUMNS} | set(STATUSES.values())
    texts = _template_texts() | dynamic
    assert len(texts) > 200
    assert sorted(t for t in texts if t not in EN) == []
    assert all(Translator("en")(t) != t or t == EN[t] for t in texts)
    assert all(unicodedata.is_normalized("NFC", t) for t in [*EN, *EN.values(), *texts])  # Vietnamese as NFC


def test_import_reports_bad_rows_by_line_and_column() -> None:
    units = {"02683": ("VN/15/02683", "Xã Bát Xát"), "15": ("VN/15", "Tỉnh Lào Cai")}
    rows = [
        (1, ["Tên đăng nhập", "Họ và tên", "Mã đơn vị", "Vai trò", "Email"]),
        (2, ["lan.batxat", "Nguyễn Thị Lan", "02683", "submitter", "lan@batxat.gov.vn"]),
        (3, ["", "", "", "", ""]),
        (4, ["X", "Trần Văn B", "99999", "boss", "not-an-email"]),
        (5, ["lan.batxat", "Lê Thị C", "15", "reviewer; auditor", None]),
        (6, ["taken", "Phạm D", "15", "auditor", None]),
        (7, ["hoa.laocai", "Đỗ Thị Hoa", 15.0, "reviewer,auditor", None]),
    ]
    plan = check_rows(
        rows, lambda refs: {r: units.get(r) for r in refs}, lambda names: [n for n in names if n == "taken"]
    )
    faults = [(e.line, e.column) for e in plan.errors]
    assert faults == [(4, "username"), (4, "roles"), (4, "email"), (4, "org_unit"), (5, "username"), (6, "username")]
    assert "dòng 4, cột mã đơn vị" in str(plan.errors[3]) and "line 5" in str(plan.errors[4])
    assert [u.username for u in plan.users] == ["lan.batxat", "taken", "hoa.laocai"]
    assert plan.users[2].org_unit_path == "VN/15" and plan.users[2].roles == ("auditor", "reviewer")


def test_import_refuses_a_file_without_the_columns() -> None:
    plan = check_rows([(1, ["name", "email"])], lambda refs: {}, lambda names: [])
    assert plan.errors[0].line == 1 and "username" in plan.errors[0].message_en and not plan.users
