"""The ``thidua`` command line: serve the node, manage contracts and the database."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bench.cli import register as register_bench
from services.audit.cli import register as register_audit
from services.db_cli import register as register_db
from services.domain_cli import register as register_domain
from services.kernel.codegen import render_contracts
from services.kernel.compat import check_catalog
from services.kernel.schemas import SchemaCatalog, freeze
from services.kernel.settings import Settings
from services.pipeline.cli import register as register_pipeline
from services.security_cli import register as register_security
from services.sync.cli import register as register_sync
from services.web.accounts.cli import register as register_users

app = typer.Typer(
    help="thidua-sync: đồng bộ dữ liệu thi đua, khen thưởng / emulation & commendation sync.", no_args_is_help=True
)
schemas_app = typer.Typer(help="Avro contracts in schemas/.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
register_db(app)  # db upgrade|downgrade|current|history|init
register_pipeline(app)  # topics, relay, worker, pipeline
register_sync(app)  # sync, sync reconcile, sync rules
register_domain(app)  # seeds import, demo
register_bench(app)  # bench append|rebuild|generate
register_security(app)  # clients add|list|revoke, api openapi
register_audit(app)  # audit checkpoint|verify|export|verify-export|keys, replay
register_users(app)  # users add|list|disable|enable|reset-password|unlock|import|signins
console = Console()
CONTRACTS_PY = Path(__file__).resolve().parent / "kernel" / "contracts.py"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="TCP port."),
    projections: bool = typer.Option(True, help="Run the embedded projection tail in-process."),
) -> None:
    """Run the node's HTTP API and the officials' web app at / (embedded default: SQLite under ./var, projections
    in-process), with automatic signed checkpoints in a background thread (audit_checkpoint_every /
    audit_checkpoint_minutes)."""
    import threading

    import uvicorn

    from services import migrations
    from services.api.app import create_app
    from services.audit.checkpoints import checkpointer_for, start_checkpoints
    from services.bootstrap import bootstrap

    settings = Settings()
    logging.basicConfig(level=settings.log_level)
    node = bootstrap(settings)
    migrations.require_current(node.engine)  # before a key, a thread or a port: run `thidua db upgrade`
    console.print(
        f"[bold]thidua-sync[/] node [cyan]{settings.node_id}[/] · database "
        f"{node.engine.url.render_as_string(hide_password=True)} · http://{host}:{port}"
    )
    stop, checkpoints = threading.Event(), None
    if (checkpointer := checkpointer_for(node.store, settings)) is not None:
        checkpoints = start_checkpoints(checkpointer, stop)
    app = create_app(node, run_projections=projections)
    if settings.web_enabled:
        from services.web.app import mount

        mount(app, node, live_from_runner=projections)
    try:
        # open pages hold live streams: a stop waits at most 5 s for them (they reconnect to the next process)
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    finally:  # uvicorn returns on Ctrl-C / SIGTERM after its own graceful shutdown
        stop.set()
        if checkpoints is not None:
            checkpoints.join(timeout=10)


def _catalog() -> SchemaCatalog:
    return SchemaCatalog.load(Settings().schemas_dir)


@schemas_app.command("list")
def schemas_list() -> None:
    """List every contract with its fingerprint and frozen versions."""
    catalog = _catalog()
    table = Table("type", "fingerprint", "history")
    for version in sorted(catalog, key=lambda v: v.fullname):
        history = ", ".join(f"v{v.version}" for v in catalog.history(version.fullname)) or "-"
        table.add_row(version.fullname, version.fingerprint.hex(), history)
    console.print(table)


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail unless every schema reads and is read by all its earlier versions, and all are frozen."""
    catalog = _catalog()
    failed = False
    for report in check_catalog(catalog):
        state = "[green]ok[/]" if report.ok else "[red]BREAKING[/]"
        if not report.frozen:
            state += " [yellow](not frozen: run `thidua schemas freeze`)[/]"
            failed = True
        console.print(f"{report.fullname}: {state} against {len(report.versions_checked)} earlier version(s)")
        for error in report.errors:
            console.print(f"  [red]- {error}[/]")
        failed |= not report.ok
    if render_contracts(catalog) != CONTRACTS_PY.read_text(encoding="utf-8"):
        console.print("[red]services/kernel/contracts.py is stale: run `thidua schemas codegen`[/]")
        failed = True
    raise typer.Exit(1 if failed else 0)


@schemas_app.command("freeze")
def schemas_freeze() -> None:
    """Record every changed schema as its next version in schemas/history (after `check` passes)."""
    settings = Settings()
    catalog = SchemaCatalog.load(settings.schemas_dir)
    breaking = [r for r in check_catalog(catalog) if not r.ok]
    if breaking:
        console.print(f"[red]refusing to freeze breaking changes: {[r.fullname for r in breaking]}[/]")
        raise typer.Exit(1)
    for version in freeze(catalog, settings.schemas_dir):
        console.print(f"froze {version.fullname} v{version.version}")


@schemas_app.command("codegen")
def schemas_codegen() -> None:
    """Regenerate services/kernel/contracts.py from the schemas."""
    CONTRACTS_PY.write_text(render_contracts(_catalog()), encoding="utf-8")
    console.print(f"wrote {CONTRACTS_PY}")


@schemas_app.command("export")
def schemas_export(fullname: str) -> None:
    """Print one schema as self-contained JSON (named types inlined), for other Avro tools."""
    console.print_json(_catalog().current(fullname).to_json())
