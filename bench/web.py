"""``thidua bench web``: server time of the officials' web pages on a loaded dataset — Tổng hợp of the whole country
and of a province (numbers, drill-down table, indicators by code), and Trang chủ of the central and of a province
office — beside the same query through the HTTP API (the rollup with its drill-down) and ``GET /healthz`` (the
HTTP floor), all from one ``thidua serve`` process (embedded tail off), one request at a time over one keep-alive
connection, after 10 warm-up requests. Each page is also weighed as sent (gzip, what a browser receives).

Every row reports the round trip on loopback; the note gives the p95 of the server's own ``Server-Timing`` (the
web app's time up to the response's start) and the compressed size of the page.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from services.bootstrap import Node
from services.kernel.settings import Settings
from services.web.accounts.users import NewUser, UserStore

from .common import LatencyRow, percentile, print_latencies, process_mb
from .generator import Scale, chosen_communes
from .queries import HEALTH, Server, _get, _time, _token

PASSWORD = "bench-web-password"
PEOPLE = {"bench.trunguong": "VN"}  # provinces' offices are added per province below


def _people(node: Node, provinces: list[str]) -> None:
    users = UserStore(node.engine)
    wanted = {**PEOPLE, **{f"bench.tinh{p}": f"VN/{p}" for p in provinces}}
    missing = [n for n in wanted if n not in set(users.existing(wanted))]
    if missing:
        users.add_many([NewUser(n, n, wanted[n], ("auditor", "reviewer")) for n in missing], [PASSWORD] * len(missing))


def sign_in(base: str, username: str) -> httpx.Client:
    """A browser-like client (cookies, gzip) signed in through the form."""
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False, headers={"Accept-Encoding": "gzip"})
    form = client.get("/dang-nhap").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    done = client.post("/dang-nhap", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    if done.status_code != 303:
        raise RuntimeError(f"sign-in of {username}: {done.status_code} {done.text[:300]}")
    return client


class Page:
    """One page timed: its URL per request, the server's own times and the compressed sizes seen."""

    def __init__(self, name: str, client: httpx.Client, url: Callable[[int], str]) -> None:
        self.name, self.client, self.url = name, client, url
        self.server: list[float] = []
        self.sizes: list[int] = []

    def __call__(self, n: int) -> None:
        response = self.client.get(self.url(n))
        if response.status_code != 200:
            raise RuntimeError(f"GET {self.url(n)}: {response.status_code} {response.text[:300]}")
        timing = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
        self.server.append(float(timing.group(1)) / 1000 if timing else 0.0)
        self.sizes.append(int(response.headers.get("content-length") or len(response.content)))

    def note(self) -> str:
        """Server time p95 and the median compressed size."""
        server, size = percentile(self.server, 95) * 1000, statistics.median(self.sizes) / 1024
        return f"server p95 {server:.1f} ms; {size:.1f} KB gzip"


def run_web(
    settings: Settings,
    node: Node[Settings],
    scale: Scale,
    requests: int,
    console: Console,
    folder: Path,
    period: str = "2030",
) -> list[LatencyRow]:
    """Time the pages and their API queries; print and return the rows."""
    provinces: list[str] = sorted({str(c.parent_code) for c in chosen_communes(node.official_units, scale)})
    _people(node, provinces)
    token = _token(node)

    def pick(n: int) -> str:
        return provinces[n % len(provinces)]

    rows: list[LatencyRow] = []
    with Server(node, folder, web_signin_per_minute="100000") as (base, proc):  # one address signs in every office
        central = sign_in(base, "bench.trunguong")
        offices = {p: sign_in(base, f"bench.tinh{p}") for p in provinces}
        pages = [
            Page("web: Tổng hợp, whole country", central, lambda n: f"/tong-hop/VN?period={period}"),
            Page("web: Tổng hợp, a province", central, lambda n: f"/tong-hop/{pick(n)}?period={period}"),
            Page("web: Trang chủ, central", central, lambda n: f"/?period={period}"),
        ]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        rollup = "/api/v1/org-units/{}/rollup?period=" + period + "&level=children&limit=500"
        rows.append(LatencyRow("http", HEALTH, _time(lambda n: _get(api, "/healthz"), requests), 0.0))
        same: list[Callable[[int], str]] = [lambda n: "VN", pick]
        for page, code in zip(pages[:2], same, strict=True):
            samples = _time(page, requests)
            query = f"api: the same rollup and drill-down ({'country' if code(0) == 'VN' else 'a province'})"
            rows.append(LatencyRow("http", page.name, samples, 0.0, query, page.note()))
            rows.append(
                LatencyRow(
                    "http",
                    query,
                    _time(_api_rollup(api, rollup, code), requests),
                    0.0,
                    HEALTH,
                )
            )
        rows.append(LatencyRow("http", pages[2].name, _time(pages[2], requests), 0.0, HEALTH, pages[2].note()))
        home = _ProvinceHome(offices)
        rows.append(
            LatencyRow(
                "http", "web: Trang chủ, a province office", _time(home, requests), 0.0, HEALTH, home.page.note()
            )
        )
        server_rss = process_mb(proc.pid, "VmHWM")
    for row in rows:
        row.rss_mb = server_rss
    title = (
        f"thidua bench web: {requests:,} requests each, period {period}, {scale.units:,} units x {scale.years} years"
    )
    print_latencies(console, title, rows)
    return rows


def _api_rollup(api: httpx.Client, rollup: str, code: Callable[[int], str]) -> Callable[[int], None]:
    def get(n: int) -> None:
        _get(api, rollup.format(code(n)))

    return get


class _ProvinceHome:
    """Each province office's own home page, in turn."""

    def __init__(self, offices: dict[str, httpx.Client]) -> None:
        self.clients = list(offices.values())
        self.page = Page("home", self.clients[0], lambda n: "/")

    def __call__(self, n: int) -> Any:
        self.page.client = self.clients[n % len(self.clients)]
        return self.page(n)
