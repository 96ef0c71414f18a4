"""Our CloudEvents read by the CNCF SDK (``cloudevents`` on PyPI): the Kafka messages the relay
sends (binary mode: ce_* headers, Avro value, key = stream id) and the entries of GET /api/v1/events (structured
JSON) decode into the same events, with the attributes docs/api.md and docs/asyncapi.yaml promise."""

from __future__ import annotations

import json
from pathlib import Path

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import bootstrap
from services.kernel.cloudevents import jsonable
from services.kernel.messaging import to_message
from services.kernel.settings import Settings
from tests.api_auth import authorize
from tests.factories import guidance_issued, org_unit_registered


def test_kafka_messages_and_feed_entries_decode_with_the_cloudevents_sdk(tmp_path: Path) -> None:
    node = bootstrap(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'ce.db'}", node_id="p31"))
    node.init_db()
    node.store.append("orgunit-A1", 0, [org_unit_registered("A1")])
    node.store.append("guidance-x", 0, [guidance_issued()])
    stored = node.store.read_all(0, 100)  # the two, after the node key's announcement
    assert {"OrgUnitRegistered", "GuidanceIssued"} <= {s.event_type for s in stored}
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as client:
        feed = authorize(client).get("/api/v1/events").json()["items"]
    assert [e["id"] for e in feed] == [s.event_id for s in stored]  # a central caller reads every event
    for event, entry in zip(stored, feed, strict=True):
        message = to_message(event)  # what the relay sends (services/pipeline/relay.py)
        decoded = from_binary(KafkaMessage(dict(message.headers), message.key, message.value), JSONFormat(), CloudEvent)
        attributes = decoded.get_attributes()
        assert decoded.get_id() == event.event_id and decoded.get_source() == "/thidua/p31"
        assert decoded.get_type() == f"vn.thidua.events.{event.event_type}"
        assert decoded.get_subject() == event.stream_id and attributes["partitionkey"] == event.stream_id
        assert decoded.get_time() == event.occurred_at and decoded.get_datacontenttype() == "application/avro"
        assert attributes["dataschema"] == f"urn:avro:crc64:{event.schema_fingerprint.hex()}"
        assert attributes["orgunit"] == event.org_unit_path and int(attributes["sequence"]) == event.position
        assert decoded.get_data() == event.body  # the Avro single-object bytes, as stored

        structured = JSONFormat().read(CloudEvent, json.dumps(entry).encode())
        assert structured.get_id() == decoded.get_id() and structured.get_type() == decoded.get_type()
        assert structured.get_time() == decoded.get_time() and structured.get_subject() == decoded.get_subject()
        assert structured.get_attributes()["sequence"] == attributes["sequence"]
        assert structured.get_data() == jsonable(node.codec.decode(decoded.get_data()).datum)  # one datum, 2 forms
