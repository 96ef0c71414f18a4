"""Prove that the project's Kafka clients work against a broker (used to choose the pinned Kafka version).

    python infra/kafka/verify_clients.py 127.0.0.1:19092

Needs kafka-python 3.0.x, crc32c and faust-streaming 0.15.x (which brings aiokafka). Checks:
  1. kafka-python admin: describe_cluster, create_topics
  2. kafka-python producer (acks=all, enable_idempotence=True, headers) -> consumer (group, commit)
  3. aiokafka producer (acks=all, idempotence, headers) -> consumer (group_id, commit, committed)
  4. faust worker: creates its topics + table changelog via its own CreateTopics path, agent consumes, commits
Exit code 0 when everything passed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid

BOOTSTRAP = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:19092"
RUN = uuid.uuid4().hex[:8]
N = 20
results: list[tuple[str, bool, str]] = []


def record(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"[{'PASS' if ok else 'FAIL'}] {name} {detail}", flush=True)


def kafka_python_checks() -> None:
    import kafka
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic = f"verify-kp-{RUN}"
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="verify")
    cluster = admin.describe_cluster()
    record("kafka-python describe_cluster", bool(cluster.get("brokers")), f"kafka-python {kafka.__version__}")
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    record("kafka-python create_topics", topic in admin.list_topics())
    admin.close()

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True)
    futures = [
        producer.send(
            topic,
            key=f"k{i}".encode(),
            value=f"v{i}".encode(),
            headers=[("event-type", b"test"), ("seq", str(i).encode())],
        )
        for i in range(N)
    ]
    producer.flush(30)
    metas = [f.get(timeout=30) for f in futures]
    producer.close()
    record("kafka-python idempotent produce acks=all + headers", len(metas) == N)

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        group_id=f"verify-kp-{RUN}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
    )
    got = []
    for msg in consumer:
        got.append(msg)
        if len(got) == N:
            break
    consumer.commit()
    headers_ok = all(dict(m.headers).get("event-type") == b"test" for m in got)
    record("kafka-python consume (group) + headers + commit", len(got) == N and headers_ok, f"{len(got)}/{N}")
    consumer.close()


async def aiokafka_checks() -> None:
    import aiokafka
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    topic = f"verify-aio-{RUN}"
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(N):
            await producer.send_and_wait(
                topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("event-type", b"test")]
            )
    finally:
        await producer.stop()
    record("aiokafka idempotent produce acks=all + headers", True, f"aiokafka {aiokafka.__version__}")

    group = f"verify-aio-{RUN}"
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got = []
    try:

        async def take() -> None:
            async for msg in consumer:
                got.append(msg)
                if len(got) == N:
                    return

        await asyncio.wait_for(take(), 30)
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()
    headers_ok = all(dict(m.headers).get("event-type") == b"test" for m in got)
    record(
        "aiokafka consume (group) + headers + commit",
        len(got) == N and headers_ok and committed == N,
        f"{len(got)}/{N}, committed={committed}",
    )


def faust_check() -> None:
    import faust
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    app_id = f"verify-faust-{RUN}"
    # the source topic exists before the worker subscribes (as in the project); faust itself creates its
    # internal topics (table changelog, repartition) through aiokafka's CreateTopics request
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(f"verify-faust-in-{RUN}", num_partitions=1, replication_factor=1)])
    admin.close()
    datadir = tempfile.mkdtemp(prefix="verify-faust-")
    app = faust.App(
        app_id,
        broker=f"kafka://{BOOTSTRAP}",
        store="memory://",
        web_enabled=False,
        datadir=datadir,
        topic_partitions=1,
        topic_replication_factor=1,
        producer_acks=-1,
    )
    topic = app.topic(f"verify-faust-in-{RUN}", value_type=bytes, value_serializer="raw", partitions=1)
    counts = app.Table("counts", default=int, partitions=1)
    seen: list[bytes] = []
    state = {"sent": False, "done": False}

    @app.agent(topic)
    async def process(stream):
        async for value in stream:
            seen.append(value)
            counts["n"] += 1

    @app.timer(0.5)
    async def drive():
        if not state["sent"]:
            state["sent"] = True
            for i in range(N):
                await topic.send(value=f"v{i}".encode(), headers={"event-type": b"test"})
        elif len(seen) >= N and not state["done"]:
            state["done"] = True
            await app.consumer.commit()
            await asyncio.sleep(1)
            asyncio.ensure_future(worker.stop())

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    deadline = time.monotonic() + 120

    async def watchdog():
        while not state["done"] and time.monotonic() < deadline:
            await asyncio.sleep(1)
        if not state["done"]:
            await worker.stop()

    worker.loop.create_task(watchdog())
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass
    finally:
        shutil.rmtree(datadir, ignore_errors=True)
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    topics = admin.list_topics()
    admin.close()
    changelog = f"{app_id}-counts-changelog"
    record(
        "faust worker: topic + table changelog created, agent consumed, committed",
        state["done"] and len(seen) == N and changelog in topics,
        f"{len(seen)}/{N}, changelog={changelog in topics}, table={counts['n']}",
    )


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    for name, fn in (
        ("kafka-python", kafka_python_checks),
        ("aiokafka", lambda: asyncio.run(aiokafka_checks())),
        ("faust", faust_check),
    ):
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - report and continue
            if isinstance(exc, KeyboardInterrupt):
                raise
            record(f"{name} (exception)", False, repr(exc))
    failed = [r for r in results if not r[1]]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed against {BOOTSTRAP}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # faust/mode may leave non-daemon threads behind
