"""Vietnamese labels for the codes the guidance view shows (shared ones come from ``services.kernel.labels``)."""

from __future__ import annotations

from services.awards.lawtables import load_allowance_codes
from services.kernel.labels import (
    FORM_KINDS,
    LEVELS,
    OCCASIONS,
    REPORT_STATES,
    ROLES,
    SUBJECT_CATEGORIES,
    UNIT_KINDS,
    label,
)

DUTY_STATES = {
    "SUBMITTED": "Đã nộp đúng hạn",
    "LATE": "Nộp muộn",
    "RETURNED": "Bị trả lại, chờ nộp lại",
    "MISSING": "Quá hạn, chưa nộp",
    "DUE": "Chưa nộp, chưa đến hạn",
    "NOT_SUBMITTED": "Chưa nộp (kế hoạch không nêu hạn)",
}
REVIEW_OUTCOMES = {"ACCEPTED": REPORT_STATES["ACCEPTED"], "RETURNED": REPORT_STATES["RETURNED"]}
AWAITING_REVIEW = "Chờ xem xét"
PERIOD_KINDS = {
    "ANNUAL": "Hằng năm",
    "SO_KET": "Sơ kết",
    "TONG_KET": "Tổng kết",
    "UNSPECIFIED": "Không nêu kỳ báo cáo",
    "AD_HOC": "Khi phát sinh",
}
DEADLINE_KINDS = {
    "BEFORE_DAY_OF_YEAR": "Trước ngày hằng năm",
    "BY_DAY_OF_YEAR": "Chậm nhất ngày hằng năm",
    "BY_DATE": "Hạn cố định",
    "NONE_STATED": "Không nêu thời hạn",
    "WITH_ANNUAL_EMULATION_REPORT": "Cùng báo cáo tổng kết công tác thi đua năm",
    "PER_COMPETENT_GUIDANCE": "Theo hướng dẫn của cấp có thẩm quyền",
    "ON_OCCURRENCE": "Khi phát sinh",
    "WITHIN_PHASE": "Trong giai đoạn",
}
COMPARATORS = {
    "GE": "Tối thiểu (≥)",
    "GT": "Trên (>)",
    "LE": "Tối đa (≤)",
    "LT": "Dưới (<)",
    "EQ": "Bằng (=)",
    "RANGE": "Trong khoảng",
    "ABOUT": "Khoảng",
}
NAMED = "Hình thức nêu trong kế hoạch"


def allowance_label(basis: str) -> str:
    """How the plan offers a form: named, or through a code of allowance_codes.csv ("Giấy khen", "theo thẩm quyền")."""
    found = load_allowance_codes().get(basis)
    return found.label_vi if found is not None else NAMED


SUBJECTS = {
    "INDIVIDUAL": "Cá nhân",
    "COLLECTIVE": "Tập thể",
    "HOUSEHOLD": "Hộ gia đình",
    "COMMUNE": "Xã, phường, đặc khu",
    "VILLAGE": "Thôn, tổ dân phố",
}
REVIEWS = {"SO_KET": "Sơ kết", "TONG_KET": "Tổng kết"}
KINDS = {**UNIT_KINDS, "CENTRAL": "Trung ương", "PROVINCE": "Tỉnh, thành phố", "COMMUNE": "Xã, phường, đặc khu"}

__all__ = [
    "AWAITING_REVIEW",
    "COMPARATORS",
    "DEADLINE_KINDS",
    "DUTY_STATES",
    "FORM_KINDS",
    "KINDS",
    "LEVELS",
    "OCCASIONS",
    "PERIOD_KINDS",
    "REVIEWS",
    "REVIEW_OUTCOMES",
    "ROLES",
    "SUBJECTS",
    "SUBJECT_CATEGORIES",
    "allowance_label",
    "label",
]
