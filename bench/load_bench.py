"""Load benchmark: the JSON API under concurrent mixed reads and writes from several API keys.

    python bench/load_bench.py [--enterprises 100000] [--seconds 30] [--repeat 3] [--concurrency 16] [--skip-seed]
    python bench/load_bench.py --baseline /tmp/yumiao-base --sql-fill --enterprises 100000 --scenarios "mixed + bursts"

With --baseline DIR (another checkout, e.g. `git worktree add /tmp/yumiao-base <commit>`, with its own .venv),
the same scenarios run against that checkout's server too, side by side in one run: each checkout gets its own
database (migrated by its own code, filled with the same rows by bench/datagen.py — --sql-fill), and the runs
alternate between the two so that drift on a shared machine hits both alike.

The "mixed + bursts" scenario adds, to the mixed reads and writes, bursts of eight concurrent writes on one row:
four PUTs of the same enterprise's figures for one year and four PATCHes of it with the same If-Match (one
succeeds, the others get 412 as designed).

Creates the database `yumiao_bench_load` (dropped first unless --skip-seed), fills it with
app/demo/seed.py load(), serves it with `uvicorn --workers 2`, and drives it from this process over
loopback with asyncio and bench/lightclient.py (keep-alive HTTP/1.1 over asyncio streams; `--client httpx` for
httpx): `--concurrency` requests in flight, spread over five API keys. Both checkouts are driven by the same client.
Each scenario runs `--repeat` times for `--seconds` (at most 60) each. Prints a Markdown table and writes bench/load.md.

The rate limit is raised for the run (YUMIAO_API_RATE_LIMIT) so that the figures measure the
application, not the limiter; with the default 600/minute per key the same keys would see 429.
"""

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, pct, server  # noqa: E402
from bench.lightclient import ClientError, LightClient  # noqa: E402
from bench.lightclient import Response as LightResponse  # noqa: E402

DB = "yumiao_bench_load"
READ_SCOPES = ["enterprises:read", "policies:read", "changes:read", "pools:read"]
WRITE_SCOPES = [*READ_SCOPES, "enterprises:write", "platform:write"]


@dataclass
class Tally:
    ms: list[float] = field(default_factory=list)
    by_op: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # 5xx, network errors, unexpected statuses
    conflicts: int = 0  # 409/412 from two writers on one record: the API working as designed


class Driver:
    def __init__(
        self, base: str, keys: dict[str, list[str]], ids: list[int], usccs: list[str], rng: random.Random
    ):
        self.base, self.keys, self.ids, self.usccs, self.rng = base, keys, ids, usccs, rng
        self.feed_cursor: dict[str, str] = {}

    def key(self, kind: str) -> dict:
        return {"Authorization": f"Bearer {self.rng.choice(self.keys[kind])}"}

    # -- reads
    async def list_page(self, c):
        params = self.rng.choice(
            [
                {"limit": 50},
                {"township": "qingquan", "limit": 50},
                {"q": "机械", "limit": 20},
                {
                    "above_scale": "false",
                    "revenue_min": 10_000_000,
                    "revenue_max": 20_000_000,
                    "sort": "-revenue",
                },
            ]
        )
        return "GET /enterprises", await c.get("/api/v1/enterprises", params=params, headers=self.key("read"))

    async def get_one(self, c):
        return "GET /enterprises/{id}", await c.get(
            f"/api/v1/enterprises/{self.rng.choice(self.ids)}", headers=self.key("read")
        )

    async def eligible(self, c):
        return "GET …/eligible-policies", await c.get(
            f"/api/v1/enterprises/{self.rng.choice(self.ids)}/eligible-policies",
            params={"as_of": "2023-06-30", "limit": 20},
            headers=self.key("read"),
        )

    async def eligible_batch(self, c):
        return "POST /eligible-policies:batch (20)", await c.post(
            "/api/v1/eligible-policies:batch",
            headers=self.key("read"),
            json={"usccs": self.rng.sample(self.usccs, 20), "as_of": "2023-06-30", "limit": 5},
        )

    async def changes(self, c):
        k = self.rng.choice(self.keys["read"])
        params = {"limit": 100}
        if k in self.feed_cursor:
            params["cursor"] = self.feed_cursor[k]
        r = await c.get("/api/v1/changes", params=params, headers={"Authorization": f"Bearer {k}"})
        if r.status_code == 200:
            self.feed_cursor[k] = r.json()["next_cursor"]
        return "GET /changes", r

    # -- writes
    async def patch(self, c):
        eid, h = self.rng.choice(self.ids), self.key("write")
        r = await c.get(f"/api/v1/enterprises/{eid}", headers=h)
        if r.status_code != 200:
            return "PATCH /enterprises/{id}", r
        return "PATCH /enterprises/{id}", await c.patch(
            f"/api/v1/enterprises/{eid}",
            headers={**h, "If-Match": r.headers["etag"]},
            json={"chain": self.rng.choice(["高端装备", "新材料", "轴承", "纺织"])},
        )

    async def figures(self, c):
        eid = self.rng.choice(self.ids)
        rev = self.rng.randrange(1_000_000, 50_000_000)
        return "PUT /enterprises/{id}/figures/2024", await c.put(
            f"/api/v1/enterprises/{eid}/figures/2024",
            headers=self.key("write"),
            json={"year": 2024, "revenue_yuan": rev, "main_revenue_yuan": rev},
        )

    async def burst(self, c):
        """Eight concurrent writes on one row: four PUTs of the same year's figures, four PATCHes with one If-Match."""
        eid, h = self.rng.choice(self.ids[:20]), self.key("write")
        r = await c.get(f"/api/v1/enterprises/{eid}", headers=h)
        if r.status_code != 200:
            return "burst of 8 writes on one row", r
        tag = r.headers["etag"]
        rev = self.rng.randrange(1_000_000, 50_000_000)
        puts = [
            c.put(
                f"/api/v1/enterprises/{eid}/figures/2024",
                headers=h,
                json={"year": 2024, "revenue_yuan": rev + i, "main_revenue_yuan": rev},
            )
            for i in range(4)
        ]
        nonce = self.rng.randrange(10**6)
        patches = [
            c.patch(
                f"/api/v1/enterprises/{eid}", headers={**h, "If-Match": tag}, json={"chain": f"链{nonce}-{i}"}
            )
            for i in range(4)
        ]  # four different values
        rs = await asyncio.gather(*puts, *patches)
        bad = next((x for x in rs if x.status_code >= 300 and x.status_code not in (409, 412)), None)
        if bad is not None:
            return "burst of 8 writes on one row", bad
        ok = sum(1 for x in rs[4:] if x.status_code == 200)
        if ok > 1:  # two PATCHes of different values with the same If-Match both won: a lost update
            return "burst of 8 writes on one row", LightResponse(599)
        return "burst of 8 writes on one row", rs[-1] if ok == 0 else next(
            x for x in rs[4:] if x.status_code == 200
        )

    async def registration(self, c):
        day = date(2023, self.rng.randrange(1, 13), self.rng.randrange(1, 29)).isoformat()
        return "PUT /platform/registrations/{uscc}", await c.put(
            f"/api/v1/platform/registrations/{self.rng.choice(self.usccs)}",
            headers=self.key("write"),
            json={"registered_date": day},
        )


SCENARIOS = {
    "read": [("list_page", 30), ("get_one", 30), ("eligible", 20), ("changes", 15), ("eligible_batch", 5)],
    "mixed 80/20": [
        ("list_page", 25),
        ("get_one", 25),
        ("eligible", 15),
        ("changes", 10),
        ("eligible_batch", 5),
        ("patch", 8),
        ("figures", 7),
        ("registration", 5),
    ],
    "write": [("patch", 40), ("figures", 35), ("registration", 25)],
    "mixed + bursts": [
        ("list_page", 25),
        ("get_one", 25),
        ("eligible", 15),
        ("changes", 10),
        ("eligible_batch", 5),
        ("patch", 6),
        ("figures", 6),
        ("registration", 5),
        ("burst", 3),
    ],
}


def http_client(base: str, concurrency: int, kind: str):
    """The benchmark's HTTP client: `light` (bench/lightclient.py, the default) or `httpx`."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
    return LightClient(base, max_connections=concurrency, timeout=30)


async def run_scenario(
    name: str, driver: Driver, seconds: float, concurrency: int, client: str = "light"
) -> tuple[Tally, float]:
    ops = [op for op, _ in SCENARIOS[name]]
    weights = [w for _, w in SCENARIOS[name]]
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async with http_client(driver.base, concurrency, client) as c:

        async def worker():
            while time.perf_counter() < deadline:
                op = driver.rng.choices(ops, weights)[0]
                t = time.perf_counter()
                try:
                    label, r = await getattr(driver, op)(c)
                except (httpx.HTTPError, ClientError) as e:
                    tally.errors[type(e).__name__] += 1
                    continue
                ms = (time.perf_counter() - t) * 1000
                tally.ms.append(ms)
                tally.by_op.setdefault(label, []).append(ms)
                tally.statuses[r.status_code] += 1
                if r.status_code in (409, 412):
                    tally.conflicts += 1
                elif r.status_code >= 300:
                    tally.errors[f"HTTP {r.status_code} {label}"] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return tally, elapsed


def seed(n: int) -> None:
    url = fresh_database(DB)
    from app.db import get_sessionmaker
    from app.demo import seed as demo_seed

    t = time.perf_counter()
    with get_sessionmaker()() as s:
        demo_seed.load(s, n, seed=7)
        s.commit()
    print(f"seeded {n:,} enterprises in {time.perf_counter() - t:.1f} s", flush=True)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")


def make_keys(n_read: int = 3, n_write: int = 2, dsns: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """API keys, written in SQL (sha256 of the key, as every version of the application stores them) into each
    database, so that both checkouts accept the same keys."""
    import hashlib
    import secrets

    out: dict[str, list[str]] = {"read": [], "write": []}
    rows = []
    for kind, n, scopes in (("read", n_read, READ_SCOPES), ("write", n_write, WRITE_SCOPES)):
        for i in range(n):
            prefix = secrets.token_hex(4)
            key = f"ym_{prefix}_{secrets.token_urlsafe(32)}"
            out[kind].append(key)
            rows.append(
                (
                    f"load-{kind}-{i}-{time.time_ns()}",
                    prefix,
                    hashlib.sha256(key.encode()).hexdigest(),
                    ",".join(scopes),
                )
            )
    for dsn in dsns:
        with psycopg.connect(dsn) as c:
            c.cursor().executemany(
                "INSERT INTO api_key (name, prefix, key_hash, scopes, created_at) VALUES (%s, %s, %s, %s, now())",
                rows,
            )
    return out


def valid_usccs(dsns) -> None:
    """bench/datagen.py numbers its USCCs without a check character; give the 5,000 enterprises the benchmark
    draws from (ids 1–5,000, in every database alike) valid codes, since the API checks them."""
    from app.enterprises.uscc import generate

    rng = random.Random(5)
    seen: set[str] = set()
    codes = []
    while len(codes) < 5000:
        code = generate(rng, region="371598")
        if code not in seen:
            seen.add(code)
            codes.append(code)
    for dsn in dsns:
        with psycopg.connect(dsn) as c:
            c.execute(
                "UPDATE enterprise e SET uscc = u.code FROM unnest(%s::int[], %s::text[]) AS u(id, code) "
                "WHERE e.id = u.id",
                (list(range(1, 5001)), codes),
            )


def sql_filled(name: str, n: int, root: Path | None = None) -> str:
    """Database `name` migrated by the checkout at `root` (this one by default) and filled by bench/datagen.py."""
    from bench.datagen import fill

    admin = os.environ.get("YUMIAO_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    py = str(root / ".venv/bin/python") if root else sys.executable
    subprocess.run(
        [py, "-c", "import sys; from app.cli import run_migrations; run_migrations(sys.argv[1])", url],
        cwd=root or Path(__file__).resolve().parent.parent,
        check=True,
        env={**os.environ, "YUMIAO_DATABASE_URL": url},
    )
    t = time.perf_counter()
    fill(url.replace("postgresql+psycopg://", "postgresql://"), n)
    print(f"{name}: {n:,} enterprises in SQL in {time.perf_counter() - t:.0f} s", flush=True)
    return url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--skip-seed", action="store_true", help="reuse yumiao_bench_load as it is")
    ap.add_argument(
        "--sql-fill", action="store_true", help="fill with bench/datagen.py (SQL) instead of the demo seed"
    )
    ap.add_argument("--baseline", type=Path, help="another checkout (with .venv) to run side by side")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument(
        "--client",
        choices=("light", "httpx"),
        default="light",
        help="the HTTP client driving the servers: bench/lightclient.py (default) or httpx",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each scenario (the machine is shared: report the median)",
    )
    args = ap.parse_args()
    seconds = min(args.seconds, 60)

    admin = os.environ.get("YUMIAO_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    url = admin.rsplit("/", 1)[0] + "/" + DB
    os.environ.setdefault("YUMIAO_SECRET_KEY", "bench-secret-key-0123456789abcdef")
    base_url = None
    if args.skip_seed:
        os.environ["YUMIAO_DATABASE_URL"] = url
    elif args.sql_fill or args.baseline:
        url = sql_filled(DB, args.enterprises)
        os.environ["YUMIAO_DATABASE_URL"] = url
    else:
        seed(args.enterprises)
    if args.baseline:
        base_url = sql_filled(DB + "_baseline", args.enterprises, args.baseline.resolve())
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    dsns = (dsn,) + ((base_url.replace("postgresql+psycopg://", "postgresql://"),) if base_url else ())
    keys = make_keys(dsns=dsns)
    if args.sql_fill or args.baseline:
        valid_usccs(dsns)
    with psycopg.connect(dsn) as c:
        rows = c.execute(
            "SELECT id, uscc FROM enterprise WHERE deleted_at IS NULL AND id <= 5000 ORDER BY random()"
            if args.sql_fill or args.baseline
            else "SELECT id, uscc FROM enterprise WHERE deleted_at IS NULL ORDER BY random() LIMIT 5000"
        ).fetchall()
        n_ent = c.execute("SELECT count(*) FROM enterprise").fetchone()[0]
        pg = c.execute("SHOW server_version").fetchone()[0]
    ids, usccs = [r[0] for r in rows], [r[1] for r in rows]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent
    ).stdout.strip()
    targets = [("this checkout", commit, url, {})]
    if args.baseline:
        base_commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=args.baseline
        ).stdout.strip()
        targets.append(
            (
                "baseline",
                base_commit,
                base_url,
                {
                    "root": args.baseline.resolve(),
                    "python": str(args.baseline.resolve() / ".venv/bin/python"),
                },
            )
        )

    os.environ["YUMIAO_API_RATE_LIMIT"] = "1000000/minute"
    started, load_start = datetime.now(UTC), os.getloadavg()[0]
    lines = []
    per_op: dict[str, list[float]] = {}
    rates_by: dict[tuple[str, str], float] = {}
    with contextlib.ExitStack() as stack:
        bases = {label: stack.enter_context(server(u, workers=2, **kw)) for label, _, u, kw in targets}
        drivers = {label: Driver(b, keys, ids, usccs, random.Random(11)) for label, b in bases.items()}
        for d in drivers.values():
            asyncio.run(run_scenario("read", d, 3, 4, args.client))  # warm up both workers
        for name in args.scenarios.split(","):
            runs: dict[str, list] = {label: [] for label in bases}
            for _ in range(args.repeat):  # alternate between the checkouts
                for label in bases:
                    runs[label].append(
                        asyncio.run(
                            run_scenario(name, drivers[label], seconds, args.concurrency, args.client)
                        )
                    )
            for label, commit_of, _, _ in targets:
                rr = runs[label]
                ms = [x for tally, _ in rr for x in tally.ms]
                rates = sorted(len(tally.ms) / elapsed for tally, elapsed in rr)
                errors = sum(sum(tally.errors.values()) for tally, _ in rr)
                conflicts = sum(tally.conflicts for tally, _ in rr)
                spread = f" ({rates[0]:,.0f}–{rates[-1]:,.0f})" if len(rates) > 1 else ""
                rates_by[(name, label)] = statistics.median(rates)
                lines.append(
                    f"| {name} | {label} ({commit_of}) | {len(rr)} × {seconds:.0f} | {len(ms):,} | "
                    f"{statistics.median(rates):,.0f}{spread} | {pct(ms, 50):.1f} | {pct(ms, 95):.1f} | {pct(ms, 99):.1f} | "
                    f"{errors} | {conflicts} |"
                )
                if label == "this checkout":
                    for tally, _ in rr:
                        for op, op_ms in tally.by_op.items():
                            per_op.setdefault(op, []).extend(op_ms)
                statuses = sum((tally.statuses for tally, _ in rr), Counter())
                errs = sum((tally.errors for tally, _ in rr), Counter())
                print(lines[-1], dict(statuses), dict(errs), flush=True)
    ratios = [
        f"{name}: {rates_by[(name, 'this checkout')] / rates_by[(name, 'baseline')]:.2f}×"
        for name in args.scenarios.split(",")
        if (name, "baseline") in rates_by and rates_by[(name, "baseline")]
    ]

    op_lines = [
        f"| {op} | {len(ms):,} | {pct(ms, 50):.1f} | {pct(ms, 95):.1f} | {pct(ms, 99):.1f} | {statistics.mean(ms):.1f} |"
        for op, ms in sorted(per_op.items(), key=lambda kv: -len(kv[1]))
    ]
    ended, load_end = datetime.now(UTC), os.getloadavg()[0]
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    out = [
        "# Load benchmark",
        "",
        f"Run {started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC on {platform.node() or 'this machine'}, load average (1 min) "
        f"{load_start:.1f} at the start and {load_end:.1f} at the end (other work shares the machine) — machine: {cpu} cores, "
        f"PostgreSQL {pg} on the same host; `uvicorn --workers 2`; the client (`bench/load_bench.py`, asyncio + "
        f"{'httpx' if args.client == 'httpx' else '`bench/lightclient.py`'}, the same for both servers) "
        f"runs in another process on loopback with {args.concurrency} requests in flight over 5 API keys "
        f"(3 read-only, 2 read-write); {n_ent:,} enterprises "
        f"{'filled in SQL by `bench/datagen.py`' if args.sql_fill or args.baseline else 'seeded by `app/demo/seed.py`'}; "
        f"each scenario run {args.repeat} × {seconds:.0f} s"
        f"{', alternating with the baseline checkout (its own database, the same rows)' if args.baseline else ''} "
        "(the virtual machine is shared, and runs differ by up to a third: the median is reported, latencies pooled "
        "over the runs).",
        "",
        "| scenario | server | runs × s | requests | req/s median (min–max) | p50 ms | p95 ms | p99 ms | errors | "
        "conflicts (409/412) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *lines,
        "",
        *([f"This checkout / baseline, req/s: {'; '.join(ratios)}.", ""] if ratios else []),
        "Per request, this checkout (all scenarios together; a PATCH includes the GET that reads its ETag):",
        "",
        "| request | n | p50 ms | p95 ms | p99 ms | mean ms |",
        "| --- | --- | --- | --- | --- | --- |",
        *op_lines,
        "",
        "Mixes — read: list 30 %, get 30 %, eligible-policies 20 %, change feed 15 %, batch of 20 USCCs 5 %; "
        "mixed: the same reads 80 %, PATCH with If-Match 8 %, PUT figures 7 %, PUT registration 5 %; "
        "write: PATCH 40 %, PUT figures 35 %, PUT registration 25 %; mixed + bursts: the same reads 80 %, PATCH 6 %, "
        "PUT figures 6 %, PUT registration 5 %, and 3 % bursts of eight concurrent writes on one of 20 hot rows (four "
        "PUTs of its 2024 figures, four PATCHes with one If-Match: one wins, three get 412). Errors are 5xx, network "
        "errors and any "
        "other unexpected status; conflicts are two writers on one record, refused as designed.",
        "",
        f"Reading the latencies: with {args.concurrency} requests in flight, mean latency ≈ {args.concurrency} / throughput "
        "(Little's law), so they are mostly time queued for the 2 cores that the two workers, PostgreSQL and the "
        "client share — not work per request (one client alone: GET by id p50 about 5 ms, bench/registry.md). "
        "Errors count every 5xx, timeout and unexpected status.",
        "",
        "The rate limit was raised for the run (one limit for both workers, counted in PostgreSQL: each worker "
        "takes hits from the shared counter in blocks, app/api/ratelimit.py). Client and server share the 2 cores, "
        "so the figures are a floor for a dedicated server.",
        "",
        "The client: httpx spent about 2.5 ms of CPU a request, and on 2 cores shared with the servers, PostgreSQL "
        "and other work its process got too little CPU to keep the requests in flight (it waited for a core more "
        "than it ran), so every server measured about the same. bench/lightclient.py (keep-alive HTTP/1.1 over "
        "asyncio streams, about a tenth of that) drives both checkouts alike; `--client httpx` runs the old one.",
    ]
    text = "\n".join(out)
    print(text)
    (Path(__file__).parent / "load.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
