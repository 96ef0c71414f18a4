"""``thidua topics``, ``thidua relay``, ``thidua worker`` and ``thidua pipeline``: the Kafka deployment's commands."""

from __future__ import annotations

from typing import TypeVar

import typer
from rich.table import Table

from services.cli.kit import console as cli_console
from services.kernel.settings import NodeSettings, RelaySettings, TopicSettings, WorkerSettings

console = cli_console()
S = TypeVar("S", bound=NodeSettings)
topics_app = typer.Typer(help="Kafka topics of the node (names in services/pipeline/topics.py).", no_args_is_help=True)
pipeline_app = typer.Typer(help="State of the Kafka pipeline (benchmarks: thidua bench).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the pipeline's commands to the ``thidua`` CLI."""
    app.add_typer(topics_app, name="topics")
    app.add_typer(pipeline_app, name="pipeline")
    app.command("relay")(relay)
    app.command("worker")(worker)


def _kafka_settings(kind: type[S], needed_by: str) -> S:
    settings = kind()
    settings.require_kafka(needed_by)
    return settings


def _servers(settings: NodeSettings) -> str:
    return settings.kafka_bootstrap_servers or ""


@topics_app.command("create")
def topics_create(
    catalog: bool = typer.Option(True, help="Also publish every schema to the schema-catalog topic."),
) -> None:
    """Create the node's topics (idempotent): partitions, replication and retention from settings."""
    from services.kernel.kafkaclients import make_admin, make_producer, oneshot_options
    from services.kernel.schemas import SchemaCatalog
    from services.pipeline.catalog import publish_catalog
    from services.pipeline.topics import Topics, ensure_topics, topic_specs

    settings = _kafka_settings(TopicSettings, "thidua topics create")
    admin = make_admin(_servers(settings), **oneshot_options(settings))
    try:
        states = ensure_topics(admin, topic_specs(settings))
    finally:
        admin.close()
    table = Table("topic", "action", "partitions", "note")
    for state in states:
        table.add_row(state.name, state.action, str(state.partitions), state.note)
    console.print(table)
    if catalog:
        producer = make_producer(_servers(settings), **oneshot_options(settings))
        count = publish_catalog(producer, Topics(settings.node_id).schemas, SchemaCatalog.load(settings.schemas_dir))
        producer.close()
        console.print(f"published {count} schema versions to {Topics(settings.node_id).schemas}")


@topics_app.command("acls")
def topics_acls(
    apply: bool = typer.Option(False, "--apply", help="Create them on the broker (with this process's credentials)."),
) -> None:
    """The Kafka ACLs of this node's principals (<node>-relay, -worker, -sync, -admin) and its peers' sync topics:
    printed as kafka-acls.sh arguments, or created with --apply."""
    from services.kernel.kafkaclients import make_admin, oneshot_options
    from services.pipeline.acls import apply_acls, kafka_acls_lines, node_acls
    from services.sync.rules import Topology

    settings = TopicSettings()
    acls = node_acls(settings.node_id, Topology.from_settings(settings).peers, settings.sync_remote_topic_prefix)
    if not apply:
        for line in kafka_acls_lines(acls):
            console.print(line, soft_wrap=True)
        return
    settings = _kafka_settings(TopicSettings, "thidua topics acls --apply")
    admin = make_admin(_servers(settings), **oneshot_options(settings))
    try:
        console.print(f"created {apply_acls(admin, acls)} ACLs for node {settings.node_id}")
    finally:
        admin.close()


@topics_app.command("asyncapi")
def topics_asyncapi() -> None:
    """Print the AsyncAPI 3.0 document of the topics (regenerate: thidua topics asyncapi > docs/asyncapi.yaml)."""
    from services.kernel.schemas import SchemaCatalog
    from services.pipeline.asyncapi import render

    typer.echo(render(SchemaCatalog.load(NodeSettings().schemas_dir)), nl=False)


@topics_app.command("list")
def topics_list() -> None:
    """The node's topics and their configuration from settings (no broker needed)."""
    from services.pipeline.topics import CONTEXT_OF_EVENT, topic_specs

    table = Table("topic", "partitions", "replication", "config", "event types")
    for spec in topic_specs(TopicSettings()):
        types = sorted(t for t, c in CONTEXT_OF_EVENT.items() if spec.name.endswith(f".{c}"))
        config = ", ".join(f"{k}={v}" for k, v in spec.config.items())
        table.add_row(spec.name, str(spec.partitions), str(spec.replication_factor), config, ", ".join(types))
    console.print(table)


def relay(
    once: bool = typer.Option(False, help="Publish until caught up with the store, then exit."),
) -> None:
    """Publish the event store to Kafka (outbox relay), recording the acknowledged position."""
    from services.pipeline.logs import configure
    from services.pipeline.relay import run_relay

    settings = _kafka_settings(RelaySettings, "thidua relay")
    configure(settings.log_level, settings.log_json, "relay")
    published = run_relay(settings, once=once)
    if once:
        console.print(f"published {published} events")


def worker(
    web_port: int = typer.Option(0, help="Port of /metrics (default: THIDUA_WORKER_WEB_PORT)."),
) -> None:
    """Run a Faust projection worker (join the node's consumer group; apply the read models from Kafka)."""
    from services.pipeline.worker import run_worker

    settings = _kafka_settings(WorkerSettings, "thidua worker")
    if web_port:
        settings = settings.model_copy(update={"worker_web_port": web_port})
    run_worker(settings)


@pipeline_app.command("status")
def status() -> None:
    """Relay lag, consumer lag per partition, events applied and dead letters, as /metrics reports them (exit 5,
    after the table, when the broker does not answer)."""
    from services.bootstrap import existing_node
    from services.cli.errors import explain
    from services.pipeline.metrics import PipelineMetrics

    node = existing_node(NodeSettings())
    metrics = PipelineMetrics.for_node(node)
    try:
        families = metrics.collect()
    finally:
        node.close()
    table = Table("metric", "labels", "value")
    for family in families:
        for sample in family.samples:
            table.add_row(sample.name, ", ".join(f"{k}={v}" for k, v in sample.labels.items()), f"{sample.value:g}")
    console.print(table)
    if metrics.broker_error is not None:
        raise explain(metrics.broker_error) or metrics.broker_error
