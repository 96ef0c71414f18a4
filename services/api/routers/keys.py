"""The key catalog, in the schema catalog's style: every Ed25519 key this node knows — its own (active, retired,
revoked) and its peers' (learnt over sync or pinned) — so any party can check what the node seals, signs and
cosigns (docs/audit.md). ``GET /api/v1/audit/keys`` still lists the anchors of this node's verifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from services.api.problems import READ_RESPONSES
from services.api.security import current_principal
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="32 chữ số hex / 32 hex digits")]


def router(node: Node) -> APIRouter:
    """GET /api/v1/keys and /api/v1/keys/{key_id}."""
    api = APIRouter(
        prefix="/api/v1/keys", tags=["keys"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("")
    def list_keys() -> dict[str, Any]:
        """Mọi khóa ký mà nút biết, của nút và của các nút kề / every signing key this node knows, its own and its
        peers', with status (active, retired, revoked, known), trust and revocation date."""
        from services.audit.anchors import key_catalog

        return key_catalog(node)

    @api.get("/{key_id}")
    def get_key(key_id: KeyId) -> dict[str, Any]:
        """Một khóa / one key: PEM, JWK, signed-note verifier key, status and provenance."""
        from services.audit.anchors import key_catalog

        for item in key_catalog(node)["items"]:
            if item["key_id"] == key_id:
                return dict(item)
        raise DomainRefusal(
            "UNKNOWN_KEY",
            Kind.NOT_FOUND,
            f"Nút không biết khóa {key_id}.",
            f"This node knows no key {key_id}.",
            key_id=key_id,
        )

    return api
