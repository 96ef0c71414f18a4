"""The demo's cast: units registered under Huế, Lào Cai and xã Đại Sơn (names invented, codes official)."""

from __future__ import annotations

DAI_SON = "VN/31/11086"
HUE = "VN/46"
LAO_CAI = "VN/15"

# (parent path, code, name, unit kind, subject category, emulation bloc)
UNITS: list[tuple[str, str, str, str, str, str | None]] = [
    (HUE, "SKHCN-46", "Sở Khoa học và Công nghệ thành phố Huế", "AGENCY", "AGENCY_LOCALITY", "Khối các sở"),
    (HUE, "SNV-46", "Sở Nội vụ thành phố Huế", "AGENCY", "AGENCY_LOCALITY", "Khối các sở"),
    (HUE, "SNNMT-46", "Sở Nông nghiệp và Môi trường thành phố Huế", "AGENCY", "AGENCY_LOCALITY", "Khối các sở"),
    (f"{HUE}/19753", "THPT-PX", "Trường THPT Phú Xuân", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (f"{HUE}/19774", "BV-KL", "Bệnh viện Kim Long", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (f"{HUE}/19777", "DN-VYDA", "Công ty Cổ phần Công nghệ Vỹ Dạ", "ENTERPRISE", "ENTERPRISE", None),
    (f"{HUE}/19789", "HTX-TH", "Hợp tác xã Nông nghiệp Thuận Hóa", "COOPERATIVE", "ENTERPRISE", None),
    (LAO_CAI, "SKHCN-15", "Sở Khoa học và Công nghệ tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "Khối thi đua số 1"),
    (LAO_CAI, "SNV-15", "Sở Nội vụ tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "Khối thi đua số 1"),
    (LAO_CAI, "STC-15", "Sở Tài chính tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "Khối thi đua số 1"),
    (
        f"{LAO_CAI}/02647",
        "THCS-LC",
        "Trường THCS Lào Cai",
        "PUBLIC_SERVICE_UNIT",
        "AGENCY_LOCALITY",
        "Khối thi đua số 7",
    ),
    (
        f"{LAO_CAI}/02671",
        "TYT-CD",
        "Trạm Y tế Cam Đường",
        "PUBLIC_SERVICE_UNIT",
        "AGENCY_LOCALITY",
        "Khối thi đua số 9",
    ),
    (f"{LAO_CAI}/02683", "DN-BATXAT", "Công ty TNHH Chè Bát Xát", "ENTERPRISE", "ENTERPRISE", "Khối thi đua số 15"),
    (
        f"{LAO_CAI}/02686",
        "HTX-AMS",
        "Hợp tác xã Dược liệu A Mú Sung",
        "COOPERATIVE",
        "ENTERPRISE",
        "Khối thi đua số 15",
    ),
    (
        f"{LAO_CAI}/02695",
        "MTTQ-TT",
        "Ủy ban MTTQ Việt Nam xã Trịnh Tường",
        "MTTQ",
        "MTTQ_SOCIO_POLITICAL",
        "Khối thi đua số 20",
    ),
    (DAI_SON, "PVHXH-DS", "Phòng Văn hóa – Xã hội", "AGENCY", "AGENCY_LOCALITY", None),
    (DAI_SON, "PKT-DS", "Phòng Kinh tế", "AGENCY", "AGENCY_LOCALITY", None),
    (DAI_SON, "THCS-DS", "Trường THCS Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (DAI_SON, "TH-DS", "Trường Tiểu học Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (DAI_SON, "MN-DS", "Trường Mầm non Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (DAI_SON, "TYT-DS", "Trạm Y tế xã Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None),
    (DAI_SON, "DN-DS1", "Công ty TNHH May Đại Sơn", "ENTERPRISE", "ENTERPRISE", None),
    (DAI_SON, "DN-DS2", "Công ty Cổ phần Cơ khí Bình Lăng", "ENTERPRISE", "ENTERPRISE", None),
    (DAI_SON, "HTX-DS", "Hợp tác xã Dịch vụ Nông nghiệp Hưng Đạo", "COOPERATIVE", "ENTERPRISE", None),
    (DAI_SON, "THON-1", "Thôn Đại Sơn 1", "VILLAGE", "AGENCY_LOCALITY", None),
    (DAI_SON, "THON-2", "Thôn Bình Lăng", "VILLAGE", "AGENCY_LOCALITY", None),
]

# Đại Sơn's 2026 reports: (unit code, day, month) — the duty says "trước ngày 01/12", so 01/12 onwards is late.
DAI_SON_REPORTS = [
    ("THCS-DS", 25, 11),
    ("TH-DS", 28, 11),
    ("MN-DS", 30, 11),
    ("TYT-DS", 3, 12),
    ("DN-DS1", 20, 11),
    ("DN-DS2", 10, 12),
    ("PVHXH-DS", 29, 11),
]  # HTX-DS does not report: it is missing
HUE_REPORTS = ["THPT-PX", "BV-KL", "DN-VYDA"]  # Huế's plan states no deadline: timeliness cannot be judged
LAO_CAI_TARGETS = {  # registrations for 2026 (đăng ký thi đua) on Lào Cai's indicators
    "THCS-LC": [("LC-38", 95.0), ("LC-40", 92.0)],
    "TYT-CD": [("LC-08", 90.0)],
    "DN-BATXAT": [("LC-34", 60.0)],
    "HTX-AMS": [("LC-28", 75.0)],
    "SKHCN-15": [("LC-24", 22.0), ("LC-26", 70.0)],
}
