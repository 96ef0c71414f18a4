"""The schema catalog on Kafka: every schema version keyed by its fingerprint, on a compacted topic.

Key: the 16 hex digits of the CRC-64-AVRO fingerprint in single-object header order (the 8 bytes after
``C3 01``). Value: the self-contained schema JSON (UTF-8). Headers name the type and version. A consumer in any
language reads the topic from the beginning, keeps the latest value per key, and can then decode every message.
"""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.kernel.schemas import SchemaCatalog, SchemaVersion

SCHEMA_CONTENT_TYPE = "application/vnd.apache.avro+json"


def schema_record(version: SchemaVersion) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of one schema version."""
    headers = [
        ("avro_fullname", version.fullname.encode()),
        ("avro_version", str(version.version or "current").encode()),
        ("content-type", SCHEMA_CONTENT_TYPE.encode()),
    ]
    return version.fingerprint.hex().encode(), version.to_json().encode("utf-8"), headers


def publish_catalog(producer: KafkaProducer, topic: str, catalog: SchemaCatalog, timeout: float = 60) -> int:
    """Publish every known schema version (current and historical); return how many. Idempotent (compaction)."""
    futures = []
    for version in catalog.all_versions():
        key, value, headers = schema_record(version)
        futures.append(producer.send(topic, key=key, value=value, headers=headers))
    producer.flush(timeout)
    for future in futures:
        future.get(timeout=0)
    return len(futures)


def read_catalog(consumer: KafkaConsumer, topic: str, timeout_ms: int = 10_000) -> dict[str, str]:
    """The catalog topic as {fingerprint hex: schema JSON}, read from the beginning to the current end."""
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    schemas: dict[str, str] = {}
    while any(consumer.position(tp) < end[tp] for tp in partitions):
        batch = consumer.poll(timeout_ms=timeout_ms)
        if not batch:
            raise TimeoutError(f"catalog topic {topic} did not deliver up to its end offsets")
        for records in batch.values():
            for record in records:
                if record.value is None:  # a tombstone
                    schemas.pop(record.key.decode(), None)
                else:
                    schemas[record.key.decode()] = record.value.decode("utf-8")
    return schemas
