"""``thidua demo``: load the demo year into a fresh database (or the node's own) and say how to see it."""

from __future__ import annotations

import shlex
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.kit import console as cli_console
from services.cli.kit import invoked_as
from services.kernel.errors import NodeNotEmpty, OperatorError, UsageMistake
from services.kernel.settings import NodeSettings

console = cli_console()


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``thidua`` command."""
    app.command("demo")(demo_command)


DemoDatabase = Annotated[
    Path | None, typer.Option(help="SQLite file for the demo (default: <data_dir>/demo.db, recreated).")
]
IntoNode = Annotated[
    bool,
    typer.Option(
        "--into-node",
        help="Load into the node's own database (THIDUA_DATABASE_URL, else <data_dir>/thidua.db), which must hold "
        "no events yet, so `make run` (thidua serve) shows it.",
    ),
]
NODE_URL = "http://127.0.0.1:8000"  # where `make run` serves the node


SetupOnly = Annotated[
    bool,
    typer.Option(
        "--setup-only",
        help="Chỉ nạp kế hoạch, khối thi đua và đơn vị, không mô phỏng năm (để làm năm qua trình duyệt) / "
        "only the plans, blocs and units, no simulated year (to work the year in the browser).",
    ),
]


def demo_command(database: DemoDatabase = None, into_node: IntoNode = False, setup_only: SetupOnly = False) -> None:
    """Load the hierarchy, the four plans and a simulated year (``--setup-only``: without the year) into a fresh
    database (or the node's own, with --into-node), and print a summary and how to see it through the API."""
    from services.bootstrap import bootstrap
    from services.demo.report import render
    from services.demo.year import run_demo, run_setup

    settings = NodeSettings()
    if into_node and database is not None:
        raise UsageMistake(
            "Chọn một trong hai: --into-node (cơ sở dữ liệu của nút) hoặc --database FILE.",
            "Choose one: --into-node (the node's database) or --database FILE.",
        )
    if into_node:
        target = None
    else:
        target = database or settings.data_dir / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{target.resolve()}"})
    node = bootstrap(settings)
    try:
        node.init_db()
        if into_node and (held := node.store.head_position()) > 0:
            raise _node_not_empty(node, held)
        summary = run_setup(node) if setup_only else run_demo(node)
        node.runner.run_until_idle()
        render(node, summary, console)
        url = node.engine.url.render_as_string(hide_password=True)
    finally:
        node.close()
    for line in _hints(url, target):
        console.print(line, highlight=False, markup=False)


def _node_not_empty(node: Any, held: int) -> OperatorError:
    url = node.engine.url.render_as_string(hide_password=True)
    return NodeNotEmpty(
        f"Cơ sở dữ liệu của nút {url} đã có {held} sự kiện: bản mô phỏng chỉ nạp vào nút chưa có dữ liệu (kế hoạch "
        "của nó sẽ trùng). Dùng THIDUA_DATA_DIR khác, hoặc dừng nút và xóa tệp cơ sở dữ liệu.",
        f"The node's database {url} already holds {held} events: the demo loads only into a node with no data yet "
        "(its plans would collide). Use another THIDUA_DATA_DIR, or stop the node and delete its database file.",
        events=held,
    )


def _hints(url: str, demo_file: Path | None) -> list[str]:
    """Copy-paste correct commands to see the demo through the API (one command per line, never wrapped)."""
    thidua = invoked_as()
    if demo_file is None:
        where = f"\nĐã nạp vào cơ sở dữ liệu của nút / loaded into the node's database: {url}"
        serve, base, env = "make run   # hoặc / or: " + f"{thidua} serve", NODE_URL, ""
    else:
        port = free_port(8001)  # not the port `make run` uses: a node may be running there
        where = f"\nDữ liệu mô phỏng / demo data: {demo_file}  (thidua demo --into-node: nạp vào nút / into the node)"
        env = f"THIDUA_DATABASE_URL={shlex.quote(url)} "
        serve, base = f"{env}{thidua} serve --port {port}", f"http://127.0.0.1:{port}"
    token = (
        f'TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials {base}/api/v1/token '
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    return [
        where,
        "Xem qua API / see it through the API:",
        f"  {serve}",
        f"  eval \"$({env}{thidua} clients add --name 'Xem mô phỏng' --org-unit VN --roles auditor --shell)\"",
        f"  {token}",
        f'  curl -s -H "Authorization: Bearer $TOKEN" "{base}/api/v1/awards?state=PENDING"',
    ]


def free_port(start: int) -> int:
    """The first TCP port from ``start`` that nothing listens on at 127.0.0.1."""
    for port in range(start, start + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    return start
