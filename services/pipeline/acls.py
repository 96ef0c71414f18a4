"""Kafka ACLs of a node's principals, as code: what docs/pipeline.md ("Production: SASL and ACLs") prescribes, applied
by ``thidua topics acls --apply`` and checked against a real SASL/SCRAM broker by the tests.

Every process of a node has its own principal, ``User:<node>-<role>``:

| role | may |
|---|---|
| relay | write (and describe) the node's topics ``thidua.<node>.*``; idempotent producer |
| worker | read the node's topics, write its dead-letter topic, use the group ``thidua-<node>-projections`` |
| sync | write and create the node's topics (sync topics, receipts, dead letters); read the sync topic each peer |
|      | addresses to it, ``thidua.<peer>.sync.<node>``, and each peer's receipts; nothing else of another node |
| admin | create and configure the node's topics (``thidua topics create``) |

Prefixed patterns end with the dot (``thidua.p15.``), so ``p1`` is never granted ``p15``'s topics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
    UserScramCredentialUpsertion,
)

from .topics import PREFIX, Topics

ROLES = ("relay", "worker", "sync", "admin")
Op = ACLOperation
CLUSTER = ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", ACLResourcePatternType.LITERAL)


def user(node: str, role: str) -> str:
    """The SASL user of a node's process."""
    return f"{node}-{role}"


def _topic(name: str, prefixed: bool = False) -> ResourcePattern:
    kind = ACLResourcePatternType.PREFIXED if prefixed else ACLResourcePatternType.LITERAL
    return ResourcePattern(ResourceType.TOPIC, name, kind)


def _group(name: str, prefixed: bool = False) -> ResourcePattern:
    kind = ACLResourcePatternType.PREFIXED if prefixed else ACLResourcePatternType.LITERAL
    return ResourcePattern(ResourceType.GROUP, name, kind)


def _allow(who: str, pattern: ResourcePattern, *operations: ACLOperation) -> list[ACL]:
    return [ACL(f"User:{who}", "*", op, ACLPermissionType.ALLOW, pattern) for op in operations]


def node_acls(node: str, peers: Sequence[str], remote_prefix: str = "") -> list[ACL]:
    """The ACLs of ``node``'s four principals, given its peers (parent and children)."""
    from .topics import mirrored

    own = _topic(f"{PREFIX}.{node}.", prefixed=True)
    topics = Topics(node)
    acls = [
        *_allow(user(node, "relay"), own, Op.WRITE, Op.DESCRIBE),
        *_allow(user(node, "relay"), CLUSTER, Op.IDEMPOTENT_WRITE),
        *_allow(user(node, "relay"), _group(f"{PREFIX}-{node}-", prefixed=True), Op.DESCRIBE),  # its /metrics
        *_allow(user(node, "worker"), own, Op.READ, Op.DESCRIBE),
        *_allow(user(node, "worker"), _topic(topics.dead_letters), Op.WRITE),
        *_allow(user(node, "worker"), _group(f"{PREFIX}-{node}-", prefixed=True), Op.READ, Op.DESCRIBE),
        *_allow(user(node, "worker"), CLUSTER, Op.IDEMPOTENT_WRITE),
        *_allow(user(node, "sync"), own, Op.WRITE, Op.DESCRIBE, Op.CREATE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS),
        *_allow(user(node, "sync"), CLUSTER, Op.IDEMPOTENT_WRITE),
        *_allow(user(node, "admin"), own, Op.CREATE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS, Op.WRITE),
    ]
    for peer in peers:
        inbound = _topic(mirrored(Topics(peer).sync_to(node), peer, remote_prefix))
        receipts = _topic(mirrored(Topics(peer).receipts, peer, remote_prefix))
        acls += _allow(user(node, "sync"), inbound, Op.READ, Op.DESCRIBE, Op.CREATE, Op.DESCRIBE_CONFIGS)
        acls += _allow(user(node, "sync"), receipts, Op.READ, Op.DESCRIBE)
    return acls


def apply_acls(admin: KafkaAdminClient, acls: Iterable[ACL]) -> int:
    """Create ``acls`` (existing ones are kept); the number created. Raises on a refusal."""
    wanted = list(acls)
    result = admin.create_acls(wanted)
    if result["failed"]:
        raise RuntimeError(f"ACLs refused by the broker: {result['failed']}")
    return len(result["succeeded"])


def add_users(admin: KafkaAdminClient, passwords: dict[str, str], mechanism: str = "SCRAM-SHA-512") -> None:
    """Create (or reset) SCRAM users."""
    result = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(name, mechanism, password) for name, password in passwords.items()]
    )
    failed = {name: error for name, error in result.items() if error}
    if failed:
        raise RuntimeError(f"SCRAM users refused by the broker: {failed}")


def kafka_acls_lines(acls: Iterable[ACL]) -> list[str]:
    """The same ACLs as ``kafka-acls.sh`` arguments (for operators who apply them with Kafka's own tool)."""
    lines = []
    for acl in acls:
        pattern = acl.resource_pattern
        operation = "".join(part.title() for part in acl.operation.name.split("_"))
        if pattern.resource_type == ResourceType.CLUSTER:
            target = "--cluster"
        else:
            kind = "--topic" if pattern.resource_type == ResourceType.TOPIC else "--group"
            target = f"{kind} {pattern.resource_name}"
            if pattern.pattern_type == ACLResourcePatternType.PREFIXED:
                target += " --resource-pattern-type prefixed"
        lines.append(f"--add --allow-principal {acl.principal} --operation {operation} {target}")
    return lines
