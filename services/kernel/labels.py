"""Vietnamese labels shown beside codes: one table per code list, shared by the API, the web app and the read models
(which sit below the entry points and so cannot take them from ``services.api``)."""

from __future__ import annotations

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
# When an award is proposed (dịp khen thưởng): the plans' occasions, Law on Emulation and Commendation Art. 8.
OCCASIONS = {
    "ANNUAL": "Hằng năm",
    "SO_KET": "Sơ kết",
    "TONG_KET": "Tổng kết",
    "THEO_DOT": "Theo đợt, chuyên đề",
    "DOT_XUAT": "Đột xuất",
}
ROLES = {"PROPOSE": "Đề nghị", "REVIEW": "Thẩm định, trình", "DECIDE": "Quyết định"}
FORM_KINDS = {"HINH_THUC": "Hình thức khen thưởng", "DANH_HIEU": "Danh hiệu thi đua"}
# What a registered unit is (loại đơn vị), and whose criteria apply to it (đối tượng áp dụng).
UNIT_KINDS = {
    "AGENCY": "Cơ quan (sở, ban, ngành, phòng)",
    "PUBLIC_SERVICE_UNIT": "Đơn vị sự nghiệp công lập",
    "ENTERPRISE": "Doanh nghiệp",
    "COOPERATIVE": "Hợp tác xã",
    "MTTQ": "Ủy ban Mặt trận Tổ quốc",
    "SOCIO_POLITICAL": "Tổ chức chính trị – xã hội",
    "VILLAGE": "Thôn, tổ dân phố",
}
SUBJECT_CATEGORIES = {
    "AGENCY_LOCALITY": "Cơ quan, địa phương, đơn vị",
    "MTTQ_SOCIO_POLITICAL": "Mặt trận Tổ quốc và các tổ chức chính trị – xã hội",
    "ENTERPRISE": "Doanh nghiệp",
    "INDIVIDUAL": "Cá nhân",
}


def label(table: dict[str, str], code: str | None) -> str | None:
    """The Vietnamese label of ``code`` (the code itself when unknown)."""
    return None if code is None else table.get(code, code)


__all__ = [
    "AWARD_STATES",
    "FORM_KINDS",
    "LEVELS",
    "OCCASIONS",
    "REPORT_STATES",
    "ROLES",
    "SUBJECT_CATEGORIES",
    "UNIT_KINDS",
    "label",
]
