"""Who may do what where: a caller acts within its org unit's subtree and with the roles its token names.

| role | vai trò | may |
|---|---|---|
| submitter | cán bộ nộp | register targets, submit reports, propose awards, send its own proposal on (PROPOSE step) |
| reviewer | cán bộ thẩm định | review reports; forward or return a proposal held at a REVIEW step |
| council | Hội đồng TĐKT | forward or return a proposal held at a REVIEW step |
| decider | người có thẩm quyền | decide (or return) a proposal held at its DECIDE step |
| auditor | kiểm tra | read only (every role reads within its subtree) |
| operator | quản trị | register org units; issue, number and amend plans; criteria; guidance |

The unit a command acts for must lie in the caller's subtree (``OUT_OF_SUBTREE``); the acting unit of a review,
forward, return or decision is the caller's own org unit, so the domain's own rules (``AUTHORITY_MISMATCH``,
``NOT_CURRENT_HOLDER``) decide whether that unit may act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from services.kernel.errors import DomainRefusal, Kind, ThiduaError, out_of_subtree
from services.kernel.orgpaths import ROOT, OrgPath

from .errors import role_not_allowed

ROLES = {
    "submitter": "Nộp đăng ký, báo cáo, đề nghị khen thưởng",
    "reviewer": "Thẩm định báo cáo, hồ sơ đề nghị",
    "council": "Hội đồng thi đua – khen thưởng",
    "decider": "Quyết định khen thưởng",
    "auditor": "Kiểm tra, giám sát (chỉ đọc)",
    "operator": "Quản trị, nhập kế hoạch và đơn vị",
}
OPERATOR = frozenset({"operator"})
SUBMITTER = frozenset({"submitter"})
REVIEWER = frozenset({"reviewer"})
DECIDER = frozenset({"decider"})
STEP_ROLES = {  # who acts on a proposal held at each step of its route
    "PROPOSE": SUBMITTER,
    "REVIEW": frozenset({"reviewer", "council"}),
    "DECIDE": DECIDER,
}
ANY_ROLE = frozenset(ROLES)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a client (or, signed in to the web app, a person: ``kind`` USER) of an org unit,
    with roles, on this node."""

    client_id: str
    org_unit: OrgPath
    roles: frozenset[str]
    node: str
    name: str | None = None
    kind: str = "CLIENT"
    token_id: str | None = None  # the token's jti (revocable one by one)

    @property
    def path(self) -> str:
        """The caller's org-unit path."""
        return self.org_unit.value

    def covers(self, path: str) -> bool:
        """Whether ``path`` lies in the caller's subtree."""
        return self.org_unit.contains(OrgPath(path))

    def sees(self, path: str) -> bool:
        """Whether the caller reads what ``path`` issued: its subtree, or the chain of units above it."""
        return self.covers(path) or OrgPath(path).contains(self.org_unit)

    def actor(self) -> dict[str, Any]:
        """The Actor recorded on the events this caller causes."""
        return {
            "actor_id": self.client_id,
            "kind": self.kind,
            "display_name": self.name,
            "org_unit_path": self.path,
            "roles": sorted(self.roles),
        }


def known_roles(roles: Iterable[str]) -> frozenset[str]:
    """The roles of ``roles`` this product knows (others are ignored)."""
    return frozenset(r for r in roles if r in ROLES)


def require_role(principal: Principal, allowed: frozenset[str], action: str) -> None:
    """403 ROLE_NOT_ALLOWED unless the caller holds one of ``allowed``."""
    if not principal.roles & allowed:
        raise role_not_allowed(action, allowed, principal.roles)


def require_within(principal: Principal, path: str) -> None:
    """403 OUT_OF_SUBTREE unless ``path`` lies in the caller's subtree (422 INVALID_ORG_PATH if malformed)."""
    if not principal.covers(OrgPath.parse(path).value):
        raise _outside(principal, path)


def require_sees(principal: Principal, path: str) -> None:
    """403 OUT_OF_SUBTREE unless the caller may read what ``path`` issued (its subtree or its ancestors)."""
    if not principal.sees(path):
        raise _outside(principal, path)


def _outside(principal: Principal, path: str) -> DomainRefusal:
    refusal = out_of_subtree(principal.path, path)
    refusal.details["rule"] = "SUBTREE"
    return refusal


def hidden(principal: Principal, what: tuple[str, str], target_id: str) -> DomainRefusal:
    """403 OUT_OF_SUBTREE for a target addressed by id that is not in the caller's subtree, or does not exist: the
    same answer either way, naming only what the caller sent (nothing of the target's state or place)."""
    vi, en = what
    return DomainRefusal(
        "OUT_OF_SUBTREE",
        Kind.FORBIDDEN,
        f"Không có {vi} {target_id} trong phạm vi của đơn vị {principal.path}.",
        f"No {en} {target_id} within the subtree of {principal.path}.",
        actor_path=principal.path,
        target_id=target_id,
        rule="SUBTREE",
    )


def require_target(
    principal: Principal,
    what: tuple[str, str],
    target_id: str,
    places: Iterable[str] | None,
    unknown: Callable[[], ThiduaError],
) -> None:
    """Authorisation before state: the target ``target_id`` (``places``: the org-unit paths it belongs to, None when
    it does not exist) must lie in the caller's subtree before anything about it is told. A caller whose subtree is
    the whole country learns that an id does not exist (``unknown``); any other gets the same 403 as for a target
    outside its subtree, whatever the target's state."""
    if places is None:
        if principal.path == ROOT:
            raise unknown()
        raise hidden(principal, what, target_id)
    if not any(principal.covers(p) for p in places):
        raise hidden(principal, what, target_id)
