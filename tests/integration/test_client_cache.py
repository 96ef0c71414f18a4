"""Cached client rows: on PostgreSQL the API answers a known client from memory (no query), and a
revocation made by another process holds from the first request after its notification arrives; in the process
that revoked, at once. On SQLite every request reads the row."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event

from services.api.security.clients import ClientStore


def _queries(engine: Engine) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def test_client_rows_are_cached_and_a_revocation_elsewhere_holds_at_once(engine: Engine) -> None:
    api, cli = ClientStore(engine), ClientStore(engine)  # the API's process and `thidua security clients revoke`
    try:
        client, _ = cli.add("LGSP Lào Cai", "VN/15", ["submitter"])
        assert api.get(client.client_id, cached=True).active  # type: ignore[union-attr]
        seen = _queries(engine)
        assert api.get(client.client_id, cached=True).active  # type: ignore[union-attr]
        postgres = engine.dialect.name == "postgresql"
        reads = [s for s in seen if s.startswith("SELECT")]
        assert len(reads) == (0 if postgres else 1)  # PostgreSQL: from memory; SQLite: the row read again

        assert cli.revoke(client.client_id)
        deadline, answers = time.monotonic() + 2, []
        while (found := api.get(client.client_id, cached=True)) is not None and found.active:
            answers.append(found)
            assert time.monotonic() < deadline, "the revocation never reached the API's cache"
            time.sleep(0.05)  # a loaded machine may take a few ms to deliver the notification
        assert len(answers) <= (1 if postgres else 0)  # at most the request racing the notification's delivery

        other, _ = api.add("LGSP Huế", "VN/46", ["submitter"])
        assert api.get(other.client_id, cached=True).active  # type: ignore[union-attr]
        assert api.revoke(other.client_id)  # in the API's own process: the very next read sees it
        assert not api.get(other.client_id, cached=True).active  # type: ignore[union-attr]
    finally:
        api.close()
        cli.close()


def test_revoked_tokens_are_cached_and_a_revocation_elsewhere_holds_at_once(engine: Engine) -> None:
    api, cli = ClientStore(engine), ClientStore(engine)  # the API's process and `thidua clients revoke-token`
    expires = datetime.now(UTC) + timedelta(hours=1)
    try:
        assert cli.revoke_token("jti-leaked", expires, "c-lgsp")
        assert api.token_revoked("jti-leaked", cached=True) and not api.token_revoked("jti-1", cached=True)
        seen = _queries(engine)
        assert not api.token_revoked("jti-2", cached=True) and api.token_revoked("jti-leaked", cached=True)
        postgres = engine.dialect.name == "postgresql"
        assert len([s for s in seen if s.startswith("SELECT")]) == (0 if postgres else 2)  # SQLite: read each time

        assert cli.revoke_token("jti-1", expires, "c-lgsp")
        deadline, answers = time.monotonic() + 2, 0
        while not api.token_revoked("jti-1", cached=True):
            answers += 1
            assert time.monotonic() < deadline, "the token's revocation never reached the API's cache"
            time.sleep(0.05)  # a loaded machine may take a few ms to deliver the notification
        assert answers <= (1 if postgres else 0)  # at most the request racing the notification's delivery
        assert api.revoke_token("jti-2", expires)  # in the API's own process: the very next check sees it
        assert api.token_revoked("jti-2", cached=True)
    finally:
        api.close()
        cli.close()
