"""Prerequisite checks of the annual merit track (công trạng) where the facts are in the system: ``prerequisites.csv``.

Each row names, for a form and the subjects it concerns (cá nhân, tập thể, hộ gia đình), the earlier awards the form
needs; a collective is checked against the collective rows, never against a person's. The result is recorded on
the proposal, never a refusal: MET, NOT_MET (only awards that do not count, e.g. movement awards under NĐ 152/2025
Art. 4 [U]), or NOT_CHECKABLE (nothing recorded here: earlier awards may predate the system; a criterion not
encoded, such as a collective's; or a track not encoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from services.kernel.contracts import PrerequisiteCheck

from .lawtables import Basis, basis, read_table
from .rules import movement_awards_count_for_merit


@dataclass(frozen=True)
class Prerequisite:
    """An earlier-award requirement of a form for some subjects (``count`` 0: a criterion not encoded)."""

    rule: str
    form_code: str
    subjects: tuple[str, ...]
    needs: tuple[str, ...]
    count: int
    basis: Basis

    @property
    def legal_basis(self) -> str:
        """The legal text the rule rests on."""
        return self.basis.legal_basis


@cache
def load_prerequisites() -> tuple[Prerequisite, ...]:
    """The packaged prerequisites table (read once)."""
    return tuple(
        Prerequisite(
            row["rule"],
            row["form_code"],
            tuple(s for s in row["subjects"].split(";") if s),
            tuple(s for s in row["needs"].split(";") if s),
            int(row["count"]),
            basis(row),
        )
        for row in read_table("prerequisites.csv")
    )


def rules_for(form_code: str, subject: str) -> list[Prerequisite]:
    """The rows that apply to a proposal of ``form_code`` for a nominee of kind ``subject``."""
    return [p for p in load_prerequisites() if p.form_code == form_code and subject in p.subjects]


def conferred_ref(form_code: str, track: str, proposal_id: str) -> str:
    """How a conferred award is recorded in the nominee's lookup."""
    return f"{form_code}|{track}|{proposal_id}"


def check(form_code: str, track: str, conferred: list[str], on: date, subject: str) -> list[PrerequisiteCheck]:
    """PrerequisiteCheck data for a proposal of ``form_code`` on ``track`` for a ``subject`` nominee."""
    results = []
    movement_counts = movement_awards_count_for_merit(on)
    for rule in rules_for(form_code, subject):
        if rule.count == 0:
            results.append(
                _result(rule, "NOT_CHECKABLE", f"Tiêu chuẩn chưa được mã hóa / not encoded: {rule.basis.note}")
            )
            continue
        if track != "MERIT":
            results.append(
                _result(
                    rule,
                    "NOT_CHECKABLE",
                    "Tiêu chuẩn khen theo phong trào/đột xuất chưa được mã hóa "
                    "[U] / Movement and ad-hoc criteria are not encoded",
                )
            )
            continue
        earlier = [ref.split("|") for ref in conferred if ref.split("|")[0] in rule.needs]
        counting = [e for e in earlier if e[1] == "MERIT" or movement_counts]
        found = f"{len(counting)}/{rule.count} × {'/'.join(rule.needs)}: {', '.join(e[2] for e in counting) or '-'}"
        if len(counting) >= rule.count:
            results.append(_result(rule, "MET", found))
        elif len(earlier) >= rule.count:
            results.append(
                _result(
                    rule,
                    "NOT_MET",
                    f"{found}; khen thưởng theo phong trào/đột xuất không làm căn cứ "
                    f"khen công trạng: {', '.join(e[2] for e in earlier)}",
                )
            )
        else:
            results.append(
                _result(
                    rule,
                    "NOT_CHECKABLE",
                    f"{found}; khen thưởng trước đó có thể chưa có trong hệ thống "
                    "/ earlier awards may predate the system",
                )
            )
    return results


def _result(rule: Prerequisite, status: str, detail: str) -> PrerequisiteCheck:
    return {"rule": rule.rule, "status": status, "legal_basis": rule.basis.cite(), "detail": detail}
