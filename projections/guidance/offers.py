"""Award forms a unit may propose under the plans above it, per occasion, with the decider and the route.

Which forms a plan offers is decided by ``services.awards.allowances.plan_allows`` (the rule ``ProposeAward``
checks), one allowance at a time so the basis (a named form, or a code of ``allowance_codes.csv``: GIAY_KHEN,
BY_AUTHORITY, CAP_TREN, HCLD) stays visible; a form the law does not give at the occasion (``award_occasions.csv``)
is never offered. The route is ``AuthorityMatrix.route`` from the unit placed by ``services.awards.routing.place``,
the same placement ``ProposeAward`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, cast

from services.awards import AuthorityMatrix, AwardForm, Proposer, RouteStep
from services.awards.allowances import plan_allows
from services.awards.routing import Placement, place
from services.kernel.contracts import OrgUnitRef
from services.kernel.errors import ThiduaError
from services.planning.model import Plan

from .units import UnitFacts

UNIT_NOMINEES = frozenset({"INDIVIDUAL", "COLLECTIVE"})  # an agency or enterprise nominates people and teams


@dataclass(frozen=True)
class Offer:
    """One form a unit may propose under a plan for an occasion, and the steps it travels."""

    plan_id: str
    occasion: str
    basis: str  # the plan's allowance: a named form code, or a code of allowance_codes.csv
    text: str | None
    form: AwardForm
    subjects: tuple[str, ...]
    steps: tuple[RouteStep, ...]


def placement(matrix: AuthorityMatrix, unit: UnitFacts, on: date) -> Placement:
    """Where ``unit`` sits as a proposer (the write side's own placement)."""
    return place(matrix, unit.path, unit.level, unit.kind, on, unit.top_kind)


def nominees(unit: UnitFacts) -> frozenset[str]:
    """Nominee kinds (đối tượng khen thưởng) a unit can put forward from its own subtree."""
    if unit.level != "UNIT":
        return frozenset({"INDIVIDUAL", "COLLECTIVE", "HOUSEHOLD", "COMMUNE", "VILLAGE"})
    return UNIT_NOMINEES | ({"HOUSEHOLD"} if unit.kind == "VILLAGE" else set())


Allowance = tuple[str, str, str | None]  # occasion, form code (or allowance code), the plan's wording
Shape = tuple[Proposer, frozenset[str]]  # the proposer's shape, nominee kinds


def _offer(
    plan: Plan, allowance: Allowance, code: str, shape: Shape, matrix: AuthorityMatrix, on: date
) -> Offer | None:
    occasion, basis, text = allowance
    proposer, kinds = shape
    try:
        if not matrix.occasions.allows(code, occasion, on) or plan_allows(plan, code, occasion, matrix, on) is None:
            return None
        form = matrix.form(code, on)
        steps = matrix.route(code, proposer, on)
    except (ThiduaError, ValueError):  # not in force on the day, or no competent decider on the unit's path
        return None
    subjects = tuple(str(s) for s in form.subjects if str(s) in kinds)
    return Offer(plan.plan_id, occasion, basis, text, form, subjects, tuple(steps)) if subjects else None


@lru_cache(maxsize=4096)
def _offers(
    plan_id: str,
    issuer_level: str,
    allowances: tuple[Allowance, ...],
    shape: Shape,
    matrix: AuthorityMatrix,
    on: date,
) -> tuple[Offer, ...]:
    """Offers of a plan to any proposer of the same shape (cached: ~100,000 units share a few dozen shapes)."""
    found: dict[tuple[str, str], Offer] = {}
    for allowance in allowances:
        occasion, code, _ = allowance
        stub = Plan(
            plan_id,
            cast(OrgUnitRef, {"level": issuer_level}),  # a stub: the offers read only the issuer's level
            None,
            "",
            None,
            "",
            [],
            [],
            [],
            [{"occasion": occasion, "form_code": code}],
        )
        pseudo = matrix.allowances.get(code)
        candidates = list(pseudo.members) if pseudo is not None else [code]
        expanded = [o for c in candidates if (o := _offer(stub, allowance, c, shape, matrix, on))]
        for o in sorted(expanded, key=lambda o: (-o.steps[-1].level.rank, o.form.form_code)):
            found.setdefault((o.occasion, o.form.form_code), o)
    return tuple(found.values())


def offers(plan: dict[str, Any], unit: UnitFacts, matrix: AuthorityMatrix, on: date) -> list[Offer]:
    """What ``unit`` may propose under ``plan`` on ``on``, one entry per occasion and form (first basis wins).

    Each allowance is checked alone with ``plan_allows`` so its basis stays visible.
    """
    allowances = tuple((a["occasion"], a["form_code"], a.get("text")) for a in plan["award_forms"])
    shape = (placement(matrix, unit, on).proposer, nominees(unit))
    return list(_offers(plan["plan_id"], plan["issuer"]["level"], allowances, shape, matrix, on))
