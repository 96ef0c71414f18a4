"""How long commands wait for their node's append lock, sampled from PostgreSQL while a benchmark runs.

Every ``every`` seconds one query counts, per node, the transactions waiting for its append lock (``pg_locks``: the
lock is keyed by the node's event table, ``services.kernel.store.APPEND_LOCK``). By Little's law the mean wait of a
command is the mean number waiting over the rate of commands, printed per node by the deadline benchmark.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import Engine, text

LOCK_CLASS = 0x74686964  # the high 32 bits of the append lock's key ("thid"); the low 32 are the event table's OID
_WAITING = text(
    "SELECT objid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1"
    " AND classid = CAST(:lock_class AS oid) GROUP BY objid"
)
_TABLE = text("SELECT CAST(CAST('event' AS regclass) AS oid)")


class LockWaits:
    """A thread counting, every ``every`` seconds, the transactions waiting for each node's append lock."""

    def __init__(self, engines: Mapping[str, Engine], every: float = 0.1) -> None:
        self.engine = next(iter(engines.values()))  # the nodes' schemas are on one server
        self.every = every
        self.nodes: dict[int, str] = {}
        for name, engine in engines.items():
            with engine.connect() as conn:
                self.nodes[int(conn.execute(_TABLE).scalar_one())] = name
        self.waiting: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self._stop.wait(self.every):
                for row in conn.execute(_WAITING, {"lock_class": LOCK_CLASS}):
                    if (node := self.nodes.get(int(row[0]))) is not None:
                        self.waiting[node] += int(row[1])
                conn.rollback()  # each sample in its own snapshot
                self.samples += 1

    def mean_waiting(self, node: str) -> float:
        """The mean number of ``node``'s transactions waiting for its append lock."""
        return self.waiting[node] / max(self.samples, 1)
