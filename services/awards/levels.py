"""Levels (cấp), authorities (người có thẩm quyền) and route steps of the award-authority matrix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

DISTRICT_ABOLISHED_ON = date(2025, 7, 1)
"""District tier (cấp huyện) ended 01/7/2025: amended Constitution Art. 110, Luật TCCQĐP 72/2025/QH15 [V]."""


class Level(StrEnum):
    """Tier that proposes or decides, lowest first; DISTRICT (cấp huyện) exists only before 01/7/2025."""

    UNIT = "UNIT"  # cơ quan, đơn vị có tư cách pháp nhân, doanh nghiệp, hợp tác xã
    COMMUNE = "COMMUNE"  # cấp xã: xã, phường, đặc khu (thị trấn before 01/7/2025)
    DISTRICT = "DISTRICT"  # cấp huyện, abolished 01/7/2025
    PROVINCE = "PROVINCE"  # cấp tỉnh: tỉnh, thành phố trực thuộc trung ương
    CENTRAL = "CENTRAL"  # trung ương

    @property
    def rank(self) -> int:
        """Position from the bottom (UNIT = 0)."""
        return list(Level).index(self)

    @property
    def label_vi(self) -> str:
        """Vietnamese name of the level."""
        return _LEVEL_LABELS[self]

    @property
    def council_vi(self) -> str:
        """The emulation council (Hội đồng TĐKT, Law Art. 90) that advises at this level."""
        return f"Hội đồng Thi đua – Khen thưởng {_COUNCIL_SUFFIX[self]}"


_LEVEL_LABELS = {
    Level.UNIT: "cơ quan, đơn vị",
    Level.COMMUNE: "cấp xã",
    Level.DISTRICT: "cấp huyện",
    Level.PROVINCE: "cấp tỉnh",
    Level.CENTRAL: "trung ương",
}
_COUNCIL_SUFFIX = {
    Level.UNIT: "cơ quan, đơn vị",
    Level.COMMUNE: "cấp xã",
    Level.DISTRICT: "cấp huyện",
    Level.PROVINCE: "cấp tỉnh",
    Level.CENTRAL: "Trung ương",
}


def levels_on(day: date) -> tuple[Level, ...]:
    """The levels that exist on ``day``, lowest first."""
    if day >= DISTRICT_ABOLISHED_ON:
        return tuple(level for level in Level if level is not Level.DISTRICT)
    return tuple(Level)


class Authority(StrEnum):
    """A person who proposes, submits (trình) or decides (quyết định) an award."""

    CHU_TICH_NUOC = "CHU_TICH_NUOC"  # Chủ tịch nước
    THU_TUONG = "THU_TUONG"  # Thủ tướng Chính phủ
    BO_TRUONG = "BO_TRUONG"  # Bộ trưởng, thủ trưởng cơ quan ngang bộ, ban, ngành trung ương
    CHU_TICH_UBND_TINH = "CHU_TICH_UBND_TINH"  # Chủ tịch UBND cấp tỉnh
    GIAM_DOC_SO = "GIAM_DOC_SO"  # Giám đốc sở, thủ trưởng cơ quan chuyên môn thuộc UBND tỉnh
    CHU_TICH_UBND_HUYEN = "CHU_TICH_UBND_HUYEN"  # Chủ tịch UBND cấp huyện (until 30/6/2025)
    CHU_TICH_UBND_XA = "CHU_TICH_UBND_XA"  # Chủ tịch UBND cấp xã
    THU_TRUONG_DON_VI = "THU_TRUONG_DON_VI"  # thủ trưởng cơ quan, đơn vị, giám đốc doanh nghiệp
    HOI_DONG_TDKT = "HOI_DONG_TDKT"  # Hội đồng Thi đua – Khen thưởng of the deciding office (Law Art. 83(1), 90)

    @property
    def level(self) -> Level:
        """The level this authority sits at (a council sits at every level: it is never a decider)."""
        if self is Authority.HOI_DONG_TDKT:
            raise ValueError("the emulation council (Hội đồng TĐKT) sits at every level; it proposes, never decides")
        return _AUTHORITY_LEVELS[self]

    @property
    def label_vi(self) -> str:
        """Vietnamese title."""
        return _AUTHORITY_LABELS[self]


_AUTHORITY_LEVELS = {
    Authority.CHU_TICH_NUOC: Level.CENTRAL,
    Authority.THU_TUONG: Level.CENTRAL,
    Authority.BO_TRUONG: Level.CENTRAL,
    Authority.CHU_TICH_UBND_TINH: Level.PROVINCE,
    Authority.GIAM_DOC_SO: Level.PROVINCE,
    Authority.CHU_TICH_UBND_HUYEN: Level.DISTRICT,
    Authority.CHU_TICH_UBND_XA: Level.COMMUNE,
    Authority.THU_TRUONG_DON_VI: Level.UNIT,
}
_AUTHORITY_LABELS = {
    Authority.CHU_TICH_NUOC: "Chủ tịch nước",
    Authority.THU_TUONG: "Thủ tướng Chính phủ",
    Authority.BO_TRUONG: "Bộ trưởng, thủ trưởng cơ quan trung ương",
    Authority.CHU_TICH_UBND_TINH: "Chủ tịch Ủy ban nhân dân cấp tỉnh",
    Authority.GIAM_DOC_SO: "Giám đốc sở, thủ trưởng cơ quan chuyên môn thuộc Ủy ban nhân dân cấp tỉnh",
    Authority.CHU_TICH_UBND_HUYEN: "Chủ tịch Ủy ban nhân dân cấp huyện",
    Authority.CHU_TICH_UBND_XA: "Chủ tịch Ủy ban nhân dân cấp xã",
    Authority.THU_TRUONG_DON_VI: "Thủ trưởng cơ quan, đơn vị",
    Authority.HOI_DONG_TDKT: "Hội đồng Thi đua – Khen thưởng (bình xét, đề nghị)",
}


class Seat(StrEnum):
    """Where a person who acts on a proposal sits, seen from the proposer: its own office, the sở that manages it,
    or an administrative tier above it. One person is one (seat, authority): nobody acts twice on a proposal."""

    OWN = "OWN"  # the proposing org unit itself (its head, or its council)
    SO = "SO"  # the sở (cơ quan chuyên môn thuộc UBND tỉnh) managing a unit inside it (Law Art. 80(1))
    COMMUNE = "COMMUNE"
    DISTRICT = "DISTRICT"  # before 01/7/2025
    PROVINCE = "PROVINCE"
    CENTRAL = "CENTRAL"


HEAD = {
    Seat.SO: Authority.GIAM_DOC_SO,
    Seat.COMMUNE: Authority.CHU_TICH_UBND_XA,
    Seat.DISTRICT: Authority.CHU_TICH_UBND_HUYEN,
    Seat.PROVINCE: Authority.CHU_TICH_UBND_TINH,
    Seat.CENTRAL: Authority.BO_TRUONG,
}
"""Who heads a seat above the proposer: reviews and submits upward when the proposal passes (Law Art. 83)."""

SEAT_LEVEL = {
    Seat.SO: Level.PROVINCE,
    Seat.COMMUNE: Level.COMMUNE,
    Seat.DISTRICT: Level.DISTRICT,
    Seat.PROVINCE: Level.PROVINCE,
    Seat.CENTRAL: Level.CENTRAL,
}


class Role(StrEnum):
    """What a step does with the proposal."""

    PROPOSE = "PROPOSE"  # đề nghị: bình xét, lập tờ trình
    REVIEW = "REVIEW"  # thẩm định và trình cấp trên
    DECIDE = "DECIDE"  # quyết định khen thưởng


@dataclass(frozen=True)
class RouteStep:
    """One hop of a proposal: the level, what happens there, who signs, and where that person sits."""

    level: Level
    role: Role
    authority: Authority
    seat: Seat = Seat.OWN

    @property
    def person(self) -> tuple[Seat, Authority]:
        """Who acts: one office holder (or council) at one seat."""
        return self.seat, self.authority

    def __str__(self) -> str:
        return f"{self.level} {self.role} {self.authority}"
