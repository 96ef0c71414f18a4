"""Sign-in by password: back-off then lock after failures in a row, every attempt in the sign-in log (the
``web_signin_attempt`` table and the ``thidua.web.signin`` logger).

Failures are counted per username as typed, whether an account exists or not, so the answers do not tell which
usernames exist. After ``backoff_after`` failures in a row each try must wait ``backoff_seconds``, doubling; after
``lock_after`` failures the name is locked for ``lock_minutes`` (``thidua users unlock`` or a password reset ends
it at once). A success, an unlock or a reset starts the count again.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from services.kernel.store import utcnow

from .passwords import needs_rehash, verify_password
from .tables import web_signin_attempt
from .users import User, UserStore, normalize_username

log = logging.getLogger("thidua.web.signin")

SUCCESS, FAILED, THROTTLED, LOCKED, DISABLED, UNLOCKED = (
    "SUCCESS",
    "FAILED",
    "THROTTLED",
    "LOCKED",
    "DISABLED",
    "UNLOCKED",
)
COUNTED = (SUCCESS, FAILED, UNLOCKED)  # outcomes of a password check (or its reset); refusals before it are not


@dataclass(frozen=True)
class Policy:
    """Back-off and lock thresholds (from settings)."""

    backoff_after: int = 3
    backoff_seconds: float = 2.0
    lock_after: int = 5
    lock_minutes: float = 30.0


@dataclass(frozen=True)
class Outcome:
    """What a sign-in attempt came to: SUCCESS (with the account), FAILED, THROTTLED (retry after ``wait``
    seconds), LOCKED (until ``until``) or DISABLED; ``failures`` in a row so far; ``must_change`` a temporary
    password."""

    outcome: str
    user: User | None = None
    wait: int = 0
    until: datetime | None = None
    failures: int = 0


@dataclass(frozen=True)
class Client:
    """Where an attempt came from (for the log)."""

    ip: str | None = None
    user_agent: str | None = None


class SignIn:
    """Checks passwords under the back-off and lock policy and logs every attempt."""

    def __init__(self, engine: Engine, users: UserStore, policy: Policy) -> None:
        self.engine = engine
        self.users = users
        self.policy = policy

    def attempt(self, username: str, password: str, client: Client, now: datetime | None = None) -> Outcome:
        """Check ``password`` for ``username`` unless the name is throttled or locked; log the attempt."""
        now, name = now or utcnow(), normalize_username(username)[:100]
        failures, last = self._failures(name)
        refused = self._refusal(failures, last, now)
        if refused is not None:
            return self._record(name, refused, client, now)
        stored = self.users.password_hash(name)
        if not verify_password(stored, password):
            return self._record(name, Outcome(FAILED, failures=failures + 1), client, now)
        user = self.users.get(name)
        assert user is not None and stored is not None
        if not user.active:
            return self._record(name, Outcome(DISABLED, user), client, now)
        if needs_rehash(stored):
            self.users.set_password(name, password, temporary=user.must_change_password)
        return self._record(name, Outcome(SUCCESS, user), client, now)

    def unlock(self, username: str, client: Client | None = None, detail: str | None = None) -> None:
        """Start the failure count of ``username`` again (an operator's unlock, a password reset)."""
        self._record(normalize_username(username), Outcome(UNLOCKED), client or Client(), utcnow(), detail)

    def _refusal(self, failures: int, last: datetime | None, now: datetime) -> Outcome | None:
        p = self.policy
        if last is None or failures < p.backoff_after:
            return None
        if failures >= p.lock_after:
            until = last + timedelta(minutes=p.lock_minutes)
            return Outcome(LOCKED, until=until, failures=failures) if now < until else None
        ready = last + timedelta(seconds=p.backoff_seconds * 2 ** (failures - p.backoff_after))
        wait = math.ceil((ready - now).total_seconds())
        return Outcome(THROTTLED, wait=wait, failures=failures) if wait > 0 else None

    def _failures(self, name: str) -> tuple[int, datetime | None]:
        """Failed password checks in a row for ``name`` (up to the lock threshold) and when the last one was."""
        a = web_signin_attempt.c
        query = (
            select(a.outcome, a.at)
            .where(a.username == name, a.outcome.in_(COUNTED))
            .order_by(a.attempt_id.desc())
            .limit(self.policy.lock_after)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        count = next((i for i, r in enumerate(rows) if r.outcome != FAILED), len(rows))
        last = rows[0].at if count else None
        return count, (last if last is None or last.tzinfo else last.replace(tzinfo=UTC))

    def record(self, name: str, outcome: Outcome, client: Client, detail: str | None = None) -> Outcome:
        """Log an attempt decided elsewhere (a single sign-on)."""
        return self._record(name, outcome, client, utcnow(), detail)

    def _record(self, name: str, outcome: Outcome, client: Client, now: datetime, detail: str | None = None) -> Outcome:
        row = {
            "at": now,
            "username": name,
            "outcome": outcome.outcome,
            "client_ip": client.ip,
            "user_agent": (client.user_agent or "")[:300] or None,
            "detail": detail,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(web_signin_attempt).values(row))
        level = logging.INFO if outcome.outcome in (SUCCESS, UNLOCKED) else logging.WARNING
        log.log(
            level,
            "sign-in %s for %s",
            outcome.outcome,
            name,
            extra={"username": name, "outcome": outcome.outcome, "client_ip": client.ip, "failures": outcome.failures},
        )
        return outcome

    def recent(self, username: str | None = None, limit: int = 50) -> list[dict[str, object]]:
        """The sign-in log, newest first (optionally one username)."""
        a = web_signin_attempt.c
        query = select(web_signin_attempt).order_by(a.attempt_id.desc()).limit(limit)
        if username is not None:
            query = query.where(a.username == normalize_username(username))
        with self.engine.connect() as conn:
            return [r._asdict() for r in conn.execute(query)]
