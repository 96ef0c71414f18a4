"""Waiting for the broker and holding back the Kafka clients' repeated lines (no broker needed)."""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from services.pipeline.broker import RepeatFilter, reachable, wait_for_broker

pytestmark = pytest.mark.unit


def test_a_port_that_does_not_speak_kafka_is_not_a_broker() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def answer_garbage() -> None:
        conn, _ = listener.accept()
        conn.recv(64)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    assert not reachable(f"127.0.0.1:{port}", timeout=2)
    listener.close()
    assert not reachable("127.0.0.1:1", timeout=0.5)


def test_waiting_logs_a_line_every_few_seconds_and_stops_on_request(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([False] * 30 + [True])
    with caplog.at_level(logging.WARNING, logger="services.pipeline.broker"):
        assert wait_for_broker("b:9092", "worker", poll_seconds=0.01, log_every=0.1, probe=lambda _: next(answers))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "worker: Kafka is not reachable; waiting for it" and messages[-1] == "worker: Kafka is back"
    assert 1 <= messages.count("worker: still waiting for Kafka") <= 4  # ~0.3 s of waiting, a line per 0.1 s
    stop = threading.Event()
    stop.set()
    assert not wait_for_broker("b:9092", "relay", stop, probe=lambda _: False)


def test_repeated_client_lines_are_held_back_and_counted() -> None:
    now = [0.0]
    kept = RepeatFilter(seconds=5, clock=lambda: now[0])

    def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, None, None)

    assert kept.filter(record("aiokafka.conn", "Unable connect to %s"))
    assert not any(kept.filter(record("aiokafka.conn", "Unable connect to %s")) for _ in range(1146))
    assert kept.filter(record("kafka.net", "another message"))  # another kind passes
    assert kept.filter(record("services.pipeline.worker", "not a client's", logging.ERROR))  # ours always pass
    assert kept.filter(record("aiokafka.conn", "fine", logging.INFO))  # below WARNING: untouched
    now[0] = 5.1
    again = record("aiokafka.conn", "Unable connect to %s")
    assert kept.filter(again) and "1146 similar lines held back" in again.getMessage()
