"""Sync between levels on the real broker, three nodes (central, Huế, Lào Cai) with separate databases and their
own ``thidua sync`` processes: plans down, reports and registrations up, an award route that crosses nodes and
comes back decided, central's rollup of both provinces, restarts, a partition, and receipts that reconcile."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bench.federation import Federation, SyncNode
from bench.harness import Process, append_units, consume_all, wait_for
from projections.awards import queries as award_queries
from projections.guidance.compose import guidance
from projections.rollup.tables import rollup_count
from services.awards.commands import DecideAward, ForwardAward, ProposeAward
from services.awards.model import fold
from services.kernel.events import decode_event
from services.kernel.kafkaclients import make_producer
from services.kernel.messaging import header_map, to_message
from services.kernel.store import NewEvent
from services.kernel.tables import lookup
from services.pipeline.topics import Topics
from services.planning.commands import IssueGuidance
from services.registry.commands import RegisterOrgUnit
from services.reporting.commands import SubmitReport
from tests.domain_fixtures import LAO_CAI_COMMUNE, at
from tests.factories import SYSTEM_ACTOR

pytestmark = pytest.mark.integration

CENTRAL_PLAN, HUE_PLAN, LAO_CAI_PLAN = "vn-462-2026", "hue-220-2026", "lao-cai-draft-2026-05"


@pytest.fixture
def fed(postgres_url: str, kafka_bootstrap: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with Federation(postgres_url, kafka_bootstrap, tmp_path) as built:
        built.start_all()
        yield built


def _unit(node: SyncNode, parent: str, code: str, name: str) -> str:
    node.handle(
        RegisterOrgUnit(
            parent, code, name, "PUBLIC_SERVICE_UNIT", at(2026, 5, 4), SYSTEM_ACTOR, subject_category="AGENCY_LOCALITY"
        )
    )
    return f"{parent}/{code}"


def _proposal(node: SyncNode, pid: str) -> Any:
    stored = node.node.store.read_stream(f"award-{pid}")
    return fold([decode_event(s.body, node.node.codec, node.node.bus.types) for s in stored])


def _forward_while(node: SyncNode, pid: str, holds: Any) -> None:
    while holds(proposal := _proposal(node, pid)) and proposal.current_step["role"] != "DECIDE":
        node.handle(ForwardAward(pid, proposal.current_step["org_unit"]["path"], at(2027, 12, 12), SYSTEM_ACTOR))


def _rollup_under(node: SyncNode, path: str) -> list[dict[str, Any]]:
    node.node.runner.run_until_idle()
    with node.node.engine.connect() as conn:
        rows = conn.execute(select(rollup_count).where(rollup_count.c.node_path.startswith(path + "/")))
        return sorted((r._asdict() for r in rows), key=lambda r: (r["node_path"], r["period"], r["plan_id"]))


def test_plans_down_reports_up_and_a_central_award_decided_for_a_lao_cai_commune(fed: Federation) -> None:
    central, hue, laocai = fed["central"], fed["hue"], fed["laocai"]
    central.import_seed(CENTRAL_PLAN)
    central.handle(
        IssueGuidance("hd-tw-1", "VN", "Hướng dẫn khen thưởng tổng kết", ("VN/15",), at(2026, 7, 1), SYSTEM_ACTOR)
    )
    fed.wait_same(f"plan-{CENTRAL_PLAN}", ["central", "hue", "laocai"])  # plans go down to every province
    hue.import_seed(HUE_PLAN)  # both implement the central plan: possible only because it came down
    laocai.import_seed(LAO_CAI_PLAN)
    hue_units = [_unit(hue, "VN/46/19753", f"TH-{i}", f"Trường {i}") for i in range(3)]
    lc_units = [_unit(laocai, LAO_CAI_COMMUNE, f"DV-{i}", f"Đơn vị {i}") for i in range(2)]
    for unit in hue_units[:2]:
        hue.handle(SubmitReport(HUE_PLAN, unit, "2026", at(2026, 12, 15), SYSTEM_ACTOR))
    laocai.handle(SubmitReport(LAO_CAI_PLAN, lc_units[0], "2026", at(2026, 12, 10), SYSTEM_ACTOR))

    # The award route: commune -> province (Lào Cai node) -> central (central node) -> decision back down.
    pid = "bk-ttg-lc-1"
    laocai.handle(
        ProposeAward(
            pid,
            LAO_CAI_COMMUNE,
            "COLLECTIVE",
            "Tập thể xã Bát Xát",
            LAO_CAI_COMMUNE,
            "BK_TTG",
            "SO_KET",
            "Thành tích xuất sắc",
            at(2027, 12, 10),
            SYSTEM_ACTOR,
        )
    )
    _forward_while(laocai, pid, lambda p: p.current_step["org_unit"]["path"] != "VN")
    assert _proposal(laocai, pid).current_step["org_unit"]["path"] == "VN"
    fed.wait_same(f"award-{pid}", ["central", "laocai"])  # the full history went up
    _forward_while(central, pid, lambda p: True)
    central.handle(DecideAward(pid, "VN", "APPROVED", at(2028, 1, 20), SYSTEM_ACTOR, "88/QĐ-TTg", date(2028, 1, 20)))
    version = fed.wait_same(f"award-{pid}", ["central", "laocai"])
    assert central.node.store.read_stream(f"award-{pid}")[-1].event_type == "AwardDecided"
    assert f"award-{pid}" not in {e.stream_id for e in hue.node.store.read_all(0, 10**6)}  # not Huế's business

    # Lào Cai's registry (the awards read model) shows the central decision on its commune's proposal.
    laocai.node.runner.run_until_idle()
    with laocai.node.engine.connect() as conn:
        row = award_queries.proposal(conn, pid)
        conferred = award_queries.conferred(conn, under=LAO_CAI_COMMUNE)
    assert row is not None and row["state"] == "APPROVED" and row["decision_number"] == "88/QĐ-TTg"
    assert [c["proposal_id"] for c in conferred] == [pid]
    assert len(laocai.node.store.read_stream(f"award-{pid}")) == version
    # Lào Cai's write side knows it too (services/domain/lookups.py): the central plan's number is taken, and the award
    # counts for the commune's later prerequisite checks, although no handler of this node wrote either event.
    with laocai.node.engine.connect() as conn:
        held = {(r.kind, r.key, r.ref) for r in conn.execute(select(lookup))}
    assert ("award_conferred", LAO_CAI_COMMUNE, f"BK_TTG|MOVEMENT|{pid}") in held
    assert any(kind == "plan_document" and ref == CENTRAL_PLAN for kind, _key, ref in held)
    # The commune's guidance view holds the central plan above its province's and the central guidance.
    with laocai.node.engine.connect() as conn:
        view = guidance(conn, laocai.node.official_units, laocai.node.bus.deps.matrix, "02683", date(2026, 12, 1))
    assert [p["plan_id"] for p in view["plans"]][:2] == [CENTRAL_PLAN, LAO_CAI_PLAN]
    assert [d["guidance_id"] for d in view["guidance_documents"]] == ["hd-tw-1"]

    # Central's read models see both provinces: the rollup of each subtree is the province's own.
    wait_for(lambda: fed.reconcile() and all(r.status == "OK" for r in fed.reconcile()), 60, 0.5, "receipts")
    assert _rollup_under(central, "VN/46") == _rollup_under(hue, "VN/46") != []
    assert _rollup_under(central, "VN/15") == _rollup_under(laocai, "VN/15") != []
    for province, plan in ((hue, HUE_PLAN), (laocai, LAO_CAI_PLAN)):
        assert central.version(f"plan-{plan}") == province.version(f"plan-{plan}")
    # Every event was imported once, with its origin kept; nothing went where no rule sends it.
    assert hue.event_ids(laocai.node_id) == set() and laocai.event_ids(hue.node_id) == set()
    assert central.event_ids(hue.node_id) == hue.event_ids(hue.node_id)  # all of Huế's events are routed up
    assert central.imported() == len(central.event_ids(hue.node_id)) + len(central.event_ids(laocai.node_id))


def _guidance(n: int) -> NewEvent:
    payload = {
        "guidance_id": f"hd-{n}",
        "issuer": {"code": "VN", "path": "VN", "level": "CENTRAL", "name": "Trung ương"},
        "title": f"Hướng dẫn số {n}",
        "document_number": None,
        "issue_date": None,
        "addressed_to": ["VN"],
        "summary": None,
    }
    return NewEvent("GuidanceIssued", payload, payload["issuer"], SYSTEM_ACTOR, at(2026, 6 + n % 6, 1))


def _write(fed: Federation, rounds: int, tag: str, pause: float = 0.0, until: threading.Event | None = None) -> None:
    """Keep writing on every node: guidance at central (goes down), unit registrations at the provinces (go up);
    ``rounds`` rounds, or more until ``until`` is set."""
    for i in itertools.count():
        if i >= rounds and (until is None or until.is_set()):
            return
        time.sleep(pause)
        fed["central"].node.store.append(f"guidance-{tag}-{i}", 0, [_guidance(i)])
        append_units(fed["hue"].node.store, 20, per_stream=10, prefix=f"H{tag}{i}-")
        append_units(fed["laocai"].node.store, 20, per_stream=10, prefix=f"L{tag}{i}-")


def _converged(fed: Federation) -> bool:
    central, hue, laocai = fed["central"], fed["hue"], fed["laocai"]
    down = central.event_ids(central.node_id)
    return (
        central.event_ids(hue.node_id) == hue.event_ids(hue.node_id)
        and central.event_ids(laocai.node_id) == laocai.event_ids(laocai.node_id)
        and hue.event_ids(central.node_id) == down
        and laocai.event_ids(central.node_id) == down
    )


def _poison(fed: Federation) -> None:
    """Two poison messages on Huế's topic to central: not Avro, and Lào Cai's event passed off as Huế's."""
    central, hue, laocai = fed["central"], fed["hue"], fed["laocai"]
    foreign = laocai.node.store.read_all(0, 1)[0]
    producer = make_producer(fed.bootstrap_servers)
    topic = Topics(hue.node_id).sync_to(central.node_id)
    producer.send(topic, key=b"x", value=b"not avro", headers=[("ce_id", b"poison-1")])
    message = to_message(foreign)
    producer.send(topic, key=message.key, value=message.value, headers=message.headers)
    producer.flush()
    producer.close()

    def reasons() -> list[str]:
        records = consume_all(fed.bootstrap_servers, [Topics(central.node_id).dead_letters])
        return sorted(header_map(r.headers)["dlt_reason"] for r in records)

    assert wait_for(lambda: len(reasons()) >= 2 and reasons(), 30, 0.5, "dead letters") == [
        "ORIGIN_MISMATCH",
        "UNDECODABLE_MESSAGE",
    ]


def test_restarts_and_a_partition_converge_without_duplicates_and_receipts_reconcile(fed: Federation) -> None:
    central, hue, laocai = fed["central"], fed["hue"], fed["laocai"]
    for node in (central, hue, laocai):  # every sync up before the writer starts: the kills must come mid-stream
        wait_for(lambda n=node: n.process is not None and "sync started" in n.process.log(), 60, 0.1, "sync up")
    restarted = threading.Event()  # writing goes on until both restarts are done, however slowly processes start
    writer = threading.Thread(target=_write, args=(fed, 24, "a", 0.25, restarted))
    writer.start()
    for node in (central, laocai):  # kill -9 mid-stream, restart
        seen = node.imported()
        wait_for(lambda n=node, s=seen: n.imported() > s, 30, 0.05, f"{node.name} importing")
        node.kill()
        assert writer.is_alive(), "the writer finished before the kill: not mid-stream"
        node.start()
    restarted.set()
    writer.join()
    wait_for(lambda: _converged(fed), 60, 0.5, "convergence after restarts")

    hue.kill()  # a partition: Huế's sync is away while both sides keep writing
    _write(fed, 5, "b")
    # central's sender publishes what Huế now misses asynchronously: wait until reconcile sees the gap
    wait_for(
        lambda: {r.status for r in fed.reconcile() if hue.node_id in (r.source, r.target)} & {"MISSING", "NO_RECEIPT"},
        60,
        0.5,
        "the partition shows in reconcile",
    )
    hue.start()
    _poison(fed)
    wait_for(lambda: _converged(fed), 60, 0.5, "convergence after the partition")
    rows = fed.wait_reconciled()
    pairs = {(r.source, r.target) for r in rows}
    assert pairs == {
        (central.node_id, hue.node_id),
        (hue.node_id, central.node_id),
        (central.node_id, laocai.node_id),
        (laocai.node_id, central.node_id),
    }
    assert sum(r.received or 0 for r in rows if r.target == central.node_id) == central.imported()
    cli = Process(["sync", "reconcile"], central.env(), central.tmp / "reconcile.log")
    assert cli.wait(60) == 0, cli.log()
    assert cli.log().count("OK") == len(rows) + 3  # and the three senders (central, Huế, Lào Cai): no backlog
    for node in (central, hue, laocai):  # no duplicates: every import once, the local chain intact
        events = node.node.store.read_all(0, 10**6)
        assert len({e.event_id for e in events}) == len(events)
        assert node.imported() == sum(1 for e in events if e.node_id != node.node_id)
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
