"""The seam for the province's single sign-on (OpenID Connect), docs/ui.md § Single sign-on.

An :class:`IdentityProvider` does the browser round trip (authorization code flow with PKCE, state and nonce) and
returns who signed in, as an :class:`Identity` checked by the provider (ID token signature from its JWKS, ``iss``,
``aud``, ``exp``, ``nonce``). The node then decides everything else from its own account (:func:`account_for`):
single sign-on proves *who* someone is, never *what* they may do — the org unit and roles stay on the account,
managed with ``thidua users``; an identity without an active account linked to it is refused.

To add a provider: implement the two methods, register it in ``Accounts.providers`` under a short name (the
routes are ``/dang-nhap/sso/<name>`` and ``/dang-nhap/sso/<name>/ve``), and link accounts to identities
(``UserStore.link_subject(username, "<issuer>|<sub>")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from .users import User, UserStore


@dataclass(frozen=True)
class Identity:
    """Who the identity provider says signed in."""

    issuer: str
    subject: str
    name: str | None = None
    email: str | None = None

    @property
    def key(self) -> str:
        """How an account records the identity linked to it: ``<issuer>|<sub>``."""
        return f"{self.issuer}|{self.subject}"


class IdentityProvider(Protocol):
    """A single sign-on provider (the province's OIDC service)."""

    title: str  # shown on the sign-in page: "Đăng nhập bằng tài khoản dịch vụ công tỉnh …"

    def start(self, request: Request, state: str) -> str:
        """The URL to send the browser to (the authorization request carrying ``state``)."""
        ...

    def finish(self, request: Request, state: str) -> Identity:
        """The identity of the person coming back (raises ValueError when the answer does not check out)."""
        ...


def account_for(users: UserStore, identity: Identity) -> User | None:
    """The active account linked to ``identity``, or None (no account is created, no role is granted here)."""
    user = users.by_subject(identity.key)
    return user if user is not None and user.active else None
