"""Two app processes on one database (as with several workers, or several servers behind a load
balancer) share one rate limit, one log-in throttle and one truth for cached policy documents."""

import asyncio
from collections import Counter

import httpx
import pytest

from app.accounts import service as accounts
from tests.conftest import PASSWORD, Factory, Server, bearer
from tests.policies.test_documents_api import CASES_2024, copy_2024

ENV = {"YUMIAO_API_RATE_LIMIT": "10/minute", "YUMIAO_DB_POOL_SIZE": "3", "YUMIAO_DB_MAX_OVERFLOW": "3"}


@pytest.fixture(scope="module")
def pair(database_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pair")
    a = Server(database_url, tmp / "a.log", env=ENV)
    try:
        b = Server(database_url, tmp / "b.log", env=ENV)
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


async def _all_at_once(requests):
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as c:
        gate = asyncio.Event()

        async def one(method, url, kw):
            await gate.wait()
            return await c.request(method, url, **kw)

        tasks = [asyncio.create_task(one(*r)) for r in requests]
        await asyncio.sleep(0.1)
        gate.set()
        return await asyncio.gather(*tasks)


def at_once(requests):
    return asyncio.run(_all_at_once(requests))


def test_one_rate_limit_across_both_processes(pair, committed):
    with committed() as s:
        key, _ = accounts.create_api_key(s, name="limited", scopes=["enterprises:read"])
        s.commit()
    results = at_once(
        [
            ("GET", f"{pair[i % 2].base}/api/v1/enterprises?limit=1", {"headers": bearer(key)})
            for i in range(30)
        ]
    )
    codes = Counter(r.status_code for r in results)
    assert codes == {200: 10, 429: 20}, [r.text[:300] for r in results if r.status_code not in (200, 429)]
    assert all(int(r.headers["retry-after"]) >= 1 for r in results if r.status_code == 429)


def _login_form(base) -> tuple[str, dict]:
    r = httpx.get(f"{base}/login")
    token = r.cookies["yumiao_login_csrf"]
    return token, {"Cookie": f"yumiao_login_csrf={token}"}


def _posts(pair, usernames, passwords):
    token, cookie = _login_form(pair[0].base)
    return at_once(
        [
            (
                "POST",
                f"{pair[i % 2].base}/login",
                {"data": {"username": u, "password": p, "csrf_token": token}, "headers": cookie},
            )
            for i, (u, p) in enumerate(zip(usernames, passwords, strict=True))
        ]
    )


def test_one_log_in_throttle_per_account_across_both_processes(pair, committed):
    """5 failures per account (YUMIAO_LOGIN_MAX_FAILURES_PER_ACCOUNT): of 100 concurrent wrong
    passwords exactly 5 are checked; the right password afterwards is refused too."""
    with committed() as s:
        user = Factory(s).user()
        s.commit()
    results = _posts(pair, [user.username] * 100, ["wrong-pass"] * 100)
    assert Counter(r.status_code for r in results) == {401: 5, 429: 95}
    (late,) = _posts(pair, [user.username], [PASSWORD])
    assert late.status_code == 429


def test_the_right_password_among_concurrent_guesses_gets_no_extra_checks(pair, committed):
    """40 concurrent attempts, the right password 35th: at most 5 attempts are checked at all."""
    with committed() as s:
        user = Factory(s).user()
        s.commit()
    passwords = ["wrong-pass"] * 40
    passwords[34] = PASSWORD
    results = _posts(pair, [user.username] * 40, passwords)
    codes = Counter(r.status_code for r in results)
    checked = codes[401] + codes[200] + codes[303]
    assert checked == 5 and codes[429] == 35, codes


def test_one_log_in_throttle_per_address_across_both_processes(pair, committed):
    """20 failures per address (YUMIAO_LOGIN_MAX_FAILURES_PER_ADDRESS), over 100 different accounts."""
    results = _posts(pair, [f"guess-{i}" for i in range(100)], ["wrong-pass"] * 100)
    assert Counter(r.status_code for r in results) == {401: 20, 429: 80}


def test_one_truth_for_cached_policy_documents(pair, committed):
    """Process A computes with the published documents (and keeps them parsed in memory); process B
    publishes a new version; A's very next computation uses it (冠政办发〔2024〕3号 二（一）1:
    首次升规 county award changed to 8 万元 in the test plan)."""
    a, b = pair
    with committed() as s:
        key, _ = accounts.create_api_key(
            s,
            name="policy-admin",
            scopes=["policies:read", "policies:write", "awards:read", "enterprises:read"],
        )
        s.commit()
    h = bearer(key)
    body = {"event": {"type": "first_above_scale", "date": "2024-06-30"}, "enterprise": {"size": "small"}}

    def county_lines(server):
        r = httpx.post(f"{server.base}/api/v1/awards/preview", headers=h, json=body, timeout=30)
        assert r.status_code == 200, r.text
        return [(x["rule_id"], x["amount_yuan"]) for x in r.json()["lines"] if x["funder"] == "county"]

    assert county_lines(a) == [("gz2022-9.county.first_above_scale", 50_000)]
    text = httpx.get(f"{b.base}/api/v1/policies/gzb2023-7/document.yaml", headers=h).text
    yaml_h = {**h, "Content-Type": "application/yaml"}
    assert (
        httpx.put(
            f"{b.base}/api/v1/policies/gzb2024-3/draft", headers=yaml_h, content=copy_2024(text).encode()
        ).status_code
        == 200
    )
    assert (
        httpx.put(
            f"{b.base}/api/v1/policies/gzb2024-3/draft/cases", headers=yaml_h, content=CASES_2024.encode()
        ).json()["passed"]
        is True
    )
    r = httpx.post(f"{b.base}/api/v1/policies/gzb2024-3/publish", headers=h, timeout=30)
    assert r.status_code == 200, r.text
    assert county_lines(a) == [("gzb2024-3.county.first_above_scale", 80_000)]
    assert county_lines(b) == [("gzb2024-3.county.first_above_scale", 80_000)]
