"""GET /api/v1/audit/*: auditors (and operators) of a subtree read keys, verification and exports."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from services.api.app import create_app
from services.audit.anchors import node_key
from services.audit.checkpoints import write_checkpoint
from services.audit.export import Selection, export
from services.bootstrap import bootstrap
from services.kernel.settings import Settings
from services.kernel.tables import event as event_table
from tests.api_auth import bearer
from tests.factories import guidance_issued, org_unit_registered


@pytest.fixture
def client(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/api.db", node_id="p46")
    node = bootstrap(settings)
    node.init_db()
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as test_client:
        node.store.append("unit-1", 0, [org_unit_registered("U-00001")])
        node.store.append("guidance-1", 0, [guidance_issued()])
        write_checkpoint(node.store, node_key(settings))
        export(node.store, Selection(subtree="VN/46"), tmp_path / "exports" / "hue", "jsonl")
        export(node.store, Selection(), tmp_path / "exports" / "all", "jsonl")
        test_client.node = node  # type: ignore[attr-defined]
        yield test_client


def test_auditor_reads_keys_verify_and_exports_of_its_subtree(client: TestClient) -> None:
    auditor = bearer(client.app, "VN/46", ["auditor"])  # type: ignore[arg-type]
    keys = client.get("/api/v1/audit/keys", headers=auditor).json()["keys"]
    assert keys[0]["algorithm"] == "Ed25519" and keys[0]["jwk"]["crv"] == "Ed25519"
    report = client.get("/api/v1/audit/verify", headers=auditor).json()
    assert report["ok"] and report["checkpoints"] == 1 and report["events"] == 4  # with the key's announcement
    assert report["sealed_batches"] == 4 and report["legacy_events"] == 0 and report["signing_since"] == 1
    names = [e["name"] for e in client.get("/api/v1/audit/exports", headers=auditor).json()["items"]]
    assert names == ["hue"]
    central = bearer(client.app, "VN", ["auditor"])  # type: ignore[arg-type]
    assert [e["name"] for e in client.get("/api/v1/audit/exports", headers=central).json()["items"]] == ["all", "hue"]


def test_other_roles_are_refused(client: TestClient) -> None:
    submitter = bearer(client.app, "VN/46", ["submitter"])  # type: ignore[arg-type]
    for path in ("keys", "verify", "exports"):
        response = client.get(f"/api/v1/audit/{path}", headers=submitter)
        assert response.status_code == 403 and response.json()["code"] == "ROLE_NOT_ALLOWED"


def test_a_break_outside_the_subtree_is_reported_without_its_details(client: TestClient) -> None:
    with client.node.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(event_table).where(event_table.c.position == 2).values(body=b"\xc3\x01tampered"))
    hue = client.get("/api/v1/audit/verify", headers=bearer(client.app, "VN/46", ["auditor"])).json()  # type: ignore[arg-type]
    assert hue["first_break"] == {"position": 2, "kind": "HASH_MISMATCH", "outside_subtree": True}
    central = client.get("/api/v1/audit/verify", headers=bearer(client.app, "VN", ["auditor"])).json()  # type: ignore[arg-type]
    assert central["first_break"]["event_id"] and central["first_break"]["kind"] == "HASH_MISMATCH"


def test_the_key_catalog_lists_the_node_keys_with_their_status(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from services.audit.rotation import rotate_key_file

    node = client.node  # type: ignore[attr-defined]
    old, new = rotate_key_file(node.store, node.settings.effective_audit_key_file)
    anyone = bearer(client.app, "VN/46/19753", ["submitter"])  # type: ignore[arg-type]  # like the schema catalog
    catalog = client.get("/api/v1/keys", headers=anyone).json()
    assert catalog["node_id"] == "p46" and catalog["current_key_id"] == new
    by_id = {k["key_id"]: k for k in catalog["items"]}
    assert by_id[old]["status"] == "retired" and by_id[new]["status"] == "active"
    assert by_id[new]["previous_key_id"] == old and by_id[old]["trusted"] and by_id[new]["trusted"]
    assert by_id[new]["note_verifier_key"].startswith("thidua-sync/p46+") and by_id[new]["jwk"]["crv"] == "Ed25519"
    assert client.get(f"/api/v1/keys/{old}", headers=anyone).json()["activated_position"] == 1
    missing = client.get("/api/v1/keys/" + "0" * 32, headers=anyone)
    assert missing.status_code == 404 and missing.json()["code"] == "UNKNOWN_KEY"
    auditor = bearer(client.app, "VN/46", ["auditor"])  # type: ignore[arg-type]
    assert client.get("/api/v1/audit/keys", headers=auditor).json()["keys"][0]["key_id"] == new  # still served
