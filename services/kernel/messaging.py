"""Kafka messages for stored events: key = stream id, value = Avro single-object bytes, CloudEvents headers.

CloudEvents 1.0 Kafka protocol binding, binary mode: attributes travel as ``ce_*`` headers and the value is
the event data as is (``content-type: application/avro``). ``ce_sequence`` (the CloudEvents *sequence*
extension: a lexicographically ordered string) carries the store position, zero-padded, so a consumer can
order events of this node and a projection can record the same position as the embedded runner does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schemas import EVENT_NAMESPACE
from .store import StoredEvent

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"
SEQUENCE_DIGITS = 20  # a BIGINT position fits; zero padding keeps the string order equal to the number order


@dataclass(frozen=True)
class KafkaMessage:
    """What the relay sends for one event."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def cloudevent_headers(stored: StoredEvent) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers of a stored event."""
    attributes = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": stored.event_id,
        "ce_source": f"/thidua/{stored.node_id}",
        "ce_type": f"{EVENT_NAMESPACE}.{stored.event_type}",
        "ce_time": stored.occurred_at.isoformat().replace("+00:00", "Z"),
        "ce_subject": stored.stream_id,
        "ce_dataschema": f"urn:avro:crc64:{stored.schema_fingerprint.hex()}",
        "ce_orgunit": stored.org_unit_path,
        "ce_sequence": str(stored.position).zfill(SEQUENCE_DIGITS),
        "content-type": CONTENT_TYPE,
    }
    if stored.correlation_id:
        attributes["ce_correlationid"] = stored.correlation_id
    if stored.causation_id:
        attributes["ce_causationid"] = stored.causation_id
    return [(name, value.encode("utf-8")) for name, value in attributes.items()]


def to_message(stored: StoredEvent) -> KafkaMessage:
    """The Kafka message of a stored event."""
    return KafkaMessage(stored.stream_id.encode("utf-8"), stored.body, cloudevent_headers(stored))


def header_map(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """Headers of a consumed message as a dict of text values."""
    return {name: value.decode("utf-8") for name, value in headers or []}


def sequence_of(headers: dict[str, str]) -> int:
    """The store position a message carries in ``ce_sequence`` (0 when absent or not a number)."""
    value = headers.get("ce_sequence", "")
    return int(value) if value.isdigit() else 0
