"""Idempotency-Key on POST: a retried create returns the first response instead of creating twice.

The key is reserved (inserted) before the create runs, in the same transaction: a concurrent
twin waits on the unique index, then finds the committed response and returns it.
"""

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.enterprises.models import IdempotencyRecord
from app.errors import Conflict, ValidationFailed


def request_hash(body: object) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def _who(actor: Principal) -> str:
    return f"{actor.kind}:{actor.id}"


def _find(session: Session, actor: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == _who(actor), IdempotencyRecord.key == key
        )
    )


def _replay(rec: IdempotencyRecord, body_hash: str) -> tuple[int, dict]:
    if rec.request_hash != body_hash:
        raise Conflict("同一 Idempotency-Key 已用于内容不同的请求", code="idempotency_key_reused")
    if rec.status_code == 0:
        raise Conflict("相同 Idempotency-Key 的请求正在处理，请稍后重试", code="idempotency_in_progress")
    return rec.status_code, json.loads(rec.response_body)


def reserve(
    session: Session, actor: Principal, key: str, body_hash: str
) -> tuple[IdempotencyRecord | None, tuple[int, dict] | None]:
    """Either (reservation, None): go ahead and create; or (None, (status, body)): replay this."""
    if not 1 <= len(key) <= 200:
        raise ValidationFailed.one("Idempotency-Key", "Idempotency-Key 长度须在 1–200 之间")
    rec = _find(session, actor, key)
    if rec is not None:
        return None, _replay(rec, body_hash)
    rec = IdempotencyRecord(
        principal=_who(actor), key=key, request_hash=body_hash, status_code=0, response_body=""
    )
    try:
        with session.begin_nested():
            session.add(rec)
            session.flush()
    except IntegrityError:
        rec = _find(session, actor, key)
        if rec is None:
            raise Conflict(
                "相同 Idempotency-Key 的请求正在处理，请稍后重试", code="idempotency_in_progress"
            ) from None
        return None, _replay(rec, body_hash)
    return rec, None


def complete(session: Session, rec: IdempotencyRecord, status_code: int, body: dict) -> None:
    rec.status_code = status_code
    rec.response_body = json.dumps(body, default=str, ensure_ascii=False)
    session.flush()
