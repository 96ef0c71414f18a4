"""Faust projection workers on the real broker and PostgreSQL: one result for two runners, dead letters, faults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from bench.harness import (
    Rig,
    append_units,
    applied_by_projection,
    applied_count,
    applied_offsets,
    consume_all,
    event_ids_by_projection,
    events_read,
    unit_registered,
    wait_for,
)
from services.kernel.codec import AvroCodec
from services.kernel.messaging import header_map, to_message
from tests.factories import HUE, guidance_issued

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(postgres_url: str, kafka_bootstrap: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with Rig(postgres_url, kafka_bootstrap, tmp_path) as built:
        yield built


def assert_applied_once_each(rig: Rig) -> None:
    """Every projection applied each event of the store it reads (of its ``event_types``) and recorded its id:
    nothing twice, nothing lost, nothing it does not read."""
    expected = events_read(rig.node.store, rig.node.projections)
    ids = dict.fromkeys(expected, 0) | event_ids_by_projection(rig.read_engine)  # a read model that read none: no id
    assert applied_by_projection(rig.read_engine) == expected == ids


def test_the_embedded_tail_and_the_faust_worker_build_identical_read_models(rig: Rig) -> None:
    store = rig.node.store
    append_units(store, 400, per_stream=40)
    for code in ("U-00042", "U-00043"):  # one stream per unit, as the registry context writes them
        store.append(f"orgunit-{code}", 0, [unit_registered(code, "VN/31/11086")])
    store.append("orgunit-TO-1", 0, [unit_registered("TO-1", "VN/31/11086/U-00042")])  # a unit below a unit
    for i in range(5):
        store.append(f"guidance-{i}", 0, [guidance_issued()])  # events this read model ignores
    relay = rig.relay()
    relay.run_until_idle()
    relay.publish(store.read_all(0, 150))  # the relay crashed before recording: 150 events published twice
    relay.close()

    rig.start("worker", ["worker"])
    rig.wait_applied(60)
    kafka, embedded = rig.kafka_read_model(), rig.embedded_read_model()
    assert kafka == embedded  # every row, every column (position included, from ce_sequence)
    assert len([r for r in kafka["orgunit_unit"] if r["source"] == "EVENT"]) == 403
    assert_applied_once_each(rig)  # the 150 duplicates had no effect


def test_poison_messages_go_to_the_dead_letter_topic_and_the_worker_goes_on(rig: Rig, codec: AvroCodec) -> None:
    store = rig.node.store
    for code in ("P1", "P2", "P3", "P4", "P5", "46"):  # "46" is Huế's official code: the read model refuses it
        store.append(f"orgunit-{code}", 0, [unit_registered(code, "VN/31/11086")])
    valid = [to_message(e) for e in store.read_all(0, 100) if e.event_type == "OrgUnitRegistered"]  # not the key
    not_an_event = codec.encode("vn.thidua.common.OrgUnitRef", HUE)
    unknown_fingerprint = b"\xc3\x01" + bytes(8) + not_an_event[10:]
    topic = rig.topics.context("registry")
    sequence = [valid[0], b"\x00garbage", valid[1], unknown_fingerprint, valid[2], not_an_event, valid[3]]
    sequence += [valid[5], valid[4]]  # the refused registration, then one more valid event
    producer = KafkaProducer(bootstrap_servers=rig.bootstrap_servers)
    for item in sequence:  # all on partition 0, in this order
        if isinstance(item, bytes):
            producer.send(topic, key=b"poison", value=item, partition=0, headers=[("ce_id", b"poison-id")])
        else:
            producer.send(topic, key=item.key, value=item.value, partition=0, headers=item.headers)
    producer.flush()
    producer.close()

    worker = rig.start("worker", ["worker"])
    rig.wait_applied(60)
    letters = consume_all(rig.bootstrap_servers, [rig.topics.dead_letters])
    facts = [header_map(r.headers) for r in letters]
    assert [(f["dlt_reason"], f["dlt_stage"], int(f["dlt_offset"])) for f in facts] == [
        ("UNDECODABLE_MESSAGE", "decode", 1),
        ("UNKNOWN_SCHEMA", "decode", 3),
        ("UNKNOWN_EVENT_TYPE", "decode", 5),
        ("APPLY_FAILED", "apply", 7),
    ]
    assert all(f["dlt_topic"] == topic and f["dlt_partition"] == "0" for f in facts)
    assert facts[3]["dlt_projection"] == "orgunits" and "IntegrityError" in facts[3]["dlt_error"]
    assert letters[0].value == b"\x00garbage" and letters[3].value == valid[5].value  # the original bytes
    assert facts[3]["ce_id"] == header_map(valid[5].headers)["ce_id"]  # the original headers are kept
    codes = {r["code"] for r in rig.kafka_read_model()["orgunit_unit"] if r["source"] == "EVENT"}
    assert codes == {"P1", "P2", "P3", "P4", "P5"}  # every valid message, before and after the poison ones
    applied = applied_by_projection(rig.read_engine)
    assert applied.pop("orgunits") == 5 and applied.pop("rollup") == applied.pop("guidance") == 6  # they took "46"
    assert set(applied.values()) <= {0}  # the other read models read no unit registration
    logged = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    dead = [entry for entry in logged if entry["msg"] == "dead letter"]
    assert {entry["reason"] for entry in dead} == {f["dlt_reason"] for f in facts}
    assert {entry.get("correlation_id") for entry in dead} >= {"poison-id"}


@pytest.mark.slow
def test_kill_9_worker_mid_batch_then_restart_equals_a_clean_rebuild(rig: Rig) -> None:
    total = 2500
    append_units(rig.node.store, total, per_stream=20)
    relay = rig.relay()
    relay.run_until_idle()
    relay.close()
    # commits to Kafka are rare here, so the restarted worker surely gets records the database already has
    first = rig.start("worker-1", ["worker"], THIDUA_WORKER_BATCH_SIZE="50", THIDUA_WORKER_COMMIT_SECONDS="60")
    wait_for(lambda: applied_count(rig.read_engine) >= total // 4, 60, 0.02, "a quarter applied")
    first.kill()  # kill -9: no commit to Kafka, no clean shutdown, most likely inside a transaction
    assert applied_count(rig.read_engine) < total
    committed = _committed(rig)
    in_database = {tp: offset + 1 for tp, offset in applied_offsets(rig.read_engine, "orgunits").items()}
    assert any(committed.get(tp, 0) < offset for tp, offset in in_database.items())  # Kafka is behind

    rig.start("worker-2", ["worker"], THIDUA_WORKER_BATCH_SIZE="50")
    rig.wait_applied(90)
    assert rig.kafka_read_model() == rig.embedded_read_model()
    assert_applied_once_each(rig)  # the batch interrupted by kill -9 was not applied twice


@pytest.mark.slow
def test_workers_in_one_group_share_the_partitions(rig: Rig) -> None:
    workers = [rig.start(f"worker-{i}", ["worker"]) for i in range(2)]
    group = rig.settings.effective_worker_app_id

    def both_assigned() -> bool:
        admin = KafkaAdminClient(bootstrap_servers=rig.bootstrap_servers)
        try:
            described = admin.describe_groups([group])[group]
        finally:
            admin.close()
        members = described.get("members", [])
        owned = [_partitions(m) for m in members]
        everything = sorted(tp for tps in owned for tp in tps)
        shared = everything == sorted((t, p) for t in rig.topics.events for p in range(3))  # each partition once
        return described.get("group_state") == "Stable" and len(members) == 2 and all(owned) and shared

    wait_for(both_assigned, 60, 0.5, "two members, each with partitions")
    append_units(rig.node.store, 1200, per_stream=10)
    relay = rig.relay()
    relay.run_until_idle()
    relay.close()
    rig.wait_applied(60)
    assert rig.kafka_read_model() == rig.embedded_read_model()
    assert all(w.alive() for w in workers)
    wait_for(both_assigned, 5, 0.5, "the same two members still sharing the partitions")


BUGGY_WORKER = """
from services.pipeline.projector import KafkaProjector

def apply(self, decoded, records, excluded=frozenset()):
    raise RuntimeError("a bug that no single event explains")

KafkaProjector.apply = apply
KafkaProjector.find_rejections = lambda self, decoded, records: []
from services.cli.main import app
app(prog_name="thidua")
"""


def test_a_batch_that_fails_for_a_bug_stops_the_worker_and_nothing_moves_past_it(rig: Rig) -> None:
    append_units(rig.node.store, 30, per_stream=10)
    relay = rig.relay()
    relay.run_until_idle()
    relay.close()
    command = [sys.executable, "-c", BUGGY_WORKER, "worker"]
    done = subprocess.run(command, env=rig.env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0, done.stdout[-2000:]
    assert "a batch failed unexpectedly; stopping the worker" in done.stdout + done.stderr
    assert applied_count(rig.read_engine) == 0 and not _committed(rig)  # neither the database nor Kafka moved on


def _partitions(member: dict) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    assigned = (member.get("member_assignment") or {}).get("assigned_partitions", [])
    return [(t["topic"], p) for t in assigned for p in t["partitions"]]


def _committed(rig: Rig) -> dict[tuple[str, int], int]:
    admin = KafkaAdminClient(bootstrap_servers=rig.bootstrap_servers)
    try:
        group = rig.settings.effective_worker_app_id
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): o.offset for tp, o in offsets.items() if o.offset >= 0}
