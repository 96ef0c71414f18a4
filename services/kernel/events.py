"""Decoded events as Python objects: one class per Avro event type (generated into ``contracts.py``).

An event carries its envelope ``meta`` and its payload ``data`` exactly as the current reader schema reads
them; the classes exist so projections can dispatch on the type (``functools.singledispatch``) and so mypy checks
every field read against the contract (``data`` is the event's generated ``TypedDict``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .codec import AvroCodec

if TYPE_CHECKING:
    from .contracts import EventMetadata

S = TypeVar("S")


@dataclass(frozen=True)
class Event:
    """Base of every decoded event."""

    NAME: ClassVar[str] = ""

    meta: EventMetadata
    data: Mapping[str, Any]  # each generated event class narrows it to its payload type
    position: int = 0

    @property
    def event_id(self) -> str:
        """Globally unique id."""
        return str(self.meta["event_id"])

    @property
    def stream_id(self) -> str:
        """Stream (aggregate) id."""
        return str(self.meta["stream_id"])

    @property
    def occurred_at(self) -> datetime:
        """Business time."""
        return self.meta["occurred_at"]

    @property
    def org_unit_path(self) -> str:
        """Path of the org unit the event concerns."""
        return str(self.meta["org_unit"]["path"])


def decode_event(body: bytes, codec: AvroCodec, types: Mapping[str, type[Event]], position: int = 0) -> Event:
    """Decode single-object bytes into the event class of their type."""
    decoded = codec.decode(body)
    datum = dict(decoded.datum)
    meta = datum.pop("meta")
    cls = types.get(decoded.name, Event)
    return cls(meta=meta, data=datum, position=position)


def fold_events(evolve: Callable[[Event, S | None], S | None], events: Iterable[Event]) -> S | None:
    """Fold an aggregate's events with its ``evolve`` (None before its first event)."""
    state: S | None = None
    for event in events:
        state = evolve(event, state)
    return state
