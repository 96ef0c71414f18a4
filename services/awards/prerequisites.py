"""Prerequisite checks of the annual merit track (công trạng) where the facts are in the system.

Each rule names the earlier awards a form needs; the result is recorded on the proposal, never a refusal:
MET, NOT_MET (only awards that do not count, e.g. movement awards under NĐ 152/2025 Art. 4 [U]), or
NOT_CHECKABLE (nothing recorded here: earlier awards may predate the system; or a track not encoded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .rules import movement_awards_count_for_merit


@dataclass(frozen=True)
class Prerequisite:
    """An earlier-award requirement of a form."""

    rule: str
    needs: tuple[str, ...]
    count: int
    legal_basis: str


PREREQUISITES: dict[str, list[Prerequisite]] = {
    "BK_TTG": [
        Prerequisite("BK_TTG_NEEDS_EARLIER_BK_TINH", ("BK_TINH",), 1, "Luật TĐKT 06/2022/QH15 Điều 73 khoản 1 điểm b")
    ],
    "BK_TINH": [
        Prerequisite("BK_TINH_NEEDS_TWO_CSTDCS", ("CSTDCS",), 2, "Luật TĐKT 06/2022/QH15 Điều 74 khoản 1 điểm d")
    ],
    "CSTD_TINH": [Prerequisite("CSTD_TINH_NEEDS_THREE_CSTDCS", ("CSTDCS",), 3, "Luật TĐKT 06/2022/QH15 Điều 79 [P]")],
    "CSTD_TQ": [Prerequisite("CSTD_TQ_NEEDS_TWO_CSTD_TINH", ("CSTD_TINH",), 2, "Luật TĐKT 06/2022/QH15 Điều 21 [P]")],
}


def conferred_ref(form_code: str, track: str, proposal_id: str) -> str:
    """How a conferred award is recorded in the nominee's lookup."""
    return f"{form_code}|{track}|{proposal_id}"


def check(form_code: str, track: str, conferred: list[str], on: date) -> list[dict[str, Any]]:
    """PrerequisiteCheck data for a proposal of ``form_code`` on ``track`` given earlier conferred refs."""
    results = []
    movement_counts = movement_awards_count_for_merit(on)
    for rule in PREREQUISITES.get(form_code, []):
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


def _result(rule: Prerequisite, status: str, detail: str) -> dict[str, Any]:
    return {"rule": rule.rule, "status": status, "legal_basis": rule.legal_basis, "detail": detail}
