"""Domain errors carry their own HTTP status; one handler renders them.

For `/api` they become RFC 9457 problem+json; for pages a Chinese message.
"""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str  # Chinese, for a person
    row: int | None = None

    def as_dict(self) -> dict:
        d = {"field": self.field, "message": self.message}
        if self.row is not None:
            d["row"] = self.row
        return d


@dataclass
class AppError(Exception):
    detail: str = "请求无法处理"
    errors: list[FieldError] = field(default_factory=list)
    status_code: int = 400
    code: str = "bad_request"
    title: str = "Bad Request"

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class NotFound(AppError):
    def __init__(self, detail: str = "未找到该记录"):
        super().__init__(detail=detail, status_code=404, code="not_found", title="Not Found")


class Unauthorized(AppError):
    def __init__(self, detail: str = "需要登录或有效的 API 密钥"):
        super().__init__(detail=detail, status_code=401, code="unauthorized", title="Unauthorized")


class Forbidden(AppError):
    def __init__(self, detail: str = "没有执行该操作的权限"):
        super().__init__(detail=detail, status_code=403, code="forbidden", title="Forbidden")


class Conflict(AppError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None, code: str = "conflict"):
        super().__init__(detail=detail, errors=errors or [], status_code=409, code=code, title="Conflict")


class PreconditionFailed(AppError):
    def __init__(self, detail: str = "记录已被他人修改，请刷新后重试（If-Match 与当前版本不符）"):
        super().__init__(
            detail=detail, status_code=412, code="precondition_failed", title="Precondition Failed"
        )


class PreconditionRequired(AppError):
    def __init__(self, detail: str = "修改前须带 If-Match 请求头（取自 ETag）"):
        super().__init__(
            detail=detail, status_code=428, code="precondition_required", title="Precondition Required"
        )


class LoginRequired(AppError):
    """A page asked for without a logged-in user: the pages answer with the log-in page."""

    def __init__(self) -> None:
        super().__init__(detail="请先登录", status_code=401, code="login_required", title="Unauthorized")


class ValidationFailed(AppError):
    def __init__(self, errors: list[FieldError], detail: str | None = None):
        super().__init__(
            detail=detail or "；".join(e.message for e in errors[:5]) or "输入有误",
            errors=errors,
            status_code=422,
            code="validation_error",
            title="Unprocessable Content",
        )

    @classmethod
    def one(cls, field: str, message: str) -> "ValidationFailed":
        return cls([FieldError(field, message)])


class TooManyRequests(AppError):
    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail=detail, status_code=429, code="too_many_requests", title="Too Many Requests")
        self.retry_after = retry_after


class ServiceBusy(AppError):
    """Saturated for now (no request slot, no connection, a lock or statement waited too long): try
    again after `retry_after` seconds. Nothing was written."""

    def __init__(self, detail: str = "系统繁忙，请稍后重试", retry_after: int = 2):
        super().__init__(detail=detail, status_code=503, code="service_busy", title="Service Unavailable")
        self.retry_after = retry_after


# SQLSTATE classes a request can meet under load (PostgreSQL appendix A).
_BUSY = {
    "55P03": ("记录正被其他请求修改，等待超时，请稍后重试", 1),  # lock_not_available (lock_timeout)
    "57014": ("查询超时（数据库繁忙），请稍后重试", 5),  # query_canceled (statement_timeout)
    "25P03": ("事务空闲超时，请稍后重试", 1),  # idle_in_transaction_session_timeout
    "53300": ("数据库连接已满，请稍后重试", 5),  # too_many_connections
    "57P01": ("数据库正在重启，请稍后重试", 5),  # admin_shutdown
    "57P03": ("数据库暂不可用，请稍后重试", 5),  # cannot_connect_now
}
_CONFLICT = {
    "40001": "与同时进行的修改冲突，请重试",  # serialization_failure
    "40P01": "与同时进行的修改冲突（死锁已解除），请重试",  # deadlock_detected
    "23505": "与现有记录重复（可能是同时提交），请刷新后重试",  # unique_violation
    "23503": "引用的记录已不存在（可能刚被删除），请刷新后重试",  # foreign_key_violation
    "23514": "违反数据约束（可能与同时进行的修改冲突），请刷新后重试",  # check_violation
}


def db_error_to_app_error(exc: Exception) -> AppError:
    """A database error no check caught, as what it means to the client: busy (503 with
    Retry-After) or a conflict with a concurrent request (409). Nothing was written either way."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or ""
    if state in _BUSY:
        detail, retry = _BUSY[state]
        return ServiceBusy(detail, retry_after=retry)
    if state in _CONFLICT or state.startswith("23"):
        err = Conflict(_CONFLICT.get(state, "与现有数据冲突，请刷新后重试"), code="concurrent_conflict")
        err.retry_after = 1
        return err
    if state.startswith("08") or not state:  # connection lost or never made
        return ServiceBusy("数据库暂不可用，请稍后重试", retry_after=5)
    return ServiceBusy("数据库暂时无法完成请求，请稍后重试", retry_after=2)


# --- Pydantic's error types in Chinese (request bodies, query parameters, event data) ----------

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
        msg = (
            f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
            if t == "greater_than_equal"
            else f"须大于 {ctx.get('gt')}"
        )
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
