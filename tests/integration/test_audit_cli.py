"""``thidua audit`` and ``thidua replay`` on the demo's embedded database, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, update
from typer.testing import CliRunner

from services.cli.main import app
from services.kernel.tables import event as event_table


def test_checkpoint_verify_tamper_export_replay(tmp_path: Path) -> None:
    env = {"THIDUA_DATA_DIR": str(tmp_path), "THIDUA_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "COLUMNS": "200"}
    run = CliRunner().invoke
    assert run(app, ["demo"], env=env).exit_code == 0
    checkpoint = run(app, ["audit", "checkpoint"], env=env)
    assert checkpoint.exit_code == 0 and "checkpoint at position" in checkpoint.output
    assert (tmp_path / "audit" / "node-ed25519.pem").exists()
    verified = run(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0 and "chain intact" in verified.output
    exported = run(app, ["audit", "export", "--format", "csv", "--out", str(tmp_path / "x")], env=env)
    assert exported.exit_code == 0
    assert run(app, ["audit", "verify-export", str(tmp_path / "x")], env=env).exit_code == 0
    replayed = run(app, ["replay", "--projection", "all", "--compare"], env=env)
    assert replayed.exit_code == 0, replayed.output
    engine = create_engine(f"sqlite:///{tmp_path}/demo.db")
    with engine.begin() as conn:
        conn.execute(update(event_table).where(event_table.c.position == 10).values(actor_id="someone-else"))
    engine.dispose()
    broken = run(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1 and "BREAK at position 10" in broken.output and "COLUMN_MISMATCH" in broken.output
