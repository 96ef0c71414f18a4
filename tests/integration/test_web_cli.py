"""``thidua users``: accounts from the command line, bulk import from CSV and XLSX (a file with errors imports
nothing), demo accounts, disable, unlock, the sign-in log."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from services.cli.main import app

pytestmark = pytest.mark.integration


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("THIDUA_")}  # make test's PostgreSQL
    env = unset | {"THIDUA_DATA_DIR": str(tmp_path), "COLUMNS": "200"}  # the embedded default, in tmp_path

    def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), env=env, input=stdin)
        return result.exit_code, result.output

    return invoke


def listed(run) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    code, out = run("users", "list", "--json")
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def test_a_file_with_bad_rows_imports_nothing_and_names_them(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "can-bo.csv"
    bad.write_text(
        "tên đăng nhập;họ và tên;mã đơn vị;vai trò;thư điện tử\n"
        "lan.batxat;Nguyễn Thị Lan;02683;submitter;lan@batxat.gov.vn\n"
        "hoa.laocai;Đỗ Thị Hoa;99999;reviewer;\n"
        "lan.batxat;Lê Văn C;15;boss;\n",
        encoding="utf-8-sig",
    )
    code, out = run("users", "import", str(bad))
    assert code == 1
    assert "dòng 3, cột mã đơn vị" in out and "dòng 4, cột tên đăng nhập" in out and "dòng 4, cột vai trò" in out
    assert "nothing imported: 3 error(s)" in out and listed(run) == []


def test_a_good_xlsx_imports_every_row_with_temporary_passwords(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(["username", "full_name", "org_unit", "roles", "email"])
    sheet.append(["lan.batxat", "Nguyễn Thị Lan", "02683", "submitter", None])
    sheet.append(["tdkt.laocai", "Ban Thi đua Lào Cai", 15, "reviewer, auditor", "tdkt@laocai.gov.vn"])
    book.save(tmp_path / "can-bo.xlsx")
    out_file = tmp_path / "mat-khau.csv"
    code, out = run("users", "import", str(tmp_path / "can-bo.xlsx"), "--passwords-out", str(out_file))
    assert code == 0, out
    people = {u["username"]: u for u in listed(run)}
    assert people["tdkt.laocai"]["org_unit_path"] == "VN/15" and people["tdkt.laocai"]["roles"] == [
        "auditor",
        "reviewer",
    ]
    assert all(u["must_change_password"] for u in people.values())
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600 and out_file.read_text().count("\n") == 3
    again, out = run("users", "import", str(tmp_path / "can-bo.xlsx"))
    assert again == 1 and "đã có" in out  # a second import of the same people: nothing, and why


def test_add_disable_unlock_and_the_sign_in_log(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "users",
        "add",
        "lan.batxat",
        "--full-name",
        "Nguyễn Thị Lan",
        "--org-unit",
        "02683",
        "--roles",
        "submitter",
        "--password-stdin",
        stdin="mot cau mat khau dai\n",
    )
    assert code == 0 and "Xã Bát Xát" in out and "temporary" not in out
    assert run("users", "add", "x.y", "--full-name", "X", "--org-unit", "99999", "--roles", "submitter")[0] == 2
    code, out = run("users", "add", "Ab", "--full-name", "X", "--org-unit", "15", "--roles", "submitter")
    assert code == 2 and "INVALID_USERNAME" in out and "Traceback" not in out
    assert run("users", "disable", "lan.batxat")[0] == 0 and not listed(run)[0]["active"]
    assert run("users", "disable", "lan.batxat")[0] == 1  # already disabled
    assert run("users", "enable", "lan.batxat")[0] == 0 and listed(run)[0]["active"]
    assert run("users", "unlock", "lan.batxat")[0] == 0
    code, out = run("users", "signins", "lan.batxat")
    assert code == 0 and "UNLOCKED" in out
    code, out = run("users", "reset-password", "lan.batxat")
    assert code == 0 and "temporary password" in out and listed(run)[0]["must_change_password"]


def test_demo_accounts_one_per_role_once(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("users", "demo")
    assert code == 0 and "demo.laocai" in out and "demo.batxat" in out
    roles = {role for u in listed(run) for role in u["roles"]}
    assert roles == {"submitter", "reviewer", "council", "decider", "auditor", "operator"}
    code, out = run("users", "demo")
    assert code == 0 and "already there, skipped" in out and len(listed(run)) == 6


def test_a_database_at_an_older_revision_is_refused_until_db_upgrade(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from services import migrations
    from services.kernel.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'thidua.db'}")  # the embedded default's file, one release behind
    migrations.upgrade(engine, to="0002")
    engine.dispose()
    code, out = run("users", "list")
    assert code == 4 and "DATABASE_NOT_CURRENT" in out and "thidua db upgrade" in out and "Traceback" not in out
    assert run("db", "upgrade")[0] == 0  # revision 0003 makes the web app's tables
    assert listed(run) == []
