"""GET /api/v1/audit/keys, /audit/verify, /audit/exports, /audit/as-of: tamper evidence and as-of reads for
auditors (docs/audit.md).

Readable by the ``auditor`` and ``operator`` roles. A break found by ``verify`` names its event only when that
event lies in the caller's subtree; exports are listed when their subtree lies in the caller's.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.api.asof import AS_OF_HELP, cache_of
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, current_principal, require_role
from services.bootstrap import Node
from services.kernel.settings import ApiSettings

AUDIT_ROLES = frozenset({"auditor", "operator"})


def router(node: Node[ApiSettings]) -> APIRouter:
    """The audit endpoints of ``node``."""
    api = APIRouter(
        prefix="/api/v1/audit", tags=["audit"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("/keys")
    def keys(principal: Caller) -> dict[str, Any]:
        """Khóa công khai ký điểm kiểm tra / public keys whose signed checkpoints this node accepts (Ed25519)."""
        from services.audit.anchors import node_trusted_keys

        require_role(principal, AUDIT_ROLES, "read audit keys")
        return {"node_id": node.settings.node_id, "keys": [k.to_json() for k in node_trusted_keys(node.settings)]}

    @api.get("/verify")
    def verify(
        principal: Caller,
        from_position: Annotated[
            int | None, Query(alias="from", ge=1, description="Vị trí đầu / first position")
        ] = None,
        to_position: Annotated[int | None, Query(alias="to", ge=1, description="Vị trí cuối / last position")] = None,
    ) -> dict[str, Any]:
        """Kiểm tra chuỗi băm và điểm kiểm tra / walk the hash chain and checkpoints; the first break, if any."""
        from services.audit.anchors import verify_node
        from services.audit.verify import event_path, seen_by

        require_role(principal, AUDIT_ROLES, "verify the log")
        report = verify_node(node, from_position, to_position)
        return seen_by(report.to_json(), partial(event_path, node.engine), principal.covers)

    @api.get("/exports")
    def exports(principal: Caller) -> dict[str, Any]:
        """Các bản kết xuất / audit exports of the caller's subtree, with their manifests."""
        require_role(principal, AUDIT_ROLES, "list audit exports")
        folder = node.settings.audit_export_dir or node.settings.data_dir / "exports"
        items = []
        for manifest in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if principal.covers(data["selection"].get("subtree") or "VN"):
                items.append({"name": manifest.parent.name, **data})
        return {"items": items}

    @api.get("/as-of")
    def as_of(
        principal: Caller, request: Request, as_of: Annotated[str, Query(description=AS_OF_HELP)]
    ) -> dict[str, Any]:
        """Vị trí ứng với thời điểm và trạng thái bộ đệm / the store position a time maps to, the head, and the
        rebuilds cached at that position (of every read model, or of some within a subtree; nothing is built here)."""
        from services.audit.asof import parse_as_of, prefix_of

        require_role(principal, AUDIT_ROLES, "inspect as-of reads")
        cache = cache_of(request.app)
        point = cache.resolve(parse_as_of(as_of, cache.now()))
        status = cache.status(point.position)
        entry = status.pop("entry")
        at_position = [e for e in status["entries"] if e["position"] == point.position and e["ready"]]
        return {
            "as_of": point.as_of.isoformat(),
            "as_of_position": point.position,
            "head_position": point.head,
            "source": "live" if point.live else ("cache" if at_position else "rebuild"),
            "tables_prefix": None if point.live else prefix_of(point.position),
            "cached": entry,
            "cached_at_position": at_position,
            "cache": status,
        }

    return api
