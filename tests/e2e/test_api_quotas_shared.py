"""Two `thidua serve` processes on one PostgreSQL database give a client its quota once, not twice:
requests alternate between the processes, and the client gets its burst in all."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text

from services.api.security.clients import ClientStore
from services.kernel.db import make_engine
from services.migrations import upgrade
from tests.e2e.lgsp import running_node

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

BURST = 5


def test_two_api_processes_share_a_clients_quota(tmp_path: Path, postgres_url: str) -> None:
    schema = f"quota_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    key = tmp_path / "signing.pem"  # one signing key for both processes, as in a deployment
    key.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    engine = make_engine(url)
    upgrade(engine)
    client, secret = ClientStore(engine).add("LGSP", "VN/31", ["auditor"], rate_limit_per_minute=6)
    settings = {
        "database_url": url,
        "node_id": "p31",
        "api_signing_key_file": str(key),
        "api_dev_signing_key": "false",
        "api_rate_limit_burst": str(BURST),
        "webhooks_enabled": "false",
    }
    try:
        with running_node(tmp_path / "a", **settings) as a, running_node(tmp_path / "b", **settings) as b:
            token = httpx.post(
                f"{a.url}/api/v1/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            answers = [httpx.get(f"{(a, b)[i % 2].url}/api/v1/plans", headers=headers) for i in range(4 * BURST)]
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    served = [(i % 2, r.status_code) for i, r in enumerate(answers)]
    allowed = [process for process, status in served if status == 200]
    assert BURST <= len(allowed) <= BURST + 1, served  # 6/min refills one token in 10 s; in-process: 2 × BURST
    assert set(allowed) == {0, 1}, served  # both processes served from the one bucket
    refused = [r for r in answers if r.status_code == 429]
    assert refused and all(r.json()["code"] == "RATE_LIMITED" and int(r.headers["retry-after"]) >= 1 for r in refused)
    assert {i % 2 for i, r in enumerate(answers) if r.status_code == 429} == {0, 1}
