"""``as_of`` on the read endpoints: read the read models as this node had them at a system time (docs/audit.md).

Every read endpoint takes a :data:`ReadAt` parameter and reads through ``reading.connect(read models, scope)``,
naming the read models it reads and, for a subtree question, the subtree: an as-of read rebuilds only those (issue
21). The query functions run unchanged (on the live tables, or on a cached rebuild whose SQL names are
rewritten). With ``as_of`` the JSON
body carries ``as_of`` and ``as_of_position`` at the top level.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from sqlalchemy import Connection

from services.audit.asof import EXAMPLE, AsOfCache, AsOfPoint, parse_as_of
from services.bootstrap import Node
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import ApiSettings
from services.kernel.vntime import business_day

AS_OF_HELP = (
    "Thời điểm hệ thống (ISO 8601; không múi giờ: giờ Việt Nam): trả lời theo những gì nút này đã ghi nhận đến "
    "lúc đó (sự kiện nhận từ nút khác tính từ lúc nhập về), không phải kỳ nghiệp vụ / system time: answer with what "
    "this node had recorded by then (events imported from other nodes count from their import), not the business "
    f"period. Ví dụ / e.g. {EXAMPLE}."
)


def make_cache(node: Node[ApiSettings]) -> AsOfCache:
    """The as-of cache of ``node``'s read models (built with the app; touches no database until used)."""
    return AsOfCache(
        node.engine,
        node.store,
        node.codec,
        EVENT_TYPES,
        node.projections,
        node.settings.asof_cache_size,
        node.settings.effective_catchup_batch_size,  # a build is a catch-up from position 0
    )


def cache_of(app: FastAPI) -> AsOfCache:
    """The app's as-of cache."""
    cache: AsOfCache = app.state.asof
    return cache


@dataclass(frozen=True)
class Reading:
    """Where a read endpoint reads: the live read models (``point`` None) or the node's state at ``point``."""

    cache: AsOfCache
    point: AsOfPoint | None = None

    @contextmanager
    def connect(self, models: Sequence[str] = (), scope: str | None = None) -> Iterator[Connection]:
        """A connection on the read models to answer from: ``models`` (none: every one) as of the point, within the
        subtree ``scope`` (an org path) when the question is about one."""
        if self.point is None:
            with self.cache.engine.connect() as conn:
                yield conn
        else:
            with self.cache.connect(self.point, models, scope) as conn:
                yield conn

    @property
    def rebuilt(self) -> bool:
        """Whether the answer comes from a rebuild (as of a time before the head), not the live tables."""
        return self.point is not None and not self.point.live

    @property
    def moment(self) -> datetime | None:
        """The ``as_of`` time, if given."""
        return self.point.as_of if self.point else None

    def day(self, given: date | None) -> date | None:
        """``given``, else the as_of day in Vietnam (a reference day for deadlines), else None."""
        if given is not None or self.point is None:
            return given
        return business_day(self.point.as_of)

    def stamp(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with ``as_of`` and ``as_of_position`` when the read was as of a time."""
        if self.point is None:
            return body
        return {**body, "as_of": self.point.as_of.isoformat(), "as_of_position": self.point.position}


def reading(request: Request, as_of: Annotated[str | None, Query(description=AS_OF_HELP)] = None) -> Reading:
    """The ``as_of`` query parameter resolved to a store position (422 problem when malformed or in the future)."""
    cache = cache_of(request.app)
    if as_of is None:
        return Reading(cache)
    return Reading(cache, cache.resolve(parse_as_of(as_of, cache.now())))


ReadAt = Annotated[Reading, Depends(reading)]
