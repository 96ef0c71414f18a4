"""Refusals of the award-authority matrix (ma trận thẩm quyền khen thưởng), each with a stable code."""

from __future__ import annotations

from datetime import date

from services.kernel.errors import Kind, ThiduaError

from .levels import Level


def _day(on: date | None) -> tuple[str, str]:
    """Vietnamese and English suffix naming the day, if any."""
    if on is None:
        return "", ""
    return f" có hiệu lực ngày {on:%d/%m/%Y}", f" in force on {on.isoformat()}"


class UnknownAwardForm(ThiduaError):
    """No award form (hình thức/danh hiệu) with this code, or none in force on the day asked."""

    code = "UNKNOWN_AWARD_FORM"
    kind = Kind.NOT_FOUND

    def __init__(self, form_code: str, on: date | None = None) -> None:
        vi, en = _day(on)
        super().__init__(
            f"Không có hình thức khen thưởng, danh hiệu thi đua mã {form_code}{vi}.",
            f"No award form {form_code}{en}.",
            form_code=form_code,
            on=on.isoformat() if on else None,
        )


class AuthorityMismatch(ThiduaError):
    """The proposing level cannot send this award form to a competent decider (sai thẩm quyền)."""

    code = "AUTHORITY_MISMATCH"
    kind = Kind.INVALID

    def __init__(self, form_code: str, proposer_level: Level, why_vi: str, why_en: str) -> None:
        super().__init__(
            f"Sai thẩm quyền: {proposer_level.label_vi} không thể đề nghị {form_code}: {why_vi}.",
            f"Authority mismatch: level {proposer_level} cannot propose {form_code}: {why_en}.",
            form_code=form_code,
            proposer_level=str(proposer_level),
        )


class UnknownAwardRule(ThiduaError):
    """No configured award rule (quy tắc khen thưởng) with this code in force on the day asked."""

    code = "UNKNOWN_AWARD_RULE"
    kind = Kind.NOT_FOUND

    def __init__(self, rule_code: str, on: date) -> None:
        vi, en = _day(on)
        super().__init__(
            f"Không có quy tắc khen thưởng {rule_code}{vi}.",
            f"No award rule {rule_code}{en}.",
            rule_code=rule_code,
            on=on.isoformat(),
        )
