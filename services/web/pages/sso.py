"""Sign-in through the province's identity provider (``services.web.accounts.sso``): /dang-nhap/sso/<name> sends
the browser there, /dang-nhap/sso/<name>/ve opens a session for the account linked to the identity it returns."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from services.web.accounts.signin import SUCCESS, Client, Outcome
from services.web.accounts.sso import IdentityProvider, account_for
from services.web.auth import accounts_of, client_ip, open_session, safe_next, set_cookie
from services.web.i18n import Translator, language

from .account import sign_in_form

router = APIRouter(include_in_schema=False)
STATE_COOKIE = "thidua_sso_state"


def _provider(request: Request, name: str) -> IdentityProvider:
    found = accounts_of(request).providers.get(name)
    if found is None:
        raise HTTPException(404)
    return found


@router.get("/dang-nhap/sso/{name}")
def sso_start(request: Request, name: str, next: str = "/") -> Response:  # noqa: A002
    """Send the browser to the identity provider, with a one-time state bound to this browser."""
    state = secrets.token_urlsafe(32)
    response = RedirectResponse(_provider(request, name).start(request, state), status_code=303)
    set_cookie(request, response, STATE_COOKIE, f"{state}|{safe_next(next)}", max_age=600, path="/dang-nhap/sso")
    return response


@router.get("/dang-nhap/sso/{name}/ve")
def sso_finish(request: Request, name: str) -> Response:
    """The provider's answer: check the state, get the identity, sign in the account linked to it."""
    provider, accounts = _provider(request, name), accounts_of(request)
    state, _, target = (request.cookies.get(STATE_COOKIE) or "").partition("|")
    sent = request.query_params.get("state", "")
    client = Client(client_ip(request), request.headers.get("user-agent"))
    try:
        if not state or not hmac.compare_digest(state, sent):
            raise ValueError("state does not match")
        identity = provider.finish(request, state)
    except ValueError:
        return _refused(request, "Đăng nhập một lần không thành công. Xin thử lại.", "SSO_FAILED")
    user = account_for(accounts.users, identity)
    if user is None:
        accounts.signin.record(identity.key[:100], Outcome("FAILED"), client, f"sso:{name} no linked account")
        return _refused(
            request,
            "Tài khoản dịch vụ công này chưa được gắn với tài khoản cán bộ nào. Liên hệ quản trị của đơn vị.",
            "SSO_NOT_LINKED",
        )
    accounts.signin.record(user.username, Outcome(SUCCESS, user), client, f"sso:{name}")
    response = RedirectResponse(safe_next(target), status_code=303)
    open_session(request, response, user)
    response.delete_cookie(STATE_COOKIE, path="/dang-nhap/sso")
    return response


def _refused(request: Request, text: str, code: str) -> Response:
    _ = Translator(language(request))
    return sign_in_form(request, "", "/", [{"field": None, "text": _(text), "code": code}], 401)
