"""Tokens for API tests: register a client of an org unit with roles and mint its bearer token."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.security import Security
from services.api.security.scopes import ROLES

EVERY_ROLE = tuple(sorted(ROLES))


def mint(app: FastAPI, org_unit: str = "VN", roles: Iterable[str] = EVERY_ROLE, client_id: str | None = None) -> str:
    """A valid token of a (new) client of ``org_unit`` with ``roles``."""
    security: Security = app.state.security
    roles = list(roles)
    client_id = client_id or f"t-{org_unit.replace('/', '-').lower()}-{'-'.join(sorted(roles))}"[:64]
    if security.clients.get(client_id) is None:
        security.clients.add(f"test {org_unit}", org_unit, roles, client_id=client_id, rate_limit_per_minute=100_000)
    return security.tokens.mint(client_id, org_unit, roles, f"test {org_unit}")


def authorize(client: TestClient, org_unit: str = "VN", roles: Iterable[str] = EVERY_ROLE) -> TestClient:
    """Send every later request of ``client`` with a token of ``org_unit`` (central with every role by default)."""
    client.headers["Authorization"] = f"Bearer {mint(client.app, org_unit, roles)}"  # type: ignore[arg-type]
    return client


def bearer(app: FastAPI, org_unit: str = "VN", roles: Iterable[str] = EVERY_ROLE) -> dict[str, str]:
    """The Authorization header of a client of ``org_unit`` with ``roles``."""
    return {"Authorization": f"Bearer {mint(app, org_unit, roles)}"}
