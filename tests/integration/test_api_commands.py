"""Command endpoints through FastAPI's TestClient (SQLite), and Idempotency-Key races on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import threading
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from services.api.app import create_app
from services.api.commanding import run_command
from services.api.idempotency import IdempotencyKey
from services.bootstrap import Node, bootstrap
from services.kernel.settings import Settings
from services.kernel.tables import event
from services.planning.commands import IssueGuidance
from tests.api_auth import bearer
from tests.factories import SYSTEM_ACTOR

UNIT = {
    "parent_path": "VN/31/11086",
    "code": "THCS-DS",
    "name": "Trường THCS Đại Sơn",
    "unit_kind": "PUBLIC_SERVICE_UNIT",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("api-commands")
    settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder}/api.db", node_id="p31", api_max_body_bytes=4096
    )
    node = bootstrap(settings)
    node.init_db()
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as test_client:
        yield test_client


def operator(client: TestClient, org_unit: str = "VN/31/11086") -> dict[str, str]:
    return bearer(client.app, org_unit, ["operator"])  # type: ignore[arg-type]


def test_a_command_answers_201_with_its_events_version_and_location(client: TestClient) -> None:
    name = unicodedata.normalize("NFD", UNIT["name"])
    response = client.post("/api/v1/org-units", json={**UNIT, "name": name}, headers=operator(client))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["stream_id"], body["version"], len(body["event_ids"]), len(body["positions"])) == (
        "orgunit-THCS-DS",
        1,
        1,
        1,
    )
    assert response.headers["etag"] == '"1"' and response.headers["location"] == "/api/v1/org-units/THCS-DS"
    feed = client.get("/api/v1/events", headers=bearer(client.app, "VN/31/11086", ["auditor"])).json()  # type: ignore[arg-type]
    (registered,) = [e for e in feed["items"] if e["id"] == body["event_ids"][0]]
    assert registered["data"]["name"] == UNIT["name"]  # stored NFC
    assert registered["data"]["meta"]["actor"]["org_unit_path"] == "VN/31/11086"


def test_validation_problems_list_each_field_vietnamese_first(client: TestClient) -> None:
    response = client.post("/api/v1/org-units", json={**UNIT, "code": "x y", "colour": "red"}, headers=operator(client))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["title"], problem["type"]) == (
        "VALIDATION_FAILED",
        "Dữ liệu không hợp lệ",
        "https://thidua-sync.example/problems/validation-failed",
    )
    assert {(e["field"], e["code"], e["message_vi"]) for e in problem["errors"]} == {
        ("body.code", "string_pattern_mismatch", "Chuỗi sai định dạng"),
        ("body.colour", "extra_forbidden", "Trường không được phép"),
    }


def test_oversized_and_unreadable_bodies(client: TestClient) -> None:
    big = {**UNIT, "code": "BIG", "name": "x" * 300, "emulation_bloc": "y" * 5000}
    response = client.post("/api/v1/org-units", json=big, headers=operator(client))
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
        yield b'{"parent_path": "VN/31/11086", "name": "'
        yield b"z" * 5000
        yield b'"}'

    streamed = client.post(
        "/api/v1/org-units", content=chunks(), headers={**operator(client), "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["code"] == "PAYLOAD_TOO_LARGE"
    broken = client.post(
        "/api/v1/org-units", content=b"\xff\xfe", headers={**operator(client), "Content-Type": "application/json"}
    )
    assert broken.status_code in (400, 422) and broken.headers["content-type"] == "application/problem+json"


def test_if_match_star_needs_an_existing_stream(client: TestClient) -> None:
    unit = {**UNIT, "code": "MN-DS", "name": "Trường Mầm non Đại Sơn"}
    refused = client.post("/api/v1/org-units", json=unit, headers={**operator(client), "If-Match": "*"})
    assert refused.status_code == 409 and refused.json()["code"] == "VERSION_CONFLICT"
    created = client.post("/api/v1/org-units", json=unit, headers={**operator(client), "If-Match": '"0"'})
    assert created.status_code == 201
    bad = client.post("/api/v1/org-units", json=unit, headers={**operator(client), "If-Match": "v2"})
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_IF_MATCH"


def test_the_token_endpoint_takes_basic_form_or_json(client: TestClient) -> None:
    security = client.app.state.security  # type: ignore[attr-defined]
    found, secret = security.clients.add("LGSP Hải Phòng", "VN/31", ["submitter", "reviewer"])
    basic = base64.b64encode(f"{found.client_id}:{secret}".encode()).decode()
    answers = [
        client.post(
            "/api/v1/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        ),
        client.post(
            "/api/v1/token",
            data={"grant_type": "client_credentials", "client_id": found.client_id, "client_secret": secret},
        ),
        client.post(
            "/api/v1/token",
            json={"grant_type": "client_credentials", "client_id": found.client_id, "client_secret": secret},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["token_type"], body["expires_in"], body["scope"], body["org_unit"], body["node"]) == (
            "Bearer",
            900,
            "reviewer submitter",
            "VN/31",
            "p31",
        )
        assert answer.headers["cache-control"] == "no-store"
    token = answers[0].json()["access_token"]
    assert client.get("/api/v1/org-units/31", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    unsupported = client.post("/api/v1/token", data={"grant_type": "password", "username": "a"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    wrong = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": found.client_id, "client_secret": "guess"},
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "INVALID_CLIENT"


def test_every_api_operation_but_the_token_endpoint_needs_a_bearer_token(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["bearerFormat"] == "JWT"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path in ("/api/v1/token", "/.well-known/jwks.json", "/healthz", "/readyz", "/metrics")
            assert ("security" in operation) != public, (method, path)
            if not public:
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            if method == "post" and not public:
                headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "Idempotency-Key" in headers, path


# --- Idempotency-Key under concurrency, on each backend -------------------------------------------------------


def _node(engine: Engine, tmp_path: Path) -> Node:
    node = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    node.init_db()
    return node


def _guidance(title: str = "Hướng dẫn tổng kết") -> IssueGuidance:
    from datetime import UTC, datetime

    return IssueGuidance("hd-1", "VN/31", title, ("VN/31/11086",), datetime(2026, 11, 1, tzinfo=UTC), SYSTEM_ACTOR)


def _key(fp: str = "f" * 64, ttl: timedelta = timedelta(hours=1)) -> IdempotencyKey:
    return IdempotencyKey("c-1", "retry-1", fp, ttl)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(event).where(event.c.event_type != "SigningKeyActivated")
        return int(conn.execute(query).scalar_one())  # the commands' events, not the node key's announcement


def test_concurrent_retries_append_once_and_get_the_same_answer(engine: Engine, tmp_path: Path) -> None:
    node = _node(engine, tmp_path)
    answers: list[Any] = []

    def send() -> None:
        response = run_command(node, _guidance(), stream_id="guidance-hd-1", if_match=None, key=_key())
        answers.append((response.status_code, bytes(response.body), response.headers.get("idempotent-replayed")))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _count(engine) == 1
    assert {(status, body) for status, body, _ in answers} == {answers[0][:2]} and answers[0][0] == 201
    assert sorted(replayed or "first" for *_, replayed in answers) == ["first"] + ["true"] * 5


def test_a_reused_key_is_refused_and_an_expired_key_is_forgotten(engine: Engine, tmp_path: Path) -> None:
    from services.kernel.errors import DomainRefusal

    node = _node(engine, tmp_path)
    first = run_command(node, _guidance(), stream_id="guidance-hd-1", if_match=None, key=_key(ttl=timedelta(0)))
    assert first.status_code == 201
    with pytest.raises(DomainRefusal) as refused:  # expired, so the command runs again: the domain refuses it
        run_command(node, _guidance(), stream_id="guidance-hd-1", if_match=None, key=_key())
    assert refused.value.code == "GUIDANCE_EXISTS"
    with pytest.raises(DomainRefusal) as reused:
        run_command(node, _guidance("Khác"), stream_id="guidance-hd-1", if_match=None, key=_key(fp="0" * 64))
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    again = run_command(node, _guidance(), stream_id="guidance-hd-1", if_match=None, key=_key())
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"  # the stored refusal
    assert _count(engine) == 1
