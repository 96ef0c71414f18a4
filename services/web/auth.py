"""Who is at the browser: the session cookie resolved to a person, seen by the access rules as a
:class:`~services.api.security.scopes.Principal` (kind USER) with the account's org unit and roles, exactly like a
token's caller. Anti-forgery (CSRF) tokens for every unsafe request.

Cookies: ``thidua_session`` (the session token; HttpOnly, SameSite=Lax, Secure over https or when set), and before
sign-in ``thidua_csrf`` (the sign-in form's token, double-submitted). The session's own CSRF token is kept in its
row and put in every form (``csrf_token``) and in the ``X-CSRF-Token`` header of htmx requests.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from services.api.security.ratelimit import RateLimiter
from services.api.security.scopes import Principal
from services.kernel.errors import DomainRefusal, Kind
from services.kernel.orgpaths import OrgPath
from services.kernel.settings import ApiSettings

from .accounts.sessions import Ended, Session, SessionStore
from .accounts.signin import Policy, SignIn
from .accounts.sso import IdentityProvider
from .accounts.users import User, UserStore

SESSION_COOKIE = "thidua_session"
PRESESSION_CSRF_COOKIE = "thidua_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = ("/dang-nhap", "/static/", "/ngon-ngu", "/favicon.ico")  # reachable without a session
PASSWORD_PATHS = ("/doi-mat-khau", "/dang-xuat")  # reachable with a temporary password


class SignInRequired(Exception):
    """No open session: the browser goes to the sign-in page (``reason``: why the last one ended, if it did)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "no session")
        self.reason = reason


class PasswordChangeRequired(Exception):
    """The account has a temporary password: change it before anything else."""


@dataclass(frozen=True)
class Person:
    """A signed-in person: the account, the session and the principal the access rules see."""

    user: User
    session: Session
    principal: Principal
    token: str


@dataclass
class Accounts:
    """The web app's account services (built once per app)."""

    settings: ApiSettings
    users: UserStore
    sessions: SessionStore
    signin: SignIn
    limiter: RateLimiter
    providers: dict[str, IdentityProvider] = field(default_factory=dict)  # single sign-on (accounts/sso.py)

    @classmethod
    def for_settings(cls, settings: ApiSettings, engine: object) -> Accounts:
        """Wire accounts, sessions and the sign-in policy from settings."""
        users = UserStore(engine)  # type: ignore[arg-type]
        idle = timedelta(minutes=settings.web_session_idle_minutes)
        absolute = timedelta(hours=settings.web_session_absolute_hours)
        policy = Policy(
            settings.web_signin_backoff_after,
            settings.web_signin_backoff_seconds,
            settings.web_signin_lock_after,
            settings.web_signin_lock_minutes,
        )
        return cls(
            settings,
            users,
            SessionStore(engine, idle, absolute),  # type: ignore[arg-type]
            SignIn(engine, users, policy),  # type: ignore[arg-type]
            RateLimiter(settings.web_signin_per_minute, 10),
        )

    def principal(self, user: User) -> Principal:
        """How the access rules see ``user``: a caller of its org unit with its roles, on this node."""
        return Principal(
            user.username,
            OrgPath(user.org_unit_path),
            frozenset(user.roles),
            self.settings.node_id,
            user.full_name,
            kind="USER",
        )


def accounts_of(request: Request) -> Accounts:
    """The app's account services."""
    return request.app.state.accounts  # type: ignore[no-any-return]


def client_ip(request: Request) -> str | None:
    """The client's address as uvicorn saw it (X-Forwarded-For is honoured only from trusted proxies)."""
    return request.client.host if request.client else None


def secure_cookies(request: Request) -> bool:
    """Whether cookies get the Secure flag: the setting, else whether the request came over https."""
    setting = accounts_of(request).settings.web_cookie_secure
    return request.url.scheme == "https" if setting is None else setting


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None, path: str = "/"
) -> None:
    """An HttpOnly, SameSite=Lax cookie (Secure behind TLS)."""
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=secure_cookies(request)
    )


def open_session(request: Request, response: Response, user: User) -> None:
    """Sign ``user`` in: a new session (never one the browser brought: no fixation), its cookie; a session the
    browser still held ends."""
    accounts = accounts_of(request)
    if (earlier := request.cookies.get(SESSION_COOKIE)) is not None:
        accounts.sessions.end(earlier, "SIGNED_OUT")
    token = accounts.sessions.open(user.username, client_ip(request), request.headers.get("user-agent"))
    max_age = int(accounts.sessions.absolute.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, token, max_age=max_age)
    response.delete_cookie(PRESESSION_CSRF_COOKIE, path="/dang-nhap")


def current_person(request: Request) -> Person | None:
    """The signed-in person of this request, or None (remembers why an old session ended)."""
    if hasattr(request.state, "person"):  # resolved once per request
        return request.state.person  # type: ignore[no-any-return]
    person, token = None, request.cookies.get(SESSION_COOKIE)
    request.state.ended = None
    if token:
        accounts = accounts_of(request)
        found = accounts.sessions.resolve(token)
        if isinstance(found, Ended):
            request.state.ended = found.reason
        else:
            person = Person(found.user, found, accounts.principal(found.user), token)
    request.state.person = person
    return person


def require_person(request: Request) -> Person:
    """The signed-in person (SignInRequired otherwise; PasswordChangeRequired with a temporary password)."""
    person = current_person(request)
    if person is None:
        raise SignInRequired(request.state.ended)
    if person.user.must_change_password and not request.url.path.startswith(PASSWORD_PATHS):
        raise PasswordChangeRequired()
    return person


Signed = Annotated[Person, Depends(require_person)]


def sign_in_url(request: Request, reason: str | None = None) -> str:
    """The sign-in page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/dang-nhap" + ("" if target in ("/", "/dang-nhap") else f"?next={quote(target, safe='')}")
    return url + (("&" if "?" in url else "?") + f"het-han={reason}" if reason in ("IDLE", "EXPIRED") else "")


def safe_next(target: str | None) -> str:
    """``target`` if it is a path of this site (no open redirect), else ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def presession_csrf(request: Request) -> str:
    """The sign-in form's token: the browser's ``thidua_csrf`` cookie, or a new one (set by the page)."""
    return request.cookies.get(PRESESSION_CSRF_COOKIE) or secrets.token_urlsafe(32)


def csrf_refused(detail_vi: str, detail_en: str) -> DomainRefusal:
    """403 CSRF_FAILED."""
    return DomainRefusal(
        "CSRF_FAILED",
        Kind.FORBIDDEN,
        f"Yêu cầu bị từ chối vì không có mã chống giả mạo hợp lệ ({detail_vi}). Hãy tải lại trang rồi gửi lại.",
        f"Refused: no valid anti-forgery token ({detail_en}). Reload the page and send again.",
        rule="CSRF",
    )


async def csrf_protect(request: Request) -> None:
    """Every unsafe request carries the anti-forgery token of its session (or, signing in, of its form), and
    comes from this site when the browser says where it comes from (Origin)."""
    if request.method in SAFE_METHODS:
        return
    if request.url.path == "/dang-xuat" and current_person(request) is None:
        return  # nothing to sign out of: the page just goes to sign-in
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise csrf_refused("gửi từ trang khác", "sent from another site")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    expected = _expected_csrf(request)
    if not isinstance(sent, str) or not sent or expected is None or not hmac.compare_digest(sent, expected):
        raise csrf_refused("thiếu hoặc sai mã", "missing or wrong token")


def _expected_csrf(request: Request) -> str | None:
    if request.url.path == "/dang-nhap":
        return request.cookies.get(PRESESSION_CSRF_COOKIE)
    person = current_person(request)
    return person.session.csrf_token if person else None
