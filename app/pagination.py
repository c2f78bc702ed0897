"""Keyset pagination shared by every list: an opaque cursor holding the last row's sort key and id."""

import base64
import json
from typing import Any

from app.errors import ValidationFailed


def encode_cursor(sort: str, key: Any, row_id: int) -> str:
    raw = json.dumps({"s": sort, "k": key, "i": row_id}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if data["s"] != sort or not isinstance(data["i"], int):
            raise ValueError
        return data["k"], data["i"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValidationFailed.one("cursor", "分页游标无效或与排序方式不符，请从第一页重新开始") from e
