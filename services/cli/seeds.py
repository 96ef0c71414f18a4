"""``thidua seeds import``: the real plans (kế hoạch) shipped as data, imported through the command handlers."""

from __future__ import annotations

import typer

from services.cli.kit import console as cli_console
from services.kernel.settings import NodeSettings

console = cli_console()


def register(app: typer.Typer) -> None:
    """Add ``seeds`` to the ``thidua`` command."""
    seeds = typer.Typer(help="The real plans (kế hoạch) shipped as data.", no_args_is_help=True)
    app.add_typer(seeds, name="seeds")
    seeds.command("import")(import_command)


def import_command() -> None:
    """Import QĐ 462/QĐ-TTg and the four seed plans into the node, through the command handlers."""
    from services.bootstrap import bootstrap
    from services.planning.seed_import import import_seeds

    node = bootstrap(NodeSettings())
    node.init_db()
    report = import_seeds(node.bus.handle)
    for plan_id in report.plans:
        console.print(f"{plan_id}: {len(report.warnings[plan_id])} cảnh báo / warnings")
    console.print(f"{len(report.plans)} kế hoạch, {len(report.criteria)} bộ tiêu chí / plans, criteria sets")
    node.close()
