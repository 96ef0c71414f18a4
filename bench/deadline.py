"""``thidua bench deadline``: a deadline day (benchmarks.md goal 5): central and two province nodes (Huế, Lào Cai)
connected through sync, reports sent to both provinces' HTTP APIs at a steady offered rate, and the time from a
report accepted (its 201) to the report visible in central's rollup.

Every node is deployed as in docs/sync.md, on the real services (``bench.federation``): its own PostgreSQL schema,
its own ``thidua sync`` process on the real broker, its own ``thidua serve`` (the API and the embedded tail that keeps
its read models). Setup, not timed: central issues the movement's plan (Decision 462), which goes down to both
provinces; each province issues its own plan, a plan per commune (ten indicators, an annual report) and registers
its units through its bus; everything the rules send up is imported by central, and every rollup catches up.

Then ``SubmitReport`` commands (the generator's reports of 2026–2030, one per unit and period) are offered open loop
at ``rate`` per second for ``seconds``, alternating between the provinces, each as ``POST /api/v1/reports`` with a
bearer token of the province's LGSP client and an ``Idempotency-Key`` (``threads`` senders; a report that waited
more than 2 s for a sender is shed, counted, not sent). Per accepted report: *province rollup* = the province's
rollup position reached its event (watcher every 20 ms); *imported at central* = ``foreign_event.imported_at`` (the
importer's clock, in the import transaction); *central's rollup* = central's rollup position reached the imported
event (watcher every 10 ms). The backlog at the end is what was accepted when the last report was due but not yet
in central's rollup, and how long central took to show it all.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from bench.federation import Federation, SyncNode
from bench.harness import consume_all
from services.api.security import Security
from services.kernel.settings import Settings
from services.pipeline.topics import Topics
from services.reporting.commands import SubmitReport

from .commands import body_of, cpu_seconds, postgres_cpu_seconds
from .common import LatencyRow, Row, peak_rss_mb, percentile, print_latencies, print_rows, process_mb
from .dataset import temporary_folder
from .generator import YEARS, Scale, commune_plan, units, year_commands
from .latency import MAX_DELAY, PositionWatcher, Sample, offer
from .lockwaits import LockWaits
from .sync import Arrival, NodeServe, _died, _wait_imported, arrivals_at, routed_up

CENTRAL = "central"
PROVINCES = {"hue": ("46", "hue-220-2026"), "laocai": ("15", "lao-cai-draft-2026-05")}  # node → code, its plan
CENTRAL_PLAN = "vn-462-2026"
TREE: dict[str, str | None] = {CENTRAL: None, **dict.fromkeys(PROVINCES, CENTRAL)}
LABEL = {CENTRAL: "central", "hue": "Huế (p46)", "laocai": "Lào Cai (p15)"}
GOAL_MS = 500.0
PERIODS = 7  # a unit's reports over the five years: five annual, the sơ kết and the tổng kết
API = {"THIDUA_WEBHOOKS_ENABLED": "false"}  # no subscribers on the rig
WARM = 10  # reports per province sent one by one before the day (first requests: imports, connections, caches)
BENCH_PROCESS = "this benchmark (senders, watchers)"  # not part of the federation's cost
POSTGRES = "PostgreSQL (the three nodes' schemas, every backend)"


@dataclass(frozen=True)
class Day:
    """What to offer: reports per second (both provinces together), for how long, by how many senders."""

    rate: float = 150.0
    seconds: float = 30.0
    threads: int = 16
    units_per_commune: int = 100
    seed: int = 2026
    timings: Path | None = None  # a CSV of every accepted report's moments (seconds from the first due)


@dataclass
class Province:
    """A province node of the run: its reports to offer, its API and the senders' HTTP clients."""

    name: str
    sync: SyncNode
    reports: list[SubmitReport]
    token: str = ""
    url: str = ""
    local: threading.local = field(default_factory=threading.local)
    refusals: Counter[str] = field(default_factory=Counter)  # HTTP status (or transport error) → how many

    @property
    def failed(self) -> int:
        """Reports sent and not accepted."""
        return sum(self.refusals.values())

    def post(self, command: SubmitReport) -> Any:
        """``POST /api/v1/reports``; what the 201 says was appended (None when refused: counted)."""
        client = getattr(self.local, "client", None)
        if client is None:
            headers = {"Authorization": f"Bearer {self.token}"}
            client = self.local.client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        try:
            answer = client.post(
                "/api/v1/reports", json=body_of(command), headers={"Idempotency-Key": str(uuid.uuid4())}
            )
        except httpx.HTTPError as exc:
            self.refusals[type(exc).__name__] += 1
            return None
        if answer.status_code != 201:
            problem = answer.json() if "json" in answer.headers.get("content-type", "") else {}
            self.refusals[f"{answer.status_code} {problem.get('code', '')}".strip()] += 1
            return None
        found = answer.json()
        return SimpleNamespace(positions=found["positions"], event_ids=found["event_ids"])


@dataclass(frozen=True)
class Outcome:
    """The run's summary: what was offered and achieved, the backlog at the end, central's p99 against the goal."""

    offered: int
    accepted: int
    shed: int
    failed: int
    achieved_rate: float
    backlog: int
    drained_seconds: float
    p99_ms: float


def run_deadline(settings: Settings, day: Day, console: Console) -> tuple[list[Row], list[LatencyRow], Outcome]:
    """Build central and the two provinces, offer the day's reports, print and return the tables."""
    servers = settings.kafka_bootstrap_servers or ""
    with (
        temporary_folder() as tmp,
        Federation(settings.effective_database_url, servers, Path(tmp), TREE, settings.sync_poll_seconds) as fed,
        ExitStack() as serving,
    ):
        per_province = math.ceil(day.rate * day.seconds / len(PROVINCES))
        started = time.perf_counter()
        provinces = _set_up(fed, day, per_province)
        console.print(
            f"setup: central's plan down, {len(provinces)} provinces' plans, communes and units up, "
            f"{fed[CENTRAL].imported():,} events imported by central in "
            f"{time.perf_counter() - started:.1f} s"
        )
        serves = {name: serving.enter_context(NodeServe(fed[name], Path(tmp), API)) for name in TREE}
        for p in provinces:
            p.url = f"http://127.0.0.1:{serves[p.name].port}"
        _warm_up(fed[CENTRAL], provinces)
        pids = {BENCH_PROCESS: os.getpid()}
        pids |= {
            f"thidua {kind} ({LABEL[name]})": proc.pid
            for name in TREE
            for kind, proc in (("serve", serves[name].proc), ("sync", fed[name].process))
            if proc is not None
        }
        engine = fed[CENTRAL].node.engine  # the three nodes' schemas are on one server
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        server_before = postgres_cpu_seconds(engine)
        started = time.perf_counter()
        with LockWaits({name: fed[name].node.engine for name in TREE}) as waits:
            rows, latencies, outcome = _offer(fed, provinces, day)
        wall = time.perf_counter() - started
        usage = [
            Usage(name, process_mb(pid, "VmHWM"), cpu_seconds(pid) - before[name], wall, outcome.accepted)
            for name, pid in pids.items()
        ]
        server_after = postgres_cpu_seconds(engine)
        if server_before is not None and server_after is not None:
            usage.append(Usage(POSTGRES, 0.0, server_after - server_before, wall, outcome.accepted))
    title = (
        f"thidua bench deadline: SubmitReport over HTTP at two provinces, {day.rate:,.0f}/s offered for "
        f"{day.seconds:,.0f} s"
    )
    print_rows(console, title + " — throughput", rows, unit="commands")
    print_latencies(console, title + " — accepted → visible", latencies)
    _print_outcome(console, day, outcome, usage)
    _print_lock_waits(console, waits, rows, wall)
    return rows, latencies, outcome


def _print_lock_waits(console: Console, waits: LockWaits, rows: list[Row], wall: float) -> None:
    """Per node, the transactions waiting for its append lock (mean of the samples) and, by Little's law, the wait of
    each report there: a province's own reports, central's imported ones."""
    counts = {row.backend: row.count for row in rows}
    table = Table(
        "node", "mean transactions waiting", "wait per report ms", title="the nodes' append locks", box=box.MARKDOWN
    )
    for name in TREE:
        waiting, reports = waits.mean_waiting(name), counts.get(LABEL[name], 0)
        table.add_row(LABEL[name], f"{waiting:.2f}", f"{1000 * waiting * wall / max(reports, 1):.1f}")
    console.print(table)


def _set_up(fed: Federation, day: Day, per_province: int) -> list[Province]:
    """Central's plan down; each province's plan, communes and units; everything up; every rollup caught up."""
    central = fed[CENTRAL]
    central.import_seed(CENTRAL_PLAN)
    fed.start_all()
    fed.wait_same(f"plan-{CENTRAL_PLAN}", list(TREE), timeout=120)
    provinces = []
    for name, (code, plan) in PROVINCES.items():
        sync = fed[name]
        sync.import_seed(plan)
        wanted = math.ceil((per_province + WARM) / PERIODS)
        scale = Scale(wanted, len(YEARS), day.seed, units_per_commune=day.units_per_commune)
        official = sorted(
            (c for c in sync.node.official_units.communes() if c.parent_code == code), key=lambda c: c.code
        )
        communes = official[: max(1, min(len(official), math.ceil(wanted / day.units_per_commune)))]
        registered = (u.command for u in units(communes, scale))
        for command in itertools.chain(*(commune_plan(c) for c in communes), registered):
            sync.handle(command)
        reports = [c for y in YEARS for c in year_commands(y, communes, scale) if isinstance(c, SubmitReport)]
        provinces.append(Province(name, sync, reports[: per_province + WARM], _token(sync, code)))
    up = sum(routed_up(p.sync) for p in provinces)
    wait_for_import = time.monotonic() + 1800
    while central.imported() < up:
        if _died(fed) or time.monotonic() > wait_for_import:
            raise RuntimeError(f"central imported {central.imported():,} of {up:,} events: see the logs in {fed.tmp}")
        time.sleep(0.2)
    for node in fed.nodes.values():
        node.node.runner.run_until_idle()
    return provinces


def _token(sync: SyncNode, code: str) -> str:
    """A token of the province's LGSP client (role submitter, its whole province, a quota above the day's rate),
    minted before its ``thidua serve`` starts: both use the dev signing key in the node's data folder."""
    security = Security.for_node(sync.settings, sync.node.engine)
    client, _ = security.clients.add(
        f"LGSP {LABEL[sync.name]}", f"VN/{code}", ["submitter"], rate_limit_per_minute=10_000_000
    )
    return security.tokens.mint(client.client_id, f"VN/{code}", ["submitter"], client.name)


def _warm_up(central: SyncNode, provinces: list[Province]) -> None:
    """Send each province's first ``WARM`` reports one by one and wait until central's rollup shows them."""
    arrivals = {}
    for p in provinces:
        warm, p.reports = p.reports[:WARM], p.reports[WARM:]
        for command in warm:
            if (result := p.post(command)) is None:
                raise RuntimeError(f"{LABEL[p.name]} refused a report: see serve-{p.name}.log")
            arrivals[result.event_ids[-1]] = Arrival(time.perf_counter())
    _wait_imported(central, arrivals)
    last = max(a.position for a in arrivals.values())
    watcher = PositionWatcher(central.node.engine, 0.05)
    watcher.settle([Sample(accepted=1.0, position=last)])


def _offer(fed: Federation, provinces: list[Province], day: Day) -> tuple[list[Row], list[LatencyRow], Outcome]:
    central = fed[CENTRAL]
    commands = [c for pair in zip(*(p.reports for p in provinces), strict=False) for c in pair]
    commands += [c for p in provinces for c in p.reports[len(commands) // len(provinces) :]]
    owner = {id(c): p for p in provinces for c in p.reports}
    samples = [Sample() for _ in commands]
    locals_ = {p.name: PositionWatcher(p.sync.node.engine, 0.02) for p in provinces}  # the goal's is central's
    at_central = PositionWatcher(central.node.engine, 0.01)
    offer(lambda c: owner[id(c)].post(c), commands, samples, day.rate, day.threads, lambda _: None, MAX_DELAY)
    end = samples[-1].due
    by_province: dict[str, list[Sample]] = {p.name: [] for p in provinces}
    for command, sample in zip(commands, samples, strict=True):
        by_province[owner[id(command)].name].append(sample)
    for p in provinces:
        locals_[p.name].settle(by_province[p.name])
    accepted = [s for s in samples if s.accepted]
    if not accepted:
        raise RuntimeError("no report was accepted: see the serve logs in " + str(fed.tmp))
    arrivals = arrivals_at(central, accepted, at_central)
    sent = _sent_up(fed, set(arrivals))
    rows, latencies = _tables(provinces, by_province, arrivals, samples[0].due, day)
    latencies[-1:-1] = _hops(arrivals, sent)
    if day.timings is not None:
        names = {id(s): owner[id(c)].name for c, s in zip(commands, samples, strict=True)}
        _write_timings(day.timings, [(names[id(s)], s) for s in accepted], arrivals, sent, samples[0].due)
    visible = [a.visible - a.accepted for a in arrivals.values()]
    outcome = Outcome(
        offered=len(commands),
        accepted=len(accepted),
        shed=sum(s.shed for s in samples),
        failed=sum(p.failed for p in provinces),
        achieved_rate=len(accepted) / (max(s.accepted for s in accepted) - samples[0].due),
        backlog=sum(1 for a in arrivals.values() if a.accepted <= end < a.visible),
        drained_seconds=max(0.0, max(a.visible for a in arrivals.values()) - end),
        p99_ms=percentile(visible, 99) * 1000,
    )
    return rows, latencies, outcome


def _tables(
    provinces: list[Province],
    by_province: dict[str, list[Sample]],
    arrivals: dict[str, Arrival],
    first: float,
    day: Day,
) -> tuple[list[Row], list[LatencyRow]]:
    rss, label = peak_rss_mb(), f"offered {day.rate / len(provinces):,.0f}/s"
    rows, latencies = [], []
    for p in provinces:
        mine = [s for s in by_province[p.name] if s.accepted]
        rows.append(
            Row(LABEL[p.name], f"{label}: accepted (201)", len(mine), [max(s.accepted for s in mine) - first], rss)
        )
        waits = [s.accepted - s.due for s in mine]
        refused = ", ".join(f"{n:,} {what}" for what, n in p.refusals.most_common()) or "0"
        note = (
            f"shed {sum(s.shed for s in by_province[p.name]):,}, refused {refused}; due → 201 "
            f"p50 {percentile(waits, 50) * 1000:.0f} ms, p99 {percentile(waits, 99) * 1000:.0f} ms"
        )
        latencies.append(
            LatencyRow(
                LABEL[p.name],
                "accepted → the province's rollup",
                [s.visible - s.accepted for s in mine],
                rss,
                None,
                note,
            )
        )
    span = max(a.visible for a in arrivals.values()) - first
    rows.append(
        Row(LABEL[CENTRAL], f"offered {day.rate:,.0f}/s: visible in central's rollup", len(arrivals), [span], rss)
    )
    imported = [a.imported - a.accepted for a in arrivals.values()]
    visible = [a.visible - a.accepted for a in arrivals.values()]
    latencies += [
        LatencyRow(LABEL[CENTRAL], "accepted → imported at central", imported, rss),
        LatencyRow(
            LABEL[CENTRAL],
            "accepted → central's rollup",
            visible,
            rss,
            "accepted → the province's rollup",
            f"goal p99 ≤ {GOAL_MS:.0f} ms",
        ),
    ]
    return rows, latencies


def _sent_up(fed: Federation, event_ids: set[str]) -> dict[str, float]:
    """When each province's ``thidua sync`` sent ``event_ids`` up: the timestamp its producer gave the record on the
    sync topic to central (the sender's clock at ``send``), moved onto ``perf_counter``'s scale."""
    offset = time.time() - time.perf_counter()
    topics = [Topics(fed[name].node_id).sync_to(fed[CENTRAL].node_id) for name in PROVINCES]
    sent = {}
    for record in consume_all(fed.bootstrap_servers, topics):
        event_id = dict(record.headers or ()).get("ce_id", b"").decode()
        if event_id in event_ids:
            sent[event_id] = record.timestamp / 1000 - offset
    return sent


def _hops(arrivals: dict[str, Arrival], sent: dict[str, float]) -> list[LatencyRow]:
    """Each report's way to central hop by hop: the 201 → sent up by its province's sync (the sender's wake-up, its
    read and routing) → imported at central (Kafka, central's importer) → central's rollup (central's tail)."""
    rss = peak_rss_mb()
    mine = [(a, sent[event_id]) for event_id, a in arrivals.items() if event_id in sent]
    return [
        LatencyRow(LABEL[CENTRAL], "hop: accepted → sent up by the province", [s - a.accepted for a, s in mine], rss),
        LatencyRow(LABEL[CENTRAL], "hop: sent up → imported at central", [a.imported - s for a, s in mine], rss),
        LatencyRow(LABEL[CENTRAL], "hop: imported → central's rollup", [a.visible - a.imported for a, _ in mine], rss),
    ]


def _write_timings(
    path: Path, accepted: list[tuple[str, Sample]], arrivals: dict[str, Arrival], sent: dict[str, float], first: float
) -> None:
    """Every accepted report's moments, in seconds from the first report due: due, accepted (201), its province's
    rollup, sent up, imported at central, central's rollup."""
    with path.open("w", encoding="utf-8") as out:
        out.write("province,due,accepted,province_rollup,sent,imported,central_rollup\n")
        for name, s in accepted:
            a = arrivals[s.event_id]
            moments = (s.due, s.accepted, s.visible, sent.get(s.event_id, math.nan), a.imported, a.visible)
            out.write(name + "," + ",".join(f"{m - first:.4f}" for m in moments) + "\n")


@dataclass(frozen=True)
class Usage:
    """A process of the run: its peak RSS, and the CPU it spent from the first offered report until central's rollup
    showed the last one."""

    process: str
    peak_mb: float
    cpu_seconds: float
    wall_seconds: float
    accepted: int


def _print_outcome(console: Console, day: Day, outcome: Outcome, usage: list[Usage]) -> None:
    table = Table(
        "offered",
        "seconds",
        "reports offered",
        "accepted",
        "shed",
        "refused",
        "achieved /s",
        "backlog at the end",
        "drained after s",
        "central p99 ms",
        "goal ≤ 500 ms",
        title="thidua bench deadline — the day",
        box=box.MARKDOWN,
    )
    met = "met" if outcome.p99_ms <= GOAL_MS and outcome.accepted == outcome.offered else "missed"
    table.add_row(
        f"{day.rate:,.0f}/s",
        f"{day.seconds:,.0f}",
        f"{outcome.offered:,}",
        f"{outcome.accepted:,}",
        f"{outcome.shed:,}",
        f"{outcome.failed:,}",
        f"{outcome.achieved_rate:,.1f}",
        f"{outcome.backlog:,}",
        f"{outcome.drained_seconds:.2f}",
        f"{outcome.p99_ms:.0f}",
        met,
    )
    console.print(table)
    heads = ("process", "peak RSS MB", "CPU s", "cores (CPU s / wall s)", "CPU ms per accepted report")
    processes = Table(
        *heads,
        title="thidua bench deadline — processes, from the first report until central showed the last",
        box=box.MARKDOWN,
    )
    for u in usage:
        cores, per_report = u.cpu_seconds / u.wall_seconds, 1000 * u.cpu_seconds / max(u.accepted, 1)
        peak = "-" if u.process == POSTGRES else f"{u.peak_mb:.0f}"
        processes.add_row(u.process, peak, f"{u.cpu_seconds:.1f}", f"{cores:.2f}", f"{per_report:.1f}")
    nodes = [u for u in usage if u.process not in (BENCH_PROCESS, POSTGRES)]
    server = [u for u in usage if u.process == POSTGRES]
    sums = [("the nodes' six processes (serve + sync)", nodes), ("the nodes and PostgreSQL", nodes + server)]
    for label, rows in [*sums[: 1 + len(server)], ("all", usage)]:
        cpu = sum(u.cpu_seconds for u in rows)
        processes.add_row(label, "", f"{cpu:.1f}", "", f"{1000 * cpu / max(outcome.accepted, 1):.1f}")
    console.print(processes)
    per_report = sum(u.cpu_seconds for u in nodes + server) / max(outcome.accepted, 1)
    console.print(
        f"at {per_report * 1000:.1f} ms of CPU per report, {day.rate:,.0f} reports/s need "
        f"{per_report * day.rate:.1f} cores for the nodes' processes{' and PostgreSQL' if server else ''}, without "
        f"this benchmark's senders and watchers and without Kafka (this machine: {os.cpu_count()})"
    )
