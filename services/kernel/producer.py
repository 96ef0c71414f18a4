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


def client_security(
    protocol: str = "PLAINTEXT",
    sasl_mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ssl_cafile: str | None = None,
) -> dict[str, Any]:
    """kafka-python options for SASL/SSL (empty for PLAINTEXT); pass them to every client of the node."""
    config: dict[str, Any] = {}
    if protocol != "PLAINTEXT":
        config["security_protocol"] = protocol
    if sasl_mechanism:
        config.update(sasl_mechanism=sasl_mechanism, sasl_plain_username=username, sasl_plain_password=password)
    if ssl_cafile:
        config["ssl_cafile"] = ssl_cafile
    return config
