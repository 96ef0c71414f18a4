"""The one place that builds a Kafka producer: idempotent, acks=all, ordered per partition."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer


def make_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    """An idempotent kafka-python producer (acks=all; retries keep per-partition order)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers.split(","),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "linger_ms": 5,
        "compression_type": None,
        "client_id": "thidua-relay",
    }
    config.update(overrides)
    return KafkaProducer(**config)
