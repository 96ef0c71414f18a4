"""Helpers of the LGSP end-to-end test: a running node, clients of org units, a webhook receiver."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from services.api.security.clients import ClientStore
from services.kernel.db import make_engine
from tests.e2e.test_serve import free_port

THIDUA = Path(sys.executable).with_name("thidua")


@dataclasses.dataclass
class Node:
    """A `thidua serve` process on a free port, with its data folder and environment."""

    url: str
    env: dict[str, str]
    data: Path
    proc: subprocess.Popen[str]

    def cli(self, *args: str) -> str:
        """Run `thidua <args>` against this node's data; return stdout."""
        done = subprocess.run([str(THIDUA), *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout


@contextmanager
def running_node(folder: Path, **settings: str) -> Iterator[Node]:
    """`thidua serve` on the embedded default in ``folder``; stopped with SIGINT (Ctrl-C) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env |= {"THIDUA_DATA_DIR": str(folder), **{f"THIDUA_{k.upper()}": v for k, v in settings.items()}}
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "serve.log"  # a file, not a pipe: a full pipe would block the server's access log
    subprocess.run([str(THIDUA), "db", "upgrade"], env=env, capture_output=True, check=True)  # as `make run` does
    with log.open("w") as out:
        proc = subprocess.Popen([str(THIDUA), "serve", "--port", str(port)], env=env, stdout=out, stderr=out, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
    try:
        yield Node(url, env, folder, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        assert proc.returncode == 0, log.read_text()[-5000:]


class Caller:
    """An API client of one org unit with some roles; gets its token by client credentials."""

    def __init__(self, node: Node, client_id: str, secret: str) -> None:
        response = httpx.post(
            f"{node.url}/api/v1/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        self.client_id = client_id
        self.http = httpx.Client(
            base_url=node.url, headers={"Authorization": f"Bearer {response.json()['access_token']}"}, timeout=30
        )

    def post(self, path: str, body: dict[str, Any], key: str | None = None, **headers: str) -> httpx.Response:
        """POST with an Idempotency-Key (a fresh one unless given)."""
        sent = {"Idempotency-Key": key or str(uuid.uuid4()), "Content-Type": "application/json", **headers}
        return self.http.post(path, content=json.dumps(body, ensure_ascii=False).encode(), headers=sent)

    def ok(self, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        """POST that must answer 201."""
        response = self.post(path, body, **headers)
        assert response.status_code == 201, (path, response.text)
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET."""
        return self.http.get(path, params=params)


class Clients:
    """Registers clients straight in the node's database (the CLI does the same) and caches one per unit+roles."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.engine = make_engine(f"sqlite:///{node.data / 'thidua.db'}")
        self.store = ClientStore(self.engine)
        self._cache: dict[tuple[str, tuple[str, ...]], Caller] = {}

    def __call__(self, org_unit: str, *roles: str) -> Caller:
        key = (org_unit, tuple(sorted(roles)))
        if key not in self._cache:
            client, secret = self.store.add(f"LGSP test {org_unit}", org_unit, roles)
            self._cache[key] = Caller(self.node, client.client_id, secret)
        return self._cache[key]


def body_of(command: Any, *drop: str) -> dict[str, Any]:
    """The JSON body of a command dataclass (without its actor and the fields named in ``drop``)."""
    data = dataclasses.asdict(command)
    for name in ("actor", *drop):
        data.pop(name, None)
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else v))


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem+json of a refusal, checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    found = response.json()
    assert found["code"] == code, found
    return found  # type: ignore[no-any-return]


class Receiver:
    """A webhook receiver: answers 500 to the first ``failures`` attempts of each event on /flaky, 503 on /dead."""

    def __init__(self, failures: int = 2) -> None:
        self.failures = failures
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    event_id = self.headers["X-Thidua-Event-Id"]
                    earlier = sum(r["event_id"] == event_id and r["path"] == self.path for r in receiver.requests)
                    receiver.requests.append(
                        {"path": self.path, "event_id": event_id, "headers": dict(self.headers), "body": body}
                    )
                ok = self.path == "/flaky" and earlier >= receiver.failures
                self.send_response(200 if ok else (500 if self.path == "/flaky" else 503))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, path: str) -> list[dict[str, Any]]:
        """Requests received on ``path``, in order."""
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


def wait_for(check: Any, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found
