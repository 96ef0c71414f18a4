"""How numbers, rates, dates and times are written on screen: Vietnamese ``1.234.567``, ``87,5 %``, dd/mm/yyyy and
Vietnam time; English ``1,234,567``, ``87.5%``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.kernel.vntime import VN_TZ

DASH = "–"


def number(value: float | int | None, lang: str = "vi", digits: int = 0) -> str:
    """``1.234.567`` (vi) or ``1,234,567`` (en); ``digits`` decimals; a dash for nothing."""
    if value is None:
        return DASH
    text = f"{value:,.{digits}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def percent_value(ratio: float | None) -> float | None:
    """A ratio (0.875) as the percentage shown and exported (87.5, one decimal)."""
    return None if ratio is None else round(ratio * 100 + 0.0, 1)


def percent(ratio: float | None, lang: str = "vi") -> str:
    """``87,5 %`` (vi, with a no-break space) or ``87.5%`` (en); a dash when nothing is expected."""
    shown = percent_value(ratio)
    if shown is None:
        return DASH
    return f"{number(shown, lang, 1)}\u00a0%" if lang == "vi" else f"{number(shown, lang, 1)}%"


def _local(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(VN_TZ)


def day(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy (a moment in Vietnam time); a dash for nothing."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value:%d/%m/%Y}"


def moment(value: datetime | str | None) -> str:
    """HH:mm dd/mm/yyyy in Vietnam time."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{_local(value):%H:%M %d/%m/%Y}"


def days(count: int | None, lang: str = "vi") -> str:
    """``12 ngày`` / ``12 days``."""
    if count is None:
        return DASH
    return f"{number(count, lang)} ngày" if lang == "vi" else f"{number(count, lang)} day{'s' if count != 1 else ''}"
