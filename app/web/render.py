"""Template rendering for pages: whole page normally, one named block for an htmx request."""

import re
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

from app import labels
from app.accounts.labels import ROLE_NAMES
from app.errors import AppError
from app.labels import quoted
from app.money import wan_2dp, wan_exact
from app.reference import (
    LEVEL_NAMES,
    OUTCOME_NAMES,
    OWNERSHIP_NAMES,
    SIZE_NAMES,
    honours,
    township_names,
    townships,
)
from app.xlsx import XLSX

templates = Jinja2Blocks(directory=str(Path(__file__).parent.parent / "templates"))


def yuan_fmt(yuan) -> str:
    return "—" if yuan is None else f"{yuan:,}"


def list_qs(request: Request, drop: tuple[str, ...] = ("cursor",)) -> str:
    """A list page's filters as one encoded query string — without paging and empty fields — built once and
    used for every link of the list (pager, export), so a link holds exactly the filters on the screen."""
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if v != "" and k not in drop])


def url(path: str, qs: str = "", **extra) -> str:
    """`path?qs&extra…` — the template writes it into an attribute, where autoescaping is correct HTML."""
    more = urlencode({k: v for k, v in extra.items() if v is not None and v != ""})
    query = "&".join(p for p in (qs, more) if p)
    return f"{path}?{query}" if query else path


env = templates.env
env.filters["wan"] = wan_2dp
env.filters["yuan"] = yuan_fmt
env.filters["quoted"] = quoted
env.filters["n"] = lambda v: "—" if v is None else (f"{v:,}" if isinstance(v, int) else v)  # digits grouped
env.globals.update(
    wan_exact=wan_exact,
    township_names=township_names,
    townships=townships,
    honour_specs=honours,
    LEVEL_NAMES=LEVEL_NAMES,
    OUTCOME_NAMES=OUTCOME_NAMES,
    SIZE_NAMES=SIZE_NAMES,
    OWNERSHIP_NAMES=OWNERSHIP_NAMES,
    url=url,
    ROLE_NAMES=ROLE_NAMES,
)
labels.register(env)  # the Chinese word for every code, from each domain's labels module
# The one pager and list bar of every list, usable inside any block (htmx renders single blocks).
_list_macros = env.get_template("_list.html").module
env.globals.update(pager=_list_macros.pager, list_bar=_list_macros.list_bar)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def render(
    request: Request, template: str, context: dict, *, block: str | None = None, status_code: int = 200
):
    """Render the page, or only `block` when htmx asks for a fragment (Vary: HX-Request)."""
    ctx = {"request": request, "principal": getattr(request.state, "principal", None), **context}
    if block and is_htmx(request):
        resp = templates.TemplateResponse(request, template, ctx, block_name=block, status_code=status_code)
    else:
        resp = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    resp.headers["Vary"] = "HX-Request"
    return resp


def download(data: bytes, filename: str, media_type: str = XLSX) -> Response:
    """A file to save (an .xlsx unless said otherwise), named `filename` (anything but ASCII letters, digits,
    . _ - becomes _)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{safe}"'}
    )


def redirect(request: Request, url: str):
    """After a successful form: htmx follows HX-Redirect; a plain form follows the 303."""
    if request.headers.get("hx-request"):
        return HTMLResponse("", status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: AppError):
    if exc.status_code == 401:
        target = "/login?next=" + request.url.path
        if request.headers.get("hx-request"):
            return HTMLResponse("", status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    ctx = {"error": exc, "principal": getattr(request.state, "principal", None)}
    if request.headers.get("hx-request") and request.headers.get("hx-boosted") != "true":
        resp = templates.TemplateResponse(
            request, "_error.html", {"request": request, **ctx}, status_code=exc.status_code
        )
    else:
        resp = templates.TemplateResponse(
            request, "error.html", {"request": request, **ctx}, status_code=exc.status_code
        )
    if getattr(exc, "retry_after", None):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp
