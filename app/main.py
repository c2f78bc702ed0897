"""create_app(): settings, routers, static files, error handlers."""

import gc
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import wiring
from app.api import contract, problems
from app.balance import ConnectionBalanceMiddleware
from app.config import get_settings
from app.db import database_health, finish_on_handler_thread, request_slots, warm_up
from app.errors import AppError, NotFound, ServiceBusy, ValidationFailed, db_error_to_app_error
from app.logging import RequestLogMiddleware, configure
from app.web.origin import OriginCheckMiddleware

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
    from app.policies.loader import validate_all

    validate_all()


class RequestSlots(BaseModel):
    active: int = Field(description="正在处理的请求数")
    waiting: int = Field(description="排队等待的请求数")
    slots: int = Field(description="可同时处理的请求数")


class Health(BaseModel):
    status: Literal["ok", "unhealthy"]
    database: str = Field(description="ok，或数据库不可连通的原因")
    requests: RequestSlots


_gc_settled = False


def _settle_garbage_collector() -> None:
    """Once per process, after start-up: what start-up made (modules, mappers, schemas, the policy documents: some
    300,000 objects, alive for the life of the process) is frozen out of the cyclic collector's scans, and the
    youngest generation is collected every 10,000 allocations instead of 700. A request's objects then mostly die
    young instead of being carried into the older generations, whose full collections walked every object of the
    process (the caches of the policy matcher and the award engine included): on a 20-firm eligibility batch the
    collector's time fell from some 30 ms to 4. Garbage made before the freeze is collected first."""
    global _gc_settled
    if _gc_settled:
        return
    _gc_settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def create_app() -> FastAPI:
    settings = get_settings()
    configure(settings.log_json)
    _check_policies()
    wiring.connect()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Sync routes run in anyio's thread pool: more threads than request slots (app.db), so a
        # request that holds a transaction always gets a thread to finish it.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.thread_tokens
        # The event loop shares the GIL with the request threads at Python's own switch interval (5 ms).
        # A 1 ms interval kept /healthz under a burst of 100 writes at some 0.06 s instead of 0.3 s (both
        # well inside the second tests/test_bursts.py allows), but under the mixed load it cost 10-15 % of
        # the throughput in GIL hand-overs between the request threads (bench/load.md).
        sys.setswitchinterval(0.005)
        # Ready before the first request: mappers configured, engines made, a connection tried
        # (a cold worker that did all this under its first burst would answer slowly).
        await anyio.to_thread.run_sync(warm_up)
        _settle_garbage_collector()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="育苗 yumiao API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below from vendored files: the intranet has no CDN
        redoc_url=None,
    )
    contract.install(app)  # rate limits; auth, scopes and problem+json errors in the OpenAPI document
    app.add_middleware(OriginCheckMiddleware)  # cross-site state-changing requests: 403
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(ConnectionBalanceMiddleware)  # keep-alive connections spread over the workers
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from app.routers import api_routers, web_routers

    for r in api_routers():
        app.include_router(r)
    for r in web_routers():
        app.include_router(r)
    for route in contract.api_routes(app):  # before the first request builds the included routes' handlers
        route.endpoint = finish_on_handler_thread(route.endpoint)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="育苗 yumiao API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",  # not FastAPI's default on the internet
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(
            STATIC / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get(
        "/healthz",
        tags=["ops"],
        summary="健康检查（含数据库连通）",
        response_model=Health,
        responses={503: {"model": Health, "description": "数据库不可连通"}},
    )
    async def healthz():
        """数据库可连通时返回 200，否则 503；1 秒内必有回答，不受请求繁忙影响（独立的线程和数据库连接）。
        `requests` 为本进程正在处理（active）和排队等待（waiting）的请求数。"""
        database = await database_health()
        slots = request_slots()
        body = {
            "status": "ok" if database == "ok" else "unhealthy",
            "database": database,
            "requests": {"active": slots.active, "waiting": slots.waiting, "slots": slots.size},
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):
        if _is_api(request):
            return problems.problem_response(request, exc)
        from app.web.render import error_page

        return error_page(request, exc)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        """The database refused a value no check caught (a number beyond its range, a NUL in text):
        bad input, so a 422 that says so, never a 500; the request's transaction is rolled back."""
        reason = (
            "数值超出范围"
            if "out of range" in str(exc.orig)
            else "文字中含有不允许的字符（如 NUL）或数值格式有误"
        )
        err = ValidationFailed.one("body", f"输入有误：{reason}，请检查请求中的数值和文字")
        if _is_api(request):
            return problems.problem_response(request, err)
        from app.web.render import error_page

        return error_page(request, err)

    def _render(request: Request, err: AppError):
        if _is_api(request):
            return problems.problem_response(request, err)
        from app.web.render import error_page

        return error_page(request, err)

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def pool_timeout(request: Request, exc: SQLAlchemyTimeoutError):
        """No database connection came free in time: saturated, so 503 with Retry-After."""
        return _render(request, ServiceBusy("系统繁忙：数据库连接已满，请稍后重试", retry_after=2))

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError):
        """A bounded wait ran out (lock_timeout, statement_timeout) or the database is unreachable:
        nothing was written, the client may retry — 503 with Retry-After, or 409 for a conflict."""
        return _render(request, db_error_to_app_error(exc))

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError):
        """A constraint caught what a concurrent request changed between check and write: a conflict."""
        return _render(request, db_error_to_app_error(exc))

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
        elif exc.status_code == 400:  # a body that is not UTF-8 JSON, or a form that cannot be read
            err = ValidationFailed.one("body", "body：请求体无法解析，应为 UTF-8 编码的 JSON 或表单")
        elif exc.status_code == 405:
            err = AppError(
                detail=f"该地址不支持 {request.method} 请求",
                status_code=405,
                code="method_not_allowed",
                title="Method Not Allowed",
            )
        else:
            err = AppError(
                detail=str(exc.detail), status_code=exc.status_code, code="http_error", title="Error"
            )
        if _is_api(request):
            response = problems.problem_response(request, err)
        else:
            from app.web.render import error_page

            response = error_page(request, err)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = contract.allowed_methods(app, request.url.path) or (
                exc.headers or {}
            ).get("Allow", "")
        return response

    return app


__all__ = ["create_app", "HTMLResponse", "RedirectResponse"]
