"""How the API runs a command: access checks, ``If-Match`` and ``Idempotency-Key`` in the command's transaction.

Entry points translate only (cosmicpython's flask_app): body → command → ``node.bus.handle`` → 201 or a problem.
Checks that need the write side (who issued the plan being amended, at which step a proposal is held) run in the
same unit of work as the command and are part of what it read: the command is written only if none of it moved
before the store's append lock was taken (``services.kernel.uow``), so they cannot race the command itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind, ThiduaError, VersionConflict
from services.kernel.uow import UnitOfWork
from services.messagebus import CommandResult

from .idempotency import IdempotencyKey, KeySeen, Replay, StoredResponse
from .problems import domain_problem, status_of

Authorize = Callable[[UnitOfWork], None]
_ETAG = re.compile(r'^\s*"?(\d{1,18})"?\s*$')
ANY = -1  # If-Match: * (the stream must exist)

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='Phiên bản luồng mong đợi, ví dụ "3" (ETag của phản hồi trước); sai lệch trả 409 / the expected '
        'stream version, e.g. "3" (the ETag of an earlier response); a mismatch answers 409',
    ),
]


class CommandAccepted(BaseModel):
    """What a command appended (201)."""

    stream_id: str = Field(description="Luồng sự kiện / event stream, e.g. plan-hue-220-2026")
    version: int = Field(description="Phiên bản của luồng sau lệnh (ETag) / stream version afterwards (the ETag)")
    event_ids: list[str] = Field(description="Mã các sự kiện đã ghi / ids of the events appended")
    positions: list[int] = Field(description="Vị trí toàn cục của chúng / their global positions")


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header expects (None without it; ``ANY`` for ``*``)."""
    if if_match is None:
        return None
    if if_match.strip() == "*":
        return ANY
    match = _ETAG.match(if_match)
    if match is None:
        raise DomainRefusal(
            "INVALID_IF_MATCH",
            Kind.INVALID,
            f'If-Match phải là phiên bản của luồng, ví dụ "3"; nhận được {if_match!r}.',
            f'If-Match must be a stream version such as "3"; got {if_match!r}.',
        )
    return int(match.group(1))


def etag(version: int) -> str:
    """The strong ETag of a stream version."""
    return f'"{version}"'


@dataclass
class ApiGuard:
    """The API's checks and records inside a command's transaction (a ``messagebus.Guard``)."""

    stream_id: str | None
    expected: int | None
    key: IdempotencyKey | None
    authorize: Authorize | None
    location: str | None
    response: Response | None = field(default=None, init=False)
    key_known: bool = field(default=False, init=False)  # the key was found stored: check it first this time

    def check(self, uow: UnitOfWork) -> None:
        """Replay a known key; then access rules that need the write side; then If-Match."""
        if self.key is not None and self.key_known:
            uow.lock()  # the check may forget an expired key: a write, done under the lock like the key's save
            self.key.check(uow.conn)
        if self.authorize is not None:
            self.authorize(uow)
        if self.expected is not None and self.stream_id is not None:
            actual = uow.version(self.stream_id)
            if (self.expected == ANY and actual == 0) or (self.expected not in (ANY, actual)):
                raise VersionConflict(self.stream_id, self.expected, actual)

    def commit(self, uow: UnitOfWork, result: CommandResult) -> None:
        """Build the 201 and keep it under the idempotency key, in the command's transaction."""
        body = CommandAccepted(
            stream_id=result.stream_id, version=result.version, event_ids=result.event_ids, positions=result.positions
        )
        headers = {"ETag": etag(result.version)}
        if self.location:
            headers["Location"] = self.location
        self.response = JSONResponse(body.model_dump(), status_code=201, headers=headers)
        if self.key is not None:
            self.key.save(uow.conn, StoredResponse.of(self.response))


def run_command(
    node: Node,
    command: Any,
    *,
    stream_id: str | None,
    if_match: str | None,
    key: IdempotencyKey | None,
    authorize: Authorize | None = None,
    location: str | None = None,
) -> Response:
    """Handle ``command`` through the bus: 201 with what it appended, a stored replay, or a problem."""
    guard = ApiGuard(stream_id, expected_version(if_match), key, authorize, location)
    try:
        try:
            node.bus.handle(command, guard)
        except (KeySeen, ThiduaError) as first:  # the key may be stored: replay, refuse its reuse, forget it expired
            if key is None or guard.key_known:
                raise
            guard.key_known = True
            with node.engine.begin() as conn:
                key.check(conn)
            if not isinstance(first, KeySeen):
                raise  # a refusal, and no answer stored under the key: the refusal is the answer
            node.bus.handle(command, guard)  # the key had expired: the command again, checking the key first
    except Replay as replay:
        return replay.stored.replay()
    except ThiduaError as refusal:
        if key is not None and 400 <= status_of(refusal) < 500 and refusal.code != "IDEMPOTENCY_KEY_REUSED":
            with node.engine.begin() as conn:  # the first answer to this key was a refusal: keep it
                key.save(conn, StoredResponse.of(domain_problem(refusal)), if_absent=True)
        raise
    assert guard.response is not None
    return guard.response
