"""Cross-site request refusal for state-changing requests made by browsers.

A POST, PUT, PATCH or DELETE that a browser marks as coming from another site (`Sec-Fetch-Site:
cross-site` or `same-site`), or whose `Origin` names another host than the one it was sent to, is
refused with 403 before anything runs. Requests authenticated by an API key (`Authorization:
Bearer …`) are not sent by browsers on a user's behalf and are not checked; a request with neither
header (an older browser, a script) still needs its CSRF token. This complements the per-session
CSRF token and the log-in form's token.
"""

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import PROBLEM

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MESSAGE = "跨站请求被拒绝：请在本系统的页面上操作（来源校验失败）"


def cross_site(headers: dict[bytes, bytes]) -> bool:
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
    if site in ("cross-site", "same-site"):
        return True
    origin = headers.get(b"origin", b"").decode("latin-1")
    if origin and origin != "null":
        host = headers.get(b"x-forwarded-host") or headers.get(b"host", b"")
        return urlsplit(origin).netloc.lower() != host.decode("latin-1").split(",")[0].strip().lower()
    return origin == "null"


class OriginCheckMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            headers = dict(scope.get("headers") or [])
            bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
            if not bearer and cross_site(headers):
                await self._refuse(scope, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["path"].startswith("/api/"):
            body = json.dumps(
                {
                    "type": "https://yumiao.guanxian.gov.cn/problems/forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": MESSAGE,
                    "instance": scope["path"],
                    "code": "forbidden",
                    "errors": [],
                },
                ensure_ascii=False,
            ).encode()
            ctype = PROBLEM
        else:
            body = f"<!doctype html><meta charset=utf-8><title>403</title><p>{MESSAGE}</p>".encode()
            ctype = "text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
