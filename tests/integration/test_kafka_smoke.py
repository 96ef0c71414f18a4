"""Smoke test on the real broker: an encoded event with CloudEvents binary headers, consumed and decoded."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from services.kernel.codec import AvroCodec
from services.kernel.db import make_engine
from services.kernel.kafkaclients import make_producer
from services.kernel.messaging import header_map, to_message
from services.kernel.store import EventStore
from services.kernel.tables import metadata
from tests.factories import org_unit_registered

pytestmark = pytest.mark.integration


def test_event_round_trip_through_kafka(kafka_bootstrap: str, codec: AvroCodec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    metadata.create_all(engine)
    store = EventStore(engine, codec, node_id="p31")
    store.append("orgunit-U-00042", 0, [org_unit_registered("U-00042")])
    stored = store.read_all()[0]

    topic = f"thidua.smoke.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.close()
    producer = make_producer(kafka_bootstrap)
    message = to_message(stored)
    producer.send(topic, key=message.key, value=message.value, headers=message.headers).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False, consumer_timeout_ms=20_000)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    record = next(iter(consumer))
    consumer.close()

    headers = header_map(record.headers)
    assert record.key == b"orgunit-U-00042"
    assert headers["ce_id"] == stored.event_id and headers["ce_specversion"] == "1.0"
    assert headers["ce_source"] == "/thidua/p31"
    assert headers["ce_type"] == "vn.thidua.events.OrgUnitRegistered"
    assert headers["ce_time"] == "2026-05-04T08:30:00Z" and headers["content-type"] == "application/avro"
    decoded = codec.decode(record.value)
    assert decoded.name == "OrgUnitRegistered"
    assert decoded.datum["unit"]["path"] == "VN/31/11086/U-00042"
    assert decoded.datum["meta"]["event_id"] == stored.event_id
