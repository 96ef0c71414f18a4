"""A deterministic generator of national-scale history: domain commands, and the events the real handlers make.

``commands(scale)`` yields the commands of five years (2026–2030) for the real 34 provinces and 3,321 communes:
the seed plans and criteria, one plan per chosen commune (xã) with ten indicators, units registered under the
communes, yearly registrations (đăng ký thi đua) with a target per indicator, yearly reports with ten values,
the sơ kết (2027) and tổng kết (2030) reports the plans' phases call for, some reviews, and award proposals (đề
nghị khen thưởng): yearly (công trạng) and at sơ kết/tổng kết (theo phong trào), walked along their routes and
decided (about half of the last year's still wait at their decider, so the award pipeline is not empty). With
``Scale.staff_titles`` = n, also the yearly emulation title of n people per unit, Lao động tiên tiến (LĐTT,
danh hiệu for individuals, decided by the head of their unit, Law 06/2022 Art. 80): the annual emulation work
besides the movement's plan, which is what brings a national history to 2–5 million events.

It streams: a unit's attributes and its yearly values come from a random generator seeded by (seed, unit, year),
so nothing is kept per unit and the commands of 100,000 units need no more memory than those of 100.
``bench.memory.history`` runs them through the **real handlers** over an in-memory unit of work.
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
REVIEWS = {2027: "SO_KET", 2030: "TONG_KET"}  # the phases' reviews (sơ kết 2026–2027, tổng kết 2026–2030)
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
    award_share: float = 0.02  # yearly Giấy khen (công trạng)
    movement_award_share: float = 0.05  # Giấy khen at sơ kết / tổng kết (theo phong trào)
    staff_titles: int = 0  # people per unit proposed each year for "Lao động tiên tiến" (0: none generated)


@dataclass(frozen=True)
class Unit:
    """A generated unit: its commune and its registration."""

    commune: Any
    command: RegisterOrgUnit

    @property
    def path(self) -> str:
        """The unit's org path."""
        return f"{self.command.parent_path}/{self.command.code}"

    @property
    def plan_id(self) -> str:
        """Its commune's plan."""
        return commune_plan_id(self.commune.code)


@dataclass(frozen=True)
class WalkAward:
    """Not a domain command: the generator's instruction to forward a proposal until it reaches its decider."""

    proposal_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class CloseStreams:
    """Not a domain command: the report, registration or proposal just written is complete (nobody reads it
    again), so the in-memory log may forget it. This is what keeps the generator's memory bounded."""


CLOSE = CloseStreams()


def at(year: int, month: int, day: int, hour: int = 9) -> datetime:
    """Business time in Vietnam."""
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


def rng_of(scale: Scale, *key: object) -> random.Random:
    """A random generator for one unit and purpose: the same for the same seed, whatever else was generated."""
    return random.Random(":".join(map(str, (scale.seed, *key))))


def commune_plan_id(commune_code: str) -> str:
    """Plan id of a generated commune plan."""
    return f"c{commune_code}-2026"


def chosen_communes(official: AdminUnitCatalog, scale: Scale) -> list[Any]:
    """All 3,321 communes at national scale; a seeded sample (in code order) for smaller sizes."""
    communes = sorted(official.communes(), key=lambda c: c.code)
    wanted = max(1, min(len(communes), -(-scale.units // scale.units_per_commune)))
    chosen = rng_of(scale, "communes").sample(communes, wanted)
    return sorted(chosen, key=lambda c: c.code) if wanted < len(communes) else communes


def _path(commune: Any) -> str:
    return f"VN/{commune.parent_code}/{commune.code}"


def _duty(code: str, path: str, period: str, text: str, deadline: str = "NONE_STATED") -> dict[str, Any]:
    month, day = (12, 15) if deadline == "BEFORE_DAY_OF_YEAR" else (None, None)
    return {
        "code": code,
        "who": "Các cơ quan, đơn vị trên địa bàn xã",
        "reporter_levels": ["UNIT"],
        "reporter_under": path,
        "reporter_kinds": [],
        "reporter_name": None,
        "to": [path],
        "via": None,
        "period": period,
        "deadline_kind": deadline,
        "deadline_month": month,
        "deadline_day": day,
        "deadline_date": None,
        "text": text,
    }


def commune_plan(commune: Any) -> list[Any]:
    """IssuePlan + RegisterCriteria of one commune's five-year plan: ten indicators, an annual report before
    15/12, sơ kết and tổng kết reports (dates per the competent guidance), Giấy khen yearly and at both reviews."""
    path, pid = _path(commune), commune_plan_id(commune.code)
    parent = PROVINCE_PLANS.get(commune.parent_code, CENTRAL_PLAN)
    duties = (
        _duty(
            "R1", path, "ANNUAL", "Báo cáo kết quả phong trào thi đua hằng năm trước ngày 15/12.", "BEFORE_DAY_OF_YEAR"
        ),
        _duty("R2", path, "SO_KET", "Báo cáo sơ kết giai đoạn 2026 - 2027 theo hướng dẫn của cấp có thẩm quyền."),
        _duty("R3", path, "TONG_KET", "Báo cáo tổng kết giai đoạn 2026 - 2030 theo hướng dẫn của cấp có thẩm quyền."),
    )
    phases = (
        {
            "code": "P1",
            "name": "Giai đoạn 2026 - 2027",
            "start_date": date(2026, 7, 1),
            "end_date": date(2027, 12, 31),
            "review": "SO_KET",
        },
        {
            "code": "P2",
            "name": "Giai đoạn 2028 - 2030",
            "start_date": date(2028, 1, 1),
            "end_date": date(2030, 12, 31),
            "review": "TONG_KET",
        },
    )
    forms = tuple(
        {"occasion": occasion, "form_code": "GK_XA", "text": "Giấy khen của Chủ tịch UBND xã"}
        for occasion in ("ANNUAL", "SO_KET", "TONG_KET")
    )
    plan = IssuePlan(
        pid,
        path,
        "KH-UBND",
        f"Kế hoạch phong trào thi đua {commune.name} giai đoạn 2026 - 2030",
        at(2026, 7, 2),
        ACTOR,
        document_number=f"{int(commune.code) % 900 + 10}",
        issue_date=date(2026, 7, 2),
        implements=(parent,),
        phases=phases,
        reporting_duties=duties,
        award_forms=forms,
    )
    indicators = [
        {
            "code": f"CT-{i:02d}",
            "name": f"Chỉ tiêu {i}",
            "unit": "%",
            "comparator": "GE",
            "threshold": 50.0 + i,
            "threshold_max": None,
            "year": None,
            "horizon": 2030,
        }
        for i in range(1, INDICATORS + 1)
    ]
    item = {"code": "TC-1", "title": "Hoàn thành các chỉ tiêu của phong trào", "indicators": indicators}
    criteria = RegisterCriteria(f"{pid}/TC", pid, path, "AGENCY_LOCALITY", at(2026, 7, 2), ACTOR, items=(item,))
    return [plan, criteria]


def units(communes: list[Any], scale: Scale) -> Iterator[Unit]:
    """The units, round-robin over the communes; each one's kind comes from its own seeded generator."""
    weights = [k[3] for k in KINDS]
    for n in range(scale.units):
        commune, index = communes[n % len(communes)], n // len(communes)
        code = f"U{commune.code}-{index:03d}"
        kind, category, prefix, _ = rng_of(scale, code).choices(KINDS, weights)[0]
        name = f"{prefix} {commune.name} số {index + 1}"
        command = RegisterOrgUnit(
            _path(commune), code, name, kind, at(2026, 3, 1 + n % 28), ACTOR, subject_category=category
        )
        yield Unit(commune, command)


def commands(scale: Scale, official: AdminUnitCatalog) -> Iterator[Any]:
    """Every command of the history, in business order (deterministic for a given ``scale``)."""
    for seed in load_seed_files():
        plan = issue_plan_command(seed)
        yield plan
        yield from criteria_commands(seed, plan)
    communes = chosen_communes(official, scale)
    for commune in communes:
        yield from commune_plan(commune)
    yield from (u.command for u in units(communes, scale))
    for year in YEARS[: scale.years]:
        yield from year_commands(year, communes, scale)


def year_commands(year: int, communes: list[Any], scale: Scale) -> Iterator[Any]:
    """One year: registrations (July), annual reports (December), the review's reports, awards."""
    for unit in units(communes, scale):
        values = _values(rng_of(scale, unit.command.code, year, "targets"), 50)
        yield RegisterTargets(
            f"dk-{unit.command.code}-{year}", unit.plan_id, unit.path, year, values, at(year, 7, 20), ACTOR
        )
        yield CLOSE
    review = REVIEWS.get(year)
    periods = [(str(year), 12), *([(f"{review}_{year}", 11)] if review else [])]
    for period, month in periods:
        for unit in units(communes, scale):
            yield from _report(unit, period, at(year, month, 1, 15), scale)
    last = YEARS[scale.years - 1]
    occasions = [("ANNUAL", scale.award_share), *([(review, scale.movement_award_share)] if review else [])]
    for occasion, share in occasions:
        for unit in units(communes, scale):
            draw = rng_of(scale, unit.command.code, year, occasion)
            if draw.random() < share:
                yield from _award(year, unit, occasion, decided=year < last or draw.random() < 0.5)
    for unit in units(communes, scale) if scale.staff_titles else ():
        draw = rng_of(scale, unit.command.code, year, "LDTT")
        for index, person in enumerate(staff(unit, scale.staff_titles)):
            yield from _staff_title(year, unit, index, person, decided=year < last or draw.random() < 0.5)


def _report(unit: Unit, period: str, month_start: datetime, scale: Scale) -> Iterator[Any]:
    rng = rng_of(scale, unit.command.code, period)
    day = rng.randint(1, 24)  # annual: after the 14th is late
    narrative = f"Báo cáo kết quả phong trào thi đua kỳ {period}"
    yield SubmitReport(
        unit.plan_id,
        unit.path,
        period,
        month_start.replace(day=day),
        ACTOR,
        values=_values(rng, 55),
        narrative=narrative,
    )
    if rng.random() < scale.review_share:
        report = f"{unit.plan_id}:{unit.command.code}:{period}"
        yield ReviewReport(report, unit.command.parent_path, "ACCEPTED", month_start.replace(day=28), ACTOR)
    yield CLOSE


def _values(rng: random.Random, base: float) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"indicator_code": f"CT-{i:02d}", "value": round(base + i + rng.uniform(-10, 10), 1), "note": None}
        for i in range(1, INDICATORS + 1)
    )


FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang")
GIVEN = (
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phúc",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Yến",
)


def staff(unit: Unit, count: int) -> list[str]:
    """``count`` distinct people of ``unit`` (the same ones every year): names drawn once per unit."""
    combos = len(FAMILY) * len(MIDDLE) * len(GIVEN)
    start = random.Random(unit.command.code).randrange(combos)
    names = []
    for k in range(min(count, combos)):
        n = (start + k * 7919) % combos  # 7919 is prime and does not divide combos: distinct for k < combos
        names.append(
            f"{FAMILY[n % len(FAMILY)]} {MIDDLE[n // len(FAMILY) % len(MIDDLE)]} "
            f"{GIVEN[n // (len(FAMILY) * len(MIDDLE))]}"
        )
    return names


EMPOWERED = ("ENTERPRISE", "COOPERATIVE")  # heads who decide their staff's titles (Law Art. 80(4))


def title_decider(unit: Unit) -> str:
    """Who decides a person's Lao động tiên tiến: an enterprise's or co-op's director; for the other units under a
    commune (schools, phòng, villages, MTTQ), the Chủ tịch UBND xã (Law Art. 80(2)(3), NĐ 129/2025)."""
    return unit.path if unit.command.unit_kind in EMPOWERED else unit.command.parent_path


def _staff_title(year: int, unit: Unit, index: int, person: str, decided: bool) -> Iterator[Any]:
    """Lao động tiên tiến for one person, proposed by their unit and decided by the competent head."""
    pid = f"ld-{unit.command.code}-{year}-{index:03d}"
    yield ProposeAward(
        pid,
        unit.path,
        "INDIVIDUAL",
        person,
        unit.path,
        "LDTT",
        "ANNUAL",
        f"Hoàn thành tốt nhiệm vụ năm {year}",
        at(year, 12, 20),
        ACTOR,
    )
    yield WalkAward(pid, at(year, 12, 21))
    if decided:
        yield DecideAward(
            pid,
            title_decider(unit),
            "APPROVED",
            at(year, 12, 22),
            ACTOR,
            f"{year % 100}LĐ/QĐ-{unit.command.code}",
            date(year, 12, 22),
        )
    yield CLOSE


def _award(year: int, unit: Unit, occasion: str, decided: bool) -> Iterator[Any]:
    """Propose, forward to the decider, decide (about half of the last year's proposals still wait)."""
    tag = str(year) if occasion == "ANNUAL" else f"{occasion}_{year}"
    pid, name = f"gk-{unit.command.code}-{tag}", unit.command.name
    yield ProposeAward(
        pid,
        unit.path,
        "COLLECTIVE",
        name,
        unit.path,
        "GK_XA",
        occasion,
        "Thành tích xuất sắc trong phong trào thi đua",
        at(year, 12, 29),
        ACTOR,
        plan_id=unit.plan_id,
    )
    yield WalkAward(pid, at(year, 12, 30))
    if decided:
        number = f"{year % 100}{unit.command.code[-3:]}{'' if occasion == 'ANNUAL' else occasion[0]}/QĐ-UBND"
        yield DecideAward(
            pid, unit.command.parent_path, "APPROVED", at(year, 12, 31), ACTOR, number, date(year, 12, 31)
        )
    yield CLOSE
