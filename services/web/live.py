"""Live pages: a server-sent event stream tells an open page that the read models now hold new events of its
subtree (or of the units above it, whose plans guide it); htmx then reloads the page's live parts.

Each stream looks every ``poll`` seconds at what the read models have applied: on the embedded default the
projection tail's positions, so the page reloads only when its numbers have moved; in the deployment (read models
kept by Faust workers, which track Kafka offsets) the store's head, and the signal waits ``settle`` seconds for
the workers. A stream ends after ``MAX_STREAM_SECONDS`` (the browser reconnects with ``Last-Event-ID``), so no
stream outlives a shutdown or a proxy's timeout for long.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from services.bootstrap import Node
from services.kernel.orgpaths import OrgPath
from services.kernel.tables import event as event_table

MAX_STREAM_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000


class LiveFeed:
    """Tells subscribers of a subtree when the read models hold new events of it."""

    def __init__(self, node: Node, poll: float, from_runner: bool, settle: float = 1.0) -> None:
        self.node = node
        self.poll = poll
        self.from_runner = from_runner
        self.settle = 0.0 if from_runner else settle
        self._stopped = threading.Event()

    def stop(self) -> None:
        """End every open stream at its next look."""
        self._stopped.set()

    def applied(self) -> int:
        """The position every read model has applied (embedded), else the store's head (deployment)."""
        if self.from_runner:
            return min(self.node.runner.positions().values(), default=0)
        return self.node.store.head_position()

    def changed(self, path: str, after: int, upto: int) -> int | None:
        """The last position in ``(after, upto]`` of an event of ``path``'s subtree or of a unit above it."""
        if upto <= after:
            return None
        c = event_table.c
        above = [a.value for a in OrgPath(path).ancestors()]
        where = or_(
            c.org_unit_path == path, c.org_unit_path.startswith(path + "/", autoescape=True), c.org_unit_path.in_(above)
        )
        query = select(func.max(c.position)).where(c.position > after, c.position <= upto, where)
        with self.node.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    async def stream(self, path: str, last_seen: int | None) -> AsyncIterator[str]:
        """Server-sent events for ``path``: ``changed`` (data: the position) when its pages should reload."""
        seen = await run_in_threadpool(self.applied) if last_seen is None else last_seen
        yield f"retry: {RETRY_MS}\nevent: ready\ndata: {seen}\nid: {seen}\n\n"
        started = quiet = time.monotonic()
        while not self._stopped.is_set() and time.monotonic() - started < MAX_STREAM_SECONDS:
            await asyncio.sleep(self.poll)
            upto = await run_in_threadpool(self.applied)
            found = await run_in_threadpool(self.changed, path, seen, upto)
            seen = max(seen, upto)
            if found is not None:
                if self.settle:
                    await asyncio.sleep(self.settle)
                yield f"event: changed\ndata: {found}\nid: {seen}\n\n"
                quiet = time.monotonic()
            elif time.monotonic() - quiet >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                quiet = time.monotonic()
