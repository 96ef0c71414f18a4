"""Sessions of signed-in people: a random token in an HttpOnly cookie, only its SHA-256 stored; idle and absolute
expiry; an anti-forgery (CSRF) token per session."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from services.kernel.store import utcnow

from .tables import web_session, web_user
from .users import User, user_of

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (not on every request)


@dataclass(frozen=True)
class Session:
    """An open session and its account."""

    token_hash: str
    user: User
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Ended:
    """Why a session cookie no longer signs anyone in: IDLE, EXPIRED, SIGNED_OUT, DISABLED, PASSWORD_CHANGED,
    UNKNOWN."""

    reason: str


def token_hash(token: str) -> str:
    """What is stored of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SessionStore:
    """Opens, resolves and ends sessions."""

    def __init__(self, engine: Engine, idle: timedelta, absolute: timedelta) -> None:
        self.engine = engine
        self.idle = idle
        self.absolute = absolute

    def open(self, username: str, client_ip: str | None, user_agent: str | None) -> str:
        """A new session for ``username``; returns the token to set in the cookie (shown to no one else)."""
        token, now = secrets.token_urlsafe(32), utcnow()
        row = {
            "token_hash": token_hash(token),
            "username": username,
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + self.absolute,
            "ended_at": None,
            "end_reason": None,
            "client_ip": client_ip,
            "user_agent": (user_agent or "")[:300] or None,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(web_session).values(row))
        return token

    def resolve(self, token: str, now: datetime | None = None) -> Session | Ended:
        """The open session of ``token``, or why it ended (ending it now if it has just expired)."""
        now = now or utcnow()
        key = token_hash(token)
        s = web_session.c
        columns = (
            s.csrf_token,
            s.created_at.label("session_created_at"),
            s.last_seen_at,
            s.expires_at,
            s.ended_at,
            s.end_reason,
        )
        query = select(web_user, *columns).join(web_session, web_user.c.username == s.username)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(web_session.c.token_hash == key)).first()
        if row is None:
            return Ended("UNKNOWN")
        if row.ended_at is not None:
            return Ended(row.end_reason or "SIGNED_OUT")
        ended = self._expired(row, now)
        if ended is not None:
            self.end(token, ended)
            return Ended(ended)
        if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(web_session).where(web_session.c.token_hash == key).values(last_seen_at=now))
        return Session(key, user_of(row), row.csrf_token, _aware(row.session_created_at), _aware(row.expires_at))

    def _expired(self, row: Any, now: datetime) -> str | None:
        if row.disabled_at is not None:
            return "DISABLED"
        if now >= _aware(row.expires_at):
            return "EXPIRED"
        if now - _aware(row.last_seen_at) >= self.idle:
            return "IDLE"
        return None

    def end(self, token: str, reason: str) -> None:
        """End the session of ``token`` (sign-out or expiry)."""
        s = web_session.c
        with self.engine.begin() as conn:
            query = update(web_session).where(s.token_hash == token_hash(token), s.ended_at.is_(None))
            conn.execute(query.values(ended_at=utcnow(), end_reason=reason))
