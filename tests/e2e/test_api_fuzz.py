"""Every input gets a 4xx, never a 5xx: a property-based fuzz test (hypothesis) over every
operation of the committed OpenAPI document, against a real `thidua serve` on PostgreSQL holding the demo's year.

For each operation hypothesis draws path parameters (ids of the demo, or any text), query parameters (valid
values, any text, control characters, huge numbers; for cursors: garbage, base64 JSON of any shape and depth, forged
``v1.`` cursors, real cursors with one character changed, cursors of another list), headers (If-Match,
Idempotency-Key, sometimes a broken Authorization) and bodies (any bytes, broken JSON, JSON nested deeper than any
parser allows, JSON values of any shape, objects with the operation's own field names and wrong values).

Every answer must be a complete HTTP answer (no dropped connection) with a status below 500; a 4xx must be
problem+json with a stable ``code``; and the server's log must hold no traceback. THIDUA_FUZZ_EXAMPLES (per
operation) and THIDUA_FUZZ_SEED vary the run (derandomised by default, so CI is reproducible).
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.api.security.clients import ClientStore
from services.bootstrap import bootstrap
from services.demo.year import run_demo
from services.kernel.db import make_engine
from services.kernel.settings import Settings
from tests.e2e.lgsp import Node, running_node

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("THIDUA_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("THIDUA_FUZZ_SEED", "20260322"))
SKIPPED = {("GET", "/metrics"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/api/v1/audit/verify")}

# Values the demo's year holds, so that many requests reach the query layer rather than a 404.
KNOWN = {
    "code": ["VN", "15", "31", "11086", "02647", "TH-DS", "THCS-DS"],
    "proposal_id": ["gk-ds-2026-1", "bk-ds-2027-1", "gk-ds-2026-7", "nope"],
    "plan_id": ["dai-son-draft-2026-06", "lao-cai-draft-2026-05", "nope"],
    "report_id": ["dai-son-draft-2026-06:TH-DS:2026", "x:y:2026"],
    "subscription_id": ["00000000-0000-0000-0000-000000000000", "1"],
    "fingerprint": ["0", "1234567890123456789", "-1"],
    "period": ["2026", "SO_KET_2027", "TONG_KET_2030", "2026-Q1"],
    "level": ["children", "PROVINCE", "COMMUNE", "UNIT"],
    "status": ["missing", "late", "on_time", "submitted", "returned", "DRAFT", "ISSUED"],
    "state": ["PENDING", "APPROVED", "REJECTED", "RETURNED", "DELIVERED", "FAILED"],
    "as_of": ["2026-12-15T23:59:59+07:00", "2026-12-15", "0001-01-01T00:00:00", "9999-12-31T23:59:59"],
    "as_now": ["2027-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"],
    "types": ["AwardDecided,AwardProposed", "vn.thidua.events.PlanIssued", "Nope"],
    "subtree": ["VN", "VN/31/11086", "VN/../15", "vn"],
    "limit": ["1", "0", "500", "501", "-1", "99999999999999999999999", "1e3"],
    "per_group": ["1", "0", "99999999999999999999999"],
}

UNSENDABLE = ("Cs",)  # lone surrogates cannot be UTF-8 encoded by any client
any_text = st.text(st.characters(blacklist_categories=UNSENDABLE), max_size=60)
NASTY = ["\x00", "a\x00b", "\x1b[31m", "%00", "../../etc/passwd", "' OR 1=1 --", "\ufffd", "𝕏" * 300, " ", "\t"]
nasty_text = st.sampled_from(NASTY)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def _b64(data: bytes, pad: bool = True) -> str:
    encoded = base64.urlsafe_b64encode(data).decode("ascii")
    return encoded if pad else encoded.rstrip("=")


def _tampered(cursor: str, at: int, char: str) -> str:
    at = at % len(cursor)
    return cursor[:at] + (char if cursor[at] != char else "A") + cursor[at + 1 :]


def cursors(real: list[str]) -> st.SearchStrategy[str]:
    """Garbage cursors of every kind, and real ones altered."""
    deep = st.integers(1, 20_000).map(lambda n: _b64(("[" * n + "]" * n).encode()))
    shaped = json_values.map(lambda v: _b64(json.dumps(v).encode()))
    big = st.integers(min_value=-(2**80), max_value=2**80).map(lambda n: _b64(json.dumps([n]).encode()))
    forged = st.tuples(json_values, st.binary(min_size=16, max_size=16)).map(
        lambda t: f"v1.{_b64(json.dumps(t[0]).encode(), pad=False)}.{_b64(t[1], pad=False)}"
    )
    options = [any_text, nasty_text, deep, shaped, big, forged, st.text("v1.=_-AZaz09", max_size=3000)]
    if real:
        options.append(
            st.tuples(st.sampled_from(real), st.integers(0, 200), st.sampled_from("AQ_-.=x")).map(
                lambda t: _tampered(*t)
            )
        )
        options.append(st.sampled_from(real))  # a real cursor, possibly of another list: 200 or 400, never 500
    return st.one_of(*options)


def bodies(fields: list[str]) -> st.SearchStrategy[bytes]:
    """Request bodies: bytes, broken JSON, over-deep JSON, any JSON value, objects of the operation's fields."""
    field_objects = st.dictionaries(st.sampled_from(fields or ["x"]), json_values, max_size=len(fields) + 1)
    return st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b'{"a": ', b"{'a': 1}", b"\xff\xfe{}", b"", b"null", b"[", b'{"a":1}}', b"NaN", b"\x00"]),
        st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 200_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        json_values.map(lambda v: json.dumps(v).encode()),
        field_objects.map(lambda v: json.dumps(v).encode()),
    )


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = json.loads(DOCUMENT.read_text())
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if (method.upper(), path) not in SKIPPED:
                found.append((method.upper(), path, operation))
    return found


def _fields(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    for media in content.values():
        schema = media.get("schema", {})
        ref = schema.get("$ref")
        if ref:
            schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return sorted(schema.get("properties", {}))
    return []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[tuple[Node, str, list[str]]]:
    """A `thidua serve` on PostgreSQL (a fresh schema) with the demo's year; a central token; real cursors."""
    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    data = tmp_path_factory.mktemp("fuzz")
    node = bootstrap(Settings(data_dir=data, database_url=url, node_id="p31"))
    node.init_db()
    run_demo(node)
    client, secret = ClientStore(node.engine).add(
        "fuzz", "VN", ["submitter", "reviewer", "council", "decider", "auditor", "operator"]
    )
    node.close()
    settings_ = {
        "database_url": url,
        "node_id": "p31",
        "api_rate_limit_per_minute": "100000000",
        "api_rate_limit_burst": "1000000",
        "webhooks_enabled": "false",  # fuzzed subscriptions must not send requests to generated URLs
    }
    try:
        with running_node(data, **settings_) as served_node:
            token = httpx.post(
                f"{served_node.url}/api/v1/token",
                data={"grant_type": "client_credentials"},
                auth=(client.client_id, secret),
            ).json()["access_token"]
            yield served_node, token, _real_cursors(served_node.url, token)
            log = (data / "serve.log").read_text()
            crashes = [line for line in log.splitlines() if "Traceback" in line or "Exception in ASGI" in line]
            assert not crashes, log[log.find("Traceback") :][:5000]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _real_cursors(url: str, token: str) -> list[str]:
    """next_cursor of a first page of each list the demo fills (cursors of one list are tried on the others)."""
    headers = {"Authorization": f"Bearer {token}"}
    pages = [
        ("/api/v1/plans", {"limit": 1}),
        ("/api/v1/awards", {"limit": 1}),
        ("/api/v1/awards/conferred", {"limit": 1}),
        ("/api/v1/org-units/15/reports", {"period": "2026", "limit": 1}),
        ("/api/v1/org-units/VN/rollup", {"period": "2026", "level": "children", "limit": 1}),
        ("/api/v1/events", {"limit": 1}),
    ]
    found = []
    for path, params in pages:
        deadline = time.monotonic() + 120  # the node's projections catch up after it starts
        while True:
            body = httpx.get(url + path, params=params, headers=headers, timeout=60).json()
            cursor = body.get("next_cursor") or body.get("drill_down", {}).get("next_cursor")
            if cursor or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert cursor, (path, body)
        found.append(cursor)
    return found


def _check(response: httpx.Response, method: str, path: str) -> None:
    assert response.status_code < 500, (method, path, response.request.url, response.status_code, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", (path, response.text)
        assert response.json()["code"], response.text


OPERATIONS = operations()


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_no_input_gets_a_server_error_or_a_dropped_connection(
    served: tuple[Node, str, list[str]], method: str, path: str, operation: dict[str, Any]
) -> None:
    node, token, real = served
    document = json.loads(DOCUMENT.read_text())
    parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
    fields = _fields(document, operation)

    def value(name: str) -> st.SearchStrategy[str]:
        if name in ("cursor", "after"):
            return cursors(real)
        known = st.sampled_from(KNOWN[name]) if name in KNOWN else st.nothing()
        numbers = st.integers(-(2**70), 2**70).map(str)
        return st.one_of(known, known, any_text, nasty_text, numbers)

    path_values = st.fixed_dictionaries({p["name"]: value(p["name"]) for p in parameters if p["in"] == "path"})
    query_values = st.fixed_dictionaries(
        {}, optional={p["name"]: value(p["name"]) for p in parameters if p["in"] == "query"}
    )
    header_values = st.fixed_dictionaries(
        {},
        optional={
            "If-Match": st.one_of(st.sampled_from(['"1"', "*", '"0"', '"99999999999999999999"']), any_text),
            "Idempotency-Key": st.one_of(st.uuids().map(str), any_text),
            "Authorization": st.sampled_from(["Bearer x", "Bearer " + token[:-4] + "AAAA", "Basic Og==", "Bearer"]),
        },
    )
    body = bodies(fields) if "requestBody" in operation else st.none()

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(path_values, query_values, header_values, body)
    def run(at: dict[str, str], query: dict[str, str], extra: dict[str, str], content: bytes | None) -> None:
        url = path
        for name, given_value in at.items():
            url = url.replace("{" + name + "}", quote(given_value, safe=""))
        headers = {"Authorization": f"Bearer {token}", **_sendable(extra)}
        if content is not None:
            headers["Content-Type"] = "application/json"
        with httpx.Client(base_url=node.url, timeout=120) as http:  # a new connection: a drop shows as an error
            try:
                response = http.request(method, url, params=query, headers=headers, content=content)
            except httpx.TransportError as exc:  # the server closed the connection without an answer
                pytest.fail(f"{method} {url} {query} {extra}: no answer ({exc!r})")
        _check(response, method, path)

    run()


def _sendable(headers: dict[str, str]) -> dict[str, str]:
    """Header values httpx sends (printable ASCII)."""
    return {k: v for k, v in headers.items() if all(0x20 <= ord(c) < 0x7F for c in v)}
