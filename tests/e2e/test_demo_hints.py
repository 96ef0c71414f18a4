"""The demo as a user meets it: ``make run`` then ``make demo`` loads the running node's own database (once); the
hints ``thidua demo`` prints, pasted into bash as printed, serve its data; output piped is never wrapped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.bootstrap import bootstrap
from services.kernel.settings import Settings

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
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(command: str, cwd: Path, port: int) -> subprocess.Popen[str]:
    """A node started by ``command`` in bash (as pasted), healthy on ``port``; stop it with ``stop``."""
    node = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=user_env(),
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_healthy(f"http://127.0.0.1:{port}", node)
    return node


def stop(node: subprocess.Popen[str]) -> None:
    os.killpg(node.pid, signal.SIGINT)
    node.wait(timeout=30)


def pending_through_the_api(lines: list[str], port: int, cwd: Path) -> set[str]:
    """The demo's pending proposals read with the printed client, token and query lines pasted into bash."""
    pasted = "\n".join(line.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for line in lines)
    answered = bash(pasted, cwd)
    assert answered.returncode == 0, answered.stderr
    return {item["proposal_id"] for item in json.loads(answered.stdout)["items"]}


def test_make_run_then_make_demo_shows_the_year_in_the_running_node(tmp_path: Path) -> None:
    """`make run` (db upgrade, then serve) in one terminal, `make demo` (demo --into-node) in another: the running
    node answers with the simulated year; the hints printed are the node's own; the demo never loads twice."""
    port = unused_port()  # stands for make run's 8000, which another node of this machine may hold
    assert thidua(tmp_path, "db", "upgrade").returncode == 0
    node = serve(f"{THIDUA} serve --port {port}", tmp_path, port)
    try:
        into = thidua(tmp_path, "demo", "--into-node")
        assert into.returncode == 0, into.stderr
        run, *api = hints(into.stdout)
        assert run.startswith("make run")  # the node's own port: it is the node
        assert pending_through_the_api(api, port, tmp_path) == PENDING
        again = thidua(tmp_path, "demo", "--into-node")
        assert again.returncode == 3 and "Error [NODE_NOT_EMPTY]" in again.stderr  # never loaded twice
    finally:
        stop(node)


def test_demo_file_then_the_printed_hints_pasted_into_bash(tmp_path: Path) -> None:
    """`thidua demo` writes its own file and prints a second node's serve line (never make run's port), pasted as
    printed; `clients add` piped prints a curl line that mints a token as it is."""
    done = thidua(tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    assert events(tmp_path / "var" / "demo.db") > 0 and not (tmp_path / "var" / "thidua.db").exists()
    serve_line, add, token, query = hints(done.stdout)
    assert re.search(r"thidua serve --port (\d+)$", serve_line) and "--port 8000" not in serve_line
    assert add.startswith('eval "$(') and add.endswith('--shell)"')  # one line each, not wrapped at 80 columns
    port = int(serve_line.rsplit(" ", 1)[1])
    node = serve(serve_line, tmp_path, port)
    try:
        assert pending_through_the_api([add, token, query], port, tmp_path) == PENDING
        demo_db = serve_line.split()[0].removeprefix("THIDUA_DATABASE_URL=")
        plain = thidua(
            tmp_path,
            "clients",
            "add",
            "--name",
            "piped",
            "--org-unit",
            "VN/46",
            "--roles",
            "auditor",
            THIDUA_DATABASE_URL=demo_db,
        )
        curl = next(line for line in plain.stdout.splitlines() if line.startswith("token: ")).removeprefix("token: ")
        minted = bash(curl.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), tmp_path)
        assert json.loads(minted.stdout)["org_unit"] == "VN/46"
    finally:
        stop(node)


def events(database: Path) -> int:
    node = bootstrap(Settings(data_dir=database.parent, database_url=f"sqlite:///{database}"))
    try:
        return node.store.head_position()
    finally:
        node.close()
