"""Reporting periods offered on screen: the movement's years 2026–2030, its sơ kết (2027) and tổng kết (2030)
(QĐ 462/QĐ-TTg; the seed plans' phases); any period the domain accepts may be typed in the address."""

from __future__ import annotations

from datetime import date

from projections.rollup.figures import period_label
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.vntime import today_vn
from services.reporting.model import period_kind

FIRST_YEAR, LAST_YEAR = 2026, 2030
PERIODS = [str(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)] + ["SO_KET_2027", "TONG_KET_2030"]


def today() -> date:
    """Today in Vietnam."""
    return today_vn()


def default_period(on: date | None = None) -> str:
    """This year's period (the movement's first or last year outside 2026–2030)."""
    year = (on or today()).year
    return str(min(max(year, FIRST_YEAR), LAST_YEAR))


def checked(period: str | None, on: date | None = None) -> str:
    """``period`` if the domain knows it (422 INVALID_PERIOD otherwise); this year's without one."""
    if not period:
        return default_period(on)
    if period_kind(period) is None:
        raise DomainRefusal(
            "INVALID_PERIOD",
            Kind.INVALID,
            f"Kỳ báo cáo '{period}' không hợp lệ; ví dụ 2026, SO_KET_2027, TONG_KET_2030.",
            f"Invalid period '{period}'; e.g. 2026, SO_KET_2027, TONG_KET_2030.",
            value=period,
        )
    return period


def choices(current: str) -> list[tuple[str, str]]:
    """The periods of the selector, ``(value, label)``, with ``current`` among them."""
    values = PERIODS if current in PERIODS else [*PERIODS, current]
    return [(p, period_label(p)) for p in values]
