"""``thidua bench relay``: the outbox relay publishing the store's events to Kafka, against a ceiling: the
kafka-python producer (the relay's own producer factory: idempotent, acks=all, same linger, batch size and
compression) sending the same pre-encoded messages to the same topics with the same keys (so the same partitions).

Each run loads the generated history into a fresh store, then (timed) ``Relay.run_until_idle`` to fresh topics:
read a batch from the store, send it, wait for every acknowledgement, record the position. The ceiling sends the
same messages, read and encoded beforehand, to other fresh topics: with a flush every relay batch (the relay's
acknowledgement discipline without the store: the ceiling), and with one flush at the end (which measured slower
here: 150,000 futures and a full send buffer cost more than the waits they save).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from services.kernel.settings import Settings
from services.pipeline.relay import build_relay
from services.pipeline.topics import Topics

from .common import Row, fresh_node, peak_rss_mb, print_rows, timed
from .dataset import load, spool, temporary_folder
from .generator import Scale
from .kafka import fresh_topics, produce, routed_messages

CEILING = "kafka-python producer, flush every batch (ceiling)"
ONE_FLUSH = "kafka-python producer, one flush at the end"
RELAY = "relay (store → Kafka, acks=all)"


def run_relay(settings: Settings, scale: Scale, repeat: int, console: Console) -> list[Row]:
    """Measure the relay and the raw producer ``repeat`` times each; print and return the rows."""
    batch = settings.relay_batch_size
    stages: dict[str, list[float]] = {CEILING: [], ONE_FLUSH: [], RELAY: []}
    with temporary_folder() as tmp:
        history = spool(settings, scale, Path(tmp))
        for _ in range(repeat):
            with fresh_node(settings, "postgres") as (node, engine, *_):
                load(engine, history)
                with fresh_topics(settings) as mine:
                    relay = build_relay(node, mine)
                    factory = relay.producer_factory
                    stages[RELAY].append(timed(relay.run_until_idle))
                    relay.close()
                for stage, every in ((CEILING, batch), (ONE_FLUSH, None)):
                    with fresh_topics(settings) as mine:
                        routed = routed_messages(node.store, Topics(mine.node_id))
                        producer = factory()
                        stages[stage].append(timed(lambda: produce(producer, routed, every)))  # noqa: B023
                        producer.close()
    rows = [
        Row("postgres → kafka", stage, history.events, seconds, peak_rss_mb(), None if stage == CEILING else CEILING)
        for stage, seconds in stages.items()
    ]
    partitions = settings.kafka_topic_partitions
    title = f"thidua bench relay: {history.events:,} events, {partitions} partitions per topic, relay batch {batch:,}"
    print_rows(console, title, rows)
    return rows
