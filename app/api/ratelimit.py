"""Rate limits on /api: per API key, else per log-in session, else per client address.

A pure ASGI middleware (no BaseHTTPMiddleware) with a sliding-window counter (the `limits` package
parses the limits). The limit is `Settings.api_rate_limit` (YUMIAO_API_RATE_LIMIT, e.g. "600/minute";
several may be given as "20/second;600/minute"). Every /api response carries `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset`; over the limit the answer is 429 problem+json with
`Retry-After` (seconds).

On PostgreSQL the counters live in the database (table rate_limit_hit, one row per client and
window, taken in blocks by an atomic upsert on a small pool of its own — `DatabaseWindows`), so every worker
process and every app server behind a load balancer shares one limit, and a restart forgets
nothing. On SQLite (one local process) they live in this process's memory (`Windows`). If the
database counter cannot be reached the request is let through: the limit protects the service, it
is not a reason to refuse one.

The key is a hash of the bearer token or the session cookie, not the account it names: no
database lookup happens before the limit, and a flood of wrong keys is limited like any other.
"""

import asyncio
import hashlib
import json
import math
import random
import time
import weakref
from functools import lru_cache

import anyio
import anyio.to_thread
import structlog
from limits import RateLimitItem, parse_many
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM
from app.config import get_settings

SESSION_COOKIE = "yumiao_session"
log = structlog.get_logger("yumiao.ratelimit")


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
        self.counts: dict[
            tuple[str, int, int], tuple[int, int, int]
        ] = {}  # → (window index, current, previous)
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
        return (
            allowed,
            max(0, math.floor(amount - weighted)),
            self._wait(amount, period, current, previous, elapsed),
        )

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


# One statement takes `:grant` hits of the current window for this worker, only while the window (with the
# previous window's weighted share) has room for all of them; it answers the window's hits after the grant and
# the previous window's count. The previous count comes from the statement's snapshot: it only shrinks what
# the current window may take.
_LEASE = text("""
    WITH prev AS (SELECT coalesce((SELECT hits FROM rate_limit_hit WHERE key = :key AND window_start = :prev_win), 0) AS p),
    room AS (SELECT p, :amount - ceil(p * :share - 1e-9)::int AS allowed FROM prev)
    INSERT INTO rate_limit_hit AS r (key, window_start, hits)
    SELECT :key, :win, :grant FROM room WHERE :grant <= room.allowed
    ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + :grant
        WHERE r.hits + :grant <= (SELECT allowed FROM room)
    RETURNING r.hits, (SELECT p FROM room), (SELECT allowed FROM room)
""")
_ROOM = text("""
    SELECT :amount - ceil(coalesce((SELECT hits FROM rate_limit_hit WHERE key = :key AND window_start = :prev_win), 0)
                          * :share - 1e-9)::int,
           coalesce((SELECT hits FROM rate_limit_hit WHERE key = :key AND window_start = :prev_win), 0),
           coalesce((SELECT hits FROM rate_limit_hit WHERE key = :key AND window_start = :win), 0)
""")
_GIVE_BACK = text(
    "UPDATE rate_limit_hit SET hits = greatest(0, hits - :unused) WHERE key = :key AND window_start = :win"
)
_FORGET = text("DELETE FROM rate_limit_hit WHERE window_start < :before")


class _Lease:
    """What this worker holds of one client's current window: hits taken from the shared counter and not yet used."""

    __slots__ = ("index", "left", "allowed", "seen", "refused_until")

    def __init__(self, index: int) -> None:
        self.index = index
        self.left = 0  # hits taken from the shared counter, not yet used by a request
        self.allowed = 0  # what the window could take when last asked
        self.seen = 0  # the window's shared count when last asked
        self.refused_until = (
            0.0  # the counter said no: until then (the Retry-After it gave) the answer stays no
        )


class DatabaseWindows:
    """The same sliding-window counters, shared by every process through PostgreSQL (table rate_limit_hit,
    one row per client and window).

    A worker does not write a row per request: it takes hits from the shared counter in blocks (a lease)
    and uses them up in memory, on the event loop, with no trip to a thread or the database. The upsert
    that takes a block is atomic and takes it only while the window has room for all of it, so the hits
    taken by every worker together never pass the limit: one limit across processes, as before. A block
    is at most 1/LEASE_SHARE of the room left and at most LEASE_MAX, so near the limit blocks are single
    hits and the count is exact (a limit of 10 a minute is counted one hit at a time); far from it one
    upsert serves up to LEASE_MAX requests. Hits a worker took and did not use are given back to the
    window they came from when its next window begins, so the previous window's weighted share counts
    only hits that were used. A worker holding an unused block may make a client elsewhere be refused up
    to that many hits early, never allowed more."""

    LEASE_SHARE = 32
    LEASE_MAX = 256

    def __init__(self) -> None:
        from app.db import bounded_waits, make_engine

        self.engine = make_engine(
            get_settings().database_url,
            pool_size=2,
            max_overflow=0,
            pool_timeout=2,
            connect_args=bounded_waits(lock_ms=1000, statement_ms=2000, idle_ms=0, connect_s=2),
        ).execution_options(isolation_level="AUTOCOMMIT")
        self._limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._locks: weakref.WeakKeyDictionary = (
            weakref.WeakKeyDictionary()
        )  # loop -> {lease key: asyncio.Lock}
        self.leases: dict[tuple[str, int, int], _Lease] = {}
        self.swept = time.monotonic()

    def _take(
        self,
        name: str,
        amount: int,
        period: int,
        index: int,
        share: float,
        grant: int,
        give_back: tuple[int, int] | None,
    ) -> tuple[int, int, int, int]:
        """(hits granted, the window's shared count after, the previous window's count, allowed) on a thread."""
        win = index * period
        args = {"key": name, "win": win, "prev_win": win - period, "amount": amount, "share": share}
        with self.engine.connect() as conn:
            if give_back is not None:
                conn.execute(_GIVE_BACK, {"key": name, "win": give_back[0] * period, "unused": give_back[1]})
            for g in dict.fromkeys((grant, 1)):  # a block if there is room for it, else a single hit
                row = conn.execute(_LEASE, {**args, "grant": g}).first()
                if row is not None:
                    break
            else:
                allowed, previous, hits = conn.execute(_ROOM, args).one()
                return 0, hits, previous, allowed
            if random.random() < 0.01:
                conn.execute(_FORGET, {"before": win - 2 * max(period, 86400)})
        return g, row[0], row[1], row[2]

    def _from_lease(self, k: tuple[str, int, int], index: int, now: float) -> tuple[bool, int, int] | None:
        """Answer from this worker's lease alone, or None when the shared counter must be asked."""
        lease = self.leases.get(k)
        if lease is not None and lease.left > 0 and lease.index == index:
            lease.left -= 1
            return True, max(0, lease.allowed - lease.seen + lease.left), 0
        if lease is not None and lease.index == index and now < lease.refused_until:
            return False, 0, max(1, math.ceil(lease.refused_until - now))
        return None

    async def hit(self, item: RateLimitItem, key: str, now: float) -> tuple[bool, int, int]:
        period, amount = item.get_expiry(), item.amount
        index = int(now // period)
        k = (key, period, amount)
        answer = self._from_lease(k, index, now)
        if answer is not None:
            return answer
        # One trip to the shared counter at a time per client in this worker: requests of a burst wait for
        # the block the first one is taking instead of each taking a block of its own (which would use up
        # the window's room with hits nobody makes).
        loop = asyncio.get_running_loop()
        locks = self._locks.get(loop)
        if locks is None:
            locks = self._locks[loop] = {}
        lock = locks.get(k)
        if lock is None:
            lock = locks[k] = asyncio.Lock()
        async with lock:
            answer = self._from_lease(k, index, now)
            if answer is not None:
                return answer
            return await self._renew(k, key, period, amount, index, now, loop)

    async def _renew(
        self, k: tuple[str, int, int], key: str, period: int, amount: int, index: int, now: float, loop
    ) -> tuple[bool, int, int]:
        lease = self.leases.get(k)
        if time.monotonic() - self.swept > Windows.SWEEP_SECONDS:
            self._sweep(index, period)
        give_back = None
        if lease is not None and lease.index != index:
            if lease.left > 0:
                give_back = (lease.index, lease.left)
            lease = None
        if lease is None:
            lease = self.leases[k] = _Lease(index)
        elapsed = now - index * period
        share = (period - elapsed) / period
        room = max(0, lease.allowed - lease.seen) if lease.seen else amount
        grant = max(1, min(self.LEASE_MAX, room // self.LEASE_SHARE))
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(2)
        name = f"{key}|{amount}/{period}"
        try:
            granted, seen, previous, allowed = await anyio.to_thread.run_sync(
                self._take, name, amount, period, index, share, grant, give_back, limiter=limiter
            )
        except Exception as e:  # noqa: BLE001 - an unreachable counter lets the request through
            log.warning("rate limit counter unavailable", error=type(e).__name__)
            return True, amount, 0
        if lease.index == index:  # still this window's lease (another request may have renewed it meanwhile)
            lease.seen, lease.allowed = max(lease.seen, seen), allowed
            if granted:
                lease.left += granted - 1
        if not granted:
            current = max(0, min(seen, allowed))
            wait = max(1, Windows._wait(amount, period, current, previous, elapsed))
            if lease.index == index:
                lease.refused_until = now + wait
            return False, 0, wait
        return True, max(0, allowed - seen + max(0, lease.left)), 0

    def _sweep(self, index: int, period: int) -> None:
        self.swept = time.monotonic()
        for k, lease in list(self.leases.items()):
            if lease.index < int(time.time() // k[1]) - 1:
                del self.leases[k]
                for locks in self._locks.values():
                    lock = locks.get(k)
                    if lock is not None and not lock.locked():
                        del locks[k]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: str | None = None) -> None:
        self.app = app
        self.limit = limit  # None: Settings.api_rate_limit, read per request (tests may change it)
        self.windows = Windows()
        self._shared: DatabaseWindows | None = None

    async def _hit(self, item: RateLimitItem, key: str, now: float) -> tuple[bool, int, int]:
        if get_settings().is_sqlite:
            return self.windows.hit(item, key, now)
        if self._shared is None:
            self._shared = DatabaseWindows()
        return await self._shared.hit(item, key, now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        items = _items(self.limit or get_settings().api_rate_limit)
        key = client_key(scope)
        now = time.time()
        told = None
        for item in items:
            allowed, remaining, wait = await self._hit(item, key, now)
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
