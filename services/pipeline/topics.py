"""Every Kafka topic of a node, in one module: names, the routing of event types, and the topics' configuration.

``thidua.<node>.<context>`` per bounded context (plans, reports, awards, registry) keeps history forever
(``retention.ms=-1``): Kafka is the distribution log and a replay source. ``thidua.<node>.deadletters`` holds
what a worker could not decode or apply; ``thidua.<node>.schemas`` is compacted and holds every schema keyed by
its fingerprint, so any consumer can decode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from services.kernel.errors import Kind, ThiduaError
from services.kernel.settings import TopicSettings

PREFIX = "thidua"
CONTEXTS = ("plans", "reports", "awards", "registry")

# Which context's topic carries each event type. A new event type must be added here: the relay refuses
# (UNMAPPED_EVENT_TYPE) to publish a type it cannot route, rather than guess.
CONTEXT_OF_EVENT: Mapping[str, str] = {
    "OrgUnitRegistered": "registry",
    "EmulationBlocRegistered": "registry",
    "PlanIssued": "plans",
    "PlanAmended": "plans",
    "PlanNumberAssigned": "plans",
    "CriteriaRegistered": "plans",
    "GuidanceIssued": "plans",
    "TargetsRegistered": "reports",
    "ReportSubmitted": "reports",
    "ReportReviewed": "reports",
    "AwardProposed": "awards",
    "AwardForwarded": "awards",
    "AwardReturned": "awards",
    "AwardDecided": "awards",
    "CheckpointSigned": "registry",  # signed heads of the log travel with the registry (docs/audit.md)
    "CheckpointWitnessed": "registry",  # witnesses' cosignatures and keys (docs/audit.md)
    "CheckpointWitnessRefused": "registry",
    "SigningKeyActivated": "registry",
    "SigningKeyRevoked": "registry",
}

_LEGAL = re.compile(r"^[A-Za-z0-9._-]+$")


class UnmappedEventType(ThiduaError):
    """An event type that no topic carries (add it to ``CONTEXT_OF_EVENT``)."""

    code = "UNMAPPED_EVENT_TYPE"
    kind = Kind.DEFECT

    def __init__(self, event_type: str) -> None:
        super().__init__(
            f"Loại sự kiện {event_type} chưa được gán chủ đề Kafka nào (services/pipeline/topics.py).",
            f"Event type {event_type} is not routed to any Kafka topic (services/pipeline/topics.py).",
            event_type=event_type,
        )


@dataclass(frozen=True)
class Topics:
    """The topic names of one node."""

    node_id: str
    prefix: str = PREFIX

    def __post_init__(self) -> None:
        if not _LEGAL.match(self.node_id) or not _LEGAL.match(self.prefix):
            raise ValueError(f"node id {self.node_id!r} cannot be part of a Kafka topic name ([A-Za-z0-9._-])")

    def context(self, name: str) -> str:
        """The event topic of a bounded context, e.g. ``thidua.p46.awards``."""
        if name not in CONTEXTS:
            raise ValueError(f"unknown context {name!r}; one of {CONTEXTS}")
        return f"{self.prefix}.{self.node_id}.{name}"

    def for_event(self, event_type: str) -> str:
        """The topic that carries ``event_type``; raises UnmappedEventType for a type nobody routed."""
        try:
            return self.context(CONTEXT_OF_EVENT[event_type])
        except KeyError:
            raise UnmappedEventType(event_type) from None

    @property
    def events(self) -> list[str]:
        """Every event topic of the node."""
        return [self.context(c) for c in CONTEXTS]

    @property
    def dead_letters(self) -> str:
        """The node's dead-letter topic."""
        return f"{self.prefix}.{self.node_id}.deadletters"

    @property
    def schemas(self) -> str:
        """The node's compacted schema-catalog topic."""
        return f"{self.prefix}.{self.node_id}.schemas"

    def sync_to(self, target: str) -> str:
        """What this node routes to node ``target`` (docs/sync.md), e.g. ``thidua.p15.sync.central``."""
        if not _LEGAL.match(target):
            raise ValueError(f"node id {target!r} cannot be part of a Kafka topic name ([A-Za-z0-9._-])")
        return f"{self.prefix}.{self.node_id}.sync.{target}"

    @property
    def receipts(self) -> str:
        """The node's compacted topic of sync receipts (what it imported, per source node and period)."""
        return f"{self.prefix}.{self.node_id}.receipts"


@dataclass(frozen=True)
class TopicSpec:
    """A topic as it must exist: partitions, replication factor and topic-level configuration."""

    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: TopicSettings) -> list[TopicSpec]:
    """Every topic of the node, configured from settings."""
    topics = Topics(settings.node_id)
    common = {}
    if settings.kafka_min_insync_replicas:
        common["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    rf = settings.kafka_replication_factor
    forever = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1", **common}
    specs = [TopicSpec(name, settings.kafka_topic_partitions, rf, forever) for name in topics.events]
    dead = {"cleanup.policy": "delete", "retention.ms": str(settings.kafka_dead_letter_retention_ms), **common}
    specs.append(TopicSpec(topics.dead_letters, 1, rf, dead))
    compacted = {"cleanup.policy": "compact", "retention.ms": "-1", **common}
    specs.append(TopicSpec(topics.schemas, 1, rf, compacted))
    return specs


@dataclass(frozen=True)
class TopicState:
    """What ``ensure_topics`` did with one topic."""

    name: str
    action: str  # created | exists | updated
    partitions: int
    note: str = ""


def ensure_topics(admin: KafkaAdminClient, specs: list[TopicSpec]) -> list[TopicState]:
    """Create missing topics and align the configuration of existing ones (idempotent).

    Partitions are never added to an existing topic: that would move keys (stream ids) to other partitions
    and break the per-stream order. A topic with fewer partitions than configured is reported instead.
    """
    existing = set(admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    states = {}
    if missing:
        new = [NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.config) for s in missing]
        result = admin.create_topics(new, raise_errors=False)
        for outcome in result["topics"]:
            if outcome["error_code"] not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS (a concurrent create)
                raise RuntimeError(f"cannot create topic {outcome['name']}: {outcome['error_message']}")
        states = {s.name: TopicState(s.name, "created", s.partitions) for s in missing}
    present = [s for s in specs if s.name in existing]
    if present:
        partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([s.name for s in present])}
        wanted = [ConfigResource(ConfigResourceType.TOPIC, s.name, configs=dict.fromkeys(s.config)) for s in present]
        configured = admin.describe_configs(wanted, config_filter="all")
        for spec in present:
            states[spec.name] = _align(admin, spec, partitions[spec.name], configured["topic"].get(spec.name, {}))
    return [states[s.name] for s in specs]


def _align(admin: KafkaAdminClient, spec: TopicSpec, partitions: int, current: Mapping[str, dict]) -> TopicState:  # type: ignore[type-arg]
    note = f"has {partitions} partitions, settings say {spec.partitions}" if partitions < spec.partitions else ""
    changes = {k: v for k, v in spec.config.items() if current.get(k, {}).get("value") != v}
    if not changes:
        return TopicState(spec.name, "exists", partitions, note)
    ops = {k: (AlterConfigOp.SET, v) for k, v in changes.items()}
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=ops)])
    changed = ", ".join(f"{k}={v}" for k, v in changes.items())
    return TopicState(spec.name, "updated", partitions, "; ".join(filter(None, [changed, note])))


def mirrored(topic: str, owner: str, prefix: str = "") -> str:
    """The name of node ``owner``'s ``topic`` on this cluster: ``prefix`` (``{source}`` is replaced by the owner,
    e.g. ``{source}.`` for MirrorMaker 2's default replication policy with cluster aliases = node ids) + topic."""
    return prefix.format(source=owner) + topic


def sync_topic_specs(settings: TopicSettings) -> list[TopicSpec]:
    """The sync topics a node writes (to its parent and children) and its receipts topic (docs/sync.md)."""
    topics = Topics(settings.node_id)
    common = {}
    if settings.kafka_min_insync_replicas:
        common["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    rf = settings.kafka_replication_factor
    forever = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1", **common}
    peers = [p for p in [settings.parent_node, *settings.children] if p]
    specs = [TopicSpec(topics.sync_to(p), settings.kafka_topic_partitions, rf, forever) for p in peers]
    compacted = {"cleanup.policy": "compact", "retention.ms": "-1", **common}
    return [*specs, TopicSpec(topics.receipts, 1, rf, compacted)]
