"""``thidua bench <name>``: the benchmarks of issue 9 (tables of events/s beside a ceiling measured in the same run)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from services.kernel.settings import Settings

from .generator import Scale

bench_app = typer.Typer(
    help="Benchmarks: events/s and ratios to ceilings measured in the same run.", no_args_is_help=True
)
UNITS = typer.Option(2_000, help="Units (100,000 = national scale); ~2.2 events per unit and year.")
YEARS = typer.Option(5, min=1, max=5, help="Years of history from 2026.")
REPEAT = typer.Option(3, min=1, help="Runs per stage; the table shows the median.")
BACKENDS = typer.Option("sqlite,postgres", help="Comma-separated: sqlite, postgres (THIDUA_DATABASE_URL).")
SEED = typer.Option(2026, help="Generator seed.")
OUT = typer.Option(None, help="Write the event counts by type as CSV here.")
PLOT = typer.Option(None, help="Also save a PNG bar chart here (needs the bench extra).")
HANDLED = typer.Option(1_000, help="Commands for the one-command-per-transaction stage.")


def register(app: typer.Typer) -> None:
    """Add ``thidua bench`` to the main CLI."""
    app.add_typer(bench_app, name="bench")


def _backends(text: str, settings: Settings) -> list[str]:
    chosen = [b.strip() for b in text.split(",") if b.strip()]
    if "postgres" in chosen and not settings.effective_database_url.startswith("postgresql"):
        Console(stderr=True).print("postgres skipped: THIDUA_DATABASE_URL is not PostgreSQL (make services-up)")
        chosen.remove("postgres")
    return chosen


@bench_app.command("append")
def append(units: int = UNITS, years: int = YEARS, repeat: int = REPEAT, backends: str = BACKENDS, seed: int = SEED,
           handler_commands: int = HANDLED, plot: Path | None = PLOT) -> None:  # fmt: skip
    """Handlers (1 command/tx), bulk import, raw executemany/COPY (ceiling), eventsourcing (peer)."""
    from .append import run_append

    settings = Settings()
    rows = run_append(settings, Scale(units, years, seed), _backends(backends, settings), handler_commands, repeat,
                      Console())  # fmt: skip
    if plot:
        from .plot import plot_rows

        plot_rows(rows, f"append: {units:,} units x {years} years", plot)


@bench_app.command("rebuild")
def rebuild(units: int = UNITS, years: int = YEARS, repeat: int = REPEAT, backends: str = BACKENDS, seed: int = SEED,
            plot: Path | None = PLOT) -> None:  # fmt: skip
    """Every read model rebuilt from the store, beside read + decode of the same events (ceiling)."""
    from .rebuild import run_rebuild

    settings = Settings()
    rows = run_rebuild(settings, Scale(units, years, seed), _backends(backends, settings), repeat, Console())
    if plot:
        from .plot import plot_rows

        plot_rows(rows, f"rebuild from the store: {units:,} units x {years} years", plot)


@bench_app.command("generate")
def generate(units: int = UNITS, years: int = YEARS, seed: int = SEED,
             out: Path | None = OUT) -> None:  # fmt: skip
    """Generate the history in memory and print events by type and events/s of the generator."""
    import collections
    import time

    from .append import dataset
    from .common import peak_rss_mb

    started = time.perf_counter()
    data = dataset(Settings(), Scale(units, years, seed))
    seconds = time.perf_counter() - started
    counts = collections.Counter(r["event_type"] for _, group in data for a in group for r in a.rows)
    total = sum(counts.values())
    for name, count in counts.most_common():
        print(f"{name:24} {count:>10,}")
    print(f"{'total':24} {total:>10,}  ({len(data):,} commands, {seconds:.1f} s, {total / seconds:,.0f} events/s, "
          f"peak RSS {peak_rss_mb():.0f} MB)")  # fmt: skip
    if out:
        out.write_text("".join(f"{k},{v}\n" for k, v in counts.items()), encoding="utf-8")
