"""The demo as a user meets it: the hints ``thidua demo`` prints, pasted into bash as printed, serve its data; with
``--into-node`` the node's own database holds it; output piped is never wrapped."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import free_port

pytestmark = pytest.mark.e2e
THIDUA = Path(sys.executable).with_name("thidua")
PENDING = {"bkttg-hue-2027-1", "bk-ds-2027-1"}  # the demo's proposals still waiting (tests/e2e/test_demo.py)


def user_env() -> dict[str, str]:
    """A shell with no THIDUA_* set: the user's, in the folder they work in (data under ./var)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")} | {"COLUMNS": "80"}


def thidua(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``thidua args`` as the user types it in ``cwd``, output piped (as into a file, ``grep`` or ``$(...)``)."""
    return subprocess.run(
        [str(THIDUA), *args], cwd=cwd, env=user_env() | env, capture_output=True, text=True, check=False
    )


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=user_env(), capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the node did not start"
        time.sleep(0.2)


def hints(output: str) -> list[str]:
    """The command lines printed under 'see it through the API', as printed."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "see it through the API" in line)
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


def test_the_printed_hints_work_pasted_into_bash(tmp_path: Path) -> None:
    done = thidua(tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    serve, add, token, query = hints(done.stdout)
    assert re.search(r"thidua serve --port (\d+)$", serve) and "--port 8000" not in serve  # never make run's port
    assert add.startswith('eval "$(') and add.endswith('--shell)"')  # one line each, not wrapped at 80 columns
    port = int(serve.rsplit(" ", 1)[1])
    node = subprocess.Popen(["bash", "-c", serve], cwd=tmp_path, env=user_env(), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}", node)
        answered = bash("\n".join([add, token, query]), tmp_path)
        assert answered.returncode == 0, answered.stderr
        proposals = {item["proposal_id"] for item in json.loads(answered.stdout)["items"]}
        assert proposals == PENDING

        demo_db = serve.split()[0].removeprefix("THIDUA_DATABASE_URL=")
        plain = thidua(tmp_path, "clients", "add", "--name", "piped", "--org-unit", "VN/46", "--roles", "auditor",
                       THIDUA_DATABASE_URL=demo_db)  # fmt: skip
        curl = next(line for line in plain.stdout.splitlines() if line.startswith("token: ")).removeprefix("token: ")
        minted = bash(curl.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), tmp_path)
        assert json.loads(minted.stdout)["org_unit"] == "VN/46"
    finally:
        os.killpg(node.pid, signal.SIGINT)
        node.wait(timeout=30)


def test_demo_into_node_loads_the_nodes_own_database_once(tmp_path: Path) -> None:
    into = thidua(tmp_path, "demo", "--into-node")
    assert into.returncode == 0, into.stderr
    assert (tmp_path / "var" / "thidua.db").exists() and not (tmp_path / "var" / "demo.db").exists()
    assert hints(into.stdout)[0].startswith("make run")
    again = thidua(tmp_path, "demo", "--into-node")
    assert again.returncode == 3 and "Error [NODE_NOT_EMPTY]" in again.stderr  # never doubled
    added = thidua(tmp_path, "clients", "add", "--name", "x", "--org-unit", "VN", "--roles", "auditor", "--json")
    credentials = json.loads(added.stdout)
    port = free_port()
    node = subprocess.Popen([str(THIDUA), "serve", "--port", str(port)], cwd=tmp_path, env=user_env(), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, node)
        auth = (credentials["client_id"], credentials["client_secret"])
        token = httpx.post(f"{base}/api/v1/token", data={"grant_type": "client_credentials"}, auth=auth)
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        awards = httpx.get(f"{base}/api/v1/awards", params={"state": "PENDING"}, headers=bearer).json()
        assert {item["proposal_id"] for item in awards["items"]} == PENDING
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(timeout=30)
