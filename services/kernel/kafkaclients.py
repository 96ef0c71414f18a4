"""The one place that builds the node's Kafka clients: the producer (idempotent, acks=all, ordered per partition),
consumers and admin clients, and their security options (SASL/SSL) from settings."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from services.kernel.settings import NodeSettings


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


def make_consumer(bootstrap_servers: str, *topics: str, **options: Any) -> KafkaConsumer:
    """A kafka-python consumer of ``bootstrap_servers`` (comma-separated), subscribed to ``topics`` if any."""
    return KafkaConsumer(*topics, bootstrap_servers=bootstrap_servers.split(","), **options)


def make_admin(bootstrap_servers: str, **options: Any) -> KafkaAdminClient:
    """A kafka-python admin client of ``bootstrap_servers`` (comma-separated)."""
    return KafkaAdminClient(bootstrap_servers=bootstrap_servers.split(","), **options)


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


def security_options(settings: NodeSettings) -> dict[str, Any]:
    """kafka-python SASL/SSL options from settings."""
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return client_security(
        settings.kafka_security_protocol, settings.kafka_sasl_mechanism, settings.kafka_sasl_username, password, cafile
    )


def oneshot_options(settings: NodeSettings) -> dict[str, Any]:
    """Options of a short-lived kafka-python client (a one-shot command, a scrape): security, and a bootstrap
    that gives up after ``kafka_connect_timeout_seconds`` instead of kafka-python's 30 s."""
    return {**security_options(settings), "bootstrap_timeout_ms": int(settings.kafka_connect_timeout_seconds * 1000)}
