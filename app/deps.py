"""Dependencies declared once, for the API and the pages alike: the session, who is calling, what they
may do, the enterprise in the path. The list filters are app.filters."""

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.accounts import service as accounts
from app.accounts.permissions import Principal
from app.db import get_session
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.errors import Forbidden, LoginRequired, Unauthorized

# scope="function": the request's transaction commits before the response is sent, so a client that
# got a 2xx can read its write at once, and a failed commit is an error, never a false success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# A row id in a path: a positive 32-bit integer, as the tables store it (a larger number is a 422
# that says so, never a database error).
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]

SESSION_COOKIE = "yumiao_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _principal(request: Request, session: Session) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = accounts.principal_for_api_key(session, auth[7:].strip())
        if principal is None:
            raise Unauthorized("API 密钥无效或已吊销")
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            principal = accounts.principal_for_session_token(session, token)
            if principal is not None and request.method not in SAFE_METHODS:
                sent = request.headers.get("x-csrf-token") or getattr(request.state, "form_csrf", None)
                if not sent or sent != principal.csrf_token:
                    raise Forbidden("CSRF 校验失败：请刷新页面后重试")
    request.state.principal = principal
    return principal


async def read_form_csrf(request: Request) -> None:
    """A plain HTML form sends its CSRF token as a field; htmx sends it as the X-CSRF-Token header."""
    if request.method not in SAFE_METHODS and "x-csrf-token" not in request.headers:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it for the route's own Form() parameters
            request.state.form_csrf = form.get("csrf_token")


FormCsrf = Depends(read_form_csrf)


async def get_principal(request: Request, session: SessionDep, _csrf: None = FormCsrf) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = _known_key(request, session)
    if principal is None:
        principal = await anyio.to_thread.run_sync(_principal, request, session)
    if principal is None:
        raise Unauthorized()
    return principal


def _known_key(request: Request, session: Session) -> Principal | None:
    """An API key this process has seen valid: no thread, no query now; the request's transaction checks
    it is still valid before its first statement (revoked elsewhere: 401)."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    principal = accounts.known_api_key(auth[7:].strip())
    if principal is not None:
        accounts.check_api_key_in(session, principal)
        request.state.principal = principal
    return principal


def get_optional_principal(request: Request, session: SessionDep, _csrf: None = FormCsrf) -> Principal | None:
    try:
        return _principal(request, session)
    except Unauthorized:
        return None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


_scoped_cache: dict[str, object] = {}


def scoped(scope: str):
    """`principal: Annotated[Principal, scoped("enterprises:write")]`: checked before the body is parsed,
    so a key without the scope gets 403, not a validation error."""
    if scope not in _scoped_cache:

        async def dep(principal: CurrentPrincipal) -> Principal:  # no I/O: no trip to the thread pool
            principal.require(scope)
            return principal

        _scoped_cache[scope] = Depends(dep)
    return _scoped_cache[scope]


def get_enterprise_or_404(enterprise_id: int, session: SessionDep, principal: CurrentPrincipal) -> Enterprise:
    """The enterprise in the path, resolved before the body is parsed: another township's is a 404."""
    return enterprise_service.get(session, actor=principal, enterprise_id=enterprise_id, with_details=False)


CurrentEnterprise = Annotated[Enterprise, Depends(get_enterprise_or_404)]


# --- pages ---------------------------------------------------------------------------------


def page_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    if principal is None or principal.kind != "user":
        raise LoginRequired()
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


async def page_form(request: Request) -> FormData:
    """The posted form, read on the event loop before the handler runs, so a page handler that
    writes can be a plain `def` and run on a worker thread: its database work (row locks included)
    never stops the event loop."""
    return await request.form()


PageForm = Annotated[FormData, Depends(page_form)]
