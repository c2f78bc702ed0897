"""RFC 9457 problem+json for every error under /api, with the field and a Chinese message."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.errors import AppError, FieldError

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


_MESSAGES = {
    "missing": "必填字段缺失",
    "extra_forbidden": "不允许的字段",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（金额以元为单位，不带小数）",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "string_type": "应为字符串",
    "string_unicode": "应为有效的 UTF-8 文字",
    "float_type": "应为数字",
    "decimal_type": "应为数字",
    "int_too_big": "数值过大",
    "url_parsing": "网址格式有误",
    "url_scheme": "网址应以 http:// 或 https:// 开头",
    "json_invalid": "请求体不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "union_tag_invalid": "未知的类型",
    "union_tag_not_found": "缺少类型字段",
}


def translate(err: dict) -> FieldError:
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or "body"
    t = err.get("type", "")
    ctx = err.get("ctx") or {}
    if t in ("greater_than_equal", "greater_than"):
        msg = f"不能小于 {ctx.get('ge', ctx.get('gt'))}" if t == "greater_than_equal" else f"须大于 {ctx.get('gt')}"
    elif t in ("less_than_equal", "less_than"):
        msg = f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    elif t == "string_too_short":
        msg = f"长度不能少于 {ctx.get('min_length')} 个字符"
    elif t == "string_too_long":
        msg = f"长度不能超过 {ctx.get('max_length')} 个字符"
    elif t in ("literal_error", "enum"):
        msg = f"取值无效，应为 {ctx.get('expected', '')} 之一"
    elif t.startswith("decimal_"):
        msg = "数字位数或小数位数超出范围"
    elif t == "too_long":
        msg = f"最多 {ctx.get('max_length')} 项"
    elif t == "too_short":
        msg = f"至少 {ctx.get('min_length')} 项"
    elif t == "string_pattern_mismatch":
        msg = f"格式不符（应匹配 {ctx.get('pattern')}）"
    elif t == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ") or "取值无效"
    elif t.startswith("datetime_"):
        msg = "日期时间格式应为 ISO 8601，如 2023-05-06T08:00:00+08:00"
    else:
        msg = _MESSAGES.get(t, "取值无效")
    return FieldError(field, f"{field}：{msg}")


def validation_error_to_app_error(exc: RequestValidationError) -> AppError:
    from app.errors import ValidationFailed

    return ValidationFailed([translate(e) for e in exc.errors()])


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

