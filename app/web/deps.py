"""Page dependencies: the logged-in user, or a redirect to the log-in page."""

from typing import Annotated

from fastapi import Depends

from app.accounts.permissions import Principal
from app.api.deps import get_optional_principal
from app.web.render import LoginRequired


def page_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    if principal is None or principal.kind != "user":
        raise LoginRequired()
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]
