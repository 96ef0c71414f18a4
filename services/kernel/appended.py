"""Waiting for appends: on PostgreSQL a ``LISTEN`` on the node's channel that its store's append lock notifies
(delivered when an appending transaction commits), so a poller such as the relay sleeps until there is something
new or its poll interval ends, whichever comes first; on SQLite (one process) it only sleeps the interval."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .db import is_postgres
from .store import APPENDED_CHANNEL, APPENDED_CHANNEL_NAME

log = logging.getLogger(__name__)


def listening(engine: Engine, channel: str) -> psycopg.Connection[Any]:
    """A PostgreSQL connection of ``engine`` (its TLS, options, …) that ``LISTEN``s on ``channel``, taken out of the
    pool for good: it stays in autocommit, listening, until closed. ``APPENDED_CHANNEL`` means this node's channel
    (``thidua_appended_<oid of its event table>``, found on the connection, whose search path names the node)."""
    pooled = engine.raw_connection()
    listener: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
    pooled.detach()
    listener.autocommit = True
    if channel == APPENDED_CHANNEL:
        [(channel,)] = listener.execute(APPENDED_CHANNEL_NAME).fetchall()
    listener.execute(f'LISTEN "{channel}"')
    return listener


class Listener:
    """A ``LISTEN`` connection on one channel, opened at first use and again after it was lost or closed."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine, self.channel = engine, channel
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def open(self) -> bool:
        """Whether the connection is open."""
        return self._conn is not None and not self._conn.closed

    def connection(self) -> psycopg.Connection[Any]:
        """The open connection (opened now if it was not)."""
        if self._conn is None or self._conn.closed:
            self._conn = listening(self.engine, self.channel)
        return self._conn

    def close(self) -> None:
        """Close the connection (the next use opens it again)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


class AppendedSignal:
    """``wait(stop, seconds)``: until an append commits, ``stop`` is set or ``seconds`` pass."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._listener = Listener(engine, APPENDED_CHANNEL)
        self.wakeups = 0  # waits a notification ended (metrics, tests)
        self.payloads: frozenset[str] = frozenset()  # of the announcements that ended the last wait

    @property
    def listening(self) -> bool:
        """Whether the ``LISTEN`` connection is open (from the first wait on; it stays open, so an append that
        commits while the poller works is delivered at its next wait)."""
        return self._listener.open

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep until an append is announced, ``stop`` is set (seen within a second) or ``seconds`` pass; whether an
        announcement ended it (their payloads: ``payloads``). A lost listening connection is reopened at the next
        wait; meanwhile the interval is slept."""
        self.payloads = frozenset()
        if not is_postgres(self.engine):
            stop.wait(seconds)
            return False
        deadline = time.monotonic() + seconds
        try:
            listener = self._listener.connection()
            while (left := deadline - time.monotonic()) > 0 and not stop.is_set():
                if got := [n.payload for n in listener.notifies(timeout=min(left, 1.0), stop_after=1)]:
                    self.wakeups += 1
                    got += [n.payload for n in listener.notifies(timeout=0)]  # several commits meanwhile: one wake-up
                    self.payloads = frozenset(got)
                    return True
        except (psycopg.Error, SQLAlchemyError) as exc:  # the database away: sleep, listen again next time
            log.warning("listening for appends failed; polling until it works again", extra={"error": str(exc)})
            self.close()
            stop.wait(max(deadline - time.monotonic(), 0))
        return False

    def announced(self) -> frozenset[str] | None:
        """The payloads of the appends announced since the last wait or call, without waiting (empty: none); None
        when it cannot tell: on SQLite, when listening has just begun (an append before it was not announced here)
        or failed (the next call listens again)."""
        if not is_postgres(self.engine):
            return None
        try:
            if not self._listener.open:
                self._listener.connection()  # listening from now on: a read that follows misses nothing
                return None
            return frozenset(n.payload for n in self._listener.connection().notifies(timeout=0))
        except (psycopg.Error, SQLAlchemyError, OSError) as exc:
            log.warning("listening for appends failed; reading every round", extra={"error": str(exc)})
            self.close()
            return None

    def close(self) -> None:
        """Close the listening connection."""
        self._listener.close()
