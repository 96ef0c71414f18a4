"""Topic names, the routing of event types, and the topics' configuration."""

from __future__ import annotations

import pytest

from services.kernel.contracts import EVENT_TYPES
from services.kernel.schemas import SchemaCatalog
from services.kernel.settings import Settings
from services.pipeline.topics import CONTEXT_OF_EVENT, Topics, UnmappedEventType, topic_specs

pytestmark = pytest.mark.unit


def test_every_event_type_is_routed_to_a_context_topic(catalog: SchemaCatalog) -> None:
    topics = Topics("p46")
    for name in {v.name for v in catalog.events()} | set(EVENT_TYPES):
        assert topics.for_event(name).startswith("thidua.p46."), name


def test_the_issue_routing() -> None:
    topics = Topics("p46")
    assert topics.for_event("OrgUnitRegistered") == "thidua.p46.registry"
    assert {topics.for_event(t) for t in ("PlanIssued", "PlanAmended", "CriteriaRegistered", "GuidanceIssued")} == {
        "thidua.p46.plans"
    }
    assert {topics.for_event(t) for t in ("TargetsRegistered", "ReportSubmitted", "ReportReviewed")} == {
        "thidua.p46.reports"
    }
    assert {topics.for_event(t) for t in ("AwardProposed", "AwardForwarded", "AwardDecided")} == {"thidua.p46.awards"}
    assert set(CONTEXT_OF_EVENT.values()) == {"plans", "reports", "awards", "registry"}


def test_an_unmapped_event_type_fails_loudly() -> None:
    with pytest.raises(UnmappedEventType) as raised:
        Topics("p46").for_event("MedalMinted")
    assert raised.value.code == "UNMAPPED_EVENT_TYPE" and "MedalMinted" in raised.value.message_en


def test_names_of_a_node() -> None:
    topics = Topics("central")
    assert topics.events == [
        "thidua.central.plans",
        "thidua.central.reports",
        "thidua.central.awards",
        "thidua.central.registry",
    ]
    assert (topics.dead_letters, topics.schemas) == ("thidua.central.deadletters", "thidua.central.schemas")
    with pytest.raises(ValueError, match="cannot be part of a Kafka topic name"):
        Topics("p 46")  # not a legal Kafka topic name


def test_event_topics_keep_history_forever_and_the_catalog_is_compacted() -> None:
    settings = Settings(
        node_id="p15", kafka_topic_partitions=6, kafka_replication_factor=3, kafka_min_insync_replicas=2
    )
    specs = {s.name: s for s in topic_specs(settings)}
    for name in Topics("p15").events:
        assert (specs[name].partitions, specs[name].replication_factor) == (6, 3)
        assert specs[name].config == {
            "cleanup.policy": "delete",
            "retention.ms": "-1",
            "retention.bytes": "-1",
            "min.insync.replicas": "2",
        }
    assert specs["thidua.p15.schemas"].config["cleanup.policy"] == "compact"
    assert specs["thidua.p15.schemas"].partitions == 1 and specs["thidua.p15.deadletters"].partitions == 1
    assert specs["thidua.p15.deadletters"].config["retention.ms"] == str(30 * 24 * 3600 * 1000)
