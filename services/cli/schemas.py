"""``thidua schemas list | check | freeze | codegen | export``: the Avro contracts in schemas/."""

from __future__ import annotations

import difflib
from pathlib import Path

import typer
from rich.table import Table

from services.cli.kit import console
from services.kernel.codegen import render_contracts
from services.kernel.compat import check_catalog
from services.kernel.errors import UsageMistake
from services.kernel.schemas import SchemaCatalog, freeze
from services.kernel.settings import NodeSettings

schemas_app = typer.Typer(help="Avro contracts in schemas/.", no_args_is_help=True)
out = console()
CONTRACTS_PY = Path(__file__).resolve().parents[1] / "kernel" / "contracts.py"


def register(app: typer.Typer) -> None:
    """Add ``schemas`` to the ``thidua`` command."""
    app.add_typer(schemas_app, name="schemas")


def _catalog() -> SchemaCatalog:
    return SchemaCatalog.load(NodeSettings().schemas_dir)


@schemas_app.command("list")
def schemas_list() -> None:
    """List every contract with its fingerprint and frozen versions."""
    catalog = _catalog()
    table = Table("type", "fingerprint", "history")
    for version in sorted(catalog, key=lambda v: v.fullname):
        history = ", ".join(f"v{v.version}" for v in catalog.history(version.fullname)) or "-"
        table.add_row(version.fullname, version.fingerprint.hex(), history)
    out.print(table)


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
        out.print(f"{report.fullname}: {state} against {len(report.versions_checked)} earlier version(s)")
        for error in report.errors:
            out.print(f"  [red]- {error}[/]")
        failed |= not report.ok
    if render_contracts(catalog) != CONTRACTS_PY.read_text(encoding="utf-8"):
        out.print("[red]services/kernel/contracts.py is stale: run `thidua schemas codegen`[/]")
        failed = True
    raise typer.Exit(1 if failed else 0)


@schemas_app.command("freeze")
def schemas_freeze() -> None:
    """Record every changed schema as its next version in schemas/history (after `check` passes)."""
    settings = NodeSettings()
    catalog = SchemaCatalog.load(settings.schemas_dir)
    breaking = [r for r in check_catalog(catalog) if not r.ok]
    if breaking:
        out.print(f"[red]refusing to freeze breaking changes: {[r.fullname for r in breaking]}[/]")
        raise typer.Exit(1)
    for version in freeze(catalog, settings.schemas_dir):
        out.print(f"froze {version.fullname} v{version.version}")


@schemas_app.command("codegen")
def schemas_codegen() -> None:
    """Regenerate services/kernel/contracts.py from the schemas."""
    CONTRACTS_PY.write_text(render_contracts(_catalog()), encoding="utf-8")
    out.print(f"wrote {CONTRACTS_PY}")


@schemas_app.command("export")
def schemas_export(fullname: str) -> None:
    """Print one schema as self-contained JSON (named types inlined), for other Avro tools."""
    catalog = _catalog()
    try:
        version = catalog.current(fullname)
    except KeyError:
        by_short = {v.name: v.fullname for v in catalog}
        close = difflib.get_close_matches(fullname.rsplit(".", 1)[-1], list(by_short), n=1, cutoff=0.6)
        close = [by_short[c] for c in close]
        like_vi, like_en = (f" Có phải {close[0]}?", f" Did you mean {close[0]}?") if close else ("", "")
        raise UsageMistake(
            f"Không có lược đồ {fullname!r} (tên đầy đủ, ví dụ vn.thidua.events.PlanIssued).{like_vi} Xem danh "
            "sách: thidua schemas list.",
            f"No schema named {fullname!r} (a full name, e.g. vn.thidua.events.PlanIssued).{like_en} The list: "
            "thidua schemas list.",
            name=fullname,
        ) from None
    typer.echo(version.to_json())  # plain stdout: `> file.avsc` gets the JSON whole, never wrapped
