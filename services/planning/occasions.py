"""Occasions (dịp sơ kết, tổng kết) of a plan, with their dates: duties and awards hang on them.

A phase that ends with a review holds an occasion: its window (``review_from``…``review_to``) as the plan states it
("năm 2027" = the whole year, "tháng 12/2027", "quý IV năm 2030"), what it is held with ("cùng với Đại hội thi đua
tỉnh lần thứ II") and the plan it follows. Its code names the report period and the award occasion alike:
``SO_KET_2027``, ``TONG_KET_2030`` (the window's year; the phase's last year when the plan states no window).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

REVIEW_KINDS = ("SO_KET", "TONG_KET")


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class Occasion:
    """One sơ kết or tổng kết of a plan."""

    code: str
    kind: str
    year: int
    phase: str
    date_from: date | None
    date_to: date | None
    stated_as: str | None
    held_with: str | None
    follows: str | None
    text: str | None

    def as_dict(self) -> dict[str, Any]:
        """The occasion as JSON-ready data (dates as ISO strings)."""
        return {
            "code": self.code,
            "kind": self.kind,
            "year": self.year,
            "phase": self.phase,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "stated_as": self.stated_as,
            "held_with": self.held_with,
            "follows": self.follows,
            "text": self.text,
        }


def plan_occasions(phases: Iterable[Mapping[str, Any]]) -> list[Occasion]:
    """The plan's occasions in phase order (phases as events or JSON columns hold them)."""
    found = []
    for phase in phases:
        kind = phase.get("review")
        if kind not in REVIEW_KINDS:
            continue
        start, end = _day(phase.get("review_from")), _day(phase.get("review_to"))
        year = (end or _day(phase["end_date"]) or date.min).year
        found.append(
            Occasion(
                f"{kind}_{year}",
                kind,
                year,
                phase.get("code") or "",
                start,
                end,
                phase.get("review_period"),
                phase.get("review_with"),
                phase.get("review_follows"),
                phase.get("review_text"),
            )
        )
    return found


def occasion_for(phases: Iterable[Mapping[str, Any]], kind: str, day: date) -> Occasion | None:
    """The plan's occasion of ``kind`` an award proposed on ``day`` belongs to: the first not over yet, else the
    last one (a late proposal still belongs to the last review); None when the plan holds none of that kind."""
    of_kind = [o for o in plan_occasions(phases) if o.kind == kind]
    upcoming = [o for o in of_kind if (o.date_to or date(o.year, 12, 31)) >= day]
    return upcoming[0] if upcoming else (of_kind[-1] if of_kind else None)
