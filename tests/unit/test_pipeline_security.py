"""SASL settings reach every Kafka client of the node (kafka-python for the relay; aiokafka for the workers' consumer,
Faust for their dead-letter producer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kernel.kafkaclients import security_options
from services.kernel.settings import Settings
from services.pipeline.batches import consumer_options
from services.pipeline.worker import faust_app

pytestmark = pytest.mark.unit


def sasl(tmp_path: Path, protocol: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        node_id="p46",
        kafka_bootstrap_servers="b1:9093,b2:9093",
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="p46-relay",
        kafka_sasl_password="s3cret",
    )


def test_plaintext_adds_nothing(tmp_path: Path) -> None:
    assert security_options(Settings(data_dir=tmp_path)) == {}


def test_kafka_python_options(tmp_path: Path) -> None:
    assert security_options(sasl(tmp_path, "SASL_SSL")) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "p46-relay",
        "sasl_plain_password": "s3cret",
    }


def test_faust_credentials_and_brokers(tmp_path: Path) -> None:
    app = faust_app(sasl(tmp_path, "SASL_SSL"))
    credentials = app.conf.broker_credentials
    assert (credentials.username, credentials.password) == ("p46-relay", "s3cret")
    assert str(credentials.mechanism.value) == "SCRAM-SHA-512" and credentials.ssl_context is not None
    assert [(u.host, u.port) for u in app.conf.broker] == [("b1", 9093), ("b2", 9093)]
    assert app.conf.id == "thidua-p46-projections"


def test_the_workers_consumer_options(tmp_path: Path) -> None:
    options = consumer_options(sasl(tmp_path, "SASL_SSL"))
    assert options["bootstrap_servers"] == ["b1:9093", "b2:9093"] and options["group_id"] == "thidua-p46-projections"
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("p46-relay", "s3cret")
    assert options["ssl_context"] is not None and options["enable_auto_commit"] is False  # commits follow the database
    plain = consumer_options(Settings(data_dir=tmp_path, kafka_bootstrap_servers="b1:9092"))
    assert not {"security_protocol", "sasl_mechanism", "ssl_context"} & set(plain)
