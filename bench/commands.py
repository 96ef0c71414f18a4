"""``thidua bench commands``: the CPU one command costs through the HTTP API (a real ``thidua serve``: uvicorn,
authentication, body validation, ``Idempotency-Key``, the handler, the 201) beside the CPU of the same kind of command
through the message bus alone (the handler and its transaction, in this process), on the same PostgreSQL node
(goal ≤ 2×). Commands are the generated history's ``SubmitReport`` of the year after the loaded one, one
unit each, sent one at a time; the server's CPU is read from ``/proc/<pid>/stat`` (user + system, every thread), the
bus's with ``time.process_time``; each run takes fresh units, alternating the two paths.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from services.kernel.settings import Settings
from services.reporting.commands import SubmitReport

from .common import fresh_node
from .dataset import load, spool, temporary_folder
from .generator import Scale, chosen_communes, year_commands
from .queries import Server, _token


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` so far (every thread)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def postgres_cpu_seconds(engine: Engine) -> float | None:
    """User + system CPU of the PostgreSQL server ``engine`` talks to, so far: its postmaster, the backends alive and
    those that ended (counted in the postmaster's children's time); None when the server is not on this machine."""
    with engine.connect() as conn:
        backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    try:
        if not Path(f"/proc/{backend}/cmdline").read_bytes().startswith(b"postgres"):
            return None
        postmaster = int(_stat(backend)[1])
        fields = _stat(postmaster)
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, and its children's that ended
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError, IndexError, ValueError):
                child = stat.read_text().rsplit(")", 1)[1].split()
                if int(child[1]) == postmaster:
                    ticks += int(child[11]) + int(child[12])
    except (OSError, IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def body_of(command: SubmitReport) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/reports`` for ``command``."""
    return {
        "plan_id": command.plan_id,
        "unit_path": command.unit_path,
        "period": command.period,
        "values": [{"indicator_code": v["indicator_code"], "value": v["value"]} for v in command.values],
        "narrative": command.narrative,
        "occurred_at": command.occurred_at.isoformat(),
    }


def run_commands(settings: Settings, scale: Scale, repeat: int, console: Console) -> dict[str, list[float]]:
    """Load ``scale`` (its first year), then time ``repeat`` runs of each path; print and return ms per command."""
    found: dict[str, list[float]] = {"bus": [], "http": []}
    with temporary_folder() as tmp, fresh_node(settings, "postgres") as (node, engine, *_):
        load(engine, spool(settings, scale, Path(tmp)))
        year = 2026 + scale.years
        offered = [
            c
            for c in year_commands(year, chosen_communes(node.official_units, scale), scale)
            if isinstance(c, SubmitReport) and c.period == str(year)
        ]
        per_run = len(offered) // (2 * repeat)
        groups = [offered[i * per_run : (i + 1) * per_run] for i in range(2 * repeat)]
        token = _token(node)
        with Server(node, Path(tmp), api_rate_limit_per_minute="10000000") as (base, proc):
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                warm = 5  # the first run's first commands warm up: imports, statement caches, connections
                _post(client, groups[1][:warm])
                for command in groups[0][:warm]:
                    node.bus.handle(command)
                for run in range(repeat):
                    bus, http = (g[warm:] if run == 0 else g for g in (groups[2 * run], groups[2 * run + 1]))
                    started = time.process_time()
                    for command in bus:
                        node.bus.handle(command)
                    found["bus"].append((time.process_time() - started) * 1000 / len(bus))
                    before = cpu_seconds(proc.pid)
                    _post(client, http)
                    found["http"].append((cpu_seconds(proc.pid) - before) * 1000 / len(http))
    _print(console, f"thidua bench commands: SubmitReport, {per_run:,} commands per run", found)
    return found


def _post(client: httpx.Client, commands: list[SubmitReport]) -> None:
    for command in commands:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        response = client.post("/api/v1/reports", json=body_of(command), headers=key)
        if response.status_code != 201:
            raise RuntimeError(f"{response.status_code}: {response.text[:500]}")


def _print(console: Console, title: str, found: dict[str, list[float]]) -> None:
    table = Table("path", "runs", "CPU ms per command (median)", "runs (ms)", "÷ bus", title=title, box=box.MARKDOWN)
    bus = statistics.median(found["bus"])
    for name, label in (
        ("bus", "message bus only (handler + transaction)"),
        ("http", "HTTP API (thidua serve, Idempotency-Key)"),
    ):
        runs = found[name]
        median = statistics.median(runs)
        listed = ", ".join(f"{r:.2f}" for r in runs)
        table.add_row(label, str(len(runs)), f"{median:.2f}", listed, f"{median / bus:.2f}")
    console.print(table)
