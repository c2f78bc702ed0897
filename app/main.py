"""create_app(): settings, routers, static files, error handlers."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api import problems, ratelimit
from app.config import get_settings
from app.db import get_engine
from app.errors import AppError, NotFound
from app.logging import RequestLogMiddleware, configure

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
冠县中小企业“育苗扶壮”梯度培育系统（育苗）的 JSON 接口，供聊城企业政策通平台等系统调用。

* 认证：`Authorization: Bearer <API 密钥>`（由 `yumiao create-api-key` 生成），每个接口要求相应的权限范围（scope）。
* 金额一律为整数元（`*_yuan`）。
* 错误响应为 RFC 9457 `application/problem+json`，`errors` 列出字段与中文原因。
* 列表接口统一使用游标分页：响应中的 `next_cursor` 作为下一次请求的 `cursor`。
* 修改须带 `If-Match`（取自 `ETag`）；登记可带 `Idempotency-Key` 防止重复。
"""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _check_policies() -> None:
    """A typo in a policy file stops the service here, naming the file and the rule."""
    import importlib.util

    if importlib.util.find_spec("app.policies.loader") is not None:
        from app.policies.loader import validate_all

        validate_all()


def create_app() -> FastAPI:
    settings = get_settings()
    configure(settings.log_json)
    _check_policies()

    app = FastAPI(
        title="育苗 yumiao API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    ratelimit.install(app)  # inside the request log, so a 429 is logged too
    app.add_middleware(RequestLogMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from app.routers import api_routers, web_routers

    for r in api_routers():
        app.include_router(r)
    for r in web_routers():
        app.include_router(r)

    @app.get("/healthz", tags=["ops"], summary="健康检查（含数据库连通）")
    def healthz():
        """数据库可连通时返回 200，否则 503。"""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as e:  # noqa: BLE001 - any database failure means unhealthy
            return JSONResponse({"status": "unhealthy", "database": type(e).__name__}, status_code=503)
        return {"status": "ok", "database": "ok"}

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):
        if _is_api(request):
            return problems.problem_response(request, exc)
        from app.web.render import error_page

        return error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        err = problems.validation_error_to_app_error(exc)
        if _is_api(request):
            return problems.problem_response(request, err)
        from app.web.render import error_page

        return error_page(request, err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            err: AppError = NotFound("页面或接口不存在")
        else:
            err = AppError(detail=str(exc.detail), status_code=exc.status_code, code="http_error", title="Error")
        if _is_api(request):
            return problems.problem_response(request, err)
        from app.web.render import error_page

        return error_page(request, err)

    return app


__all__ = ["create_app", "HTMLResponse", "RedirectResponse"]
