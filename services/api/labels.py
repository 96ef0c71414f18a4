"""Vietnamese labels shown beside codes in API responses."""

from __future__ import annotations

from services.planning.model import OCCASIONS

LEVELS = {"CENTRAL": "Trung ương", "PROVINCE": "Cấp tỉnh", "COMMUNE": "Cấp xã", "UNIT": "Cơ quan, đơn vị"}
AWARD_STATES = {
    "PENDING": "Đang xử lý",
    "APPROVED": "Đã khen thưởng",
    "REJECTED": "Không khen thưởng",
    "RETURNED": "Trả lại",
}
REPORT_STATES = {
    "MISSING": "Chưa nộp",
    "ON_TIME": "Đúng hạn",
    "LATE": "Muộn",
    "SUBMITTED": "Đã nộp",
    "RETURNED": "Bị trả lại",
    "ACCEPTED": "Đã tiếp nhận",
}
ROLES = {"PROPOSE": "Đề nghị", "REVIEW": "Thẩm định, trình", "DECIDE": "Quyết định"}
FORM_KINDS = {"HINH_THUC": "Hình thức khen thưởng", "DANH_HIEU": "Danh hiệu thi đua"}


def label(table: dict[str, str], code: str | None) -> str | None:
    """The Vietnamese label of ``code`` (the code itself when unknown)."""
    return None if code is None else table.get(code, code)


__all__ = ["AWARD_STATES", "FORM_KINDS", "LEVELS", "OCCASIONS", "REPORT_STATES", "ROLES", "label"]
