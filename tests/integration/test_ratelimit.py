"""Rate limits per API key (else session, else address) with Retry-After and problem+json."""

import pytest

from app.api.ratelimit import RateLimitMiddleware, client_key
from app.config import get_settings
from tests.conftest import bearer


@pytest.fixture
def low_limit(monkeypatch):
    monkeypatch.setattr(get_settings(), "api_rate_limit", "3/minute")


def test_a_key_over_its_limit_gets_429_with_retry_after(client, make, low_limit):
    key, other = make.api_key(), make.api_key()
    for i in range(3):
        r = client.get("/api/v1/enterprises", headers=bearer(key))
        assert r.status_code == 200
        assert r.headers["ratelimit-limit"] == "3" and r.headers["ratelimit-remaining"] == str(2 - i)
    r = client.get("/api/v1/enterprises", headers=bearer(key))
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    # Until enough of the full window has slid out: at most the rest of this minute and a third of the next.
    assert 1 <= int(r.headers["retry-after"]) <= 80
    body = r.json()
    assert body["status"] == 429 and body["code"] == "too_many_requests" and "请求过于频繁" in body["detail"]
    assert "3 次/分钟" in body["detail"] and body["instance"] == "/api/v1/enterprises"
    # Another key has its own budget; pages and the health check are not limited.
    assert client.get("/api/v1/enterprises", headers=bearer(other)).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_wrong_keys_are_limited_too(client, low_limit):
    codes = [client.get("/api/v1/enterprises", headers=bearer("ym_guess_1")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_keys_are_hashed_and_fall_back_to_session_then_address():
    k = client_key({"headers": [(b"authorization", b"Bearer secret-token")], "client": ("10.0.0.1", 1)})
    assert k.startswith("key:") and "secret" not in k
    s = client_key({"headers": [(b"cookie", b"a=b; yumiao_session=tok")], "client": ("10.0.0.1", 1)})
    assert s.startswith("session:") and "tok" not in s
    assert client_key({"headers": [], "client": ("10.0.0.9", 5)}) == "addr:10.0.0.9"


async def _call(mw, path, key):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "path": path,
        "method": "GET",
        "headers": [(b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 1),
    }
    await mw(scope, receive, send)
    return sent[0]["status"]


def test_several_windows_and_an_explicit_limit():
    import asyncio

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    from concurrent.futures import ThreadPoolExecutor

    def run(coro):  # a thread of its own: another test's sync Playwright may own this thread's loop
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro).result()

    mw = RateLimitMiddleware(app, limit="2/second;100/minute")
    codes = [run(_call(mw, "/api/v1/x", "k")) for _ in range(3)]
    assert codes == [200, 200, 429]
    assert run(_call(mw, "/static/app.css", "k")) == 200


def test_every_api_operation_documents_429_with_retry_after(app):
    schema = app.openapi()
    for path, ops in schema["paths"].items():
        if path.startswith("/api/"):
            for method, op in ops.items():
                r = op["responses"].get("429")
                assert r and "Retry-After" in r["headers"], f"{method} {path}"


def test_the_window_slides_and_retry_after_is_when_a_request_is_allowed_again():
    from limits import parse

    from app.api.ratelimit import Windows

    w, item = Windows(), parse("3/minute")
    t0 = 6000.0  # the start of a minute
    assert [w.hit(item, "k", t0 + i)[:2] for i in range(3)] == [(True, 2), (True, 1), (True, 0)]
    allowed, _, retry = w.hit(item, "k", t0 + 3)
    assert not allowed and retry == 77  # the rest of this minute, then 20 s until a third of it has slid out
    assert not w.hit(item, "k", t0 + 79)[0]  # 3 × 41/60 still counted from the previous minute
    assert w.hit(item, "k", t0 + 80)[0]
    assert w.hit(item, "other", t0 + 80)[:2] == (True, 2)  # every client has its own windows


def test_workers_take_hits_in_blocks_and_together_never_pass_the_limit(engine):
    """Two workers (two counters on one database) each take blocks of hits from the shared row: together they
    allow no more than the limit, near it they take single hits (so almost all of it is used), far from it one
    upsert serves many requests; unused hits go back to their window when the next window begins."""
    import asyncio
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from limits import parse
    from sqlalchemy import event, text

    from app.api.ratelimit import DatabaseWindows

    if engine.dialect.name != "postgresql":
        pytest.skip("the shared counter lives in PostgreSQL")
    a, b = DatabaseWindows(), DatabaseWindows()
    statements = []
    for w in (a, b):
        event.listen(w.engine.engine, "before_cursor_execute", lambda *args: statements.append(1))
    item, key = parse("1000/minute"), f"key:{uuid.uuid4().hex}"
    t0 = 1_800_000_000.0  # the start of a minute

    async def run_all():
        out = []
        for i in range(1200):
            out.append((await (a if i % 2 else b).hit(item, key, t0 + i / 100))[0])
        return out

    with ThreadPoolExecutor(1) as pool:
        allowed = pool.submit(asyncio.run, run_all()).result()
    assert sum(allowed) <= 1000  # one limit for both
    assert sum(allowed) >= 1000 - 2 * 32  # at most a small block held unused by the other worker
    assert allowed[:900] == [True] * 900
    assert len(statements) < 1200 / 4  # not one statement per request, refused or allowed
    name = f"{key}|1000/60"
    with engine.connect() as c:
        before = c.scalar(
            text("SELECT hits FROM rate_limit_hit WHERE key = :k AND window_start = :w"),
            {"k": name, "w": int(t0)},
        )
    assert before <= 1000

    async def next_window():
        return await a.hit(item, key, t0 + 61), await b.hit(item, key, t0 + 61)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, next_window()).result()
    with engine.connect() as c:
        after = c.scalar(
            text("SELECT hits FROM rate_limit_hit WHERE key = :k AND window_start = :w"),
            {"k": name, "w": int(t0)},
        )
    assert after == sum(allowed)  # what the old window counts is what was used


def test_a_burst_from_one_client_shares_one_block_instead_of_each_request_taking_its_own(engine):
    """100 requests of one key arriving at once in one worker, limit 600 a minute: every one is allowed. (Were
    each request that finds no hits left to take a block of its own, 34 blocks of 18 would use up the whole
    minute and the rest of the burst would be refused with 429 though only 34 requests had been made.)"""
    import asyncio
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from limits import parse

    from app.api.ratelimit import DatabaseWindows

    if engine.dialect.name != "postgresql":
        pytest.skip("the shared counter lives in PostgreSQL")
    w = DatabaseWindows()
    item, key = parse("600/minute"), f"key:{uuid.uuid4().hex}"
    t0 = 1_800_000_000.0

    async def burst():
        return await asyncio.gather(*(w.hit(item, key, t0 + 1) for _ in range(100)))

    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, burst()).result()
    assert [allowed for allowed, _, _ in answers] == [True] * 100
    assert min(remaining for _, remaining, _ in answers) >= 600 - 100 - 18  # one unused block at most
