"""``thidua audit checkpoint|verify|export|verify-export|keys`` and ``thidua replay`` (docs/audit.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.audit.anchors import key_catalog, node_key, node_trusted_keys
from services.cli.kit import console as cli_console
from services.kernel.errors import MissingFile
from services.kernel.settings import AuditSettings

console = cli_console()
audit_app = typer.Typer(
    help="Tamper evidence and exports: signed checkpoints, chain verification.", no_args_is_help=True
)

ExportDir = Annotated[Path | None, typer.Option("--out", help="Folder to write (default <audit_export_dir>/<time>).")]
PublicKeyFile = Annotated[Path | None, typer.Option("--key", help="PEM public key that must have signed the manifest.")]


def register(app: typer.Typer) -> None:
    """Add ``thidua audit`` and ``thidua replay`` to the CLI."""
    app.add_typer(audit_app, name="audit")
    app.command("replay")(replay_command)


def _node() -> Any:
    """The node over its existing database: audit commands read (or sign) its history, never create one."""
    from services.bootstrap import existing_node

    return existing_node(AuditSettings())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} ev/s"),
        TimeRemainingColumn(),
        console=console,
    )


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_app.command("checkpoint")
def checkpoint_command(
    if_due: bool = typer.Option(
        False, "--if-due", help="Only when due: audit_checkpoint_every events, or audit_checkpoint_seconds passed."
    ),
) -> None:
    """Sign the head of the log with the node key and append it as a CheckpointSigned event."""
    from services.audit.checkpoints import Checkpointer, write_checkpoint

    node = _node()
    settings = node.settings
    key = node_key(settings)
    if if_due:  # a one-shot run (cron): with no checkpoint yet, any unsigned event is overdue
        every, seconds = settings.audit_checkpoint_every, settings.effective_checkpoint_seconds
        done = Checkpointer(node.store, lambda: key, every, seconds, started_at=datetime.min.replace(tzinfo=UTC)).tick()
    else:
        done = write_checkpoint(node.store, key)
    node.close()
    if done is None:
        console.print("no checkpoint due")
        return
    console.print(
        f"checkpoint at position {done.position}: head {done.head_position} {done.head_hash} "
        f"({done.event_count} events), key {done.key_id}"
    )


WitnessesOption = Annotated[
    bool,
    typer.Option(
        "--witnesses",
        help="Compare the log with every head its witnesses cosigned (their sync topics to this node, and the "
        "cosignatures recorded here).",
    ),
]
ExpectHeadOption = Annotated[
    list[str] | None,
    typer.Option(
        "--expect-head",
        help="A head held elsewhere: an export's manifest.json (or its folder), a checkpoint note file, or "
        "POSITION:HASH. Repeatable.",
    ),
]


@audit_app.command("verify")
def verify_command(
    from_position: int = typer.Option(None, "--from", help="First position to check (default 1)."),
    to_position: int = typer.Option(None, "--to", help="Last position to check (default: the head)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    witnesses: WitnessesOption = False,
    expect_head: ExpectHeadOption = None,
) -> None:
    """Walk the hash chain, the append seals, checkpoints and origin proofs, and compare with heads held elsewhere;
    exit 1 at the first break, naming it."""
    from services.audit.heads import HeadError, expected_head
    from services.audit.verify import verify_chain
    from services.sync.rules import Topology

    try:
        heads = [expected_head(value) for value in expect_head or []]
    except HeadError as exc:
        console.print(f"[red]--expect-head {exc}[/]")
        raise typer.Exit(2) from exc
    node = _node()
    settings = node.settings
    anchors = node_trusted_keys(settings)
    peers = Topology.from_settings(settings).peers
    notes: list[str] = []
    if witnesses:
        found, notes = _witnessed_heads(node, anchors, peers)
        heads += found
    head = node.store.head_position()
    with _progress() as bar:
        task = bar.add_task("verify", total=max(head - (from_position or 1) + 1, 0), rate=0.0)
        started = datetime.now(UTC)

        def advance(n: int) -> None:
            done = bar.tasks[0].completed + n
            bar.update(task, advance=n, rate=done / max((datetime.now(UTC) - started).total_seconds(), 1e-6))

        report = verify_chain(
            node.engine,
            node.codec,
            anchors,
            from_position,
            to_position,
            advance,
            node_id=settings.node_id,
            peers=peers,
            heads=heads,
        )
    report.notes += notes
    node.close()
    if as_json:
        console.print_json(json.dumps(report.to_json()))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _witnessed_heads(node: Any, anchors: list[Any], peers: list[str]) -> tuple[list[Any], list[str]]:
    """Heads cosigned by the node's witnesses: recorded here, and on each witness's sync topic (when Kafka is set)."""
    from services.audit.keys import load_keyring
    from services.audit.witness import local_heads

    settings = node.settings
    if not settings.witnesses:
        return [], ["no witnesses configured (audit_witnesses; a province's default is its parent)"]
    with node.engine.connect() as conn:
        ring = load_keyring(conn, node.codec, settings.node_id, anchors, peers)
        heads = local_heads(conn, node.store, settings.witnesses)
    if not settings.kafka_bootstrap_servers:
        return heads, ["THIDUA_KAFKA_BOOTSTRAP_SERVERS is not set: only the cosignatures recorded in this log"]
    from services.audit.heads import witness_topic_heads
    from services.kernel.kafkaclients import make_consumer, security_options

    consumer = make_consumer(
        settings.kafka_bootstrap_servers, enable_auto_commit=False, group_id=None, **security_options(settings)
    )
    try:
        found, notes = witness_topic_heads(
            consumer, node.codec, ring, settings.node_id, settings.witnesses, settings.sync_remote_topic_prefix
        )
    finally:
        consumer.close()
    return heads + found, notes


def _print_report(report: Any) -> None:
    console.print(
        f"positions {report.from_position}..{report.to_position}: {report.events} events, {report.sealed_batches} "
        f"sealed batches ({report.legacy_events} events from before signing), {report.checkpoints} checkpoints "
        f"verified, {report.foreign} imported ({report.origin_signatures} origin signatures and "
        f"{report.origin_links} origin links checked); last signed position {report.last_signed_position}, "
        f"tree size {report.tree_size}, {report.heads_checked} heads held elsewhere compared"
    )
    for note in report.notes:
        console.print(f"[yellow]note: {note}[/]")
    broken = report.first_break
    if broken is None:
        console.print("[green]chain intact[/]")
        return
    console.print(f"[red]BREAK at position {broken.position} (event {broken.event_id}): {broken.kind}[/]")
    console.print(f"  {broken.message}\n  expected: {broken.expected}\n  found:    {broken.found}")


keys_app = typer.Typer(
    help="The node's signing keys: anchors, the key ring, rotation, revocation.", invoke_without_command=True
)
audit_app.add_typer(keys_app, name="keys")


@keys_app.callback()
def keys_command(ctx: typer.Context) -> None:
    """Print the public keys this node's verifications start from (the first is the node's own)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = AuditSettings()
    console.print_json(json.dumps([k.to_json() for k in node_trusted_keys(settings)]))


@keys_app.command("list")
def keys_list_command() -> None:
    """Every key this node knows (its own, its peers'), with status, trust and revocation (GET /api/v1/keys)."""
    node = _node()
    console.print_json(json.dumps(key_catalog(node)))
    node.close()


@keys_app.command("rotate")
def keys_rotate_command() -> None:
    """Generate a new key, announce it in a batch sealed by the current one, then install it in the key file (every
    process using the file switches within a second). The old private key is gone; old history still verifies."""
    from services.audit.rotation import rotate_key_file

    node = _node()
    settings = node.settings
    if settings.audit_signer:
        console.print("[red]audit_signer is set: rotate the key in its key-management service[/]")
        raise typer.Exit(2)
    old, new = rotate_key_file(node.store, settings.effective_audit_key_file)
    node.close()
    console.print(f"rotated: {old} -> {new} ({settings.effective_audit_key_file})")


@keys_app.command("revoke")
def keys_revoke_command(
    key_id: str = typer.Argument(..., help="Id of the key to revoke (not the current one: rotate first)."),
    since: str = typer.Option(..., "--since", help="From when (ISO time) what it signed is not trusted."),
    reason: str = typer.Option(..., "--reason", help="Why: compromised, lost, superseded..."),
) -> None:
    """Revoke a key from a date: verify refuses what it sealed for events recorded after it."""
    from services.audit.rotation import revoke_key

    moment = _moment(since)
    assert moment is not None
    node = _node()
    try:
        revoke_key(node.store, key_id, moment, reason)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    finally:
        node.close()
    console.print(f"revoked {key_id} since {moment.isoformat()}")


@audit_app.command("witnesses")
def witnesses_command(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """What this node's witnesses cosigned of its log, and, as a witness, what it countersigned and refused for each
    peer; exit 1 when a peer's checkpoint was refused after the last one countersigned."""
    from services.audit.witness import status
    from services.sync.rules import Topology

    node = _node()
    settings = node.settings
    with node.engine.connect() as conn:
        rows = status(conn, node.store, settings.witnesses, Topology.from_settings(settings).peers)
    node.close()
    if as_json:
        console.print_json(json.dumps(rows, default=str))
    else:
        table = Table("role", "node", "tree size", "at", "status", "detail")
        for row in rows:
            colour = "green" if row["status"] in ("OK", "COSIGNED") else "red"
            table.add_row(
                row["role"],
                row["node"],
                str(row["tree_size"]),
                str(row["at"] or "-"),
                f"[{colour}]{row['status']}[/]",
                row["detail"],
            )
        console.print(table)
    raise typer.Exit(1 if any(r["status"] == "REFUSED" for r in rows) else 0)


@audit_app.command("export")
def export_command(
    out: ExportDir = None,
    subtree: str = typer.Option(None, "--subtree", help="Only events of this org-unit subtree, e.g. VN/46."),
    from_position: int = typer.Option(1, "--from", help="First position."),
    to_position: int = typer.Option(None, "--to", help="Last position."),
    since: str = typer.Option(None, "--since", help="Only events recorded at or after (ISO time)."),
    until: str = typer.Option(None, "--until", help="Only events recorded at or before (ISO time)."),
    fmt: str = typer.Option("avro", "--format", help="avro | csv | jsonl."),
) -> None:
    """Export events with a manifest (counts, sha256 of each file, chain head), signed with the node key."""
    from services.audit.export import Selection, export

    node = _node()
    settings = node.settings
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out or (settings.audit_export_dir or settings.data_dir / "exports") / stamp
    selection = Selection(subtree, from_position, to_position, _moment(since), _moment(until))
    manifest = export(node.store, selection, target, fmt, node_key(settings))
    node.close()
    console.print(f"exported {manifest['count']} events to {target}: {manifest['counts']}")


@audit_app.command("verify-export")
def verify_export_command(
    directory: Path,
    key: PublicKeyFile = None,
) -> None:
    """Check an export offline: files, sha256, record counts, every event's hash and links, the signature."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from services.audit.export import MANIFEST, verify_export

    if not (directory / MANIFEST).is_file():
        what_vi, what_en = (
            ("không tồn tại", "does not exist")
            if not directory.exists()
            else (f"không phải bản xuất kiểm toán (thiếu {MANIFEST})", f"is not an audit export (no {MANIFEST})")
        )
        raise MissingFile(
            f"Thư mục {directory} {what_vi}: đưa vào thư mục mà `thidua audit export` đã ghi.",
            f"The folder {directory} {what_en}: give the folder `thidua audit export` wrote.",
            path=str(directory),
        )
    check = verify_export(directory, load_pem_public_key(key.read_bytes()) if key else None)
    console.print(f"{check.files} files, {check.events} events, {check.links} links checked")
    if check.signed_by:
        console.print(f"manifest signed by key {check.signed_by}")
    for error in check.errors:
        console.print(f"[red]- {error}[/]")
    console.print("[green]export intact[/]" if check.ok else "[red]export altered[/]")
    raise typer.Exit(0 if check.ok else 1)


def replay_command(
    projection: str = typer.Option("all", "--projection", help="Read model name, or all."),
    source: str = typer.Option("store", "--source", help="store | kafka (the node's event topics)."),
    to_position: int = typer.Option(None, "--to-position", help="Store: replay events up to this position."),
    from_offset: int = typer.Option(None, "--from-offset", help="Kafka: start at this offset of every partition."),
    since: str = typer.Option(None, "--since", help="Kafka: start at the records published at or after (ISO)."),
    to_offset: int = typer.Option(None, "--to-offset", help="Kafka: stop after this offset of every partition."),
    until: str = typer.Option(None, "--until", help="Up to this time (ISO): store recorded_at, Kafka timestamp."),
    compare_: bool = typer.Option(False, "--compare", help="Print row counts, checksums and differing keys."),
    swap_: bool = typer.Option(
        False, "--swap", help="Switch the shadow in atomically afterwards (blue/green: it may hold a new version)."
    ),
) -> None:
    """Rebuild read models from the store or Kafka into shadow_ tables, with no side effects; compare; swap."""
    kafka_only = {"--from-offset": from_offset, "--since": since, "--to-offset": to_offset}
    wrong = [name for name, value in kafka_only.items() if value is not None and source != "kafka"]
    wrong += ["--to-position"] if to_position is not None and source != "store" else []
    if source not in ("store", "kafka") or wrong or (from_offset is not None and since is not None):
        console.print(f"[red]--source store|kafka; options that do not fit this source or each other: {wrong}[/]")
        raise typer.Exit(2)
    node = _node()
    node.open_db()  # it writes read models: those with no tables yet are created first, as the node does at start
    chosen = [p for p in node.projections if projection in ("all", p.name)]
    if not chosen:
        console.print(f"[red]unknown projection {projection}; one of {[p.name for p in node.projections]}[/]")
        raise typer.Exit(2)
    if source == "kafka":
        from services.audit.kafka_replay import Window

        window = Window(from_offset, _moment(since), to_offset, _moment(until))
        swap = _replay_kafka(node, chosen, window, swap_)
    else:
        swap = _replay_store(node, chosen, to_position, _moment(until))
    differs = compare_ and _print_comparison(node, chosen)
    if swap_:
        swap()
    node.close()
    raise typer.Exit(1 if differs and not swap_ else 0)


def _replay_store(node: Any, chosen: list[Any], to_position: int | None, until: datetime | None) -> Any:
    """Replay from the store; return the swap to run if asked."""
    from services.audit.replay import replay, swap
    from services.kernel.contracts import EVENT_TYPES

    head = node.store.head_position()
    with _progress() as bar:
        task = bar.add_task("replay", total=min(to_position or head, head), rate=0.0)
        started = datetime.now(UTC)

        def advance(_n: int, position: int) -> None:
            elapsed = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
            bar.update(task, completed=min(position, bar.tasks[0].total or position), rate=position / elapsed)

        result = replay(node.engine, node.store, node.codec, EVENT_TYPES, chosen, to_position, until, progress=advance)
    console.print(f"replayed {result.events} events up to position {result.position} in {result.seconds:.1f} s")

    def promote() -> None:
        builder = node.builder()
        for projection in chosen:
            position = swap(builder, projection, result.position)
            console.print(f"swapped {projection.name} (caught up to position {position})")

    return promote


def _replay_kafka(node: Any, chosen: list[Any], window: Any, swap_: bool) -> Any:
    """Replay from the node's event topics; return the swap to run if asked."""
    from services.audit.kafka_replay import drop_event_ids, kafka_replay, make_consumer, swap_from_kafka
    from services.kernel.contracts import EVENT_TYPES
    from services.pipeline.topics import Topics

    settings = node.settings
    settings.require_kafka("thidua replay --source kafka")
    if swap_ and window.partial:
        console.print("[red]--swap needs the topics from their beginning (no --from-offset, no --since)[/]")
        raise typer.Exit(2)
    consumer = make_consumer(settings)
    try:
        with _progress() as bar:
            task = bar.add_task("replay (kafka)", total=None, rate=0.0)
            started = datetime.now(UTC)

            def advance(result: Any, n: int) -> None:
                elapsed = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
                bar.update(task, total=result.total, advance=n, rate=result.records / elapsed)

            topics = Topics(settings.node_id).events
            result = kafka_replay(
                node.engine, consumer, node.codec, EVENT_TYPES, chosen, topics, window, progress=advance
            )
    finally:
        consumer.close()
    _print_kafka_result(result)

    def promote() -> None:
        for projection in chosen:
            swap_from_kafka(node.engine, projection, result)
        drop_event_ids(node.engine)
        console.print(
            f"swapped {[p.name for p in chosen]} (tracking position {result.position}; Kafka offsets and event ids "
            "of the replay recorded for the worker)"
        )

    return promote


def _print_kafka_result(result: Any) -> None:
    partitions = len([1 for start, stop in result.offsets.values() if stop > start])
    console.print(
        f"replayed {result.events} events from {result.records} records of {partitions} partitions "
        f"(positions {result.first_position or 0}..{result.position}) in {result.seconds:.1f} s; "
        f"{result.duplicates} duplicates skipped"
    )
    if result.missing_topics:
        console.print(f"[yellow]topics not found: {result.missing_topics}[/]")
    if result.undecodable:
        console.print(f"[yellow]undecodable records skipped: {dict(result.undecodable)}[/]")
    if result.refused:
        console.print(f"[yellow]events refused by a read model (skipped): {dict(result.refused)}[/]")


def _print_comparison(node: Any, chosen: list[Any]) -> bool:
    """Print every table of ``chosen`` against its shadow; True when one differs."""
    from services.audit.replay import compare

    differs = False
    table = Table("read model", "table", "live rows", "shadow rows", "live sum", "shadow sum", "differing keys")
    for chosen_projection in chosen:
        diffs = compare(node.engine, chosen_projection)
        if not diffs:  # the live tables hold another version: their rows are not comparable
            differs = True
            table.add_row(chosen_projection.name, "(another version is live: --swap switches this one in)", *"-" * 5)
        for diff in diffs:
            differs |= not diff.equal
            keys = ", ".join(map(str, diff.differing_keys[:5])) or "-"
            table.add_row(
                chosen_projection.name,
                diff.table,
                str(diff.live_rows),
                str(diff.shadow_rows),
                diff.live_checksum,
                diff.shadow_checksum,
                keys,
            )
    console.print(table)
    return differs
