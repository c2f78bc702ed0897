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
        super().__init__(detail=detail, status_code=412, code="precondition_failed", title="Precondition Failed")


class PreconditionRequired(AppError):
    def __init__(self, detail: str = "修改前须带 If-Match 请求头（取自 ETag）"):
        super().__init__(
            detail=detail, status_code=428, code="precondition_required", title="Precondition Required"
        )


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
