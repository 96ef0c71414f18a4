"""Helpers of the web app's tests: a demo node with accounts, signing in, reading the numbers off a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.api.app import create_app
from services.bootstrap import Node, bootstrap
from services.demo.year import run_demo
from services.kernel.settings import Settings
from services.web.accounts.users import NewUser, UserStore
from services.web.app import mount
from services.web.pages.rollup import COLUMNS

PASSWORD = "mật-khẩu-thử-nghiệm"
PEOPLE = {  # username: (org unit path, roles)
    "trung.uong": ("VN", ("auditor", "operator")),
    "tdkt.laocai": ("VN/15", ("reviewer", "auditor")),
    "lan.batxat": ("VN/15/02683", ("submitter",)),
    "minh.camduong": ("VN/15/02671", ("submitter",)),
    "hoa.hue": ("VN/46", ("reviewer",)),
}
NAMES = {
    "trung.uong": "Vụ Thi đua – Khen thưởng",
    "tdkt.laocai": "Trần Minh Đức",
    "lan.batxat": "Nguyễn Thị Lan",
    "minh.camduong": "Đỗ Văn Minh",
    "hoa.hue": "Lê Thị Hoa",
    "khoa.thu": "Phạm Văn Khoa",
}


def demo_node(settings: Settings, engine: Engine | None = None) -> Node:
    """A node holding ``thidua demo``'s year, its read models caught up, and one account per person of PEOPLE."""
    node = bootstrap(settings, engine)
    node.init_db()
    run_demo(node)
    while node.runner.run_once():
        pass
    users = UserStore(node.engine)
    users.add_many(
        [NewUser(name, NAMES[name], path, roles) for name, (path, roles) in PEOPLE.items()], [PASSWORD] * len(PEOPLE)
    )
    return node


@contextmanager
def web_client(node: Node, base_url: str = "http://testserver") -> Iterator[TestClient]:
    """The node's app (API and web) in-process, without the projection tail."""
    app = create_app(node, run_projections=False, run_webhooks=False)
    web = mount(app, node)
    with TestClient(app, base_url=base_url, follow_redirects=False) as client:
        client.web = web  # type: ignore[attr-defined]  # the mounted web app (its state: accounts, pages, feed)
        yield client


def csrf_of(html: str) -> str:
    """The anti-forgery token in a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the form; returns the POST's response."""
    token = csrf_of(client.get("/dang-nhap").text)
    return client.post("/dang-nhap", data={"username": username, "password": password, "csrf_token": token})


class Cells(HTMLParser):
    """Table rows as ``{data-key: text}`` (the cells the web app marks with ``data-key``)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._key: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append({})
        key = dict(attrs).get("data-key")
        if tag == "td" and key:
            self._key, self._text = key, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._key is not None:
            self.rows[-1][self._key] = " ".join("".join(self._text).split())
            self._key = None

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self._text.append(data)


def table_rows(html: str) -> list[dict[str, str]]:
    """The rows of the data-key table in ``html``."""
    parser = Cells()
    parser.feed(html)
    return [r for r in parser.rows if r]


def shown(text: str) -> float | int | None:
    """A number as the page writes it in Vietnamese (``1.234``, ``87,5 %``, ``–``) as a number."""
    text = text.replace("\u00a0", " ").replace("%", "").strip()
    if text in ("–", ""):
        return None
    value = text.replace(".", "").replace(",", ".")
    return float(value) if "." in value else int(value)


def api_row(item: dict[str, Any]) -> dict[str, Any]:
    """A drill-down item of the API as the web's table shows it (rates as percentages, one decimal)."""
    reports, registration = item["reports"], item["registration"] or {}

    def pct(ratio: float | None) -> float | None:
        return None if ratio is None else round(ratio * 100, 1)

    return {
        "code": item["code"],
        "expected": reports["expected"],
        "submitted": reports["submitted"],
        "on_time": reports["on_time"],
        "late": reports["late"],
        "missing": reports["missing"],
        "reporting_rate": pct(reports["reporting_rate"]),
        "on_time_rate": pct(reports["on_time_rate"]),
        "registered": registration.get("registered"),
        "registration_rate": pct(registration.get("registration_rate")),
    }


def screen_row(cells: dict[str, str]) -> dict[str, Any]:
    """A table row of the web page, its numbers read back."""
    keys = [c.key for c in COLUMNS if c.numeric]
    return {"code": cells["code"], **{k: shown(cells[k]) for k in keys}}
