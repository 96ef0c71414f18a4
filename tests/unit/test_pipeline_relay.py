"""The relay's batch with a fake producer: nothing is sent for a batch it cannot route, failures surface."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.kernel.store import StoredEvent
from services.pipeline.relay import Relay
from services.pipeline.topics import Topics, UnmappedEventType

pytestmark = pytest.mark.unit
WHEN = datetime(2026, 5, 4, tzinfo=UTC)


def stored(position: int, event_type: str) -> StoredEvent:
    return StoredEvent(
        position,
        f"e-{position}",
        f"s-{position}",
        1,
        event_type,
        bytes(8),
        WHEN,
        WHEN,
        "VN/46",
        "p46",
        "a",
        None,
        None,
        b"\xc3\x01body",
        bytes(32),
        bytes(32),
    )


class Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> Any:
        if self.error:
            raise self.error
        return "metadata"


class FakeProducer:
    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []
        self.fail_at = fail_at
        self.flushed = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> Future:
        self.sent.append((topic, key, headers))
        return Future(RuntimeError("broker said no") if len(self.sent) == self.fail_at else None)

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1


def relay_with(producer: FakeProducer) -> Relay:
    return Relay(None, None, Topics("p46"), lambda: producer)  # type: ignore[arg-type]


def test_a_batch_goes_to_its_topics_keyed_by_stream_with_cloudevents_headers() -> None:
    producer = FakeProducer()
    relay_with(producer).publish([stored(1, "OrgUnitRegistered"), stored(2, "AwardDecided")])
    assert [(t, k) for t, k, _ in producer.sent] == [("thidua.p46.registry", b"s-1"), ("thidua.p46.awards", b"s-2")]
    assert dict(producer.sent[1][2])["ce_type"] == b"vn.thidua.events.AwardDecided" and producer.flushed == 1


def test_an_unroutable_event_stops_the_batch_before_anything_is_sent() -> None:
    producer = FakeProducer()
    with pytest.raises(UnmappedEventType):
        relay_with(producer).publish([stored(1, "OrgUnitRegistered"), stored(2, "MedalMinted")])
    assert producer.sent == []


def test_one_unacknowledged_record_fails_the_batch() -> None:
    producer = FakeProducer(fail_at=2)
    with pytest.raises(RuntimeError, match="broker said no"):
        relay_with(producer).publish([stored(1, "OrgUnitRegistered"), stored(2, "PlanIssued"), stored(3, "PlanIssued")])
