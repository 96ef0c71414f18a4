"""Bulk import of accounts from a CSV or XLSX file (username, full name, org unit code, roles, email): every row
is checked first, bad rows are reported by line and column, and nothing is imported from a file with errors.

The first row names the columns, in English or Vietnamese (``username`` / ``tên đăng nhập``, ``full_name`` /
``họ và tên``, ``org_unit`` / ``mã đơn vị``, ``roles`` / ``vai trò``, ``email`` / ``thư điện tử``); roles are
separated by commas or semicolons. Lines are counted as a spreadsheet shows them (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.kernel.errors import ThiduaError

from .orgunits import Found
from .users import NewUser, checked_email, checked_full_name, checked_username, normalize_username, parse_roles

COLUMNS = {
    "username": ("username", "user", "ten dang nhap"),
    "full_name": ("full_name", "full name", "name", "ho va ten", "ho ten"),
    "org_unit": ("org_unit", "org unit", "org_unit_code", "org unit code", "ma don vi", "don vi"),
    "roles": ("roles", "role", "vai tro"),
    "email": ("email", "e-mail", "thu dien tu"),
}
REQUIRED = ("username", "full_name", "org_unit", "roles")
LABELS_VI = {
    "username": "tên đăng nhập",
    "full_name": "họ và tên",
    "org_unit": "mã đơn vị",
    "roles": "vai trò",
    "email": "thư điện tử",
}
MAX_ROWS = 10_000


@dataclass(frozen=True)
class RowError:
    """A bad row: its line, the column at fault (None: the whole row or file), why."""

    line: int
    column: str | None
    message_vi: str
    message_en: str

    def __str__(self) -> str:
        where = f"dòng {self.line}" + (f", cột {LABELS_VI.get(self.column, self.column)}" if self.column else "")
        return f"{where}: {self.message_vi} / line {self.line}: {self.message_en}"


@dataclass
class ImportPlan:
    """The accounts a file holds, or why it cannot be imported."""

    users: list[NewUser] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _key(header: Any) -> str:
    text = unicodedata.normalize("NFKD", str(header or "")).replace("đ", "d").replace("Đ", "D")
    plain = "".join(c for c in text if not unicodedata.combining(c)).strip().lower().replace("_", " ")
    return next((name for name, aliases in COLUMNS.items() if plain in {a.replace("_", " ") for a in aliases}), plain)


def read_rows(path: Path) -> list[tuple[int, list[Any]]]:
    """The file's rows with their line numbers (CSV: UTF-8, comma or semicolon; XLSX: the first sheet)."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            return [(i, list(row)) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
        finally:
            book.close()
    text = path.read_bytes().decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]


def _blank(values: Iterable[Any]) -> bool:
    return all(v is None or str(v).strip() == "" for v in values)


def check_rows(
    rows: list[tuple[int, list[Any]]],
    resolve: Callable[[list[str]], dict[str, Found | None]],
    existing: Callable[[list[str]], list[str]],
) -> ImportPlan:
    """Check every row: fields, org units (``resolve``), usernames repeated in the file or taken (``existing``)."""
    plan = ImportPlan()
    if not rows:
        plan.errors.append(RowError(1, None, "Tệp trống.", "The file is empty."))
        return plan
    header_line, header = rows[0]
    keys = [_key(h) for h in header]
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        names = ", ".join(f"{c} ({LABELS_VI[c]})" for c in missing)
        plan.errors.append(RowError(header_line, None, f"Thiếu cột: {names}.", f"Missing columns: {names}."))
        return plan
    records = [(line, dict(zip(keys, values, strict=False))) for line, values in rows[1:] if not _blank(values)]
    if len(records) > MAX_ROWS:
        plan.errors.append(RowError(header_line, None, f"Quá {MAX_ROWS:,} dòng.", f"More than {MAX_ROWS:,} rows."))
        return plan
    units = resolve([_text(r.get("org_unit")) for _, r in records])
    seen: dict[str, int] = {}
    for line, record in records:
        name = normalize_username(_text(record.get("username")))
        if name and name in seen:
            message = (f"Trùng với dòng {seen[name]}.", f"Repeats line {seen[name]}.")
            plan.errors.append(RowError(line, "username", *message))
        seen.setdefault(name, line)
        user = _check(line, record, units, plan.errors)
        if user is not None and seen[name] == line:
            plan.users.append(user)
    for name in existing([u.username for u in plan.users]):
        plan.errors.append(RowError(seen[name], "username", f"Tài khoản '{name}' đã có.", f"Account '{name}' exists."))
    plan.errors.sort(key=lambda e: e.line)
    return plan


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a code typed as a number in a spreadsheet
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


CHECKS: dict[str, Callable[[Any], Any]] = {
    "username": checked_username,
    "full_name": checked_full_name,
    "roles": parse_roles,
    "email": checked_email,
}


def _check(line: int, record: dict[str, Any], units: dict[str, Found | None], errors: list[RowError]) -> NewUser | None:
    """The row's account, or None with its errors appended (one per column at fault)."""
    found, values = len(errors), {}
    for column, check in CHECKS.items():
        text = _text(record.get(column))
        if column in REQUIRED and not text:
            errors.append(RowError(line, column, "Ô bắt buộc bị trống.", "Required cell is empty."))
            continue
        try:
            values[column] = check(text or None) if column == "email" else check(text)
        except ThiduaError as exc:
            errors.append(RowError(line, column, exc.message_vi, exc.message_en))
    unit_ref = _text(record.get("org_unit"))
    unit = units.get(unit_ref) if unit_ref else None
    if not unit_ref:
        errors.append(RowError(line, "org_unit", "Ô bắt buộc bị trống.", "Required cell is empty."))
    elif unit is None:
        errors.append(RowError(line, "org_unit", f"Không có đơn vị mã '{unit_ref}'.", f"No org unit '{unit_ref}'."))
    if len(errors) > found or unit is None:
        return None
    return NewUser(values["username"], values["full_name"], unit[0], values["roles"], values["email"])
