"""Outside clients read our topics: kcat shows an award topic's CloudEvents headers, and Apache Avro Java decodes
the value with the writer schema it fetches itself (Kafka Java consumer) from the schema-catalog topic."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastavro.utils import generate_many

from bench.harness import ACTOR, Rig
from services.kernel.codec import AvroCodec
from services.kernel.store import NewEvent
from services.pipeline.catalog import publish_catalog
from tests.factories import HUE
from tests.services import unavailable

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AWARD_EVENTS = ("AwardProposed", "AwardForwarded", "AwardDecided")


def plain(value: Any) -> Any:
    """A datum as Avro Java prints it: logical types as their Avro values (micros, days)."""
    if isinstance(value, datetime):
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def award_event(codec: AvroCodec, name: str, seed: int) -> NewEvent:
    """A valid event of an award type, generated from its current schema (robust to the schema evolving)."""
    random.seed(seed)
    datum = next(iter(generate_many(codec.catalog.event(name).parsed, 1)))
    datum.pop("meta")
    return NewEvent(name, datum, HUE, ACTOR, datetime(2026, 9, 2, 8, 0, tzinfo=UTC))


def test_kcat_and_avro_java_read_an_award_topic(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path, codec: AvroCodec
) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not (kcat and shutil.which("java") and shutil.which("mvn")):
        unavailable("kcat, Java 17 and Maven (outside-client interop test)")
    build = subprocess.run(
        ["bash", str(ROOT / "infra/avro-java/build.sh")], capture_output=True, text=True, check=False
    )
    assert build.returncode == 0, build.stderr[-2000:]
    classpath = build.stdout.strip().splitlines()[-1]

    with Rig(postgres_url, kafka_bootstrap, tmp_path) as rig:
        rig.node.store.append("award-46-0001", 0, [award_event(codec, n, i) for i, n in enumerate(AWARD_EVENTS)])
        relay = rig.relay()
        relay.run_until_idle()
        publish_catalog(relay.producer(), rig.topics.schemas, codec.catalog)
        relay.close()
        topic = rig.topics.context("awards")
        stored = [e for e in rig.node.store.read_all(0, 10) if e.stream_id == "award-46-0001"]

        listing = _kcat(
            kcat, "-C", "-b", kafka_bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k|%p|%o|%h\n"
        )
        lines = listing.decode().splitlines()
        assert len(lines) == 3
        for line, event in zip(lines, stored, strict=True):  # one stream: one partition, in order
            key, _partition, _offset, header_text = line.split("|", 3)
            headers = dict(h.split("=", 1) for h in header_text.split(","))
            assert key == "award-46-0001"
            assert headers["ce_id"] == event.event_id and headers["ce_specversion"] == "1.0"
            assert headers["ce_type"] == f"vn.thidua.events.{event.event_type}"
            assert headers["ce_source"] == f"/thidua/{rig.settings.node_id}" and headers["ce_subject"] == key
            assert headers["ce_time"] == "2026-09-02T08:00:00Z" and headers["content-type"] == "application/avro"
            assert headers["ce_dataschema"] == f"urn:avro:crc64:{event.schema_fingerprint.hex()}"

        first = lines[0].split("|")
        value = _kcat(kcat, "-C", "-b", kafka_bootstrap, "-t", topic, "-p", first[1], "-o", first[2], "-c", "1", "-e")
        value_file = tmp_path / "award.bin"
        value_file.write_bytes(value)
        assert value == stored[0].body  # kcat hands over the exact Avro single-object bytes

        java = subprocess.run(
            [
                "java",
                "-cp",
                classpath,
                "vn.thidua.interop.AvroInterop",
                "kafka-decode",
                "--bootstrap",
                kafka_bootstrap,
                "--catalog-topic",
                rig.topics.schemas,
                "--in",
                str(value_file),
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
        assert java.returncode == 0, java.stderr
        assert json.loads(java.stdout) == plain(codec.decode(value).datum)


def _kcat(kcat: str, *args: str) -> bytes:
    raw = ["-D", "", "-f", "%s"] if "-f" not in args else []
    done = subprocess.run([kcat, *args, *raw], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout
