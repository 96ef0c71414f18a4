"""docs/lgsp.md ("Kết nối LGSP") is copy-paste correct: its bash blocks, pasted one after the other into one bash,
run against a real node, and its Python webhook check accepts what the node signs and refuses a tampered body."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.webhooks.signing import headers, new_secret
from tests.e2e.lgsp import running_node

pytestmark = pytest.mark.e2e
DOC = Path(__file__).resolve().parents[2] / "docs" / "lgsp.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_bash_blocks_run_against_a_node_as_written(tmp_path: Path) -> None:
    script = "\n".join(blocks("bash"))
    assert script.startswith("NODE=http://127.0.0.1:8000\n")  # the one line a reader changes
    with running_node(tmp_path / "node") as node:
        env = node.env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        script = script.replace("NODE=http://127.0.0.1:8000", f"NODE={node.url}", 1)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert out.count("HTTP/1.1 201 Created") == 2 and "idempotent-replayed: true" in out.lower()
    assert '"code": "IDEMPOTENCY_KEY_REUSED"' in out and '"name": "Thành phố Huế"' in out
    assert '"secret": "whsec_' in out and "\n204\n" in out  # subscribed, then unsubscribed
    assert "1 sự kiện; next_cursor:" in out  # the feed holds the unit registered above


def test_the_python_webhook_check_accepts_the_nodes_signature_only() -> None:
    (code,) = blocks("python")
    scope: dict[str, object] = {}
    exec(code, scope)  # noqa: S102 - the documented snippet, run as a receiver would
    event_of = scope["event_of"]
    body, now, secret = b'{"id":"e-1","type":"vn.thidua.events.AwardDecided"}', int(time.time()), new_secret()
    sent = headers(secret, "d-1", now, body)  # what the node sends (services/webhooks/dispatcher.py)
    assert event_of(secret, sent, body) == {"id": "e-1", "type": "vn.thidua.events.AwardDecided"}  # type: ignore[operator]
    assert event_of(secret, sent, body + b" ") is None  # type: ignore[operator]
    assert event_of(new_secret(), sent, body) is None  # type: ignore[operator]
    assert event_of(secret, headers(secret, "d-1", now - 600, body), body) is None  # type: ignore[operator]
