"""Trust across nodes, on the real broker with ``thidua sync`` processes (central and Lào Cai): the province's
events arrive at central with their origin proofs; central countersigns the province's checkpoints within seconds;
a province that truncates its tail is caught by central's witness; a silent sender shows in reconcile."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bench.federation import Federation, SyncNode
from bench.harness import Process, append_units, wait_for
from services.audit import witness
from services.audit.anchors import node_trusted_keys
from services.audit.verify import verify_chain
from services.kernel.tables import event as event_table

pytestmark = pytest.mark.integration

FAST = {"THIDUA_AUDIT_CHECKPOINT_SECONDS": "1", "THIDUA_AUDIT_WITNESS_RESEND_SECONDS": "2"}


def _witnessed(central: SyncNode, origin: str) -> int:
    with central.node.engine.connect() as conn:
        found = witness.witnessed(conn, central.node.store, origin)
    return found.size if found else 0


def _count(node: SyncNode) -> int:
    with node.node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event_table)).scalar_one())


def test_central_witnesses_lao_cai_and_catches_its_truncated_tail(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with Federation(
        postgres_url, kafka_bootstrap, tmp_path, {"central": None, "laocai": "central"}, extra_env=FAST
    ) as fed:
        central, laocai = fed["central"], fed["laocai"]
        fed.start_all()
        append_units(laocai.node.store, 30, per_stream=10)
        wait_for(
            lambda: laocai.imported() >= 1 and _witnessed(central, laocai.node_id) >= 31,
            90,
            0.2,
            "central cosigns a checkpoint covering Lào Cai's 30 units",
        )
        witnessed = _witnessed(central, laocai.node_id)

        # At central every imported event of Lào Cai carries Lào Cai's seal, checked against its announced key.
        report = verify_chain(
            central.node.engine,
            central.node.codec,
            node_trusted_keys(central.settings),
            node_id=central.node_id,
            peers=[laocai.node_id],
        )
        assert report.ok, report.first_break
        assert report.origin_signatures >= 31 and report.origin_unverified == 0 and report.origin_unsigned == 0

        # The insider at Lào Cai drops the tail with the checkpoints that covered it (sync stopped meanwhile).
        laocai.kill()
        killed_at = time.monotonic()
        c = event_table.c
        with laocai.node.engine.begin() as conn:  # at the end of a sealed batch: what is left verifies alone
            cut = conn.execute(select(func.max(c.position)).where(c.signature.is_not(None), c.position <= 25)).scalar()
            conn.execute(delete(event_table).where(c.position > cut))
        kept = _count(laocai)
        assert kept < witnessed
        verify = Process(["audit", "verify", "--witnesses"], laocai.env(), laocai.tmp / "verify.log")
        assert verify.wait(120) == 1, verify.log()
        assert "TRUNCATED" in verify.log() and f"{witnessed} events; this log has only {kept}" in verify.log()

        # Silent meanwhile: central's reconciliation says so (stale status after 3 s here).
        append_units(laocai.node.store, 3, per_stream=3, prefix="S")
        env = {**central.env(), "THIDUA_SYNC_STATUS_STALE_SECONDS": "3"}
        time.sleep(max(0.0, killed_at + 4 - time.monotonic()))  # its last word is over 3 s old, however fast
        reconcile = Process(["sync", "reconcile"], env, central.tmp / "reconcile.log")
        assert reconcile.wait(60) == 1 and "SILENT" in reconcile.log(), reconcile.log()

        # Lào Cai comes back with its rewritten history: central refuses its checkpoints and keeps the alarm.
        laocai.start()
        with central.node.engine.connect() as conn:
            wait_for(
                lambda: witness.status(conn, central.node.store, [], [laocai.node_id])[0]["status"] == "REFUSED",
                60,
                0.5,
                "central refuses Lào Cai's rewritten checkpoint",
            )
        board = Process(["audit", "witnesses"], central.env(), central.tmp / "witnesses.log")
        assert board.wait(60) == 1 and "REFUSED" in board.log() and laocai.node_id in board.log(), board.log()
