"""API clients (the LGSP's AppName / AccessKey / SecretKey): an org unit, roles, a quota, a hashed secret.

Secrets are shown once, when the client is added, and stored only as scrypt hashes (salted, N=2^14, r=8, p=1).

Every request checks its client is not revoked, nor its token (by ``jti``). On PostgreSQL the API keeps the client
rows it read and the set of revoked ``jti`` in memory while a ``LISTEN`` connection is open on
:data:`CHANGED_CHANNEL`, which every add, revoke and token revocation notifies in its transaction (any process:
``thidua security clients revoke`` and ``thidua clients revoke-token`` too); a request first takes the notifications
delivered meanwhile (a non-blocking read of that socket, no query) and forgets both when there is one, so a
revocation holds from the first request after its notification arrives (milliseconds after its commit; at once in
the process that revoked). Without the listening connection (SQLite, or PostgreSQL while it is lost) every request
reads the rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    Select,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from services.kernel.appended import Listener
from services.kernel.db import new_metadata
from services.kernel.orgpaths import OrgPath
from services.kernel.store import utcnow

from .errors import WouldBlock
from .scopes import ROLES

metadata = new_metadata()

api_client = Table(
    "api_client",
    metadata,
    Column("client_id", String(64), primary_key=True, comment="AccessKey: the public half of the credentials."),
    Column("name", Text, nullable=False, comment="AppName: who the client is, e.g. LGSP tỉnh Lào Cai."),
    Column("secret_hash", String(200), nullable=False, comment="scrypt$N$r$p$salt$hash of the SecretKey."),
    Column("org_unit_path", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("rate_limit_per_minute", Integer, comment="Quota; null: the node's default."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

api_revoked_token = Table(
    "api_revoked_token",
    metadata,
    Column("jti", String(64), primary_key=True, comment="The token's jti claim."),
    Column("client_id", String(64), comment="The client it was issued to, when known."),
    Column("expires_at", DateTime(timezone=True), nullable=False, comment="After this the row can be forgotten."),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    comment="Tokens revoked one by one (thidua clients revoke-token) before their expiry.",
)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def revoked_client_ids() -> Select[tuple[str]]:
    """The ids of revoked clients, as a subquery (the webhook dispatcher delivers nothing to them)."""
    return select(api_client.c.client_id).where(api_client.c.revoked_at.is_not(None))


CHANGED_CHANNEL = "thidua_api_client"  # PostgreSQL NOTIFY: a client was added or revoked (cached rows are stale)
log = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` of ``secret``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            secret.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


_DUMMY_HASH = hash_secret("not-a-secret")  # compared against for unknown clients: no timing oracle on client ids


@dataclass(frozen=True)
class Client:
    """A registered client (never its secret)."""

    client_id: str
    name: str
    org_unit_path: str
    roles: tuple[str, ...]
    rate_limit_per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def _client(row: Any) -> Client:
    return Client(
        row.client_id,
        row.name,
        row.org_unit_path,
        tuple(row.roles),
        row.rate_limit_per_minute,
        row.created_at,
        row.revoked_at,
    )


class UnknownRole(ValueError):
    """A role this product does not know."""


class ClientStore:
    """Adds, lists, revokes and authenticates clients."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, Client | None] = {}
        self._revoked: frozenset[str] | None = None  # every revoked jti, while the cache is valid; None: not read
        self._generation = 0  # bumped by every forget: a read that began before one is not cached
        self._lock = threading.Lock()
        self._listener = Listener(engine, CHANGED_CHANNEL)

    def add(
        self,
        name: str,
        org_unit_path: str,
        roles: Iterable[str],
        rate_limit_per_minute: int | None = None,
        client_id: str | None = None,
    ) -> tuple[Client, str]:
        """Register a client; returns it and its secret (shown this once)."""
        roles = sorted(set(roles))
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise UnknownRole(f"unknown roles {unknown}; known: {sorted(ROLES)}")
        path = OrgPath.parse(org_unit_path).value
        client_id = client_id or f"c-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        row = {
            "client_id": client_id,
            "name": name,
            "secret_hash": hash_secret(secret),
            "org_unit_path": path,
            "roles": roles,
            "rate_limit_per_minute": rate_limit_per_minute,
            "created_at": utcnow(),
            "revoked_at": None,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(api_client).values(row))
            self._changed(conn, client_id)
        return _client(_Row(row)), secret

    def get(self, client_id: str, cached: bool = False, blocking: bool = True) -> Client | None:
        """The client, revoked or not (``cached``: from memory while no change was notified, see the module; unless
        ``blocking``, :class:`WouldBlock` when the answer needs the database)."""
        if cached and self._cache_valid(blocking):
            with self._lock:
                if client_id in self._cache:
                    return self._cache[client_id]
                generation = self._generation
            if not blocking:
                raise WouldBlock
            found = self.get(client_id)
            with self._lock:
                if generation == self._generation:  # not forgotten while it was read: not stale
                    self._cache[client_id] = found
            return found
        if not blocking:
            raise WouldBlock
        with self.engine.connect() as conn:
            row = conn.execute(select(api_client).where(api_client.c.client_id == client_id)).first()
        return _client(row) if row else None

    def list(self) -> list[Client]:
        """Every client, by id."""
        with self.engine.connect() as conn:
            return [_client(r) for r in conn.execute(select(api_client).order_by(api_client.c.client_id))]

    def revoke(self, client_id: str) -> bool:
        """Revoke a client (its tokens stop working at once); False if unknown or already revoked."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_client)
                .where(api_client.c.client_id == client_id, api_client.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            self._changed(conn, client_id)
        return done.rowcount == 1

    def revoke_token(
        self, jti: str, expires_at: datetime, client_id: str | None = None, reason: str | None = None
    ) -> bool:
        """Revoke one token by its ``jti`` until ``expires_at`` (then the row is forgotten: the token has expired
        anyway); False if it was already revoked."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(api_revoked_token).where(api_revoked_token.c.expires_at < now - timedelta(hours=1)))
            if conn.execute(select(api_revoked_token.c.jti).where(api_revoked_token.c.jti == jti)).first():
                return False
            row = {"jti": jti, "client_id": client_id, "expires_at": expires_at, "revoked_at": now, "reason": reason}
            conn.execute(insert(api_revoked_token).values(row))
            self._changed(conn, client_id or "")
        return True

    def token_revoked(self, jti: str, cached: bool = False, blocking: bool = True) -> bool:
        """Whether the token ``jti`` was revoked (``cached``: against the revoked set kept in memory while no change
        was notified, see the module; revoked tokens are few: they live until their expiry; unless ``blocking``,
        :class:`WouldBlock` when the answer needs the database)."""
        if cached and self._cache_valid(blocking):
            with self._lock:
                revoked, generation = self._revoked, self._generation
            if revoked is None:
                if not blocking:
                    raise WouldBlock
                with self.engine.connect() as conn:
                    revoked = frozenset(conn.execute(select(api_revoked_token.c.jti)).scalars())
                with self._lock:
                    if generation == self._generation:
                        self._revoked = revoked
            return jti in revoked
        if not blocking:
            raise WouldBlock
        with self.engine.connect() as conn:
            found = conn.execute(select(api_revoked_token.c.jti).where(api_revoked_token.c.jti == jti)).first()
        return found is not None

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The active client with this id and secret, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_client.c.secret_hash, api_client.c.revoked_at).where(api_client.c.client_id == client_id)
            ).first()
        matches = verify_secret(secret, row.secret_hash if row else _DUMMY_HASH)
        if row is None or not matches or row.revoked_at is not None:
            return None
        return self.get(client_id)

    def _changed(self, conn: Connection, client_id: str) -> None:
        """In the changing transaction: forget the cache here, and tell every process at commit."""
        self._forget()
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_notify(:channel, :client)"), {"channel": CHANGED_CHANNEL, "client": client_id})

    def _cache_valid(self, blocking: bool = True) -> bool:
        """Whether cached rows may answer: the listening connection is open and nothing changed since (the
        notifications delivered meanwhile are taken first; one of them empties the cache). Unless ``blocking``,
        :class:`WouldBlock` when that needs more than a read of the socket (opening the connection, or waiting for
        another thread that is opening it)."""
        if self.engine.dialect.name != "postgresql":
            return False
        if not self._lock.acquire(blocking=blocking):
            raise WouldBlock
        try:
            if not self._listener.open:
                if not blocking:
                    raise WouldBlock
                self._forget(locked=True)
            if any(True for _ in self._listener.connection().notifies(timeout=0)):
                self._forget(locked=True)
            return True
        except (psycopg.Error, SQLAlchemyError, OSError) as exc:
            log.warning("listening for client changes failed; reading every row", extra={"error": str(exc)})
            self._forget(locked=True)
            self.close()
            return False
        finally:
            self._lock.release()

    def _forget(self, locked: bool = False) -> None:
        """Empty the cached client rows and revoked set (``locked``: the caller holds the lock)."""
        if not locked:
            with self._lock:
                return self._forget(locked=True)
        self._cache.clear()
        self._revoked = None
        self._generation += 1

    def close(self) -> None:
        """Close the listening connection (the cache is not used until it is open again)."""
        self._listener.close()


class _Row:
    """Attribute access over a dict (a row just inserted)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.__dict__.update(data)
