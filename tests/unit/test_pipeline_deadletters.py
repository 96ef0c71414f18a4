"""What a worker rejects, and the dead letter that says why and where from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.errors import DecodeError
from services.kernel.messaging import header_map
from services.pipeline.deadletters import Record, Rejected, dead_letter_headers, decode_record
from tests.factories import HUE, SYSTEM_ACTOR

pytestmark = pytest.mark.unit

META = {
    "event_id": "0b6f2f0e-5d1c-4c55-9d43-1f0d2f6f8a11",
    "stream_id": "guidance-1",
    "stream_version": 1,
    "occurred_at": datetime(2026, 6, 1, tzinfo=UTC),
    "recorded_at": datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC),
    "node_id": "p46",
    "org_unit": HUE,
    "actor": SYSTEM_ACTOR,
    "correlation_id": "req-7",
    "causation_id": None,
}
GUIDANCE = {
    "meta": META,
    "guidance_id": "g-1",
    "issuer": HUE,
    "title": "Hướng dẫn",
    "document_number": None,
    "issue_date": None,
    "addressed_to": ["VN/46"],
    "summary": None,
}


def record(value: bytes | None, **headers: str) -> Record:
    return Record("thidua.p46.plans", 2, 41, b"guidance-1", value, tuple((k, v.encode()) for k, v in headers.items()))


def code_of(rec: Record, codec: AvroCodec) -> str:
    with pytest.raises(DecodeError) as raised:
        decode_record(rec, codec, EVENT_TYPES)
    return raised.value.code


def test_a_valid_event_carries_its_store_position(codec: AvroCodec) -> None:
    value = codec.encode("vn.thidua.events.GuidanceIssued", GUIDANCE)
    event = decode_record(record(value, ce_sequence="00000000000000000042"), codec, EVENT_TYPES)
    assert type(event).__name__ == "GuidanceIssued" and event.position == 42 and event.event_id == META["event_id"]
    assert decode_record(record(value), codec, EVENT_TYPES).position == 0  # an outside producer's message


def test_each_kind_of_poison_has_its_code(codec: AvroCodec) -> None:
    valid = codec.encode("vn.thidua.events.GuidanceIssued", GUIDANCE)
    not_an_event = codec.encode("vn.thidua.common.OrgUnitRef", HUE)
    assert code_of(record(None), codec) == "UNDECODABLE_MESSAGE"
    assert code_of(record(b'{"json": true}'), codec) == "UNDECODABLE_MESSAGE"
    assert code_of(record(b"\xc3\x01" + bytes(8) + b"body"), codec) == "UNKNOWN_SCHEMA"
    assert code_of(record(not_an_event), codec) == "UNKNOWN_EVENT_TYPE"
    assert code_of(record(valid[:-3]), codec) == "UNDECODABLE_MESSAGE"  # truncated body
    assert code_of(record(valid, ce_type="vn.thidua.events.PlanIssued"), codec) == "TYPE_MISMATCH"


def test_a_dead_letter_keeps_the_original_and_says_why_and_where(codec: AvroCodec) -> None:
    rec = record(b"garbage", ce_id="e-1", ce_correlationid="req-7", dlt_reason="OLD")
    with pytest.raises(DecodeError) as raised:
        decode_record(rec, codec, EVENT_TYPES)
    rejected = Rejected.of(rec, "decode", raised.value)
    headers = dead_letter_headers(rejected, "thidua-p46-projections", datetime(2026, 6, 1, 9, tzinfo=UTC))
    facts = header_map(headers)
    assert facts["ce_id"] == "e-1" and rejected.correlation_id == "req-7"
    assert (facts["dlt_reason"], facts["dlt_stage"], facts["dlt_group"]) == (
        "UNDECODABLE_MESSAGE",
        "decode",
        "thidua-p46-projections",
    )
    assert (facts["dlt_topic"], facts["dlt_partition"], facts["dlt_offset"]) == ("thidua.p46.plans", "2", "41")
    assert facts["dlt_failed_at"] == "2026-06-01T09:00:00Z" and "C3 01" in facts["dlt_error"]
    assert [name for name, _ in headers].count("dlt_reason") == 1  # an earlier dead letter's reason is replaced


def test_an_apply_failure_names_the_projection() -> None:
    rejected = Rejected.of(record(b"x"), "apply", RuntimeError("boom"), "orgunits")
    assert (rejected.code, rejected.error, rejected.projection) == ("APPLY_FAILED", "RuntimeError: boom", "orgunits")
