"""`thidua serve` as `make run` starts it (after `thidua db upgrade`): embedded default, /healthz answers, Ctrl-C
stops it cleanly; without the upgrade it refuses to start and creates no database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env["THIDUA_DATA_DIR"] = str(tmp_path / "data")
    thidua = Path(sys.executable).with_name("thidua")
    serve = [str(thidua), "serve", "--port", str(port)]
    refused = subprocess.run(serve, cwd=tmp_path, env=env, capture_output=True, check=False)
    assert refused.returncode != 0 and b"thidua db upgrade" in refused.stdout + refused.stderr
    assert not (tmp_path / "data" / "thidua.db").exists()
    subprocess.run([str(thidua), "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, check=True)
    proc = subprocess.Popen(
        serve,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        unit_url = f"http://127.0.0.1:{port}/api/v1/org-units/11086"
        refused = httpx.get(unit_url)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        # docs/api.md: credentials with `thidua clients add`, a token from POST /api/v1/token, signed by the dev key
        added = subprocess.run(
            [str(thidua), "clients", "add", "--name", "dev", "--org-unit", "VN/31", "--roles", "auditor", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        credentials = json.loads(added.stdout)
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
        ).json()["access_token"]
        answer = httpx.get(unit_url, headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["name"] == "Xã Đại Sơn"
        assert (tmp_path / "data" / "api-dev-signing-key.pem").exists()
        assert (tmp_path / "data" / "thidua.db").exists()  # THIDUA_DATA_DIR, not ./var
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "Application shutdown complete" in output
