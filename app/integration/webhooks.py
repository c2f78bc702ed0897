"""Webhooks: the change feed pushed to a registered URL, signed, retried, logged.

Subscriptions are managed through the API (`webhooks:write`); deliveries are made by the worker
`yumiao deliver-webhooks`, one pass per `run_once`:

* for each active subscription (claimed with a PostgreSQL advisory lock, so several workers share
  the work) whose previous delivery is finished, the next batch of up to BATCH changes after its
  cursor becomes a delivery, and the cursor moves on in the same short transaction;
* a due pending delivery is POSTed — outside any transaction — as JSON with headers
  `X-Yumiao-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`,
  `X-Yumiao-Timestamp`, `X-Yumiao-Delivery`, `X-Yumiao-Event: changes`;
* a 2xx answer marks it delivered; anything else (status, timeout, refused connection) counts an
  attempt and schedules the next after base_delay × 2^(attempts−1) seconds (capped at an hour);
  after max_attempts it is marked failed and the subscription moves on. The delivery log keeps
  every batch's entry ids, so a receiver that missed one can read those changes from the feed.

A subscription has at most one unfinished delivery, so its batches arrive in order.
"""

import hashlib
import hmac
import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import String, cast, exists, literal, select, text
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM, Principal
from app.audit import service as audit
from app.db import utcnow
from app.errors import FieldError, NotFound, ValidationFailed
from app.integration import changes, ssrf
from app.integration.models import WebhookDelivery, WebhookSubscription
from app.pagination import decode_cursor, encode_cursor

BATCH = 100
MAX_BACKOFF_SECONDS = 3600
SIGNATURE_HEADER = "X-Yumiao-Signature"


def _owner(actor: Principal) -> str:
    return f"{actor.kind}:{actor.id}"


def check_url(url: str) -> str:
    errors = []
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(FieldError("url", "url：须为 http:// 或 https:// 开头的完整地址"))
    elif parts.username or parts.password:
        errors.append(FieldError("url", "url：地址中不能含用户名或密码，请改用签名校验"))
    elif parts.fragment:
        errors.append(FieldError("url", "url：地址中不能含 # 片段"))
    elif any(ch.isspace() or ord(ch) < 32 for ch in url):
        errors.append(FieldError("url", "url：地址中不能含空白或控制字符"))
    elif why := ssrf.host_problem(parts.hostname):
        errors.append(
            FieldError("url", f"url：不能推送到{why}（确需时由管理员在 YUMIAO_WEBHOOK_ALLOWED_HOSTS 中放行）")
        )
    if errors:
        raise ValidationFailed(errors)
    return url


# --- subscriptions -----------------------------------------------------------------------------


def create(
    session: Session,
    *,
    actor: Principal,
    name: str,
    url: str,
    entity_types: list[str],
    start: str = "now",
    start_after: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (returned once, never again)."""
    actor.require("webhooks:write")
    actor.require("changes:read")  # a webhook pushes the change feed: only to those who may read it
    if not name.strip():
        raise ValidationFailed.one("name", "name：名称不能为空")
    check_url(url)
    types = changes.check_types(entity_types, field="entity_types")
    if start_after is not None:
        position = changes.decode(start_after, field="start_after")
    elif start == "beginning":
        position = changes.START
    else:
        position = changes.head(session)
    secret = "whsec_" + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        name=name.strip(),
        url=url,
        secret=secret,
        entity_types=types,
        active=True,
        owner=_owner(actor),
        cursor_xid=position.xid,
        cursor_id=position.id,
        created_by=actor.name,
    )
    session.add(sub)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="webhook_subscription",
        entity_id=sub.id,
        changes={"name": [None, sub.name], "url": [None, url], "entity_types": [None, ",".join(types)]},
    )
    return sub, secret


def _own(actor: Principal):
    conds = [WebhookSubscription.deleted_at.is_(None)]
    if not actor.is_admin:  # an API key sees the subscriptions it made; a county admin sees all
        conds.append(WebhookSubscription.owner == _owner(actor))
    return conds


def get(session: Session, *, actor: Principal, webhook_id: int) -> WebhookSubscription:
    actor.require("webhooks:write")
    sub = session.scalar(
        select(WebhookSubscription).where(WebhookSubscription.id == webhook_id, *_own(actor))
    )
    if sub is None:
        raise NotFound("未找到该 webhook 订阅")
    return sub


def _id_page(session: Session, stmt, id_col, cursor: str | None, limit: int, sort: str):
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "limit：每页条数须在 1–500 之间")
    if cursor:
        _, last_id = decode_cursor(cursor, sort)
        stmt = stmt.where(id_col < last_id) if sort == "-id" else stmt.where(id_col > last_id)
    stmt = stmt.order_by(id_col.desc() if sort == "-id" else id_col).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(sort, rows[-1].id, rows[-1].id) if more and rows else None)


def list_page(session: Session, *, actor: Principal, cursor: str | None = None, limit: int = 50):
    actor.require("webhooks:write")
    stmt = select(WebhookSubscription).where(*_own(actor))
    return _id_page(session, stmt, WebhookSubscription.id, cursor, limit, "id")


def delete(session: Session, *, actor: Principal, webhook_id: int) -> None:
    sub = get(session, actor=actor, webhook_id=webhook_id)
    sub.deleted_at = utcnow()
    sub.active = False
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity_type="webhook_subscription",
        entity_id=sub.id,
        changes={"active": [True, False]},
    )


def deliveries_page(
    session: Session, *, actor: Principal, webhook_id: int, cursor: str | None = None, limit: int = 50
):
    """The delivery log of one subscription, newest first."""
    sub = get(session, actor=actor, webhook_id=webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    return _id_page(session, stmt, WebhookDelivery.id, cursor, limit, "-id")


# --- signing -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over "<timestamp>." + body — what a receiver recomputes."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """A receiver's check (documented in docs/API.md): right signature, timestamp within tolerance."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now or time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


# --- the worker --------------------------------------------------------------------------------


@dataclass
class PassStats:
    enqueued: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _change_dict(c: changes.Change) -> dict:
    """A change in a delivery's JSON: the feed's fields, the time as ISO text."""
    out = c.fields()
    out["at"] = out["at"].isoformat() if out["at"] else None
    return out


def enqueue(session: Session, sub: WebhookSubscription) -> WebhookDelivery | None:
    """The next batch after the subscription's cursor as a pending delivery (None if nothing new)."""
    after = changes.Position(sub.cursor_xid, sub.cursor_id)
    page = changes.read(
        session, actor=SYSTEM, after=after, limit=BATCH, entity_types=sub.entity_types or None
    )
    sub.cursor_xid, sub.cursor_id = page.next_position.xid, page.next_position.id
    if not page.items:
        session.flush()
        return None
    d = WebhookDelivery(
        subscription_id=sub.id,
        first_entry_id=page.items[0].entry.id,
        last_entry_id=page.items[-1].entry.id,
        change_count=len(page.items),
        payload={},
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(d)
    session.flush()
    d.payload = {
        "delivery_id": d.id,
        "webhook_id": sub.id,
        "event": "changes",
        "changes": [_change_dict(c) for c in page.items],
        "cursor_before": after.cursor(),
        "next_cursor": page.next_position.cursor(),
    }
    session.flush()
    return d


def backoff(attempts: int, base_delay: float) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, base_delay * 2 ** max(0, attempts - 1)))


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def post(http: httpx.Client, *, url: str, secret: str, delivery_id: int, payload: dict) -> Outcome:
    """One signed POST of a delivery's payload — outside any database transaction."""
    why = ssrf.host_problem(urlsplit(url).hostname or "")  # resolved again: the name may point elsewhere now
    if why:
        return Outcome(False, None, f"refused: {why}")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "yumiao-webhooks/1",
        SIGNATURE_HEADER: sign(secret, ts, body),
        "X-Yumiao-Timestamp": str(ts),
        "X-Yumiao-Delivery": str(delivery_id),
        "X-Yumiao-Event": "changes",
    }
    try:
        r = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as e:
        return Outcome(False, None, f"{type(e).__name__}: {str(e)[:300]}")
    ok = 200 <= r.status_code < 300
    return Outcome(ok, r.status_code, None if ok else f"HTTP {r.status_code}: {r.text[:300]}")


def record(
    d: WebhookDelivery,
    outcome: Outcome,
    *,
    now: datetime,
    max_attempts: int,
    base_delay: float,
    stats: PassStats,
) -> None:
    d.attempts += 1
    d.last_status_code, d.last_error = outcome.status_code, outcome.error
    if outcome.ok:
        d.status = "delivered"
        d.delivered_at = now
        stats.delivered += 1
    elif d.attempts >= max_attempts:
        d.status = "failed"
        stats.failed += 1
    else:
        d.next_attempt_at = now + backoff(d.attempts, base_delay)
        stats.retried += 1


def _owner_revoked():
    """The subscription was made by an API key that has since been revoked."""
    from app.accounts.models import ApiKey

    return exists().where(
        ApiKey.revoked_at.is_not(None),
        WebhookSubscription.owner == literal("api_key:") + cast(ApiKey.id, String),
    )


def _subscription_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(WebhookSubscription.id)
            .where(
                WebhookSubscription.active.is_(True),
                WebhookSubscription.deleted_at.is_(None),
                ~_owner_revoked(),
            )
            .order_by(WebhookSubscription.id)
        )
    )


def stop_for_revoked_key(session: Session, *, actor: Principal, api_key_id: int) -> list[int]:
    """A revoked key's subscriptions stop (inactive, audited); returns their ids."""
    subs = list(
        session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.owner == f"api_key:{api_key_id}", WebhookSubscription.active.is_(True)
            )
        )
    )
    for sub in subs:
        sub.active = False
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="webhook_subscription",
            entity_id=sub.id,
            changes={"active": [True, False]},
            note=f"API 密钥 {api_key_id} 已吊销",
        )
    session.flush()
    return [sub.id for sub in subs]


LOCK_CLASS = 7301  # pg advisory lock namespace of the webhook worker: (LOCK_CLASS, subscription id)


@contextmanager
def _claim(sessionmaker, sub_id: int):
    """True if this worker may serve the subscription now. On PostgreSQL a session advisory lock on
    a connection of its own, outside any transaction: no row lock or transaction id is held while
    a receiver is slow, so neither the change feed nor the API waits for it."""
    with sessionmaker() as probe:
        engine = probe.get_bind()
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = conn.scalar(text("SELECT pg_try_advisory_lock(:c, :s)"), {"c": LOCK_CLASS, "s": sub_id})
        try:
            yield bool(got)
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:c, :s)"), {"c": LOCK_CLASS, "s": sub_id})


def run_once(
    sessionmaker,
    *,
    http: httpx.Client,
    max_attempts: int = 6,
    base_delay: float = 30.0,
    now: datetime | None = None,
) -> PassStats:
    """One pass over every active subscription: enqueue what is new, send what is due.

    Per subscription: a short transaction enqueues the next batch (and moves the cursor); the POST
    happens outside any transaction; a second short transaction records its outcome. Several
    workers share the subscriptions (advisory locks); one failing receiver holds back nobody else."""
    stats = PassStats()
    with sessionmaker() as s:
        ids = _subscription_ids(s)
    for sub_id in ids:
        with _claim(sessionmaker, sub_id) as mine:
            if not mine:
                continue  # another worker is serving it
            with sessionmaker() as s:
                sub = s.scalar(
                    select(WebhookSubscription).where(
                        WebhookSubscription.id == sub_id,
                        WebhookSubscription.active.is_(True),
                        ~_owner_revoked(),
                    )
                )
                if sub is None:
                    continue  # deleted meanwhile
                d = s.scalar(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending")
                    .order_by(WebhookDelivery.id)
                    .limit(1)
                )
                if d is None:
                    d = enqueue(s, sub)
                    if d is not None:
                        stats.enqueued += 1
                current = now or utcnow()
                due = d is not None and _aware(d.next_attempt_at) <= current
                send = (
                    dict(url=sub.url, secret=sub.secret, delivery_id=d.id, payload=d.payload) if due else None
                )
                s.commit()
            if send is None:
                continue
            outcome = post(http, **send)
            with sessionmaker() as s:
                d = s.get(WebhookDelivery, send["delivery_id"])
                record(d, outcome, now=current, max_attempts=max_attempts, base_delay=base_delay, stats=stats)
                s.commit()
    return stats


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=utcnow().tzinfo)
