"""Sign in (đăng nhập), sign out, change a password, switch the language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from services.web.accounts.passwords import policy_problem
from services.web.accounts.signin import DISABLED, FAILED, LOCKED, SUCCESS, THROTTLED, Client, Outcome
from services.web.auth import (
    SESSION_COOKIE,
    Signed,
    accounts_of,
    client_ip,
    current_person,
    open_session,
    safe_next,
    set_cookie,
)
from services.web.formats import moment
from services.web.i18n import LANG_COOKIE, LANGS, Translator, language
from services.web.rendering import flash

from . import render

router = APIRouter(include_in_schema=False)
EXPIRED = {
    "IDLE": "Phiên làm việc đã hết hạn do lâu không thao tác. Xin đăng nhập lại.",
    "EXPIRED": "Phiên làm việc đã hết thời hạn. Xin đăng nhập lại.",
}
Text = Annotated[str, Form()]
Expiry = Annotated[str | None, Query(alias="het-han", description="Why the last session ended: IDLE, EXPIRED")]


def _error(field: str | None, text: str, code: str | None = None) -> dict[str, str | None]:
    return {"field": field, "text": text, "code": code}


@router.get("/dang-nhap")
def sign_in_page(request: Request, next: str = "/", het_han: Expiry = None) -> Response:  # noqa: A002
    """The sign-in form (already signed in: straight on)."""
    if current_person(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = EXPIRED.get(het_han or "")
    return sign_in_form(request, "", safe_next(next), [], 200, notice)


@router.post("/dang-nhap")
def sign_in(request: Request, username: Text = "", password: Text = "", next: Text = "/") -> Response:  # noqa: A002
    """Check the password under the back-off and lock policy; open a session on success."""
    _ = Translator(language(request))
    target, accounts = safe_next(next), accounts_of(request)
    errors = []
    if not username.strip():
        errors.append(_error("username", _("Nhập tên đăng nhập")))
    if not password:
        errors.append(_error("password", _("Nhập mật khẩu")))
    if errors:
        return sign_in_form(request, username, target, errors, 400)
    wait = accounts.limiter.take(client_ip(request) or "-")
    if wait > 0:
        text = _("Có quá nhiều lần đăng nhập từ địa chỉ này. Xin thử lại sau {n} giây.", n=int(wait) + 1)
        return sign_in_form(request, username, target, [_error(None, text, "RATE_LIMITED")], 429)
    client = Client(client_ip(request), request.headers.get("user-agent"))
    outcome = accounts.signin.attempt(username, password, client)
    if outcome.outcome != SUCCESS or outcome.user is None:
        return _refused(request, username, target, outcome)
    response = RedirectResponse("/doi-mat-khau" if outcome.user.must_change_password else target, status_code=303)
    open_session(request, response, outcome.user)
    return response


def _refused(request: Request, username: str, target: str, outcome: Outcome) -> Response:
    _ = Translator(language(request))
    policy = accounts_of(request).signin.policy
    if outcome.outcome == THROTTLED:
        text = _("Đã nhập sai nhiều lần. Xin chờ {n} giây rồi thử lại.", n=outcome.wait)
        return sign_in_form(request, username, target, [_error(None, text, THROTTLED)], 429)
    if outcome.outcome == LOCKED:
        text = _(
            "Tài khoản tạm khóa đến {t} vì nhập sai mật khẩu {n} lần liên tiếp. Liên hệ quản trị để mở khóa sớm hơn.",
            t=moment(outcome.until),
            n=policy.lock_after,
        )
        return sign_in_form(request, username, target, [_error(None, text, LOCKED)], 423)
    if outcome.outcome == DISABLED:
        text = _("Tài khoản đã bị vô hiệu hóa. Liên hệ quản trị của đơn vị.")
        return sign_in_form(request, username, target, [_error(None, text, DISABLED)], 403)
    text = _("Tên đăng nhập hoặc mật khẩu không đúng.")
    left = policy.lock_after - outcome.failures
    if outcome.outcome == FAILED and 0 < left < policy.lock_after - 1:
        text += " " + _("Còn {n} lần thử trước khi tài khoản bị tạm khóa.", n=left)
    return sign_in_form(request, username, target, [_error("password", text, FAILED)], 401)


def sign_in_form(
    request: Request,
    username: str,
    target: str,
    errors: list[dict[str, str | None]],
    status: int,
    notice: str | None = None,
) -> Response:
    providers = sorted(accounts_of(request).providers.items())
    context = {"next": target, "username": username, "errors": errors, "notice": notice, "providers": providers}
    return render(request, "signin.html", context, status)


@router.post("/dang-xuat")
def sign_out(request: Request) -> Response:
    """End the session (the cookie is dropped too)."""
    person = current_person(request)
    response = RedirectResponse("/dang-nhap", status_code=303)
    if person is not None:
        accounts_of(request).sessions.end(person.token, "SIGNED_OUT")
        flash(response, "signed_out")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/doi-mat-khau")
def password_page(request: Request, person: Signed) -> Response:
    """Change the password (required after a temporary one)."""
    return render(request, "password.html", {"errors": [], "forced": person.user.must_change_password})


@router.post("/doi-mat-khau")
def change_password(
    request: Request, person: Signed, current: Text = "", new: Text = "", confirm: Text = ""
) -> Response:
    """Check the current password (as a sign-in: same back-off and lock), the policy and the confirmation."""
    _ = Translator(language(request))
    accounts, name = accounts_of(request), person.user.username
    errors = []
    if new != confirm:
        errors.append(_error("confirm", _("Mật khẩu nhập lại không khớp.")))
    if (problem := policy_problem(new, name)) is not None:
        errors.insert(0, _error("new", _(problem[0])))
    if not errors:
        client = Client(client_ip(request), request.headers.get("user-agent"))
        outcome = accounts.signin.attempt(name, current, client)
        if outcome.outcome != SUCCESS:
            errors.append(_error("current", _("Mật khẩu hiện tại không đúng."), outcome.outcome))
    if errors:
        context = {"errors": errors, "forced": person.user.must_change_password}
        return render(request, "password.html", context, 400)
    accounts.users.set_password(name, new)  # ends every session of the account, this one too
    user = accounts.users.get(name)
    assert user is not None
    response = RedirectResponse("/", status_code=303)
    open_session(request, response, user)
    return flash(response, "password_changed")


@router.get("/ngon-ngu")
def switch_language(request: Request, lang: str = "vi", next: str = "/") -> Response:  # noqa: A002
    """Vietnamese or English for this browser (a cookie)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(request, response, LANG_COOKIE, lang if lang in LANGS else "vi", max_age=365 * 24 * 3600)
    return response
