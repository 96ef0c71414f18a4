"""``thidua sync`` (run the node's sync) and ``thidua sync reconcile`` / ``thidua sync rules`` (docs/sync.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from services.cli.kit import console as cli_console
from services.kernel.settings import SyncSettings

console = cli_console()
sync_app = typer.Typer(
    help="Sync between levels: send routed events, import other nodes' events, receipts, reconciliation.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    """Add ``thidua sync`` to the CLI."""
    app.add_typer(sync_app, name="sync")


def _settings(needed_by: str) -> SyncSettings:
    settings = SyncSettings()
    settings.require_kafka(needed_by)
    return settings


@sync_app.callback()
def run(ctx: typer.Context) -> None:
    """Run this node's sync until SIGTERM: send what the rules route to the parent and children, import what they
    route here as foreign streams, publish receipts."""
    if ctx.invoked_subcommand is not None:
        return
    from services.pipeline.logs import configure
    from services.sync.service import run_sync

    settings = _settings("thidua sync")
    configure(settings.log_level, settings.log_json, "sync")
    counts = run_sync(settings)
    console.print(f"sync stopped: {counts}")


@sync_app.command("reconcile")
def reconcile_command(
    show_ids: bool = typer.Option(False, "--ids", help="List the missing and extra event ids."),
) -> None:
    """For this node and each peer, both directions, per period: sent, received, missing, extra; and what each sender
    last said of its backlog (BACKLOG: events not sent yet; SILENT: no word for sync_status_stale_seconds). Exit 1
    unless every row is OK."""
    from services.kernel.codec import AvroCodec
    from services.kernel.kafkaclients import make_consumer, oneshot_options
    from services.kernel.schemas import SchemaCatalog
    from services.sync.reconcile import reconcile, sender_statuses
    from services.sync.rules import Topology

    settings = _settings("thidua sync reconcile")
    consumer = make_consumer(
        settings.kafka_bootstrap_servers or "", enable_auto_commit=False, group_id=None, **oneshot_options(settings)
    )
    codec = AvroCodec(SchemaCatalog.load(settings.schemas_dir))
    topology = Topology.from_settings(settings)
    try:
        rows = reconcile(consumer, codec, topology, settings.sync_receipt_period, settings.sync_remote_topic_prefix)
        senders = sender_statuses(
            consumer,
            codec,
            topology,
            datetime.now(UTC),
            settings.sync_status_stale_seconds,
            settings.sync_remote_topic_prefix,
        )
    finally:
        consumer.close()
    table = Table("source", "target", "period", "sent", "received", "missing", "extra", "status")
    for row in rows:
        received = "-" if row.received is None else str(row.received)
        missing = ", ".join(row.missing) if show_ids else str(len(row.missing))
        extra = ", ".join(row.extra) if show_ids else str(len(row.extra))
        colour = "green" if row.status == "OK" else "red"
        table.add_row(
            row.source, row.target, row.period, str(row.sent), received, missing, extra, f"[{colour}]{row.status}[/]"
        )
    console.print(table)
    board = Table("sender", "sent position", "store head", "unsent events", "reported", "state")
    for sender in senders:
        told = sender.reported or {}
        age = "-" if sender.age_seconds is None else f"{sender.age_seconds:.0f} s ago"
        colour = "green" if sender.status == "OK" else "red"
        numbers = [str(told.get(k, "-")) for k in ("sent_position", "head_position", "unsent_events")]
        board.add_row(sender.node, *numbers, age, f"[{colour}]{sender.status}[/]")
    console.print(board)
    healthy = all(r.status == "OK" for r in rows) and all(s.status == "OK" for s in senders)
    raise typer.Exit(0 if healthy else 1)


@sync_app.command("rules")
def rules_command() -> None:
    """The routing rules in force (THIDUA_SYNC_RULES_FILE or the packaged rules) and this node's peers."""
    from services.sync.rules import Topology, load_rules

    settings = SyncSettings()
    topology = Topology.from_settings(settings)
    console.print(f"node {topology.node_id} · parent {topology.parent or '-'} · children {list(topology.children)}")
    table = Table("rule", "to", "events", "when")
    for rule in load_rules(settings.sync_rules_file):
        table.add_row(rule.name, rule.to, ", ".join(sorted(rule.events)), str(dict(rule.when) or ""))
    console.print(table)
