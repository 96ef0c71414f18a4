"""The demo's cast: units registered under Huế, Lào Cai and xã Đại Sơn (names invented, codes official)."""

from __future__ import annotations

DAI_SON = "VN/31/11086"
HUE = "VN/46"
LAO_CAI = "VN/15"

# Lào Cai's khối thi đua (reference data, registered before the units naming them): the plan says there are 21, with
# neither names nor members; these two are invented for the demo. (code, name, members listed by the bloc)
LAO_CAI_BLOCS: list[tuple[str, str, tuple[str, ...]]] = [
    ("15-K01", "Khối thi đua số 1 (các cơ quan tổng hợp)", ()),
    ("15-K12", "Khối thi đua số 12 (các xã, phường)", (f"{LAO_CAI}/02683", f"{LAO_CAI}/02647", f"{LAO_CAI}/02671")),
]

# (parent path, code, name, unit kind, subject category, khối/cụm thi đua code, agency type)
UNITS: list[tuple[str, str, str, str, str, str | None, str | None]] = [
    (HUE, "SKHCN-46", "Sở Khoa học và Công nghệ thành phố Huế", "AGENCY", "AGENCY_LOCALITY", None, "SO_KHCN"),
    (HUE, "SNV-46", "Sở Nội vụ thành phố Huế", "AGENCY", "AGENCY_LOCALITY", None, "SO_NOI_VU"),
    (HUE, "SNNMT-46", "Sở Nông nghiệp và Môi trường thành phố Huế", "AGENCY", "AGENCY_LOCALITY", None, "SO_NNMT"),
    (f"{HUE}/19753", "THPT-PX", "Trường THPT Phú Xuân", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (f"{HUE}/19774", "BV-KL", "Bệnh viện Kim Long", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (f"{HUE}/19777", "DN-VYDA", "Công ty Cổ phần Công nghệ Vỹ Dạ", "ENTERPRISE", "ENTERPRISE", None, None),
    (f"{HUE}/19789", "HTX-TH", "Hợp tác xã Nông nghiệp Thuận Hóa", "COOPERATIVE", "ENTERPRISE", None, None),
    (LAO_CAI, "SKHCN-15", "Sở Khoa học và Công nghệ tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "15-K01", "SO_KHCN"),
    (LAO_CAI, "SNV-15", "Sở Nội vụ tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "15-K01", "SO_NOI_VU"),
    (LAO_CAI, "STC-15", "Sở Tài chính tỉnh Lào Cai", "AGENCY", "AGENCY_LOCALITY", "15-K01", "SO_TAI_CHINH"),
    (f"{LAO_CAI}/02647", "THCS-LC", "Trường THCS Lào Cai", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (f"{LAO_CAI}/02671", "TYT-CD", "Trạm Y tế Cam Đường", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (f"{LAO_CAI}/02683", "DN-BATXAT", "Công ty TNHH Chè Bát Xát", "ENTERPRISE", "ENTERPRISE", None, None),
    (f"{LAO_CAI}/02686", "HTX-AMS", "Hợp tác xã Dược liệu A Mú Sung", "COOPERATIVE", "ENTERPRISE", None, None),
    (f"{LAO_CAI}/02695", "MTTQ-TT", "Ủy ban MTTQ Việt Nam xã Trịnh Tường", "MTTQ", "MTTQ_SOCIO_POLITICAL", None, None),
    (DAI_SON, "PVHXH-DS", "Phòng Văn hóa – Xã hội", "AGENCY", "AGENCY_LOCALITY", None, "PHONG_VHXH"),
    (DAI_SON, "PKT-DS", "Phòng Kinh tế", "AGENCY", "AGENCY_LOCALITY", None, "PHONG_KINH_TE"),
    (DAI_SON, "THCS-DS", "Trường THCS Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (DAI_SON, "TH-DS", "Trường Tiểu học Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (DAI_SON, "MN-DS", "Trường Mầm non Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (DAI_SON, "TYT-DS", "Trạm Y tế xã Đại Sơn", "PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", None, None),
    (DAI_SON, "DN-DS1", "Công ty TNHH May Đại Sơn", "ENTERPRISE", "ENTERPRISE", None, None),
    (DAI_SON, "DN-DS2", "Công ty Cổ phần Cơ khí Bình Lăng", "ENTERPRISE", "ENTERPRISE", None, None),
    (DAI_SON, "HTX-DS", "Hợp tác xã Dịch vụ Nông nghiệp Hưng Đạo", "COOPERATIVE", "ENTERPRISE", None, None),
    (DAI_SON, "THON-1", "Thôn Đại Sơn 1", "VILLAGE", "AGENCY_LOCALITY", None, None),
    (DAI_SON, "THON-2", "Thôn Bình Lăng", "VILLAGE", "AGENCY_LOCALITY", None, None),
]

# Đại Sơn's 2026 reports: (unit code, day, month) — the units' duty says "trước ngày 01/12", so 01/12 onwards is late;
# Phòng Kinh tế reports under its own duty, which states no date (never late); Phòng VH-XH receives, not reports.
DAI_SON_REPORTS = [
    ("THCS-DS", 25, 11),
    ("TH-DS", 28, 11),
    ("MN-DS", 30, 11),
    ("TYT-DS", 3, 12),
    ("DN-DS1", 20, 11),
    ("DN-DS2", 10, 12),
    ("PKT-DS", 5, 12),
]  # HTX-DS does not report: it is missing
UNDATED_DUTY = {"PKT-DS"}  # reporters held to a duty without a deadline
# Huế's plan states no deadline, so timeliness cannot be judged; its duty binds the sở, ban, ngành and the phường, xã,
# not the units inside them: Bệnh viện Kim Long reports anyway and is counted as an extra report, not an expected one.
HUE_REPORTS = [f"{HUE}/SNNMT-46", f"{HUE}/19753", f"{HUE}/19774/BV-KL"]
# Registrations for 2026 (đăng ký thi đua) on Lào Cai's indicators, each by a unit whose target it is: the sở for
# province-wide figures (LC-24, LC-26 and its condition LC-26.1 "gắn với doanh nghiệp", LC-23, LC-29), a xã for its
# own (LC-36 "mỗi địa phương", LC-04/LC-05 per unit).
LAO_CAI_TARGETS = {
    f"{LAO_CAI}/SKHCN-15": [("LC-24", 22.0), ("LC-26", 70.0), ("LC-26.1", 50.0)],
    f"{LAO_CAI}/STC-15": [("LC-23", 1.2), ("LC-29", 3.0)],
    f"{LAO_CAI}/02683": [("LC-36", 1.0), ("LC-04", 1.0), ("LC-05", 100.0)],
}
