"""Page dependencies: the logged-in user, or a redirect to the log-in page."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from app.accounts.permissions import Principal
from app.api.deps import get_optional_principal
from app.web.render import LoginRequired


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
