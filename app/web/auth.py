"""Log-in and log-out pages."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.accounts import service as accounts
from app.api.deps import SESSION_COOKIE, SessionDep
from app.config import get_settings
from app.errors import TooManyRequests, Unauthorized
from app.web.deps import PagePrincipal
from app.web.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return render(request, "auth/login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
):
    address = client_address(request)
    try:
        user = accounts.authenticate(session, username=username, password=password, address=address)
    except TooManyRequests as e:
        resp = render(request, "auth/login.html", {"error": e.detail, "username": username, "next": next}, status_code=429)
        resp.headers["Retry-After"] = str(e.retry_after)
        return resp
    except Unauthorized as e:
        accounts.record_failed_login(session, username=username, address=address)
        return render(request, "auth/login.html", {"error": e.detail, "username": username, "next": next}, status_code=401)
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
