"""Kiểm tra (audit), for auditors and operators: the history of any stream (who, when, what, which document), the
hash chain's verify status and the last signed checkpoint — the same checks and redactions as the API's
``/api/v1/audit`` endpoints."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.api.routers.audit import AUDIT_ROLES
from services.api.security.scopes import require_role, require_within
from services.audit.anchors import checkpoint_problem, verify_node
from services.audit.checkpoints import stream_of
from services.audit.verify import event_path, seen_by
from services.kernel.errors import DomainRefusal, Kind
from services.web import events
from services.web.auth import Person, Signed
from services.web.rendering import wants_fragment

from . import render, web_of

router = APIRouter(include_in_schema=False)
RECENT_STREAMS = 15
VERIFY_SPAN = 20_000  # the quick check walks the chain from the last checkpoint's head, at most this far back


def _auditor(person: Person, action: str) -> None:
    require_role(person.principal, AUDIT_ROLES, action)


def last_checkpoint(request: Request) -> dict[str, Any] | None:
    """The node's last signed checkpoint and whether its signature verifies with a trusted key."""
    node = web_of(request).node
    found = node.store.read_stream(stream_of(node.settings.node_id))
    if not found:
        return None
    data = node.codec.decode(found[-1].body).datum
    problem = checkpoint_problem(node, data)
    return {**data, "position": found[-1].position, "count": len(found), "problem": problem}


@router.get("/kiem-tra")
def audit_page(request: Request, person: Signed) -> Response:
    """The audit home: last checkpoint, verify status (loaded on demand), the latest streams of the subtree."""
    _auditor(person, "read the audit pages")
    web = web_of(request)
    latest = web.node.store.read_recent(RECENT_STREAMS * 4, under=person.principal.path, within=events.RECENT_WINDOW)
    streams: dict[str, dict[str, Any]] = {}
    for stored in latest:
        streams.setdefault(stored.stream_id, events.describe(stored, web.node.codec))
    context = {
        "checkpoint": last_checkpoint(request),
        "streams": list(streams.values())[:RECENT_STREAMS],
        "head": web.node.store.head_position(),
    }
    return render(request, "audit.html", context)


@router.get("/kiem-tra/xac-minh")
def verify(request: Request, person: Signed, tu: int | None = None, den: int | None = None) -> Response:
    """Walk the hash chain and checkpoints from ``tu`` (default: the last checkpoint's head, at most VERIFY_SPAN
    back) to ``den`` (default: the head); a break is named only inside the person's subtree."""
    _auditor(person, "verify the log")
    node = web_of(request).node
    if tu is None:
        checkpoint = last_checkpoint(request)
        head = node.store.head_position()
        tu = max(1, head - VERIFY_SPAN, checkpoint["head_position"] if checkpoint else 1)
    report = verify_node(node, tu, den)
    shown = seen_by(report.to_json(), partial(event_path, node.engine), person.principal.covers)
    template = "_verify.html" if wants_fragment(request, "verify") else "verify.html"
    return render(request, template, {"report": shown})


@router.get("/kiem-tra/luong")
def stream_page(request: Request, person: Signed, id: str) -> Response:  # noqa: A002
    """The history of one stream: the events of it that lie in the person's subtree (as the event feed)."""
    _auditor(person, "read a stream's history")
    web = web_of(request)
    stored = web.node.store.read_stream(id.strip())
    if not stored:
        raise DomainRefusal(
            "UNKNOWN_STREAM", Kind.NOT_FOUND, f"Không có luồng sự kiện '{id}'.", f"No event stream '{id}'."
        )
    visible = [s for s in stored if person.principal.covers(s.org_unit_path)]
    if not visible:
        require_within(person.principal, stored[0].org_unit_path)  # refuses: OUT_OF_SUBTREE, as the API
    context = {
        "stream_id": id,
        "events": [events.describe(s, web.node.codec) for s in visible],
        "hidden": len(stored) - len(visible),
    }
    return render(request, "stream.html", context)
