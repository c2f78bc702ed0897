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
