"""Routing rules as data (``rules.yaml``) and the node topology: which events go to which node.

Pure: the sender gathers the facts of an event (``EventFacts``) and asks ``targets``; nothing here does I/O
except ``load_rules``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from services.kernel.settings import NodeSettings

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "rules.yaml"
DESTINATIONS = ("parent", "children", "stream_origin")
CONDITIONS = ("stream", "decider_path")


@dataclass(frozen=True)
class Topology:
    """A node's place in the tree: its id, its parent (None at central) and its children."""

    node_id: str
    parent: str | None = None
    children: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> Topology:
        """The topology that settings describe (THIDUA_NODE_ID, THIDUA_PARENT_NODE, THIDUA_CHILD_NODES)."""
        return cls(settings.node_id, settings.parent_node or None, tuple(settings.children))

    @property
    def peers(self) -> list[str]:
        """Every node this node exchanges events with."""
        return [p for p in [self.parent, *self.children] if p]


@dataclass(frozen=True)
class Rule:
    """One routing rule: event types, destination and conditions."""

    name: str
    to: str
    events: frozenset[str]
    when: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventFacts:
    """What the rules may look at for one event."""

    event_type: str
    origin_node: str
    stream_origin: str
    decider_path: str | None = None


def parse_rules(document: Mapping[str, Any]) -> list[Rule]:
    """Rules from their YAML document; ValueError on an unknown destination or condition."""
    rules = []
    for raw in document.get("rules") or []:
        rule = Rule(raw["name"], raw["to"], frozenset(raw["events"]), dict(raw.get("when") or {}))
        if rule.to not in DESTINATIONS:
            raise ValueError(f"rule {rule.name}: 'to' must be one of {DESTINATIONS}, not {rule.to!r}")
        unknown = set(rule.when) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"rule {rule.name}: unknown conditions {sorted(unknown)}; known: {CONDITIONS}")
        rules.append(rule)
    return rules


def load_rules(path: Path | None = None) -> list[Rule]:
    """The rules of a YAML file (default: the packaged ``rules.yaml``)."""
    return parse_rules(yaml.safe_load((path or DEFAULT_RULES_FILE).read_text(encoding="utf-8")))


def _holds(rule: Rule, facts: EventFacts, topology: Topology) -> bool:
    stream = rule.when.get("stream")
    if stream is not None and stream != ("local" if facts.stream_origin == topology.node_id else "foreign"):
        return False
    decider = rule.when.get("decider_path")
    return decider is None or facts.decider_path == decider


def _destinations(rule: Rule, facts: EventFacts, topology: Topology) -> list[str]:
    if rule.to == "parent":
        return [topology.parent] if topology.parent else []
    if rule.to == "children":
        return list(topology.children)
    return [facts.stream_origin]


def targets(facts: EventFacts, rules: Sequence[Rule], topology: Topology) -> list[str]:
    """The nodes an event goes to (sorted); empty for events written elsewhere (never forwarded again)."""
    if facts.origin_node != topology.node_id:
        return []
    found = {
        node
        for rule in rules
        if facts.event_type in rule.events and _holds(rule, facts, topology)
        for node in _destinations(rule, facts, topology)
    }
    found.discard(topology.node_id)
    return sorted(found)
