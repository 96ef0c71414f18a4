"""`thidua serve` signs checkpoints in the background (audit_checkpoint_every) and still stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_serve import free_port

pytestmark = pytest.mark.e2e


def signed_heads(database: Path) -> list[int]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            query = text("SELECT position FROM event WHERE event_type = 'CheckpointSigned' ORDER BY position")
            return list(conn.execute(query).scalars())
    finally:
        engine.dispose()


def test_serve_writes_automatic_checkpoints_then_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    database = tmp_path / "data" / "demo.db"  # what `thidua demo` writes; serve it as its output says
    env |= {"THIDUA_DATA_DIR": str(tmp_path / "data"), "THIDUA_DATABASE_URL": f"sqlite:///{database}"}
    env["THIDUA_AUDIT_CHECKPOINT_EVERY"] = "50"
    thidua = Path(sys.executable).with_name("thidua")
    subprocess.run([str(thidua), "demo"], cwd=tmp_path, env=env, capture_output=True, check=True, timeout=300)
    assert signed_heads(database) == []  # the demo alone signs nothing
    proc = subprocess.Popen(
        [str(thidua), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not signed_heads(database):  # the thread looks every 5 s
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "no checkpoint from serve"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert len(signed_heads(database)) == 1 and (tmp_path / "data" / "audit" / "node-ed25519.pem").exists()
    command = [str(thidua), "audit", "verify"]
    verified = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and "chain intact" in verified.stdout, verified.stdout
