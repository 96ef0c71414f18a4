"""Sync between levels, the pure parts: routing rules as data, topology, topic names, receipts, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.kernel.settings import Settings
from services.pipeline.topics import Topics, mirrored, sync_topic_specs
from services.sync.receipts import digest, period_bounds, period_of
from services.sync.reconcile import compare
from services.sync.rules import EventFacts, Topology, load_rules, parse_rules, targets

pytestmark = pytest.mark.unit

RULES = load_rules()
CENTRAL = Topology("central", None, ("p46", "p15"))
LAO_CAI = Topology("p15", "central", ())


def route(topology: Topology, event_type: str, stream_origin: str | None = None, decider: str | None = None) -> list:  # type: ignore[type-arg]
    facts = EventFacts(event_type, topology.node_id, stream_origin or topology.node_id, decider)
    return targets(facts, RULES, topology)


@pytest.mark.parametrize(
    "event_type", ["PlanIssued", "PlanAmended", "CriteriaRegistered", "GuidanceIssued", "OrgUnitRegistered"]
)
def test_a_provinces_plans_and_registrations_go_up(event_type: str) -> None:
    assert route(LAO_CAI, event_type) == ["central"]


def test_reports_and_registrations_of_targets_go_up() -> None:
    for event_type in ("TargetsRegistered", "ReportSubmitted", "ReportReviewed"):
        assert route(LAO_CAI, event_type) == ["central"]


def test_central_plans_criteria_and_guidance_go_down_to_every_province() -> None:
    for event_type in ("PlanIssued", "PlanNumberAssigned", "CriteriaRegistered", "GuidanceIssued"):
        assert route(CENTRAL, event_type) == ["p15", "p46"]
    assert route(CENTRAL, "OrgUnitRegistered") == [] and route(CENTRAL, "ReportSubmitted") == []


def test_only_proposals_a_central_authority_decides_go_up_with_their_whole_history() -> None:
    for event_type in ("AwardProposed", "AwardForwarded", "AwardReturned", "AwardDecided"):
        assert route(LAO_CAI, event_type, decider="VN") == ["central"]
        assert route(LAO_CAI, event_type, decider="VN/15") == []


def test_a_decision_goes_back_to_the_node_the_proposal_came_from() -> None:
    assert route(CENTRAL, "AwardDecided", stream_origin="p15", decider="VN") == ["p15"]
    assert route(CENTRAL, "AwardForwarded", stream_origin="p46", decider="VN") == ["p46"]
    assert route(CENTRAL, "AwardProposed", decider="VN") == []  # a central proposal stays at central


def test_signing_keys_go_to_every_peer_and_checkpoints_travel_only_as_witness_requests() -> None:
    for event_type in ("SigningKeyActivated", "SigningKeyRevoked"):
        assert route(LAO_CAI, event_type) == ["central"] and route(CENTRAL, event_type) == ["p15", "p46"]
    for event_type in ("CheckpointSigned", "CheckpointWitnessed", "CheckpointWitnessRefused"):
        assert route(LAO_CAI, event_type) == [] and route(CENTRAL, event_type) == []


def test_foreign_events_are_never_forwarded_again() -> None:
    facts = EventFacts("PlanIssued", "p46", "p46")  # Huế's plan, imported at central
    assert targets(facts, RULES, CENTRAL) == []


def test_rules_are_checked_when_loaded() -> None:
    with pytest.raises(ValueError, match="'to' must be one of"):
        parse_rules({"rules": [{"name": "x", "to": "siblings", "events": ["PlanIssued"]}]})
    with pytest.raises(ValueError, match="unknown conditions"):
        parse_rules({"rules": [{"name": "x", "to": "parent", "events": ["PlanIssued"], "when": {"level": "X"}}]})
    only_plans = parse_rules({"rules": [{"name": "p", "to": "parent", "events": ["PlanIssued"]}]})
    assert targets(EventFacts("ReportSubmitted", "p15", "p15"), only_plans, LAO_CAI) == []  # reports kept home


def test_topology_and_sync_topics_from_settings() -> None:
    settings = Settings(node_id="central", child_nodes="p46, p15", kafka_topic_partitions=2)
    topology = Topology.from_settings(settings)
    assert topology == CENTRAL and topology.peers == ["p46", "p15"]
    specs = {s.name: s for s in sync_topic_specs(settings)}
    assert set(specs) == {"thidua.central.sync.p46", "thidua.central.sync.p15", "thidua.central.receipts"}
    assert specs["thidua.central.sync.p15"].config["retention.ms"] == "-1"
    assert specs["thidua.central.receipts"].config["cleanup.policy"] == "compact"
    assert Topics("p15").sync_to("central") == "thidua.p15.sync.central"
    with pytest.raises(ValueError, match="cannot be part of a Kafka topic name"):
        Topics("p15").sync_to("bad node")


def test_receipt_periods_and_digest() -> None:
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert period_of(moment) == "2026-12" and period_of(moment, "day") == "2026-12-31"
    assert period_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert period_bounds("2026-02-28")[1] == datetime(2026, 3, 1, tzinfo=UTC)
    assert digest(["b", "a", "a"]) == digest(["a", "b"]) != digest(["a"])


def test_reconciliation_names_what_is_missing_or_extra() -> None:
    sent = {"2026-05": {"a", "b", "c"}, "2026-06": {"d"}, "2026-07": {"e"}}
    receipts = {
        ("p15", "2026-05"): {"count": 2, "digest": digest(["a", "b"]), "event_ids": ["a", "b"]},
        ("p15", "2026-06"): {"count": 1, "digest": digest(["d"]), "event_ids": ["d"]},
        ("p15", "2026-08"): {"count": 1, "digest": digest(["z"]), "event_ids": ["z"]},
        ("p46", "2026-05"): {"count": 1, "digest": digest(["q"]), "event_ids": ["q"]},  # another source
    }
    rows = {r.period: r for r in compare("p15", "central", sent, receipts)}
    assert {p: r.status for p, r in rows.items()} == {
        "2026-05": "MISSING",
        "2026-06": "OK",
        "2026-07": "NO_RECEIPT",
        "2026-08": "EXTRA",
    }
    assert rows["2026-05"].missing == ["c"] and rows["2026-08"].extra == ["z"]


def test_mirrored_topic_names_for_mirrormaker_2() -> None:
    topic = Topics("p15").sync_to("central")
    assert mirrored(topic, "p15") == topic  # one shared cluster, or MM2's IdentityReplicationPolicy
    assert mirrored(topic, "p15", "{source}.") == "p15.thidua.p15.sync.central"  # MM2's default policy


def test_compose_runs_the_sync_with_settings_only() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    service = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["sync"]
    assert service["command"] == ["thidua", "sync"] and service["profiles"] == ["sync"]
    assert set(service["environment"]) <= {f"THIDUA_{name.upper()}" for name in Settings.model_fields}
    assert {"THIDUA_PARENT_NODE", "THIDUA_CHILD_NODES"} <= set(service["environment"])
