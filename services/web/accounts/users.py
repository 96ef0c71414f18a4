"""User accounts: add, list, disable, enable, set or reset a password, link a single sign-on identity."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from services.api.security.scopes import ROLES
from services.kernel.errors import ThiduaError
from services.kernel.orgpaths import OrgPath
from services.kernel.store import utcnow

from .passwords import hash_password, policy_problem, temporary_password
from .tables import web_session, web_user

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ThiduaError):
    """An account operation refused: a stable code and a bilingual message."""

    def __init__(self, code: str, message_vi: str, message_en: str, **details: Any) -> None:
        self.code = code
        super().__init__(message_vi, message_en, **details)


@dataclass(frozen=True)
class User:
    """An account (never its password hash)."""

    username: str
    full_name: str
    email: str | None
    org_unit_path: str
    roles: tuple[str, ...]
    has_password: bool
    must_change_password: bool
    external_subject: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        """Not disabled."""
        return self.disabled_at is None


@dataclass(frozen=True)
class NewUser:
    """What an account is made of, checked by :func:`check_new_user`."""

    username: str
    full_name: str
    org_unit_path: str
    roles: tuple[str, ...]
    email: str | None = None


def user_of(row: Any) -> User:
    """A :class:`User` from a ``web_user`` row."""
    return User(
        row.username,
        row.full_name,
        row.email,
        row.org_unit_path,
        tuple(row.roles),
        row.password_hash is not None,
        bool(row.must_change_password),
        row.external_subject,
        row.created_at,
        row.disabled_at,
    )


def normalize_username(username: str) -> str:
    """Lower-case NFC without surrounding blanks (how usernames are stored and looked up)."""
    return unicodedata.normalize("NFC", username).strip().lower()


def parse_roles(text: str | Iterable[str]) -> tuple[str, ...]:
    """Roles from ``"submitter, reviewer"`` (commas, semicolons or blanks) or a list; UNKNOWN_ROLE otherwise."""
    items = [part for item in ([text] if isinstance(text, str) else text) for part in re.split(r"[,;\s]+", item)]
    roles = tuple(sorted({r.strip().lower() for r in items if r.strip()}))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        known = ", ".join(sorted(ROLES))
        raise AccountError(
            "UNKNOWN_ROLE",
            f"Vai trò không hợp lệ: {', '.join(unknown) or '(trống)'}; các vai trò: {known}.",
            f"Unknown roles: {', '.join(unknown) or '(none)'}; known: {known}.",
            unknown=unknown,
        )
    return roles


def checked_username(username: str) -> str:
    """The username normalised, or INVALID_USERNAME."""
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise AccountError(
            "INVALID_USERNAME",
            f"Tên đăng nhập '{username}' không hợp lệ: 3–64 ký tự a–z, 0–9, dấu chấm, gạch dưới, gạch ngang.",
            f"Invalid username '{username}': 3–64 characters a–z, 0–9, dot, underscore, hyphen.",
        )
    return name


def checked_full_name(full_name: str) -> str:
    """The full name in NFC, or MISSING_FULL_NAME."""
    name = unicodedata.normalize("NFC", full_name).strip()
    if not name:
        raise AccountError("MISSING_FULL_NAME", "Thiếu họ và tên.", "The full name is missing.")
    return name


def checked_email(email: str | None) -> str | None:
    """The email address (None when blank), or INVALID_EMAIL."""
    found = (email or "").strip() or None
    if found is not None and not EMAIL.match(found):
        raise AccountError("INVALID_EMAIL", f"Thư điện tử '{found}' không hợp lệ.", f"Invalid email '{found}'.")
    return found


def check_new_user(new: NewUser) -> NewUser:
    """The account normalised (username, NFC names, path), or AccountError / InvalidOrgPath."""
    path = OrgPath.parse(new.org_unit_path.strip()).value
    return NewUser(
        checked_username(new.username),
        checked_full_name(new.full_name),
        path,
        parse_roles(new.roles),
        checked_email(new.email),
    )


class UserStore:
    """Accounts of one node."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, new: NewUser, password: str | None = None) -> tuple[User, str]:
        """Create an account; without ``password`` a temporary one is made. Returns the account and the password
        to hand over (shown once): a temporary password must be changed at the first sign-in."""
        users, passwords = self.add_many([new], [password])
        return users[0], passwords[0]

    def add_many(
        self, new: Sequence[NewUser], passwords: Sequence[str | None] | None = None
    ) -> tuple[list[User], list[str]]:
        """Create every account in one transaction (all or none); USER_EXISTS if any username is taken."""
        checked = [check_new_user(n) for n in new]
        given = list(passwords) if passwords is not None else [None] * len(checked)
        handed = [p or temporary_password() for p in given]
        for user, password in zip(checked, given, strict=True):
            if password is not None and (problem := policy_problem(password, user.username)):
                raise AccountError("WEAK_PASSWORD", *problem)
        now = utcnow()
        rows = [_row(u, p, must_change=g is None, now=now) for u, p, g in zip(checked, handed, given, strict=True)]
        with self.engine.begin() as conn:
            taken = self._existing(conn, [u.username for u in checked])
            if taken:
                raise AccountError(
                    "USER_EXISTS",
                    f"Tên đăng nhập đã có: {', '.join(taken)}.",
                    f"Usernames already taken: {', '.join(taken)}.",
                    usernames=taken,
                )
            if rows:
                conn.execute(insert(web_user), rows)
        return [self._require(u.username) for u in checked], handed

    def existing(self, usernames: Iterable[str]) -> list[str]:
        """Which of ``usernames`` already have an account."""
        with self.engine.connect() as conn:
            return self._existing(conn, list(usernames))

    @staticmethod
    def _existing(conn: Connection, usernames: list[str]) -> list[str]:
        query = select(web_user.c.username).where(web_user.c.username.in_(usernames))
        return sorted(r.username for r in conn.execute(query))

    def get(self, username: str) -> User | None:
        """The account, disabled or not."""
        with self.engine.connect() as conn:
            row = conn.execute(select(web_user).where(web_user.c.username == normalize_username(username))).first()
        return user_of(row) if row else None

    def password_hash(self, username: str) -> str | None:
        """The stored hash (None: unknown user or no password)."""
        with self.engine.connect() as conn:
            query = select(web_user.c.password_hash).where(web_user.c.username == normalize_username(username))
            return conn.execute(query).scalar()

    def by_subject(self, subject: str) -> User | None:
        """The account linked to a single sign-on identity (``issuer|sub``)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(web_user).where(web_user.c.external_subject == subject)).first()
        return user_of(row) if row else None

    def list(self) -> list[User]:
        """Every account, by username."""
        with self.engine.connect() as conn:
            return [user_of(r) for r in conn.execute(select(web_user).order_by(web_user.c.username))]

    def disable(self, username: str) -> bool:
        """Disable an account and end its sessions at once; False if unknown or already disabled."""
        return self._set(username, {"disabled_at": utcnow()}, web_user.c.disabled_at.is_(None), end="DISABLED")

    def enable(self, username: str) -> bool:
        """Enable a disabled account; False if unknown or not disabled."""
        return self._set(username, {"disabled_at": None}, web_user.c.disabled_at.is_not(None))

    def set_password(self, username: str, password: str, temporary: bool = False) -> None:
        """Replace the password (policy-checked) and end the account's sessions; UNKNOWN_USER if none."""
        if (problem := policy_problem(password, normalize_username(username))) is not None:
            raise AccountError("WEAK_PASSWORD", *problem)
        values = {
            "password_hash": hash_password(password),
            "must_change_password": temporary,
            "password_changed_at": utcnow(),
        }
        if not self._set(username, values, end="PASSWORD_CHANGED"):
            raise unknown_user(username)

    def reset_password(self, username: str) -> str:
        """A new temporary password (to change at the next sign-in); the account's sessions end."""
        password = temporary_password()
        self.set_password(username, password, temporary=True)
        return password

    def link_subject(self, username: str, subject: str | None) -> bool:
        """Link (or unlink, with None) a single sign-on identity to the account."""
        return self._set(username, {"external_subject": subject})

    def _set(self, username: str, values: dict[str, Any], *where: Any, end: str | None = None) -> bool:
        name = normalize_username(username)
        with self.engine.begin() as conn:
            done = conn.execute(update(web_user).where(web_user.c.username == name, *where).values(**values))
            if done.rowcount == 1 and end is not None:
                end_sessions(conn, name, end)
        return done.rowcount == 1

    def _require(self, username: str) -> User:
        found = self.get(username)
        if found is None:
            raise unknown_user(username)
        return found


def end_sessions(conn: Connection, username: str, reason: str) -> None:
    """End every open session of ``username``."""
    s = web_session.c
    query = update(web_session).where(s.username == username, s.ended_at.is_(None))
    conn.execute(query.values(ended_at=utcnow(), end_reason=reason))


def unknown_user(username: str) -> AccountError:
    """UNKNOWN_USER."""
    return AccountError(
        "UNKNOWN_USER", f"Không có tài khoản '{username}'.", f"No account '{username}'.", username=username
    )


def _row(user: NewUser, password: str, must_change: bool, now: datetime) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "org_unit_path": user.org_unit_path,
        "roles": list(user.roles),
        "password_hash": hash_password(password),
        "must_change_password": must_change,
        "external_subject": None,
        "created_at": now,
        "password_changed_at": now,
        "disabled_at": None,
    }
