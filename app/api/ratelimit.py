"""Rate limits on /api: per API key, else per log-in session, else per client address.

A pure ASGI middleware (no BaseHTTPMiddleware) with a sliding-window counter (the `limits` package
parses the limits; the counters are kept here, see `Windows`). The limit is `Settings.api_rate_limit` (YUMIAO_API_RATE_LIMIT, e.g. "600/minute"; several
may be given as "20/second;600/minute"). Every /api response carries `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset`; over the limit the answer is 429 problem+json with
`Retry-After` (seconds).

Counters live in each process's memory: with `uvicorn --workers N` a client may make up to N times
the limit, and a restart forgets the counts. A shared store (`limits` supports redis:// and
memcached://) would make it exact; the county's single server does not need one.

The key is a hash of the bearer token or the session cookie, not the account it names: no
database lookup happens before the limit, and a flood of wrong keys is limited like any other.
"""

import hashlib
import json
import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse_many
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM
from app.config import get_settings

SESSION_COOKIE = "yumiao_session"


@lru_cache(maxsize=16)
def _items(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def client_key(scope: Scope) -> str:
    """API key, else session, else address — hashed, never looked up."""
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return "key:" + _digest(auth[7:].strip())
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return "session:" + _digest(value)
    client = scope.get("client") or ("unknown", 0)
    return "addr:" + str(client[0])


class Windows:
    """Sliding-window counters in this process's memory: the count of the current fixed window plus the
    previous window's count weighted by the share of it still inside the sliding window (the strategy
    `limits` calls the sliding window counter).

    Kept here rather than in `limits`' MemoryStorage, which starts a timer thread to expire its keys on
    nearly every hit — under load a new thread every 10 ms, the largest single cost of a request. The
    middleware runs on the event loop's one thread, so a plain dict needs no lock; stale windows are
    swept once a minute.
    """

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int], tuple[int, int, int]] = {}  # → (window index, current, previous)
        self.swept = time.monotonic()

    def _window(self, item: RateLimitItem, key: str, now: float) -> tuple[tuple, int, int, int, float]:
        period = item.get_expiry()
        index = int(now // period)
        k = (key, period, item.amount)
        start, current, previous = self.counts.get(k, (index, 0, 0))
        if start != index:
            previous, current = (current if start == index - 1 else 0), 0
        return k, index, current, previous, now - index * period

    def hit(self, item: RateLimitItem, key: str, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, remaining, seconds until a refused client may retry)."""
        now = time.time() if now is None else now
        if time.monotonic() - self.swept > self.SWEEP_SECONDS:
            self._sweep(now)
        k, index, current, previous, elapsed = self._window(item, key, now)
        period, amount = item.get_expiry(), item.amount
        weighted = previous * (period - elapsed) / period + current
        allowed = weighted + 1 <= amount
        if allowed:
            current += 1
            weighted += 1
        self.counts[k] = (index, current, previous)
        return allowed, max(0, math.floor(amount - weighted)), self._wait(amount, period, current, previous, elapsed)

    @staticmethod
    def _wait(amount: int, period: int, current: int, previous: int, elapsed: float) -> int:
        if current + 1 <= amount:  # within this window, once enough of the previous one has slid out
            if previous == 0:
                return 0
            needed = period * (1 - (amount - 1 - current) / previous)
            return max(0, math.ceil(needed - elapsed))
        # this window is full: into the next one, until enough of this one has slid out
        return math.ceil(period - elapsed + period * (1 - (amount - 1) / current))

    def _sweep(self, now: float) -> None:
        self.swept = time.monotonic()
        for k, (start, _, _) in list(self.counts.items()):
            if start < int(now // k[1]) - 1:
                del self.counts[k]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: str | None = None) -> None:
        self.app = app
        self.limit = limit  # None: Settings.api_rate_limit, read per request (tests may change it)
        self.windows = Windows()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        items = _items(self.limit or get_settings().api_rate_limit)
        key = client_key(scope)
        now = time.time()
        told = None
        for item in items:
            allowed, remaining, wait = self.windows.hit(item, key, now)
            if not allowed:
                await self._refuse(scope, send, item, max(1, wait))
                return
            if told is None:  # the tightest window decides what the client is told
                period = item.get_expiry()
                told = (item.amount, remaining, math.ceil(period - now % period))
        headers = [
            (b"ratelimit-limit", str(told[0]).encode()),
            (b"ratelimit-remaining", str(told[1]).encode()),
            (b"ratelimit-reset", str(told[2]).encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, send: Send, item: RateLimitItem, retry: int) -> None:
        window = f"{item.amount} 次/{item.multiples if item.multiples > 1 else ''}{_UNIT.get(item.GRANULARITY.name, item.GRANULARITY.name)}"
        body = {
            "type": "https://yumiao.guanxian.gov.cn/problems/too_many_requests",
            "title": "Too Many Requests",
            "status": 429,
            "detail": f"请求过于频繁（上限 {window}），请 {retry} 秒后再试",
            "instance": scope["path"],
            "code": "too_many_requests",
            "errors": [],
        }
        data = json.dumps(body, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"retry-after", str(retry).encode()),
                    (b"ratelimit-limit", str(item.amount).encode()),
                    (b"ratelimit-remaining", b"0"),
                    (b"ratelimit-reset", str(retry).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


_UNIT = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "月", "year": "年"}


def document_429(schema: dict) -> None:
    """429 with Retry-After on every /api operation of an OpenAPI document."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for op in operations.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            r = op["responses"].setdefault("429", {"description": "请求过于频繁，见 Retry-After"})
            r.setdefault("headers", {}).update(
                {"Retry-After": {"description": "可再次请求前须等待的秒数", "schema": {"type": "integer"}}}
            )
