"""Award forms a unit may propose under the plans above it, per occasion, with the decider and the route.

Which forms a plan offers is decided by ``services.awards.handlers.plan_allows`` (the rule ``ProposeAward``
checks), one allowance at a time so the basis (a named form, BY_AUTHORITY, CAP_TREN, HCLD) stays visible. The
route is ``AuthorityMatrix.route`` placed on the unit's ancestors by ``services.awards.routing``, the same
placement ``ProposeAward`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from services.awards import AuthorityMatrix, AwardForm, Level, RouteStep
from services.awards.handlers import plan_allows
from services.awards.routing import unit_parent
from services.kernel.errors import ThiduaError
from services.planning.model import BY_AUTHORITY, CAP_TREN, HCLD, Plan

from .units import UnitFacts

PSEUDO_CODES = (BY_AUTHORITY, CAP_TREN, HCLD)
UNIT_NOMINEES = frozenset({"INDIVIDUAL", "COLLECTIVE"})  # an agency or enterprise nominates people and teams


@dataclass(frozen=True)
class Offer:
    """One form a unit may propose under a plan for an occasion, and the steps it travels."""

    plan_id: str
    occasion: str
    basis: str  # the plan's allowance: a named form code, BY_AUTHORITY, CAP_TREN or HCLD
    text: str | None
    form: AwardForm
    subjects: tuple[str, ...]
    steps: tuple[RouteStep, ...]


def _parent(unit: UnitFacts) -> Level:
    return unit_parent(unit.path) if unit.level == "UNIT" else Level.COMMUNE


def route_steps(matrix: AuthorityMatrix, form_code: str, unit: UnitFacts, on: date) -> list[RouteStep]:
    """The matrix route from ``unit`` for ``form_code``; raises AuthorityMismatch when no decider is reachable."""
    return matrix.route(form_code, Level(unit.level), on, unit_parent=_parent(unit))


def nominees(unit: UnitFacts) -> frozenset[str]:
    """Nominee kinds (đối tượng khen thưởng) a unit can put forward from its own subtree."""
    if unit.level != "UNIT":
        return frozenset({"INDIVIDUAL", "COLLECTIVE", "HOUSEHOLD", "COMMUNE", "VILLAGE"})
    return UNIT_NOMINEES | ({"HOUSEHOLD"} if unit.kind == "VILLAGE" else set())


Allowance = tuple[str, str, str | None]  # occasion, form code (or pseudo code), the plan's wording
Proposer = tuple[str, Level, frozenset[str]]  # level, the level a UNIT sits under, nominee kinds


def _offer(
    plan: Plan, allowance: Allowance, code: str, proposer: Proposer, matrix: AuthorityMatrix, on: date
) -> Offer | None:
    occasion, basis, text = allowance
    level, parent, kinds = proposer
    try:
        if not plan_allows(plan, code, occasion, matrix, on):
            return None
        form = matrix.form(code, on)
        steps = matrix.route(code, Level(level), on, unit_parent=parent)
    except (ThiduaError, ValueError):  # not in force on the day, or no competent decider on the unit's path
        return None
    subjects = tuple(str(s) for s in form.subjects if str(s) in kinds)
    return Offer(plan.plan_id, occasion, basis, text, form, subjects, tuple(steps)) if subjects else None


@lru_cache(maxsize=4096)
def _offers(
    plan_id: str,
    issuer_level: str,
    allowances: tuple[Allowance, ...],
    proposer: Proposer,
    matrix: AuthorityMatrix,
    on: date,
) -> tuple[Offer, ...]:
    """Offers of a plan to any proposer of the same shape (cached: ~100,000 units share a few dozen shapes)."""
    found: dict[tuple[str, str], Offer] = {}
    for allowance in allowances:
        occasion, code, _ = allowance
        stub = Plan(
            plan_id,
            {"level": issuer_level},
            None,
            "",
            None,
            "",
            [],
            [],
            [],
            [{"occasion": occasion, "form_code": code}],
        )
        candidates = matrix.codes(on) if code in PSEUDO_CODES else [code]
        expanded = [o for c in candidates if (o := _offer(stub, allowance, c, proposer, matrix, on))]
        for o in sorted(expanded, key=lambda o: (-o.steps[-1].level.rank, o.form.form_code)):
            found.setdefault((o.occasion, o.form.form_code), o)
    return tuple(found.values())


def offers(plan: dict[str, Any], unit: UnitFacts, matrix: AuthorityMatrix, on: date) -> list[Offer]:
    """What ``unit`` may propose under ``plan`` on ``on``, one entry per occasion and form (first basis wins).

    Each allowance is checked alone with ``plan_allows`` so its basis stays visible.
    """
    allowances = tuple((a["occasion"], a["form_code"], a.get("text")) for a in plan["award_forms"])
    proposer = (unit.level, _parent(unit), nominees(unit))
    return list(_offers(plan["plan_id"], plan["issuer"]["level"], allowances, proposer, matrix, on))
