"""Log-in and log-out pages."""

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.accounts import service as accounts
from app.config import get_settings
from app.deps import SESSION_COOKIE, PagePrincipal, SessionDep
from app.errors import TooManyRequests, Unauthorized
from app.web.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


LOGIN_CSRF_COOKIE = "yumiao_login_csrf"


def _login_form(request: Request, context: dict, status_code: int = 200):
    """The log-in form carries a CSRF token, the same value as a SameSite=Strict cookie set with it
    (double submit): another site cannot post a log-in (log-in CSRF) because it can neither read
    the cookie nor make the browser send it."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    resp = render(request, "auth/login.html", {**context, "login_csrf": token}, status_code=status_code)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=12 * 3600,
        httponly=True,
        samesite="strict",
        secure=get_settings().cookie_secure,
        path="/login",
    )
    return resp


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return _login_form(request, {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
):
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not csrf_token or not hmac.compare_digest(expected, csrf_token):
        return _login_form(
            request,
            {
                "error": "登录表单已过期或来源不明（CSRF 校验失败），请重新输入后登录",
                "username": username,
                "next": next,
            },
            status_code=403,
        )
    address = client_address(request)
    try:
        accounts.reserve_login_attempt(session, username=username, address=address)
    except TooManyRequests as e:
        resp = _login_form(request, {"error": e.detail, "username": username, "next": next}, status_code=429)
        resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    session.commit()  # the attempt counts at once, for every concurrent attempt in every process
    try:
        user = accounts.authenticate(session, username=username, password=password)
    except Unauthorized as e:
        return _login_form(request, {"error": e.detail, "username": username, "next": next}, status_code=401)
    token, _ = accounts.start_session(session, user)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    s = get_settings()
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=s.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=s.cookie_secure,
        path="/",
    )
    return resp


@router.post("/logout")
def logout(request: Request, session: SessionDep, principal: PagePrincipal):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(session, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
