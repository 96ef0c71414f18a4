"""``thidua bench <name>``: the benchmarks (tables beside a ceiling measured in the same run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from services.kernel.settings import Settings

from .common import require, wide_console
from .generator import Scale

bench_app = typer.Typer(
    help="Benchmarks: events/s or latency beside a ceiling measured in the same run.", no_args_is_help=True
)
UNITS = typer.Option(2_000, help="Units (100,000 = national scale); ~15 events per unit over five years.")
YEARS = typer.Option(5, min=1, max=5, help="Years of history from 2026.")
REPEAT = typer.Option(3, min=1, help="Runs per stage; the table shows the median.")
BACKENDS = typer.Option("sqlite,postgres", help="Comma-separated: sqlite, postgres (THIDUA_DATABASE_URL).")
SEED = typer.Option(2026, help="Generator seed.")
TIMINGS = typer.Option(None, help="Also write every accepted report's moments, hop by hop, to this CSV.")
OUT = typer.Option(None, help="Write the event counts by type as CSV here.")


def _needs(module: str) -> None:
    """Fail before any work when a module of the ``bench`` extra is missing (the CLI says how to install it)."""
    if importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def _plot_needs_matplotlib(path: Path | None) -> Path | None:
    if path is not None:
        _needs("matplotlib")
    return path


PLOT = typer.Option(None, help="Also save a PNG chart here (needs the bench extra).", callback=_plot_needs_matplotlib)
HANDLED = typer.Option(1_000, help="Commands for the one-command-per-transaction stage.")
SCHEMA = typer.Option(None, help="Keep the loaded dataset in this PostgreSQL schema (reused when it exists).")
STAFF = typer.Option(
    0,
    min=0,
    help="People per unit proposed each year for the title Lao động tiên tiến (LĐTT), "
    "~3 events each; 1 at national scale gives ~3 M events.",
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _backends(text: str, settings: Settings) -> list[str]:
    chosen = _split(text)
    if "postgres" in chosen and not settings.effective_database_url.startswith("postgresql"):
        wide_console().print("postgres skipped: THIDUA_DATABASE_URL is not PostgreSQL (make services-up)")
        chosen.remove("postgres")
    return chosen


def _plot(kind: str, rows: list, title: str, path: Path | None) -> None:  # type: ignore[type-arg]
    if path:
        from . import plot

        getattr(plot, kind)(rows, title, path)


@bench_app.command("append")
def append(
    units: int = UNITS,
    years: int = YEARS,
    repeat: int = REPEAT,
    backends: str = BACKENDS,
    seed: int = SEED,
    handler_commands: int = HANDLED,
    plot: Path | None = PLOT,
) -> None:
    """Handlers (1 command/tx), bulk import, raw executemany/COPY (ceiling), eventsourcing (peer); signed and unsigned
    appends A/B (docs/benchmarks.md § 1b)."""
    _needs("eventsourcing")
    from .append import run_append

    settings = Settings()
    rows = run_append(
        settings, Scale(units, years, seed), _backends(backends, settings), handler_commands, repeat, wide_console()
    )
    _plot("plot_rows", rows, f"append: {units:,} units x {years} years", plot)


@bench_app.command("checkpoints")
def checkpoints(
    units: int = UNITS,
    years: int = YEARS,
    repeat: int = REPEAT,
    backends: str = BACKENDS,
    seed: int = SEED,
    handler_commands: int = HANDLED,
) -> None:
    """Witnessed checkpoints: the first tree, a checkpoint and a witness round after K events, verify, and the
    handlers with checkpoints every second against the same without (docs/benchmarks.md § 8)."""
    from .checkpoints import run_checkpoints

    settings = Settings()
    run_checkpoints(
        settings, Scale(units, years, seed), _backends(backends, settings), handler_commands, repeat, wide_console()
    )


@bench_app.command("rebuild")
def rebuild(
    units: int = UNITS,
    years: int = YEARS,
    repeat: int = REPEAT,
    backends: str = BACKENDS,
    seed: int = SEED,
    source: str = typer.Option(
        "store",
        help="Comma-separated: store, kafka (a Faust worker; PostgreSQL), "
        "bluegreen (each read model's new version built beside the live one).",
    ),
    worker_timeout: float = typer.Option(1800, help="Stop a worker that has not caught up after this (s)."),
    plot: Path | None = PLOT,
) -> None:
    """Every read model rebuilt from the store and/or from Kafka, beside read + decode of the same events."""
    from .rebuild import run_rebuild

    settings = Settings()
    sources = _split(source)
    if "kafka" in sources:
        require(settings, kafka=True)
    rows = run_rebuild(
        settings,
        Scale(units, years, seed),
        _backends(backends, settings),
        sources,
        repeat,
        worker_timeout,
        wide_console(),
    )
    _plot("plot_rows", rows, f"rebuild ({source}): {units:,} units x {years} years", plot)


@bench_app.command("relay")
def relay(
    units: int = UNITS, years: int = YEARS, repeat: int = REPEAT, seed: int = SEED, plot: Path | None = PLOT
) -> None:
    """The outbox relay to Kafka beside the kafka-python producer sending the same bytes (ceiling)."""
    from .relay import run_relay

    settings = Settings()
    require(settings, kafka=True)
    rows = run_relay(settings, Scale(units, years, seed), repeat, wide_console())
    _plot("plot_rows", rows, f"relay: {units:,} units x {years} years", plot)


@bench_app.command("projectors")
def projectors(
    units: int = UNITS, years: int = YEARS, repeat: int = REPEAT, seed: int = SEED, plot: Path | None = PLOT
) -> None:
    """One Faust worker and the embedded tail beside raw consume + decode + COPY (ceiling); worker RSS."""
    from .projectors import run_projectors

    settings = Settings()
    require(settings, kafka=True)
    rows = run_projectors(settings, Scale(units, years, seed), repeat, wide_console())
    _plot("plot_rows", rows, f"projectors: {units:,} units x {years} years", plot)


@bench_app.command("latency")
def latency(
    units: int = typer.Option(5_000, help="Units: their first year is loaded, later reports are offered."),
    rates: str = typer.Option("100,500,2000", help="Offered commands per second, comma-separated."),
    seconds: float = typer.Option(10.0, help="How long each rate is offered."),
    paths: str = typer.Option("embedded,kafka", help="embedded (tail in-process), kafka (relay + worker)."),
    threads: int = typer.Option(8, help="Threads running the offered commands."),
    closed_loop: int = typer.Option(500, help="Commands of the closed-loop ceiling."),
    seed: int = SEED,
    plot: Path | None = PLOT,
) -> None:
    """Command accepted → visible in the rollup, p50/p95/p99 at steady offered rates (open loop)."""
    from .latency import run_latency

    settings = Settings()
    chosen = _split(paths)
    require(settings, kafka="kafka" in chosen)
    offered = [float(r) for r in _split(rates)]
    _rows, latencies = run_latency(
        settings, Scale(units, 1, seed), offered, seconds, chosen, threads, closed_loop, wide_console()
    )
    _plot("plot_latency", latencies, f"command accepted → visible in the rollup ({units:,} units)", plot)


@bench_app.command("sync")
def sync(
    units: int = typer.Option(2_000, help="Units: the first year is loaded at the child; later reports offered."),
    rates: str = typer.Option("50,100,300", help="Offered commands per second at the child, comma-separated."),
    seconds: float = typer.Option(10.0, help="How long each rate is offered."),
    threads: int = typer.Option(8, help="Threads running the offered commands."),
    closed_loop: int = typer.Option(300, help="Commands of the closed-loop ceiling."),
    seed: int = SEED,
    plot: Path | None = PLOT,
) -> None:
    """Accepted at a province node → visible in its rollup, imported by central and visible in central's rollup
    (two nodes, real ``thidua sync`` processes), p50/p95/p99 at steady offered rates (open loop)."""
    from .sync import Plan, run_sync

    settings = Settings()
    require(settings, kafka=True)
    plan = Plan(closed_loop, [float(r) for r in _split(rates)], seconds, threads)
    _rows, latencies = run_sync(settings, Scale(units, 1, seed), plan, wide_console())
    _plot("plot_latency", latencies, f"accepted at a province → visible at central ({units:,} units)", plot)


@bench_app.command("deadline")
def deadline(
    rate: float = typer.Option(150.0, min=0.1, help="Reports offered per second, both provinces together."),
    seconds: float = typer.Option(30.0, min=1, help="How long they are offered (the deadline day: 600)."),
    threads: int = typer.Option(16, min=1, help="Senders (HTTP clients) of the offered reports."),
    units_per_commune: int = typer.Option(100, min=1, help="Units registered per commune."),
    seed: int = SEED,
    timings: Path | None = TIMINGS,
) -> None:
    """A deadline day: central and two provinces through sync, reports over HTTP at both provinces at a steady
    rate; p50/p95/p99/max of accepted → visible in central's rollup (goal p99 ≤ 0.5 s), the achieved rate and the
    backlog at the end."""
    from .deadline import Day, run_deadline

    settings = Settings()
    require(settings, kafka=True)
    run_deadline(settings, Day(rate, seconds, threads, units_per_commune, seed, timings), wide_console())


@bench_app.command("queries")
def queries(
    units: int = UNITS,
    years: int = YEARS,
    seed: int = SEED,
    schema: str | None = SCHEMA,
    staff_titles: int = STAFF,
    requests: int = typer.Option(200, help="Requests per query (after 10 of warm-up)."),
    period: str = typer.Option("2030", help="Reporting period of the rollups."),
    plot: Path | None = PLOT,
) -> None:
    """HTTP API latency (a real thidua serve) of rollups, guidance and awards, beside their SQL alone and /healthz."""
    from .dataset import temporary_folder
    from .prepared import prepared
    from .queries import run_queries

    settings = Settings()
    require(settings)
    console, wanted = wide_console(), Scale(units, years, seed, staff_titles=staff_titles)
    with temporary_folder() as tmp, prepared(settings, wanted, schema, Path(tmp), console) as (node, scale):
        rows = run_queries(settings, node, scale, requests, console, Path(tmp), period)
    _plot("plot_latency", rows, f"queries: {scale.units:,} units x {scale.years} years", plot)


@bench_app.command("web")
def web(
    units: int = UNITS,
    years: int = YEARS,
    seed: int = SEED,
    schema: str | None = SCHEMA,
    staff_titles: int = STAFF,
    requests: int = typer.Option(200, help="Requests per page (after 10 of warm-up)."),
    period: str = typer.Option("2030", help="Reporting period of the pages."),
) -> None:
    """Server time of the web app's national and province pages, beside the same rollup through the API."""
    from .dataset import temporary_folder
    from .prepared import prepared
    from .web import run_web

    settings = Settings()
    require(settings)
    console, wanted = wide_console(), Scale(units, years, seed, staff_titles=staff_titles)
    with temporary_folder() as tmp, prepared(settings, wanted, schema, Path(tmp), console) as (node, scale):
        run_web(settings, node, scale, requests, console, Path(tmp), period)


@bench_app.command("asof")
def asof(
    units: int = UNITS,
    years: int = YEARS,
    seed: int = SEED,
    staff_titles: int = STAFF,
    source_schema: str | None = typer.Option(
        None,
        help="Copy the events of this kept schema (thidua bench load; left untouched) instead of generating a history.",
    ),
    schema: str | None = typer.Option(None, help="Schema the copy is kept in (default <source>_asof)."),
    provinces: str = typer.Option("15,01", help="Province codes to ask about ('largest': most events)."),
    at: float = typer.Option(0.9, min=0.0, max=1.0, help="As of this fraction of the history (by position)."),
    period: str = typer.Option("2029", help="Reporting period of the rollup asked."),
    repeat: int = REPEAT,
    full: bool = typer.Option(False, help="Also time the previous way: all read models, all history."),
) -> None:
    """First as-of answer about a province: events replayed vs its subtree's, time vs read + decode of them."""
    from .asof import run_asof

    settings = Settings()
    require(settings)
    scale = Scale(units, years, seed, staff_titles=staff_titles)
    run_asof(settings, scale, source_schema, schema, _split(provinces), at, period, repeat, full, wide_console())


@bench_app.command("commands")
def commands(
    units: int = typer.Option(
        3_000, help="Units: their first year is loaded, the next year's reports are the commands."
    ),
    seed: int = SEED,
    repeat: int = REPEAT,
) -> None:
    """CPU per command through the HTTP API (a real thidua serve) beside the message bus alone."""
    from .commands import run_commands

    settings = Settings()
    require(settings)
    run_commands(settings, Scale(units, 1, seed), repeat, wide_console())


@bench_app.command("decoder")
def decoder(units: int = UNITS, years: int = YEARS, seed: int = SEED, repeat: int = typer.Option(5, min=1)) -> None:
    """Avro decoding CPU per event: the codec (fastavro) beside the candidate cavro, on the history's bodies."""
    from .decoder import run_decoder

    run_decoder(Settings(), Scale(units, years, seed), repeat, wide_console())


@bench_app.command("load")
def load(
    units: int = UNITS,
    years: int = YEARS,
    seed: int = SEED,
    staff_titles: int = STAFF,
    schema: str = typer.Option(..., help="PostgreSQL schema to keep the dataset in."),
    rebuild: bool = typer.Option(
        False, help="A kept dataset: drop its read models and rebuild them, timed (after a change to the projections)."
    ),
) -> None:
    """Generate, load (COPY) and rebuild a dataset into a kept schema; print what each step cost."""
    from .dataset import temporary_folder
    from .prepared import prepared, rebuilt

    settings = Settings()
    require(settings)
    console = wide_console()
    scale = Scale(units, years, seed, staff_titles=staff_titles)
    with temporary_folder() as tmp, prepared(settings, scale, schema, Path(tmp), console) as held:
        if rebuild:
            rebuilt(held[0], console)


@bench_app.command("generate")
def generate(
    units: int = UNITS, years: int = YEARS, seed: int = SEED, staff_titles: int = STAFF, out: Path | None = OUT
) -> None:
    """Run the generator (streaming, to a temporary spool) and print events by type, events/s and memory."""
    from .dataset import spool, temporary_folder

    with temporary_folder() as tmp:
        history = spool(Settings(), Scale(units, years, seed, staff_titles=staff_titles), Path(tmp))
    for name, count in history.counts.most_common():
        print(f"{name:24} {count:>10,}")
    print(
        f"{'total':24} {history.events:>10,}  ({history.commands:,} commands, {history.seconds:.1f} s, "
        f"{history.events / history.seconds:,.0f} events/s, peak RSS {history.rss_mb:.0f} MB, "
        f"at most {history.held:,} streams held)"
    )
    if out:
        out.write_text("".join(f"{k},{v}\n" for k, v in history.counts.items()), encoding="utf-8")
