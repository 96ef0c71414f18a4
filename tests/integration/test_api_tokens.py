"""Tokens one by one: `thidua clients revoke-token` stops one token (given as the JWT or its jti)
from the next request while the client's other tokens keep working; a token past its expiry (beyond the 30 s
leeway) is 401 TOKEN_EXPIRED. On both backends: on PostgreSQL the API answers "not revoked" from memory until the
revoking process's notification arrives, and the very next request after the command is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.api.app import create_app
from services.api.security import Security
from services.bootstrap import bootstrap
from services.kernel.db import make_engine
from services.kernel.settings import Settings

THIDUA = Path(sys.executable).with_name("thidua")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The node's database: a SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'thidua.db'}"
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    schema = f"tok_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def node_client(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = database_url
    node = bootstrap(Settings(data_dir=tmp_path, database_url=url, node_id="p31"))
    node.init_db()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env |= {"THIDUA_DATA_DIR": str(tmp_path), "THIDUA_DATABASE_URL": url, "THIDUA_NODE_ID": "p31"}
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as client:
        yield client, env


def _mint(client: TestClient, now: datetime | None = None) -> str:
    security: Security = client.app.state.security  # type: ignore[attr-defined]
    if security.clients.get("c-lgsp") is None:
        security.clients.add("LGSP", "VN/31", ["auditor"], client_id="c-lgsp")
    return security.tokens.mint("c-lgsp", "VN/31", ["auditor"], "LGSP", now=now)


def _get(client: TestClient, token: str) -> tuple[int, str]:
    response = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json().get("code", "")


def _revoke(env: dict[str, str], *args: str) -> str:
    command = [str(THIDUA), "clients", "revoke-token", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_one_token_is_revoked_and_the_clients_other_tokens_still_work(
    node_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, env = node_client
    first, second, third = _mint(client), _mint(client), _mint(client)
    assert [_get(client, t)[0] for t in (first, second, third)] == [200, 200, 200]
    assert "Đã thu hồi" in _revoke(env, first, "--reason", "lộ trên nhật ký")  # by the token itself
    jti = jwt.decode(third, options={"verify_signature": False})["jti"]
    _revoke(env, jti)  # by its jti
    assert [_get(client, t) for t in (first, second, third)] == [
        (401, "TOKEN_REVOKED"),
        (200, ""),
        (401, "TOKEN_REVOKED"),
    ]
    assert "đã bị thu hồi trước đó" in _revoke(env, first)  # again: said, not an error
    assert _get(client, _mint(client)) == (200, "")  # the client gets new tokens


def test_a_token_past_its_expiry_is_refused_after_the_leeway(node_client: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = node_client
    ttl = client.app.state.security.tokens.ttl_seconds  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    just_expired = _mint(client, now=now - timedelta(seconds=ttl + 10))  # within the 30 s leeway (clock skew)
    expired = _mint(client, now=now - timedelta(seconds=ttl + 60))
    assert _get(client, just_expired) == (200, "")
    response = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {expired}"})
    assert (response.status_code, response.json()["code"]) == (401, "TOKEN_EXPIRED")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _get(client, _mint(client, now=now + timedelta(minutes=5)))[1] == "INVALID_TOKEN"  # not yet valid (nbf)


def test_a_verified_token_kept_in_memory_is_refused_at_the_very_next_request_after_a_revocation(
    node_client: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache of verified tokens keeps what the signature proves, never whether the token or its client is
    revoked: both are refused from the request right after the command (on PostgreSQL also with the rest of the
    check answered from memory, on the event loop)."""
    client, env = node_client
    security: Security = client.app.state.security  # type: ignore[attr-defined]
    token, other = _mint(client), _mint(client)
    assert [_get(client, t) for t in (token, other)] == [(200, ""), (200, "")]
    decoded: list[str] = []
    decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda t, *a, **k: decoded.append(t) or decode(t, *a, **k))
    assert [_get(client, t) for t in (token, other)] == [(200, ""), (200, "")]
    assert decoded == [] and len(security.tokens.verified) >= 2  # both answered from the verified tokens
    if client.app.state.node.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
        security.authenticate(token)  # (a quota lease lasts a second: a slow machine may need a new one first)
        security.authenticate(token, blocking=False)  # nothing left to read: no worker thread needed

    _revoke(env, token)
    assert [_get(client, t) for t in (token, other)] == [(401, "TOKEN_REVOKED"), (200, "")]
    done = subprocess.run([str(THIDUA), "clients", "revoke", "c-lgsp"], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _get(client, other) == (401, "TOKEN_REVOKED")
    assert decoded == []  # refused by the revocation checks, the signature still taken from memory
