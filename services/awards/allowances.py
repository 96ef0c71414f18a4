"""Which award forms a plan offers (hình thức khen thưởng kế hoạch nêu): a plan's allowance names a form, or a code of
``allowance_codes.csv`` ("Giấy khen", "theo thẩm quyền", "cấp trên") whose members it holds at the right level. The
rule ``ProposeAward`` checks and the guidance read model shows.
"""

from __future__ import annotations

from datetime import date

from services.planning.model import Plan

from .authority import AuthorityMatrix
from .levels import Level


def plan_allows(plan: Plan, form_code: str, occasion: str, matrix: AuthorityMatrix, on: date) -> str | None:
    """The plan's allowance that offers ``form_code`` for ``occasion`` (the form itself, or a code of
    ``allowance_codes.csv`` whose members hold it at the right level), or None."""
    issuer_rank = Level(plan.issuer["level"]).rank
    decider_rank = matrix.form(form_code, on).decider_level.rank
    for allowance in plan.award_forms:
        code = allowance["form_code"]
        if allowance["occasion"] != occasion:
            continue
        if code == form_code:
            return str(code)
        pseudo = matrix.allowances.get(code)
        if pseudo is not None and form_code in pseudo.members:
            fits = {
                "ANY": True,
                "ISSUER_OR_BELOW": decider_rank <= issuer_rank,
                "ABOVE_ISSUER": decider_rank > issuer_rank,
            }
            if fits[pseudo.levels]:
                return str(code)
    return None
