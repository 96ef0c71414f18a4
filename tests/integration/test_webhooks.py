"""The webhook reactor on SQLite and PostgreSQL, against an in-memory receiver: one delivery per subscribed
event, retries with backoff, giving up with the failure kept, and no delivery from a replay or from history."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from projections import tracking
from services.api.security.clients import revoked_client_ids
from services.bootstrap import Node, bootstrap
from services.kernel.settings import Settings
from services.webhooks import subscriptions
from services.webhooks.dispatcher import WebhookDispatcher
from services.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from services.webhooks.tables import webhook_delivery
from tests.factories import guidance_issued, org_unit_registered


def _node(engine: Engine, tmp_path: Path) -> Node:
    node = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    node.init_db()
    return node


def _dispatcher(node: Node, answer: Callable[[httpx.Request], httpx.Response], **settings: Any) -> WebhookDispatcher:
    configured = node.settings.model_copy(
        update={"webhook_backoff_base_seconds": 0.05, "webhook_max_attempts": 3, **settings}
    )
    client = httpx.Client(transport=httpx.MockTransport(answer))
    revoked = revoked_client_ids()
    return WebhookDispatcher(node.engine, node.store, node.codec, configured, client, revoked_clients=revoked)


def _subscribe(node: Node, subtree: str, types: list[str], url: str = "https://hooks.example/thidua") -> Any:
    with node.engine.begin() as conn:
        return subscriptions.create(conn, "c-1", url, types, subtree, None)


def _deliveries(node: Node) -> list[dict[str, Any]]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(webhook_delivery).order_by(webhook_delivery.c.position)).all()
    return [r._asdict() for r in rows]


def _drain(dispatcher: WebhookDispatcher, until: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the dispatcher did not finish"
        if dispatcher.run_once() == 0:
            time.sleep(0.02)


def test_each_subscribed_event_is_delivered_once_signed_and_replays_fire_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    node = _node(engine, tmp_path)
    node.store.append("orgunit-OLD", 0, [org_unit_registered("OLD")])  # before the subscription: never delivered
    subscription = _subscribe(node, "VN/31/11086", ["OrgUnitRegistered"])
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    dispatcher = _dispatcher(node, receiver)
    for code in ("A1", "A2"):
        node.store.append(f"orgunit-{code}", 0, [org_unit_registered(code)])
    node.store.append("orgunit-HUE", 0, [org_unit_registered("HUE", parent="VN/46")])  # another subtree
    node.store.append("guidance-x", 0, [guidance_issued()])  # another type
    _drain(dispatcher, lambda: all(d["state"] == "DELIVERED" for d in _deliveries(node)) and len(received) == 2)
    bodies = [json.loads(r.content) for r in received]
    # deliveries run in parallel and are not ordered (docs/api.md): each event once, whatever the arrival order
    assert sorted(b["data"]["unit"]["code"] for b in bodies) == ["A1", "A2"]
    standard = Webhook(subscription.secret)  # the secret as shown, given to a ready-made verifier
    for request in received:
        assert standard.verify(request.content, dict(request.headers)) == json.loads(request.content)
        assert request.headers["webhook-id"] == request.headers["X-Thidua-Delivery"]
        assert verify(
            subscription.secret, request.headers[TIMESTAMP_HEADER], request.content, request.headers[SIGNATURE_HEADER]
        )  # deprecated headers, one more release
        forged = {**request.headers, "webhook-signature": "v1," + "A" * 44}
        with pytest.raises(WebhookVerificationError):
            standard.verify(request.content, forged)
        with pytest.raises(WebhookVerificationError):
            standard.verify(request.content + b" ", dict(request.headers))
        assert request.headers["content-type"] == "application/cloudevents+json"
    # A rebuild of every read model replays the whole store: the reactor keeps its own position and sends nothing.
    with node.engine.begin() as conn:
        for projection in node.projections:
            tracking.reset_position(conn, projection.name)
    node.runner.run_until_idle()
    for _ in range(3):
        dispatcher.run_once()
    assert len(received) == 2 and len(_deliveries(node)) == 2
    dispatcher.close()


def test_failures_are_retried_with_backoff_then_given_up_and_recorded(engine: Engine, tmp_path: Path) -> None:
    node = _node(engine, tmp_path)
    _subscribe(node, "VN/31", [])
    attempts: list[float] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(time.monotonic())
        if len(attempts) == 2:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(500)

    dispatcher = _dispatcher(node, down)
    node.store.append("orgunit-B1", 0, [org_unit_registered("B1")])
    _drain(dispatcher, lambda: [d["state"] for d in _deliveries(node)] == ["FAILED"])
    (delivery,) = _deliveries(node)
    assert delivery["attempts"] == 3 and delivery["last_status"] == 500 and delivery["last_error"] == "HTTP 500"
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 * 0.8 and gaps[1] >= 0.1 * 0.8  # 0.05 s, then 0.1 s (±20 %)
    with node.engine.connect() as conn:
        (log,) = subscriptions.deliveries(conn, delivery["subscription_id"], None, None, 10)
    assert [(a["attempt"], a["status_code"]) for a in log["attempt_log"]] == [(1, 500), (2, None), (3, 500)]
    assert log["attempt_log"][1]["error"].startswith("ConnectError")
    dispatcher.run_once()
    assert len(attempts) == 3  # given up: no fourth attempt
    dispatcher.close()


def test_unsubscribing_cancels_what_is_pending(engine: Engine, tmp_path: Path) -> None:
    node = _node(engine, tmp_path)
    subscription = _subscribe(node, "VN", [])
    dispatcher = _dispatcher(node, lambda request: httpx.Response(503), webhook_backoff_base_seconds=60)
    node.store.append("orgunit-C1", 0, [org_unit_registered("C1")])
    _drain(dispatcher, lambda: bool(_deliveries(node)) and _deliveries(node)[0]["attempts"] == 1)
    with node.engine.begin() as conn:
        subscriptions.deactivate(conn, subscription.subscription_id)
    assert [d["state"] for d in _deliveries(node)] == ["CANCELLED", "CANCELLED"]  # the node key's announcement, C1
    node.store.append("orgunit-C2", 0, [org_unit_registered("C2")])
    dispatcher.run_once()
    assert len(_deliveries(node)) == 2
    dispatcher.close()


def test_a_revoked_clients_subscriptions_receive_nothing(engine: Engine, tmp_path: Path) -> None:
    from services.api.security.clients import ClientStore

    node = _node(engine, tmp_path)
    clients = ClientStore(node.engine)
    clients.add("LGSP", "VN/31", ["auditor"], client_id="c-1")
    _subscribe(node, "VN/31", [])
    sent: list[httpx.Request] = []
    dispatcher = _dispatcher(node, lambda request: sent.append(request) or httpx.Response(503))
    node.store.append("orgunit-D1", 0, [org_unit_registered("D1")])
    _drain(dispatcher, lambda: len(sent) == 1)
    clients.revoke("c-1")
    node.store.append("orgunit-D2", 0, [org_unit_registered("D2")])
    time.sleep(0.1)  # the first delivery's retry is due by now
    for _ in range(3):
        dispatcher.run_once()
    assert len(sent) == 1 and len(_deliveries(node)) == 1
    dispatcher.close()
