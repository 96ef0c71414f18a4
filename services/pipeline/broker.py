"""Waiting for the broker: a relay, worker or sync started while Kafka is down waits and retries instead of exiting,
with one log line every few seconds (not one per failed connection)."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


# ApiVersions v0 (api key 18), correlation id 1, client id "thidua": answered before any SASL authentication
_API_VERSIONS = struct.pack(">ihhih", 2 + 2 + 4 + 2 + 6, 18, 0, 1, 6) + b"thidua"


def reachable(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """Whether one of the bootstrap servers answers an ApiVersions request without error (a broker that accepts
    connections and speaks Kafka; the clients' own retries do the rest)."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(_API_VERSIONS)
                head = _read(sock, 10)  # size, correlation id, error code
                if head is not None and struct.unpack(">iih", head)[1:] == (1, 0):
                    return True
        except (OSError, ValueError):
            continue
    return False


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def wait_for_broker(
    bootstrap_servers: str,
    what: str,
    stop: threading.Event | None = None,
    poll_seconds: float = 1.0,
    log_every: float = 10.0,
    probe: Callable[[str], bool] = reachable,
) -> bool:
    """Block until the broker answers (True) or ``stop`` is set (False); log when the wait starts, every
    ``log_every`` seconds while it lasts, and when it ends."""
    if probe(bootstrap_servers):
        return True
    stop = stop or threading.Event()
    started = last = time.monotonic()
    log.warning("%s: Kafka is not reachable; waiting for it", what, extra={"bootstrap": bootstrap_servers})
    while not stop.wait(poll_seconds):
        if probe(bootstrap_servers):
            log.warning("%s: Kafka is back", what, extra={"waited_seconds": round(time.monotonic() - started, 1)})
            return True
        if time.monotonic() - last >= log_every:
            last = time.monotonic()
            log.warning("%s: still waiting for Kafka", what, extra={"waited_seconds": round(last - started, 1)})
    return False


class RepeatFilter(logging.Filter):
    """Lets one record of a kind (logger and message template) through per ``seconds``; the next one that passes
    says how many were held back. For the Kafka clients' own loggers, which log every failed connection: an outage
    of 18 s gave 1,147 ERROR lines before."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("kafka", "aiokafka", "faust", "mode"),
        seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes, self.seconds, self.clock = prefixes, seconds, clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit ``record``."""
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        last, held = self._seen.get(key, (-1e18, 0))
        if now - last < self.seconds:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} similar lines held back in the last {self.seconds:g} s]"
        return True
