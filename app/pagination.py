"""Keyset pagination shared by every list: an opaque cursor holding the last row's sort key and id.

The cursor is signed (HMAC-SHA256 with a key derived from YUMIAO_SECRET_KEY): a cursor the server
did not issue — edited, forged, or its sort key of another type — is a 422 naming `cursor`, never a
database error. Changing the secret key makes earlier cursors invalid (start again from page one).
"""

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Query

from app.errors import ValidationFailed

_SIG_BYTES = 12
_SIG_CHARS = 16  # 12 bytes in unpadded base64url, appended to the body: the cursor stays [A-Za-z0-9_-]
_SCALARS = (str, int, float, type(None))

# The `cursor` query parameter of every list: its alphabet and length are in the OpenAPI document; its
# signature (a cursor this server issued) is checked by decode_cursor.
Cursor = Annotated[
    str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$", description="上一页响应中的 next_cursor")
]


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"yumiao-cursor\x00" + secret.encode()).digest()


def _sign(payload: bytes) -> bytes:
    from app.config import get_settings

    # hmac.digest: the one-shot HMAC in C, the same bytes as hmac.new(...).digest() (a change feed page signs
    # a cursor for each of its entries).
    return hmac.digest(_key(get_settings().secret_key), payload, "sha256")[:_SIG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(sort: str, key: Any, row_id: int) -> str:
    if type(key) is int and type(row_id) is int and _written_as_is(sort):
        # What json.dumps writes for these (an int's digits, a name with nothing to escape), without its
        # general machinery: the change feed signs a cursor for every entry of a page.
        raw = f'{{"s":"{sort}","k":{key},"i":{row_id}}}'.encode()
    else:
        raw = json.dumps(
            {"s": sort, "k": key, "i": row_id}, ensure_ascii=False, separators=(",", ":")
        ).encode()
    return _b64(raw) + _b64(_sign(raw))


@lru_cache(maxsize=256)
def _written_as_is(sort: str) -> bool:
    """json.dumps writes this sort name as it is, between quotes (nothing to escape)."""
    return json.dumps(sort, ensure_ascii=False) == f'"{sort}"'


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        body, sig = cursor[:-_SIG_CHARS], cursor[-_SIG_CHARS:]
        if len(cursor) <= _SIG_CHARS:
            raise ValueError("too short")
        raw = _unb64(body)
        if not hmac.compare_digest(_unb64(sig), _sign(raw)):
            raise ValueError("not issued by this server")
        data = json.loads(raw)
        key, row_id = data["k"], data["i"]
        if (
            data["s"] != sort
            or type(row_id) is not int
            or not isinstance(key, _SCALARS)
            or isinstance(key, bool)
        ):
            raise ValueError
        return key, row_id
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValidationFailed.one("cursor", "分页游标无效或与排序方式不符，请从第一页重新开始") from e
