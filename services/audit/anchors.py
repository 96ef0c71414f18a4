"""A node's anchors of trust and what the API, the web app, sync and the CLI check with them: its signing key, the
keys its verifications start from, verify of its log, a checkpoint's check, its key catalog."""

from __future__ import annotations

from typing import Any

from services.kernel.settings import NodeSettings


def node_key(settings: NodeSettings) -> Any:
    """The node's current signing key (a file's key is generated on first use)."""
    from services.bootstrap import node_signer

    return node_signer(settings).current()


def node_trusted_keys(settings: NodeSettings) -> list[Any]:
    """The anchors of this node's verifications: its own key and the pinned keys of the trusted folder."""
    from services.audit.keys import trusted_keys

    return trusted_keys(node_key(settings).public_key, settings.node_id, settings.audit_trusted_keys_dir)


def verify_node(node: Any, from_position: int | None = None, to_position: int | None = None) -> Any:
    """``verify_chain`` of a node's log with its anchors and its peers' keys (the API's and the web app's verify;
    the CLI adds progress and heads held elsewhere)."""
    from services.audit.verify import verify_chain
    from services.sync.rules import Topology

    settings = node.settings
    return verify_chain(
        node.engine,
        node.codec,
        node_trusted_keys(settings),
        from_position,
        to_position,
        node_id=settings.node_id,
        peers=Topology.from_settings(settings).peers,
    )


def checkpoint_problem(node: Any, data: dict[str, Any]) -> str | None:
    """None when a checkpoint of the node verifies with a key its key ring trusts (anchors, and the keys its log
    announces that they vouch for: a rotated key's checkpoints too); else what is wrong."""
    from services.audit import verify
    from services.audit.keys import load_keyring

    with node.engine.connect() as conn:
        ring = load_keyring(conn, node.codec, node.settings.node_id, node_trusted_keys(node.settings))
    return verify.checkpoint_problem(ring, data, node.settings.node_id)


def key_catalog(node: Any) -> dict[str, Any]:
    """The key catalog of a node: its keys and its peers', as published at GET /api/v1/keys."""
    from services.audit.keys import load_keyring
    from services.sync.rules import Topology

    settings = node.settings
    current = node_key(settings).key_id
    with node.engine.connect() as conn:
        ring = load_keyring(
            conn, node.codec, settings.node_id, node_trusted_keys(settings), Topology.from_settings(settings).peers
        )
    ordered = sorted(ring.keys.values(), key=lambda k: (k.node_id != settings.node_id, k.node_id, k.position or 0))
    return {
        "node_id": settings.node_id,
        "current_key_id": current,
        "items": [k.to_json(settings.node_id, current) for k in ordered],
    }
