"""CLI commands of the domain: import the seed plans, run the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.kernel.settings import Settings

console = Console()


def register(app: typer.Typer) -> None:
    """Add ``seeds`` and ``demo`` to the ``thidua`` command."""
    seeds = typer.Typer(help="The real plans (kế hoạch) shipped as data.", no_args_is_help=True)
    app.add_typer(seeds, name="seeds")
    seeds.command("import")(import_command)
    app.command("demo")(demo_command)


def import_command() -> None:
    """Import QĐ 462/QĐ-TTg and the four seed plans into the node, through the command handlers."""
    from services.bootstrap import bootstrap
    from services.planning.seed_import import import_seeds

    node = bootstrap(Settings())
    node.init_db()
    report = import_seeds(node.bus.handle)
    for plan_id in report.plans:
        console.print(f"{plan_id}: {len(report.warnings[plan_id])} cảnh báo / warnings")
    console.print(f"{len(report.plans)} kế hoạch, {len(report.criteria)} bộ tiêu chí / plans, criteria sets")
    node.close()


DemoDatabase = Annotated[
    Path | None, typer.Option(help="SQLite file for the demo (default: <data_dir>/demo.db, recreated).")
]


def demo_command(database: DemoDatabase = None) -> None:
    """Load the hierarchy, the four plans and a simulated year into a fresh database, and print a summary."""
    from services.bootstrap import bootstrap
    from services.demo import run_demo
    from services.demo_report import render

    settings = Settings()
    target = database or settings.data_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    node = bootstrap(settings.model_copy(update={"database_url": f"sqlite:///{target.resolve()}"}))
    node.init_db()
    summary = run_demo(node)
    node.runner.run_until_idle()
    render(node, summary, console)
    console.print(
        f"\nDữ liệu mô phỏng / demo data: {target}  —  xem qua API / serve it: "
        f"THIDUA_DATABASE_URL=sqlite:///{target.resolve()} thidua serve"
    )
    node.close()
