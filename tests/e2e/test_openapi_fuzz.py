"""schemathesis against the committed OpenAPI document and a live node holding the demo's year: no server error,
no undocumented status, content type, header or body. THIDUA_FUZZ_SEED / THIDUA_FUZZ_EXAMPLES vary the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.lgsp import THIDUA, running_node

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    data = tmp_path / "node"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")} | {"THIDUA_DATA_DIR": str(data)}
    subprocess.run(
        [str(THIDUA), "demo", "--database", str(data / "thidua.db")], env=env, capture_output=True, check=True
    )
    settings = {
        "node_id": "p31",
        "api_rate_limit_per_minute": "100000000",
        "api_rate_limit_burst": "1000000",
        "webhooks_enabled": "false",  # fuzzed subscriptions must not send requests to generated URLs
    }
    with running_node(data, **settings) as node:
        added = json.loads(
            node.cli(
                "clients",
                "add",
                "--name",
                "schemathesis",
                "--org-unit",
                "VN",
                "--roles",
                "submitter,reviewer,council,decider,auditor,operator",
                "--json",
            )
        )
        token = httpx.post(
            f"{node.url}/api/v1/token",
            data={"grant_type": "client_credentials"},
            auth=(added["client_id"], added["client_secret"]),
        ).json()["access_token"]
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            str(DOCUMENT),
            "--url",
            node.url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            os.environ.get("THIDUA_FUZZ_EXAMPLES", "10"),
            "--seed",
            os.environ.get("THIDUA_FUZZ_SEED", "20260322"),
            "--workers",
            "1",
            "--no-shrink",
            "--output-truncate",
            "false",
            "--report-dir",
            str(tmp_path / "report"),
        ]
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "0 generated" not in summary
