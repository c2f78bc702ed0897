"""The landing page: a township sees its own dashboard, the county sees the county's."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from app.deps import PagePrincipal

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, principal: PagePrincipal):
    return RedirectResponse("/dashboard", status_code=303)
