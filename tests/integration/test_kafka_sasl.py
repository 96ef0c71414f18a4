"""The authenticated broker (SASL/SCRAM-SHA-512 and ACLs, started by infra/with-services.sh): anonymous clients are
refused, a province's principals reach only what services/pipeline/acls.py grants them, and the relay, the worker
and sync run with their own credentials."""

from __future__ import annotations

import socket
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from bench.federation import Federation
from bench.harness import Rig, append_units, wait_for
from services.pipeline.acls import add_users, apply_acls, node_acls, user
from tests.integration.test_sync_levels import _guidance

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]


def scram(name: str, password: str) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": name,
        "sasl_plain_password": password,
    }


def env_of(name: str) -> dict[str, str]:
    """THIDUA_* of a process that authenticates as ``name``."""
    return {
        "THIDUA_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "THIDUA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "THIDUA_KAFKA_SASL_USERNAME": name,
        "THIDUA_KAFKA_SASL_PASSWORD": PASSWORD,
    }


def admin_of(kafka_sasl: tuple[str, str]) -> KafkaAdminClient:
    servers, password = kafka_sasl
    return KafkaAdminClient(bootstrap_servers=servers, **scram("admin", password))


def provision(kafka_sasl: tuple[str, str], tree: dict[str, list[str]]) -> None:
    """Users and ACLs of each node of ``tree`` (node -> peers), as an operator does with ``thidua topics acls``."""
    admin = admin_of(kafka_sasl)
    try:
        add_users(admin, {user(node, role): PASSWORD for node in tree for role in ("relay", "worker", "sync")})
        for node, peers in tree.items():
            apply_acls(admin, node_acls(node, peers))
    finally:
        admin.close()


def test_an_anonymous_client_is_refused(kafka_sasl: tuple[str, str]) -> None:
    servers, _ = kafka_sasl
    host, port = servers.rsplit(":", 1)
    metadata = struct.pack(">ihhih", 2 + 2 + 4 + 2 + 4 + 4 + 1, 3, 4, 7, 4) + b"anon" + struct.pack(">ib", -1, 0)
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # Metadata v4 without authenticating
        sock.settimeout(5)
        sock.sendall(metadata)
        assert sock.recv(64) == b""  # the broker closes the connection: no answer to an unauthenticated request
    for options in ({}, scram("admin", "not-the-password")):  # no SASL at all, or a wrong password
        with pytest.raises(KafkaError):
            KafkaAdminClient(bootstrap_servers=servers, bootstrap_timeout_ms=4000, **options)


def test_a_province_writes_its_own_topics_and_reads_only_the_sync_topic_addressed_to_it(
    kafka_sasl: tuple[str, str],
) -> None:
    servers, password = kafka_sasl
    tag = uuid.uuid4().hex[:6]
    central, laocai, hue = f"c{tag}", f"l{tag}", f"h{tag}"
    provision(kafka_sasl, {central: [laocai, hue], laocai: [central], hue: [central]})
    to_laocai, to_hue = f"thidua.{central}.sync.{laocai}", f"thidua.{central}.sync.{hue}"
    admin = admin_of(kafka_sasl)
    admin.create_topics([NewTopic(t, 1, 1) for t in (to_laocai, to_hue, f"thidua.{laocai}.sync.{central}")])
    admin.close()
    root = KafkaProducer(bootstrap_servers=servers, **scram("admin", password))
    for topic in (to_laocai, to_hue):
        root.send(topic, b"from central").get(timeout=30)
    root.close()

    sync = scram(user(laocai, "sync"), PASSWORD)
    producer = KafkaProducer(
        bootstrap_servers=servers, acks="all", enable_idempotence=True, max_block_ms=10_000, **sync
    )
    assert producer.send(f"thidua.{laocai}.sync.{central}", b"up").get(timeout=30).offset == 0
    for foreign in (f"thidua.{central}.sync.{hue}", f"thidua.{hue}.registry"):  # another node's topics
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(foreign, b"forged").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False, **sync)
    own = TopicPartition(to_laocai, 0)
    consumer.assign([own])
    consumer.seek_to_beginning(own)
    got = wait_for(lambda: consumer.poll(timeout_ms=1000).get(own), 30, 0, "the sync topic addressed to Lào Cai")
    assert [r.value for r in got] == [b"from central"]
    assert consumer.partitions_for_topic(to_laocai) == {0} and not consumer.partitions_for_topic(to_hue)
    hue_inbox = TopicPartition(to_hue, 0)  # Huế's: it holds a record, Lào Cai's sync gets nothing of it
    consumer.assign([hue_inbox])
    consumer.seek_to_beginning(hue_inbox)
    assert not any(consumer.poll(timeout_ms=1000) for _ in range(3))
    consumer.close()
    worker = KafkaConsumer(
        bootstrap_servers=servers, group_id=None, enable_auto_commit=False, **scram(user(laocai, "worker"), PASSWORD)
    )
    assert not worker.partitions_for_topic(to_laocai)  # the worker reads its node's topics, not sync's inbox
    worker.close()


def test_relay_worker_and_sync_run_with_their_own_credentials(
    postgres_url: str, kafka_sasl: tuple[str, str], tmp_path: Path
) -> None:
    servers, password = kafka_sasl
    root = scram("admin", password)
    tag = uuid.uuid4().hex[:6]
    node = f"n{tag}"
    provision(kafka_sasl, {node: []})
    with Rig(postgres_url, servers, tmp_path / "rig", security=root, node_id=node) as rig:
        append_units(rig.node.store, 120, per_stream=20)
        database = {"THIDUA_DATABASE_URL": rig.settings.database_url or ""}
        relay = rig.start("relay", ["relay"], **database, **env_of(user(node, "relay")), THIDUA_RELAY_METRICS_PORT="0")
        rig.start("worker", ["worker"], **env_of(user(node, "worker")), THIDUA_WORKER_WEB_ENABLED="0")
        wait_for(lambda: rig.end() and sum(rig.end().values()) >= 121, 90, 0.2, f"relay published\n{relay.log()}")
        rig.wait_applied(120)
        assert rig.kafka_read_model() == rig.embedded_read_model()

    (tmp_path / "fed").mkdir()
    with Federation(
        postgres_url, servers, tmp_path / "fed", {"central": None, "laocai": "central"}, security=root
    ) as fed:
        central, laocai = fed["central"], fed["laocai"]
        provision(kafka_sasl, {central.node_id: [laocai.node_id], laocai.node_id: [central.node_id]})
        for sync in (central, laocai):
            sync.extra_env.update(env_of(user(sync.node_id, "sync")))
        fed.start_all()
        central.node.store.append("guidance-sasl", 0, [_guidance(1)])
        append_units(laocai.node.store, 20, per_stream=10)
        wait_for(lambda: laocai.version("guidance-sasl") == 1, 90, 0.2, "guidance down to Lào Cai")
        wait_for(
            lambda: central.event_ids(laocai.node_id) == laocai.event_ids(laocai.node_id),
            90,
            0.2,
            "Lào Cai's units up to central",
        )
        assert "TopicAuthorization" not in central.process.log() + laocai.process.log()  # type: ignore[union-attr]
