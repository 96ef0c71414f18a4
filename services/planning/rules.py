"""Rules of the planning context, each raising a refusal with a stable code (Vietnamese first)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from services.kernel.contracts import DomainWarning
from services.kernel.errors import DomainRefusal, Kind

from .model import Plan

NUMBER = re.compile(r"^[0-9]{1,6}$")  # NĐ 30/2020 Art. 15: Arabic numerals, restarting each calendar year
SYMBOL = re.compile(r"^[A-ZĐ]{1,10}(-[A-ZĐa-zđ0-9&]{1,20}){1,3}$")  # e.g. KH-UBND, QĐ-TTg, HD-BNV


def check_document(number: str | None, symbol: str, issue_date: date | None) -> None:
    """A document number and symbol per NĐ 30/2020; a draft has neither number nor date."""
    if not SYMBOL.match(symbol):
        raise _invalid_number(f"ký hiệu '{symbol}' sai định dạng", f"symbol '{symbol}' is malformed", symbol)
    if number is not None and not NUMBER.match(number):
        raise _invalid_number(f"số '{number}' phải là chữ số Ả Rập", f"number '{number}' must be Arabic digits", number)
    if (number is None) != (issue_date is None):
        raise _invalid_number(
            "số và ngày ban hành phải cùng có hoặc cùng để trống (dự thảo)",
            "number and issue date go together (both blank for a draft)",
            number or "",
        )


def _invalid_number(vi: str, en: str, value: str) -> DomainRefusal:
    return DomainRefusal(
        "INVALID_DOCUMENT_NUMBER",
        Kind.INVALID,
        f"Số, ký hiệu văn bản không hợp lệ theo Nghị định 30/2020/NĐ-CP: {vi}.",
        f"Invalid document number/symbol (Decree 30/2020): {en}.",
        value=value,
    )


def document_key(issuer_path: str, number: str, symbol: str, issue_date: date) -> str:
    """The natural key of a document: number/symbol unique per issuer per calendar year."""
    return f"{issuer_path}|{issue_date.year}|{number}/{symbol}"


def duplicate_document(number: str, symbol: str, issuer_path: str, year: int, other: str) -> DomainRefusal:
    """A second document with the same number and symbol in one year."""
    return DomainRefusal(
        "DUPLICATE_DOCUMENT_NUMBER",
        Kind.CONFLICT,
        f"Số {number}/{symbol} của {issuer_path} năm {year} đã được dùng cho {other}.",
        f"Number {number}/{symbol} of {issuer_path} in {year} is already used by {other}.",
        document=f"{number}/{symbol}",
        issuer_path=issuer_path,
        year=year,
        used_by=other,
    )


def check_phases(phases: Iterable[dict[str, Any]], parents: list[Plan]) -> None:
    """Each phase is a valid interval inside every parent's span (where the parent states one)."""
    for phase in phases:
        if phase["start_date"] > phase["end_date"]:
            raise DomainRefusal(
                "INVALID_PHASE",
                Kind.INVALID,
                f"Giai đoạn {phase['code']} kết thúc trước khi bắt đầu.",
                f"Phase {phase['code']} ends before it starts.",
                phase=phase["code"],
            )
        for parent in parents:
            span = parent.span()
            if span and not (span[0] <= phase["start_date"] and phase["end_date"] <= span[1]):
                raise DomainRefusal(
                    "PHASE_OUTSIDE_PARENT",
                    Kind.INVALID,
                    f"Giai đoạn {phase['code']} ({phase['start_date']:%d/%m/%Y}–{phase['end_date']:%d/%m/%Y}) "
                    f"nằm ngoài thời gian của kế hoạch cấp trên {parent.plan_id} "
                    f"({span[0]:%d/%m/%Y}–{span[1]:%d/%m/%Y}).",
                    f"Phase {phase['code']} lies outside parent plan {parent.plan_id} ({span[0]}–{span[1]}).",
                    phase=phase["code"],
                    parent_plan=parent.plan_id,
                )


def not_an_ancestor(plan_id: str, issuer_path: str, parent: Plan) -> DomainRefusal:
    """A plan implements only plans issued at an ancestor level."""
    return DomainRefusal(
        "PLAN_NOT_FROM_ANCESTOR",
        Kind.INVALID,
        f"Kế hoạch {plan_id} của {issuer_path} chỉ được thực hiện kế hoạch của cấp trên; "
        f"{parent.plan_id} do {parent.issuer_path} ban hành.",
        f"Plan {plan_id} of {issuer_path} may implement only plans of an ancestor level; "
        f"{parent.plan_id} was issued by {parent.issuer_path}.",
        plan_id=plan_id,
        parent_plan=parent.plan_id,
    )


def unknown_plan(plan_id: str) -> DomainRefusal:
    """No plan with this id on the node."""
    return DomainRefusal(
        "UNKNOWN_PLAN",
        Kind.NOT_FOUND,
        f"Không tìm thấy kế hoạch {plan_id}.",
        f"Unknown plan {plan_id}.",
        plan_id=plan_id,
    )


def warning(
    code: str, vi: str, en: str, source_text: str | None = None, refs: list[str] | None = None
) -> DomainWarning:
    """A DomainWarning datum (``refs``: the codes it concerns: indicators, forms, phases, plans)."""
    return {"code": code, "message_vi": vi, "message_en": en, "source_text": source_text, "refs": refs or []}


def conflicting_targets(indicators: Sequence[Mapping[str, Any]]) -> list[DomainWarning]:
    """Warnings for indicators that measure the same thing (same name and unit) with different targets."""
    seen: dict[tuple[str, str | None], Mapping[str, Any]] = {}
    warnings = []
    for ind in indicators:
        key = (ind["name"].casefold(), ind.get("unit"))
        other = seen.setdefault(key, ind)
        if other is not ind and (other["comparator"], other["threshold"]) != (ind["comparator"], ind["threshold"]):
            warnings.append(
                warning(
                    "CONFLICTING_TARGETS",
                    f"Chỉ tiêu {ind['code']} và {other['code']} cùng đo '{ind['name']}' nhưng mục tiêu khác nhau.",
                    f"Indicators {ind['code']} and {other['code']} measure the same thing with different targets.",
                    refs=[other["code"], ind["code"]],
                )
            )
    return warnings
