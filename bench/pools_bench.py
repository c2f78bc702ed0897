"""Pools benchmark on PostgreSQL: candidates computed in SQL for 100k enterprises, member counts,
the yearly review and the provisional 亩产效益 classes.

    python bench/pools_bench.py [--enterprises 100000] [--requests 100]

Creates the database `yumiao_bench_pools` (dropped first), fills it with the demo generator
(app/demo/generator.py through app/demo/seed.py load()), puts members in three pools, serves it with
one uvicorn worker and prints a Markdown table (also written to bench/pools.md).
"""

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, server, summary, timed  # noqa: E402

YEAR = 2024
# pool → (members taken from its candidates, entry class, entry date)
MEMBERS = {
    "primary_pool": (4000, "seed", date(2023, 3, 1)),
    "yumiao_pool": (3000, "xiaoshenggui", date(2022, 6, 1)),
    "intermediate_pool": (1500, "high_tech_candidate", date(2023, 4, 1)),
}


def add_members(session) -> dict[str, int]:
    """Bulk-insert members drawn from each pool's candidates (the generator's part for pools)."""
    from app.enterprises.models import Enterprise
    from app.pools.definitions import load_pools
    from app.pools.models import PoolMembership
    from app.pools.sql import PoolSql

    done = {}
    for code, (n, entry_class, when) in MEMBERS.items():
        psql = PoolSql(load_pools()[code], YEAR - 1)
        k = next(k for k in psql.classes if k.code == entry_class)
        stmt = (
            psql.join(select(Enterprise.id).select_from(Enterprise))
            .where(k.candidate)
            .order_by(Enterprise.id)
        )
        ids = list(session.scalars(stmt.limit(n)))
        session.execute(
            insert(PoolMembership),
            [
                {
                    "enterprise_id": i,
                    "pool": code,
                    "entry_class": entry_class,
                    "entered_date": when,
                    "entered_by": "bench",
                    "evaluated_year": YEAR - 1,
                    "entry_evaluation": [],
                }
                for i in ids
            ],
        )
        done[code] = len(ids)
    return done


def candidate_sql(pool_code: str) -> str:
    """The candidate count query as the application sends it, with literal values, for the bare driver."""
    from sqlalchemy import func

    from app.enterprises.models import Enterprise
    from app.pools import common as pool_common
    from app.pools.definitions import load_pools
    from app.pools.sql import PoolSql

    pool_def = load_pools()[pool_code]
    psql = PoolSql(pool_def, YEAR)
    stmt = (
        psql.join(select(Enterprise.township, func.count()).select_from(Enterprise))
        .where(
            Enterprise.deleted_at.is_(None),
            ~pool_common.member_clause(pool_code, Enterprise.id),
            psql.candidate,
        )
        .group_by(Enterprise.township)
    )
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


NOTES = """Reading the table: a candidate list is computed in SQL over every enterprise each time (no cache):
the pool's criteria become one WHERE over enterprise, a LEFT JOIN of the year's figures and one GROUP BY of
the honours, and members are removed by an anti-join. A page costs the page query plus the per-township
count (one GROUP BY), each a parallel scan of the 100k enterprises and their figures; a township's own list
is faster because the township filter cuts the scan. Pools whose rules read honours (yumiao_pool: 已申报;
advanced_pool) add the honour aggregate. Counting members per pool × township is one query. The
review judges every member by the rule it entered by and compares the year with the year before for every
enterprise (two figure joins). The provisional 亩产效益 run is Python (percentile ranks by bisection) plus
a bulk insert of 100k rows. The p95 column carries noise from other work on the shared 2-core machine."""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=100)
    args = ap.parse_args()

    url = fresh_database("yumiao_bench_pools")
    from app.accounts import service as accounts
    from app.accounts.permissions import SYSTEM
    from app.db import get_sessionmaker
    from app.demo import seed
    from app.pools import mu_provisional

    t = time.perf_counter()
    with get_sessionmaker()() as s:
        seed.load(s, args.enterprises, seed=1)
        s.commit()
    load_s = time.perf_counter() - t
    with get_sessionmaker()() as s:
        members = add_members(s)
        key, _ = accounts.create_api_key(s, name="bench", scopes=["pools:read", "pools:write"])
        s.commit()
    t = time.perf_counter()
    with get_sessionmaker()() as s:
        prov = mu_provisional.compute_provisional(s, actor=SYSTEM, year=YEAR)
        s.commit()
    provisional_s = time.perf_counter() - t
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("ANALYZE")

    h = {"Authorization": f"Bearer {key}"}
    lines, totals = [], {}
    with server(url) as base, httpx.Client(base_url=base, headers=h, timeout=120) as http:
        for _ in range(5):  # warm up
            http.get("/api/v1/pools/primary_pool/candidates", params={"year": YEAR}).raise_for_status()

        def measure(label, path, params=None, n=args.requests):
            def call(i):
                r = http.get(path, params=params)
                r.raise_for_status()
                return r

            body = call(0).json()
            lines.append((label, summary(timed(call, n))))
            return body

        measure("GET /api/v1/pools (members per pool × township, one query)", "/api/v1/pools")
        for code in (
            "primary_pool",
            "xiaoshenggui_pool",
            "yumiao_pool",
            "intermediate_pool",
            "advanced_pool",
        ):
            body = measure(
                f"GET …/{code}/candidates (page 1 + counts per township)",
                f"/api/v1/pools/{code}/candidates",
                {"year": YEAR},
            )
            totals[code] = (
                sum(v["met"] for v in body["counts"].values()),
                sum(v["judgement"] for v in body["counts"].values()),
            )
        measure(
            "… primary_pool, township=qingquan",
            "/api/v1/pools/primary_pool/candidates",
            {"year": YEAR, "township": "qingquan"},
        )
        measure(
            "… primary_pool, 亩产效益 A and B",
            "/api/v1/pools/primary_pool/candidates",
            {"year": YEAR, "mu_class": ["A", "B"]},
        )
        page = http.get("/api/v1/pools/primary_pool/candidates", params={"year": YEAR, "limit": 500}).json()
        measure(
            "… primary_pool, page 2 by cursor",
            "/api/v1/pools/primary_pool/candidates",
            {"year": YEAR, "cursor": page["next_cursor"]},
        )
        measure(
            "GET …/primary_pool/members (page 1, own-rule status)",
            "/api/v1/pools/primary_pool/members",
            {"year": YEAR},
        )
        review = measure(
            "GET …/primary_pool/review (leavers + newly qualified)",
            "/api/v1/pools/primary_pool/review",
            {"year": YEAR},
            n=max(10, args.requests // 5),
        )

    with psycopg.connect(dsn) as c:
        raw = {}
        for code in ("primary_pool", "yumiao_pool", "advanced_pool"):
            sql = candidate_sql(code)
            raw[code] = summary(timed(lambda i, sql=sql: c.execute(sql).fetchall(), args.requests))

    out = [
        f"Run {date.today()} on {platform.node() or 'this machine'} (2 cores), PostgreSQL, one uvicorn worker, "
        f"one client on loopback; {args.enterprises:,} generated enterprises ({args.enterprises * 4:,} yearly figure "
        f"rows); members: " + ", ".join(f"{k} {v:,}" for k, v in members.items()) + f"; figures year {YEAR}; "
        f"{args.requests} requests per line (review: {max(10, args.requests // 5)}).",
        "",
        "| request | p50 ms | p95 ms |",
        "| --- | --- | --- |",
        *[f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} |" for label, s in lines],
        "",
        "Candidates found (not yet members; 符合 / 待人工判断): "
        + "; ".join(f"{k} {m:,} / {j:,}" for k, (m, j) in totals.items())
        + ".",
        "",
        "The candidate count query alone on the bare driver (psycopg, the SQL the application sends, one GROUP BY "
        "over every enterprise): " + "; ".join(f"{k} p50 {s['p50']:.1f} ms" for k, s in raw.items()) + ".",
        "",
        f"Review of primary_pool for {YEAR}: {len(review['leaving'])} members proposed to leave, "
        f"{review['entering_total']:,} firms newly qualified. Provisional 亩产效益 classes for {prov.ranked:,} "
        f"enterprises (rank, percentile, weighted score, bands; stored per firm): {provisional_s:.1f} s. "
        f"Loading {args.enterprises:,} generated enterprises took {load_s:.1f} s.",
        "",
        NOTES,
    ]
    text_out = "\n".join(out)
    print(text_out)
    (Path(__file__).parent / "pools.md").write_text(text_out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
