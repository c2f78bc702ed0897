"""Policy pages: the documents, whether each is in force today and when it lapses; a page per document
listing every rule with its clause text, amount and funder."""

from fastapi import APIRouter, Request

from app.deps import PagePrincipal, SessionDep
from app.policies import catalogue
from app.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/policies")
def policies_page(request: Request, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:read")
    return render(
        request, "policies/list.html", {"section": "policies", "docs": catalogue.catalogue(session)}
    )


@router.get("/policies/{code}")
def policy_page(request: Request, code: str, session: SessionDep, principal: PagePrincipal):
    principal.require("policies:read")
    return render(
        request,
        "policies/detail.html",
        {"section": "policies", "doc": catalogue.policy_document(session, code)},
    )
