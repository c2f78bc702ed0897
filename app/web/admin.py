"""County admins manage API keys and users on pages.

/admin/api-keys                      the keys (active first), with a revoke button
POST /admin/api-keys/{id}/revoke     revoke: the key authenticates nothing more, its webhooks stop
/admin/users                         the users with role, township and department (部门)
POST /admin/users/{id}               set a user's role, township or 县直部门 (audited)
"""

from fastapi import APIRouter, Request

from app.accounts import service as accounts
from app.accounts.labels import ROLE_NAMES
from app.accounts.models import ROLES
from app.deps import PageForm, PagePrincipal, SessionDep
from app.errors import Forbidden
from app.reference import townships
from app.support.labels import DEPARTMENTS
from app.web.forms import attempt
from app.web.render import redirect, render

router = APIRouter(include_in_schema=False)


def _admin(principal) -> None:
    if not principal.is_admin:
        raise Forbidden("只有县级管理员可以管理 API 密钥和用户")


@router.get("/admin/api-keys")
def api_keys(request: Request, session: SessionDep, principal: PagePrincipal):
    _admin(principal)
    return render(
        request, "admin/api_keys.html", {"keys": accounts.list_api_keys(session), "section": "admin"}
    )


@router.post("/admin/api-keys/{key_id:int}/revoke")
def revoke(key_id: int, request: Request, session: SessionDep, principal: PagePrincipal):
    _admin(principal)
    accounts.revoke_api_key(session, actor=principal, key_id=key_id)
    return redirect(request, "/admin/api-keys")


def _users_page(request, session, principal, *, errors=None, status_code=200, done=False):
    return render(
        request,
        "admin/users.html",
        {
            "users": accounts.list_users(session, actor=principal),
            "section": "admin",
            "ROLES": ROLES,
            "ROLE_NAMES": ROLE_NAMES,
            "towns": townships(),
            "departments": DEPARTMENTS,
            "errors": errors or [],
            "done": done,
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users(request: Request, session: SessionDep, principal: PagePrincipal, done: str | None = None):
    _admin(principal)
    return _users_page(request, session, principal, done=bool(done))


@router.post("/admin/users/{user_id:int}")
def update_user(
    user_id: int, request: Request, session: SessionDep, principal: PagePrincipal, form: PageForm
):
    _admin(principal)
    done = attempt(
        session,
        lambda: accounts.update_user(
            session,
            actor=principal,
            user_id=user_id,
            role=str(form.get("role") or ""),
            township=str(form.get("township") or "") or None,
            department=str(form.get("department") or "") or None,
        ),
    )
    if done.error:
        return _users_page(request, session, principal, errors=done.messages(), status_code=422)
    return redirect(request, "/admin/users?done=1")
