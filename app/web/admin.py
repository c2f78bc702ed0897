"""County admins manage API keys on a page: see every key and its scopes, revoke one.

    /admin/api-keys                      the keys (active first), with a revoke button
    POST /admin/api-keys/{id}/revoke     revoke: the key authenticates nothing more, its webhooks stop
"""

from fastapi import APIRouter, Request

from app.accounts import service as accounts
from app.deps import PagePrincipal, SessionDep
from app.errors import Forbidden
from app.web.render import redirect, render

router = APIRouter(include_in_schema=False)


def _admin(principal) -> None:
    if not principal.is_admin:
        raise Forbidden("只有县级管理员可以管理 API 密钥")


@router.get("/admin/api-keys")
def api_keys(request: Request, session: SessionDep, principal: PagePrincipal):
    _admin(principal)
    return render(request, "admin/api_keys.html", {"keys": accounts.list_api_keys(session), "section": "admin"})


@router.post("/admin/api-keys/{key_id:int}/revoke")
def revoke(key_id: int, request: Request, session: SessionDep, principal: PagePrincipal):
    _admin(principal)
    accounts.revoke_api_key(session, actor=principal, key_id=key_id)
    return redirect(request, "/admin/api-keys")
