"""The landing page: a township sees its own dashboard, the county sees the county's, a county department its
服务直通车 problems."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from app.deps import PagePrincipal

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, principal: PagePrincipal):
    if principal.department is not None:
        return RedirectResponse("/support", status_code=303)
    return RedirectResponse("/dashboard", status_code=303)
