"""Bursts against a live server on PostgreSQL, with one and with two worker processes.

Every request gets an answer — success, 409/412, or 503 with Retry-After when the service is
saturated — never a 500 and never silence; /healthz answers within a second during and after the
burst; SIGTERM stops the server.
"""

import asyncio
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from app.accounts import service as accounts
from app.audit.models import AuditEntry
from app.awards.models import AwardLine, Fund, FundEntry
from tests.awards.test_funds import AWARD, FITS, N, _proposed_lines
from tests.conftest import Server, bearer

# The limit per client is not what these tests are about.
SERVER_ENV = {
    "YUMIAO_API_RATE_LIMIT": "100000/minute",
    # The test machine's PostgreSQL is shared: a small pool, which a burst must not break either.
    "YUMIAO_DB_POOL_SIZE": "8",
    "YUMIAO_DB_MAX_OVERFLOW": "0",
}
HEALTH_BUDGET = 1.0  # seconds


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def server(request, database_url, tmp_path_factory):
    srv = Server(
        database_url, tmp_path_factory.mktemp("burst") / "server.log", workers=request.param, env=SERVER_ENV
    )
    yield srv
    srv.stop()


PROBE = r"""
import json, os, sys, time
import httpx
base, stop_file = sys.argv[1], sys.argv[2]
latencies, failures = [], []
with httpx.Client(base_url=base, timeout=10) as c:
    c.get("/healthz")  # connected before the burst
    print("ready", flush=True)
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        if deadline is None and os.path.exists(stop_file):
            deadline = time.monotonic() + 1.0
        t = time.monotonic()
        try:
            r = c.get("/healthz")
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")
        except httpx.HTTPError as e:
            failures.append(repr(e))
        latencies.append(time.monotonic() - t)
        time.sleep(0.1)
print(json.dumps({"latencies": latencies, "failures": failures}), flush=True)
"""


class HealthProbe:
    """Polls /healthz from a process of its own (so the burst's client does not slow the measurement)
    for as long as the burst lasts, and a second after."""

    def __init__(self, base: str, tmp: Path):
        self.base = base
        self.stop_file = tmp / f"stop-{time.monotonic_ns()}"
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def __enter__(self) -> "HealthProbe":
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, self.base, str(self.stop_file)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc) -> None:
        self.stop_file.touch()
        out, _ = self.proc.communicate(timeout=60)
        result = json.loads(out)
        self.latencies, self.failures = result["latencies"], result["failures"]

    def check(self) -> None:
        assert not self.failures, self.failures[:3]
        assert len(self.latencies) >= 5
        assert max(self.latencies) < HEALTH_BUDGET, sorted(self.latencies)[-5:]


async def _burst(base: str, requests: list[tuple[str, str, dict]]) -> list[httpx.Response | Exception]:
    """Sends every request at once, each on its own connection; a request left unanswered for 60 s
    counts as silence."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        gate = asyncio.Event()

        async def one(method, url, kw):
            await gate.wait()
            try:
                return await c.request(method, url, **kw)
            except httpx.HTTPError as e:
                return e

        tasks = [asyncio.create_task(one(*r)) for r in requests]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*tasks)


def burst(base, requests):
    with HealthProbe(base, Path(tempfile.gettempdir())) as probe:
        results = asyncio.run(_burst(base, requests))
    silent = [r for r in results if isinstance(r, Exception)]
    assert not silent, silent[:3]
    codes = Counter(r.status_code for r in results)
    errors = [
        (r.status_code, r.headers.get("content-type"), r.text[:300]) for r in results if r.status_code >= 500
    ]
    assert not [e for e in errors if e[0] != 503], errors[:3]
    for r in results:
        if r.status_code == 503:
            assert r.headers["content-type"].startswith("application/problem+json")
            assert int(r.headers["retry-after"]) >= 1
    probe.check()
    return results, codes, probe


def _key(committed, scopes):
    with committed() as s:
        key, _ = accounts.create_api_key(s, name=f"burst-{random.random()}", scopes=scopes)
        s.commit()
    return key


def test_100_concurrent_approvals_on_a_fund_holding_37(server, committed):
    fund_id, line_ids = _proposed_lines(committed)
    key = _key(committed, ["awards:read", "awards:approve"])
    results, codes, probe = burst(
        server.base,
        [
            (
                "POST",
                f"/api/v1/awards/lines/{i}/approve",
                {"headers": bearer(key), "json": {"comment": "同意", "fund_id": fund_id}},
            )
            for i in line_ids
        ],
    )
    print(f"\n{server.workers} worker(s): {dict(codes)}; /healthz max {max(probe.latencies):.3f} s")
    assert codes == {200: FITS, 409: N - FITS}, [
        r.text[:200] for r in results if r.status_code not in (200, 409)
    ][:3]
    assert all(r.json()["code"] == "fund_exhausted" for r in results if r.status_code == 409)
    with committed() as s:
        fund = s.get(Fund, fund_id)
        approved = s.scalar(select(func.count()).select_from(AwardLine).where(AwardLine.status == "approved"))
        draws = s.scalar(
            select(func.count())
            .select_from(FundEntry)
            .where(FundEntry.kind == "draw", FundEntry.fund_id == fund_id)
        )
        ledger = s.scalar(
            select(func.sum(FundEntry.amount_yuan)).where(
                FundEntry.kind == "draw", FundEntry.fund_id == fund_id
            )
        )
        assert approved == draws == FITS
        assert fund.drawn_yuan == ledger == FITS * AWARD == fund.budget_yuan


def _enterprises(committed, n):
    from tests.conftest import Factory

    with committed() as s:
        make = Factory(s)
        ids = [make.enterprise(name=f"并发企业{i:03d}有限公司").id for i in range(n)]
        s.commit()
    return ids


def test_50_concurrent_patches_with_one_etag(server, committed):
    (eid,) = _enterprises(committed, 1)
    key = _key(committed, ["enterprises:read", "enterprises:write"])
    results, codes, probe = burst(
        server.base,
        [
            (
                "PATCH",
                f"/api/v1/enterprises/{eid}",
                {"headers": {**bearer(key), "If-Match": '"1"'}, "json": {"name": f"改名企业{i:02d}有限公司"}},
            )
            for i in range(50)
        ],
    )
    print(f"\n{server.workers} worker(s): {dict(codes)}; /healthz max {max(probe.latencies):.3f} s")
    assert codes == {200: 1, 412: 49}, [r.text[:200] for r in results if r.status_code not in (200, 412)][:3]
    with committed() as s:
        updates = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.entity_type == "enterprise",
                AuditEntry.entity_id == str(eid),
                AuditEntry.action == "update",
            )
        )
        version = s.execute(text("select version from enterprise where id = :i"), {"i": eid}).scalar()
    assert updates == 1 and version == 2


def test_200_concurrent_mixed_reads_and_writes(server, committed):
    from app.enterprises.uscc import generate

    ids = _enterprises(committed, 30)
    fund_id, line_ids = _proposed_lines(committed)
    key = _key(committed, ["enterprises:read", "enterprises:write", "awards:read", "awards:approve"])
    h = bearer(key)
    rng = random.Random(f"mixed-{server.workers}")
    reqs = []
    reqs += [("GET", "/api/v1/enterprises?limit=20", {"headers": h})] * 30
    reqs += [("GET", f"/api/v1/enterprises/{rng.choice(ids)}", {"headers": h}) for _ in range(30)]
    reqs += [("GET", "/api/v1/awards/lines?limit=50", {"headers": h})] * 20
    reqs += [("GET", "/enterprises", {})] * 10  # a page, not logged in: a redirect to /login
    reqs += [
        (
            "POST",
            "/api/v1/enterprises",
            {
                "headers": h,
                "json": {
                    "uscc": generate(rng),
                    "name": f"新登记企业{i}有限公司",
                    "township": "qingquan",
                    "size": "small",
                },
            },
        )
        for i in range(20)
    ]
    reqs += [
        (
            "PATCH",
            f"/api/v1/enterprises/{ids[i]}",
            {"headers": {**h, "If-Match": '"1"'}, "json": {"industry": f"行业{i}"}},
        )
        for i in range(1, 21)
    ]
    reqs += [
        (
            "PATCH",
            f"/api/v1/enterprises/{ids[0]}",
            {"headers": {**h, "If-Match": '"1"'}, "json": {"chain": f"产业链{i}"}},
        )
        for i in range(20)
    ]
    reqs += [
        (
            "POST",
            f"/api/v1/awards/lines/{i}/approve",
            {"headers": h, "json": {"comment": "同意", "fund_id": fund_id}},
        )
        for i in line_ids[:50]
    ]
    assert len(reqs) == 200
    rng.shuffle(reqs)
    results, codes, probe = burst(server.base, reqs)
    print(f"\n{server.workers} worker(s): {dict(codes)}; /healthz max {max(probe.latencies):.3f} s")
    by_kind = Counter()
    for (method, url, _), r in zip(reqs, results, strict=True):
        by_kind[
            (method, url.split("?")[0].rsplit("/", 1)[-1] if method != "GET" else "read", r.status_code)
        ] += 1
    assert codes[503] == 0, by_kind
    assert codes[201] == 20
    approvals = [r for (m, u, _), r in zip(reqs, results, strict=True) if u.endswith("/approve")]
    assert Counter(r.status_code for r in approvals) == {200: FITS, 409: 50 - FITS}
    same = [
        r for (m, u, kw), r in zip(reqs, results, strict=True) if m == "PATCH" and u.endswith(f"/{ids[0]}")
    ]
    assert Counter(r.status_code for r in same) == {200: 1, 412: 19}
    assert set(codes) <= {200, 201, 303, 409, 412}, by_kind


def test_the_server_stops_on_sigterm_after_the_bursts(server):
    elapsed = server.stop()
    print(f"\n{server.workers} worker(s): stopped {elapsed:.2f} s after SIGTERM")
    # uvicorn re-raises the signal after a graceful shutdown, so the process ends "by SIGTERM".
    assert server.proc.returncode in (0, -signal.SIGTERM), server.log()[-2000:]
    assert "Application shutdown complete" in server.log()
    assert elapsed < 10


# --- saturated: a lock held elsewhere, slots full ------------------------------------------------

SATURATED_ENV = {
    **SERVER_ENV,
    "YUMIAO_REQUEST_CONCURRENCY": "2",
    "YUMIAO_REQUEST_QUEUE_TIMEOUT_S": "1",
    "YUMIAO_DB_LOCK_TIMEOUT_MS": "1500",
}


def test_while_a_lock_is_held_elsewhere_requests_get_503_with_retry_after_then_succeed(
    database_url, tmp_path, committed, engine
):
    """Two slots, a queue of one second, locks waited for 1.5 s: a fund locked by someone else (a
    long report, a stuck client) turns a burst into 503s that say when to retry — and /healthz
    still answers — instead of a pile of requests that never end."""
    fund_id, line_ids = _proposed_lines(committed)
    key = _key(committed, ["awards:read", "awards:approve"])
    srv = Server(database_url, tmp_path / "server.log", env=SATURATED_ENV)
    try:
        with engine.connect() as holder:
            tx = holder.begin()
            holder.execute(text("SELECT id FROM fund WHERE id = :f FOR UPDATE"), {"f": fund_id})
            results, codes, probe = burst(
                srv.base,
                [
                    (
                        "POST",
                        f"/api/v1/awards/lines/{i}/approve",
                        {"headers": bearer(key), "json": {"comment": "同意", "fund_id": fund_id}},
                    )
                    for i in line_ids[:10]
                ],
            )
            tx.rollback()
        print(f"\nsaturated: {dict(codes)}; /healthz max {max(probe.latencies):.3f} s")
        assert codes == {503: 10}
        kinds = Counter(r.json()["detail"] for r in results)
        assert kinds["系统繁忙：同时处理的请求已满，请稍后重试"] >= 1  # waited for a slot
        assert kinds["记录正被其他请求修改，等待超时，请稍后重试"] >= 1  # waited for the fund's lock
        assert all(r.json()["code"] == "service_busy" for r in results)
        # The lock is gone: the same requests now succeed.
        r = httpx.post(
            f"{srv.base}/api/v1/awards/lines/{line_ids[0]}/approve",
            headers=bearer(key),
            json={"comment": "同意", "fund_id": fund_id},
            timeout=10,
        )
        assert r.status_code == 200, r.text
    finally:
        elapsed = srv.stop()
    assert elapsed < 10
