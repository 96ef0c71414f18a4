"""A deterministic generator of national-scale history: domain commands, and the events the real handlers make.

``commands(scale)`` yields the commands of five years (2026–2030) for the real 34 provinces and 3,321 communes:
the seed plans and criteria, one plan per chosen commune (xã) with ten indicators, units registered under the
communes, yearly registrations (đăng ký thi đua) with a target per indicator, yearly reports with ten values,
some reviews, and award proposals (đề nghị khen thưởng) walked along their routes to a decision.

``generate(scale)`` runs those commands through the **real handlers** over an in-memory unit of work
(:mod:`bench.memory`), so every event is what the API would have appended; no database is touched.
The same seed gives the same commands and the same events (event ids included).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.awards.commands import DecideAward, ProposeAward
from services.kernel.adminunits import AdminUnitCatalog
from services.planning.commands import IssuePlan, RegisterCriteria
from services.planning.seed_import import criteria_commands, issue_plan_command, load_seed_files
from services.registry.commands import RegisterOrgUnit
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
YEARS = (2026, 2027, 2028, 2029, 2030)
CENTRAL_PLAN = "vn-462-2026"
PROVINCE_PLANS = {"15": "lao-cai-draft-2026-05", "31": "hai-phong-2159-2026", "46": "hue-220-2026"}
INDICATORS = 10
ACTOR: dict[str, Any] = {
    "actor_id": "bench-generator",
    "kind": "SYSTEM",
    "display_name": "Sinh dữ liệu đo hiệu năng",
    "org_unit_path": None,
    "roles": ["operator"],
}
# (unit kind, subject category, name prefix, weight)
KINDS = [
    ("PUBLIC_SERVICE_UNIT", "AGENCY_LOCALITY", "Trường", 40),
    ("AGENCY", "AGENCY_LOCALITY", "Phòng", 10),
    ("ENTERPRISE", "ENTERPRISE", "Công ty", 25),
    ("COOPERATIVE", "ENTERPRISE", "Hợp tác xã", 8),
    ("VILLAGE", "AGENCY_LOCALITY", "Thôn", 12),
    ("MTTQ", "MTTQ_SOCIO_POLITICAL", "Ủy ban MTTQ", 5),
]


@dataclass(frozen=True)
class Scale:
    """How much history: ``units`` units over ``years`` (from 2026), spread over communes (~30 per commune)."""

    units: int = 100_000
    years: int = 5
    seed: int = 2026
    units_per_commune: int = 30
    review_share: float = 0.2
    award_share: float = 0.02


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """Business time in Vietnam."""
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


def commune_plan_id(commune_code: str) -> str:
    """Plan id of a generated commune plan."""
    return f"c{commune_code}-2026"


def chosen_communes(official: AdminUnitCatalog, scale: Scale, rng: random.Random) -> list[Any]:
    """All 3,321 communes at national scale; a seeded sample (in code order) for smaller sizes."""
    communes = sorted(official.communes(), key=lambda c: c.code)
    wanted = max(1, min(len(communes), -(-scale.units // scale.units_per_commune)))
    return sorted(rng.sample(communes, wanted), key=lambda c: c.code) if wanted < len(communes) else communes


def _path(commune: Any) -> str:
    return f"VN/{commune.parent_code}/{commune.code}"


def commune_plan(commune: Any) -> list[Any]:
    """IssuePlan + RegisterCriteria of one commune's five-year plan (ten indicators, an annual duty)."""
    path, pid = _path(commune), commune_plan_id(commune.code)
    parent = PROVINCE_PLANS.get(commune.parent_code, CENTRAL_PLAN)
    duty = {
        "code": "R1", "who": "Các cơ quan, đơn vị trên địa bàn xã", "reporter_levels": ["UNIT"],
        "reporter_under": path, "reporter_kinds": [], "reporter_name": None, "to": [path], "via": None,
        "period": "ANNUAL", "deadline_kind": "BEFORE_DAY_OF_YEAR", "deadline_month": 12, "deadline_day": 15,
        "deadline_date": None, "text": "Báo cáo kết quả phong trào thi đua hằng năm trước ngày 15/12.",
    }  # fmt: skip
    phases = (
        {"code": "P1", "name": "Giai đoạn 2026 - 2027", "start_date": date(2026, 7, 1),
         "end_date": date(2027, 12, 31), "review": "SO_KET"},
        {"code": "P2", "name": "Giai đoạn 2028 - 2030", "start_date": date(2028, 1, 1),
         "end_date": date(2030, 12, 31), "review": "TONG_KET"},
    )  # fmt: skip
    forms = ({"occasion": "ANNUAL", "form_code": "GK_XA", "text": "Giấy khen của Chủ tịch UBND xã"},)
    plan = IssuePlan(
        pid, path, "KH-UBND", f"Kế hoạch phong trào thi đua {commune.name} giai đoạn 2026 - 2030",
        at(2026, 7, 2), ACTOR, document_number=f"{int(commune.code) % 900 + 10}", issue_date=date(2026, 7, 2),
        implements=(parent,), phases=phases, reporting_duties=(duty,), award_forms=forms,
    )  # fmt: skip
    indicators = [
        {"code": f"CT-{i:02d}", "name": f"Chỉ tiêu {i}", "unit": "%", "comparator": "GE", "threshold": 50.0 + i,
         "threshold_max": None, "year": None, "horizon": 2030}
        for i in range(1, INDICATORS + 1)
    ]  # fmt: skip
    item = {"code": "TC-1", "title": "Hoàn thành các chỉ tiêu của phong trào", "indicators": indicators}
    criteria = RegisterCriteria(f"{pid}/TC", pid, path, "AGENCY_LOCALITY", at(2026, 7, 2), ACTOR, items=(item,))
    return [plan, criteria]


def _units(communes: list[Any], scale: Scale, rng: random.Random) -> Iterator[tuple[Any, RegisterOrgUnit]]:
    weights = [k[3] for k in KINDS]
    for n in range(scale.units):
        commune = communes[n % len(communes)]
        kind, category, prefix, _ = rng.choices(KINDS, weights)[0]
        code = f"U{commune.code}-{n // len(communes):03d}"
        name = f"{prefix} {commune.name} số {n // len(communes) + 1}"
        when = at(2026, 3, 1 + n % 28)
        yield commune, RegisterOrgUnit(_path(commune), code, name, kind, when, ACTOR, subject_category=category)


def commands(scale: Scale, official: AdminUnitCatalog) -> Iterator[Any]:
    """Every command of the history, in business order (deterministic for a given ``scale``)."""
    rng = random.Random(scale.seed)
    for seed in load_seed_files():
        plan = issue_plan_command(seed)
        yield plan
        yield from criteria_commands(seed, plan)
    communes = chosen_communes(official, scale, rng)
    for commune in communes:
        yield from commune_plan(commune)
    units = list(_units(communes, scale, rng))
    yield from (cmd for _, cmd in units)
    for year in YEARS[: scale.years]:
        yield from _year(year, units, scale, rng)


def _values(rng: random.Random, base: float) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"indicator_code": f"CT-{i:02d}", "value": round(base + i + rng.uniform(-10, 10), 1), "note": None}
        for i in range(1, INDICATORS + 1)
    )


def _year(year: int, units: list[tuple[Any, RegisterOrgUnit]], scale: Scale, rng: random.Random) -> Iterator[Any]:
    for commune, unit in units:
        path, pid = f"{unit.parent_path}/{unit.code}", commune_plan_id(commune.code)
        yield RegisterTargets(f"dk-{unit.code}-{year}", pid, path, year, _values(rng, 50), at(year, 7, 20), ACTOR)
    for commune, unit in units:
        path, pid = f"{unit.parent_path}/{unit.code}", commune_plan_id(commune.code)
        day = rng.randint(1, 24)  # after the 14th: late
        yield SubmitReport(pid, path, str(year), at(year, 12, day, 15), ACTOR, values=_values(rng, 55),
                           narrative=f"Báo cáo kết quả phong trào thi đua năm {year}")  # fmt: skip
        if rng.random() < scale.review_share:
            yield ReviewReport(f"{pid}:{unit.code}:{year}", unit.parent_path, "ACCEPTED", at(year, 12, 28), ACTOR)
    for commune, unit in units:
        if rng.random() < scale.award_share:
            yield from _award(year, commune, unit)


def _award(year: int, commune: Any, unit: RegisterOrgUnit) -> Iterator[Any]:
    pid, path = f"gk-{unit.code}-{year}", f"{unit.parent_path}/{unit.code}"
    yield ProposeAward(pid, path, "COLLECTIVE", unit.name, path, "GK_XA", "ANNUAL",
                       "Thành tích xuất sắc trong phong trào thi đua", at(year, 12, 29), ACTOR,
                       plan_id=commune_plan_id(commune.code))  # fmt: skip
    yield WalkAward(pid, at(year, 12, 30))
    number = f"{year % 100}{unit.code[-3:]}/QĐ-UBND"
    yield DecideAward(pid, unit.parent_path, "APPROVED", at(year, 12, 31), ACTOR, number, date(year, 12, 31))


@dataclass(frozen=True)
class WalkAward:
    """Not a domain command: the generator's instruction to forward a proposal until it reaches its decider."""

    proposal_id: str
    occurred_at: datetime
