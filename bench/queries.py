"""``thidua bench queries``: read latency through the HTTP API on a loaded dataset — national, province and
commune rollups (indicators by code), the national rollup's indicators per plan (the first page of 50), a unit's
guidance, the award pipeline — against two ceilings measured in the same run: the
same SQL run directly (every statement the request executed, captured once in-process and replayed with its
parameters over one database connection: the round trips without the Python around them) and ``GET /healthz``
over the same connection (the HTTP floor).

The API is a real ``thidua serve`` process (uvicorn on 127.0.0.1, embedded tail off, webhooks and automatic
checkpoints off) on the benchmark's PostgreSQL schema; requests go one at a time over one keep-alive
connection (httpx) with a bearer token of a central client with every role. Each query rotates over the
provinces, communes and units of the dataset.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import event

from bench.harness import Process, wait_for
from services.api.app import create_app
from services.api.security import Security
from services.api.security.scopes import ROLES
from services.bootstrap import Node
from services.kernel.settings import Settings

from .common import LatencyRow, peak_rss_mb, print_latencies, process_mb
from .generator import Scale, chosen_communes, units

HEALTH = "GET /healthz over HTTP (ceiling: HTTP floor)"
ON = date(2030, 11, 1)  # the guidance's reference day (the last year's reports are due)


@dataclass(frozen=True)
class Query:
    """One kind of read: its route, and the path and query parameters of each request (rotating)."""

    name: str
    route: str
    params: Callable[[int], dict[str, Any]]  # request number → {name: value}, path parameters included

    def url(self, n: int) -> str:
        """The URL of request ``n``."""
        values = self.params(n)
        path = self.route.format(**values)
        query = "&".join(f"{k}={v}" for k, v in values.items() if "{" + k + "}" not in self.route and v is not None)
        return f"{path}?{query}" if query else path


def queries(node: Node, scale: Scale, period: str) -> list[Query]:
    """The reads of the issue, over the dataset of ``scale``."""
    communes = chosen_communes(node.official_units, scale)
    provinces = sorted({c.parent_code for c in communes})
    unit_codes = [u.command.code for u in itertools.islice(units(communes, scale), 5000)]
    rollup, guidance = "/api/v1/org-units/{code}/rollup", "/api/v1/org-units/{code}/guidance"
    per_plan = "/api/v1/org-units/{code}/rollup/indicators"

    def pick(values: list[Any], n: int) -> Any:
        return values[n % len(values)]

    return [
        Query("national rollup", rollup, lambda n: {"code": "VN", "period": period}),
        Query("province rollup", rollup, lambda n: {"code": pick(provinces, n), "period": period}),
        Query("commune rollup", rollup, lambda n: {"code": pick(communes, n).code, "period": period}),
        Query("national indicators per plan (a page)", per_plan, lambda n: {"code": "VN", "period": period}),
        Query("unit guidance", guidance, lambda n: {"code": pick(unit_codes, n), "on": ON}),
        Query("award pipeline: waiting at a province", "/api/v1/awards/waiting", lambda n: {"at": pick(provinces, n)}),
        Query("award pipeline: pending proposals", "/api/v1/awards", lambda n: {"state": "PENDING"}),
    ]


def run_queries(
    settings: Settings,
    node: Node[Settings],
    scale: Scale,
    requests: int,
    console: Console,
    folder: Path,
    period: str = "2030",
) -> list[LatencyRow]:
    """Time ``requests`` requests of each query through HTTP, and their SQL alone; print and return the rows."""
    token = _token(node)
    chosen = queries(node, scale, period)
    statements = {q.name: capture(node, token, q, min(requests, 50)) for q in chosen}
    rows: list[LatencyRow] = []
    with Server(node, folder) as (base, proc):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            rows.append(LatencyRow("http", HEALTH, _time(lambda n: _get(client, "/healthz"), requests), 0.0))
            for query in chosen:
                http = _time(partial(_get_nth, client, query), requests)
                rows.append(LatencyRow("http", query.name, http, 0.0, f"{query.name}: its SQL only (ceiling)"))
        server_rss = process_mb(proc.pid, "VmHWM")
    for row in rows:
        row.rss_mb = server_rss
    for query in chosen:
        found = statements[query.name]
        sql = _time(partial(_replay_nth, node, found), requests)
        count = sum(map(len, found)) / len(found)
        rows.append(
            LatencyRow(
                "postgres",
                f"{query.name}: its SQL only (ceiling)",
                sql,
                peak_rss_mb(),
                note=f"{count:.1f} statements per request",
            )
        )
    print_latencies(console, f"thidua bench queries: {requests:,} requests each, period {period}", rows)
    return rows


Statement = tuple[str, Any]  # (SQL text as sent to the driver, its parameters)


def capture(node: Node[Settings], token: str, query: Query, variants: int) -> list[list[Statement]]:
    """The statements each of the first ``variants`` requests runs, captured on the node's engine while the
    request goes through the app in-process (FastAPI, dependencies and all)."""
    app = create_app(node, run_projections=False, run_webhooks=False)
    captured: list[Statement] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    found = []
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        client.get(query.url(0))  # warm, as the HTTP timing is (its 10 warm-up requests): caches filled
        event.listen(node.engine, "before_cursor_execute", record)
        try:
            for n in range(variants):
                captured.clear()
                response = client.get(query.url(n))
                if response.status_code != 200:
                    raise RuntimeError(f"GET {query.url(n)}: {response.status_code} {response.text[:500]}")
                found.append(list(captured))
        finally:
            event.remove(node.engine, "before_cursor_execute", record)
    return found


def replay(node: Node, statements: list[Statement]) -> None:
    """Run the captured statements of one request over one pooled connection, fetching every row."""
    raw = node.engine.raw_connection()
    try:
        cur = raw.cursor()
        try:
            for statement, parameters in statements:
                cur.execute(statement, parameters)
                if cur.description is not None:
                    cur.fetchall()
        finally:
            cur.close()
        raw.rollback()
    finally:
        raw.close()


def _time(work: Callable[[int], Any], requests: int, warmup: int = 10) -> list[float]:
    for n in range(warmup):
        work(n)
    samples = []
    for n in range(requests):
        started = time.perf_counter()
        work(n)
        samples.append(time.perf_counter() - started)
    return samples


def _replay_nth(node: Node, found: list[list[Statement]], n: int) -> None:
    replay(node, found[n % len(found)])


def _get_nth(client: httpx.Client, query: Query, n: int) -> None:
    _get(client, query.url(n))


def _get(client: httpx.Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:500]}")


def _token(node: Node[Settings]) -> str:
    """A token of a central client with every role and no practical rate limit (minted before the server starts,
    so that the server and the in-process app use the dev signing key written here, in the node's data folder)."""
    security = Security.for_node(node.settings, node.engine)
    roles = sorted(ROLES)
    if security.clients.get("bench-queries") is None:
        security.clients.add("bench", "VN", roles, client_id="bench-queries", rate_limit_per_minute=10_000_000)
    return security.tokens.mint("bench-queries", "VN", roles, "bench")


class Server:
    """``thidua serve`` on a free loopback port, on the node's database; stopped by pid."""

    def __init__(self, node: Node, folder: Path, **settings: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        env = {
            "THIDUA_DATABASE_URL": node.settings.effective_database_url,
            "THIDUA_DATA_DIR": str(node.settings.data_dir),
            "THIDUA_NODE_ID": node.settings.node_id,
            "THIDUA_WEBHOOKS_ENABLED": "0",
            "THIDUA_AUDIT_CHECKPOINT_EVERY": "0",
            "THIDUA_AUDIT_CHECKPOINT_MINUTES": "0",
            "THIDUA_LOG_LEVEL": "WARNING",
        }
        extra = {f"THIDUA_{k.upper()}": v for k, v in settings.items()}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")} | env | extra
        self.folder = folder

    def __enter__(self) -> tuple[str, Process]:
        args = ["serve", "--port", str(self.port), "--no-projections"]
        self.proc = Process(args, self.env, self.folder / "serve.log")
        base = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: _up(base) or not self.proc.alive(), 60, 0.1, "thidua serve")
        if not self.proc.alive():
            raise RuntimeError(self.proc.log()[-2000:])
        return base, self.proc

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
