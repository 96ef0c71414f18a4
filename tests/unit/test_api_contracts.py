"""Request bodies, idempotency fingerprints, If-Match, webhook signatures and backoff, without I/O."""

from __future__ import annotations

import json
import unicodedata

import pytest
from pydantic import ValidationError

from services.api import bodies
from services.api.commanding import ANY, expected_version
from services.api.idempotency import fingerprint
from services.api.routers.commands_registry import RegisterOrgUnitBody
from services.kernel.errors import DomainRefusal
from services.kernel.schemas import SchemaCatalog
from services.webhooks.dispatcher import Backoff
from services.webhooks.signing import sign, verify

pytestmark = pytest.mark.unit

NESTED = {
    bodies.PlanPhase: "PlanPhase",
    bodies.ContentArea: "ContentArea",
    bodies.ReportingDuty: "ReportingDuty",
    bodies.AwardAllowance: "AwardAllowance",
    bodies.Indicator: "Indicator",
    bodies.CriteriaItem: "CriteriaItem",
    bodies.IndicatorValue: "IndicatorValue",
    bodies.DomainWarning: "DomainWarning",
    bodies.IndicatorCondition: "IndicatorCondition",
    bodies.PlanPeriod: "PlanPeriod",
    bodies.DocumentReference: "DocumentReference",
}


@pytest.mark.parametrize("model", list(NESTED), ids=list(NESTED.values()))
def test_nested_bodies_have_exactly_the_fields_of_their_avro_record(model: type[bodies.Body]) -> None:
    record = SchemaCatalog.load().current(f"vn.thidua.common.{NESTED[model]}").schema
    assert list(model.model_fields) == [f["name"] for f in record["fields"]]
    optional = {f["name"] for f in record["fields"] if "default" in f}
    assert {name for name, f in model.model_fields.items() if not f.is_required()} == optional


UNIT = {"parent_path": "VN/31/11086", "code": "THCS-DS", "unit_kind": "PUBLIC_SERVICE_UNIT"}


def test_text_is_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Trường THCS Đại Sơn")
    body = RegisterOrgUnitBody.model_validate({**UNIT, "name": decomposed, "emulation_bloc": decomposed})
    assert body.name == body.emulation_bloc == "Trường THCS Đại Sơn" and len(body.name) < len(decomposed)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": "Trường", "nickname": "x"}, "extra_forbidden"),
        ({"name": "a\x00b"}, "value_error"),
        ({"name": "\ud800"}, "value_error"),
        ({"name": ""}, "string_too_short"),
        ({"name": "x", "code": "thcs ds"}, "string_pattern_mismatch"),
        ({"name": "x", "unit_kind": "SCHOOL"}, "literal_error"),
        ({"name": "x", "occurred_at": "2026-05-04T08:00:00"}, "timezone_aware"),
    ],
)
def test_bodies_refuse_unknown_fields_and_bad_text(change: dict[str, str], code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RegisterOrgUnitBody.model_validate({**UNIT, **change})
    assert [e["type"] for e in caught.value.errors()] == [code]


def test_the_fingerprint_ignores_key_order_and_normal_form_but_not_content() -> None:
    body = {"name": "Đại Sơn", "code": "DS", "items": [1, 2]}
    same = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False)
    nfd = json.dumps({**body, "name": unicodedata.normalize("NFD", "Đại Sơn")}).encode()
    first = fingerprint("POST", "/api/v1/org-units", None, json.dumps(body).encode())
    assert first == fingerprint("POST", "/api/v1/org-units", None, same.encode("utf-8"))
    assert first == fingerprint("POST", "/api/v1/org-units", None, nfd)
    assert first != fingerprint("POST", "/api/v1/org-units", None, json.dumps({**body, "items": [2, 1]}).encode())
    assert first != fingerprint("POST", "/api/v1/plans", None, json.dumps(body).encode())
    assert first != fingerprint("POST", "/api/v1/org-units", '"3"', json.dumps(body).encode())
    assert fingerprint("POST", "/x", None, b"\xff not json") != fingerprint("POST", "/x", None, b"\xfe not json")


def test_if_match_names_a_stream_version() -> None:
    assert expected_version(None) is None and expected_version("*") == ANY
    assert expected_version('"3"') == 3 and expected_version("12") == 12
    for bad in ('W/"3"', "abc", '"-1"', ""):
        with pytest.raises(DomainRefusal) as caught:
            expected_version(bad)
        assert caught.value.code == "INVALID_IF_MATCH"


def test_signatures_cover_timestamp_and_body() -> None:
    body = b'{"id":"e-1"}'
    signature = sign("whsec_k", 1_790_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("whsec_k", "1790000000", body, signature, now=1_790_000_100)
    assert not verify("whsec_k", "1790000000", body + b" ", signature, now=1_790_000_100)
    assert not verify("whsec_k", "1790000001", body, signature, now=1_790_000_100)
    assert not verify("whsec_other", "1790000000", body, signature, now=1_790_000_100)
    assert not verify("whsec_k", "1790000000", body, signature, now=1_790_000_000 + 301)  # too old: a replay


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base=10, cap=3600, max_attempts=10)
    assert [backoff.delay(n, jitter=1.0) for n in range(1, 11)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
    ]
    assert all(8 <= backoff.delay(1) <= 12 for _ in range(50))


def _bodies(cls: type[bodies.Body]) -> list[type[bodies.Body]]:
    return [cls, *(found for sub in cls.__subclasses__() for found in _bodies(sub))]


def test_every_example_in_the_openapi_document_is_a_valid_body() -> None:
    from services.api.app import routers

    assert len(routers()) >= 9  # imports every router module, so every body model is known
    with_examples = [m for m in _bodies(bodies.Body) if "examples" in m.model_json_schema()]
    assert len(with_examples) >= 14
    for model in with_examples:
        for sample in model.model_json_schema()["examples"]:
            model.model_validate(sample)
