"""RFC 9457 problem+json for every error under /api, with the field and a Chinese message."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.errors import AppError, PreconditionRequired, ValidationFailed, translate

PROBLEM = "application/problem+json"


class ProblemField(BaseModel):
    field: str = Field(examples=["uscc"])
    message: str = Field(examples=["统一社会信用代码校验位错误：第 18 位应为“3”，实际为“4”"])
    row: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["https://yumiao.guanxian.gov.cn/problems/validation_error"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["统一社会信用代码校验位错误"])
    instance: str | None = None
    code: str = Field(examples=["validation_error"])
    errors: list[ProblemField] = []


def problem_response(request: Request, err: AppError) -> JSONResponse:
    body = {
        "type": f"https://yumiao.guanxian.gov.cn/problems/{err.code}",
        "title": err.title,
        "status": err.status_code,
        "detail": err.detail,
        "instance": request.url.path,
        "code": err.code,
        "errors": [e.as_dict() for e in err.errors],
    }
    headers = {}
    if getattr(err, "retry_after", None):
        headers["Retry-After"] = str(err.retry_after)
    if err.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="yumiao"'
    return JSONResponse(body, status_code=err.status_code, media_type=PROBLEM, headers=headers)


def _missing_if_match(err: dict) -> bool:
    return err.get("type") == "missing" and tuple(err.get("loc", ())) == ("header", "if-match")


def validation_error_to_app_error(exc: RequestValidationError) -> AppError:
    """422 naming each field; an If-Match header that is only missing is the If-Match protocol's 428
    (the header is declared required in the OpenAPI document, and a client that omits it is told so)."""
    errors = [e for e in exc.errors() if not _missing_if_match(e)]
    if not errors:
        return PreconditionRequired()
    return ValidationFailed([translate(e) for e in errors])


# Shared `responses=` for route decorators, so every documented status has a problem+json body.
def responses(*codes: int) -> dict:
    text = {
        400: "请求有误",
        401: "未登录或 API 密钥无效",
        403: "没有权限（缺少所需的权限范围）",
        404: "未找到（或不在本乡镇范围内）",
        409: "冲突（如统一社会信用代码重复）",
        412: "If-Match 与当前版本不符（已被他人修改）",
        422: "输入校验失败，errors 列出字段与原因",
        428: "缺少 If-Match 请求头",
        429: "请求过于频繁，见 Retry-After",
    }
    return {c: {"model": Problem, "description": text[c], "content": {PROBLEM: {}}} for c in codes}


def file_response(media_type: str, description: str) -> dict:
    """`responses=` entry for an operation that answers 200 with a file (Excel, YAML) rather than JSON."""
    if media_type.startswith(
        ("text/", "application/yaml")
    ):  # text a client may parse (YAML: a mapping or a list)
        schema: dict = {"description": description}
    else:
        schema = {"type": "string", "format": "binary"}
    return {200: {"content": {media_type: {"schema": schema}}, "description": description}}
