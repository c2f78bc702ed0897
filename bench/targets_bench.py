"""Targets benchmark on PostgreSQL: the county progress matrix for a year on 1M enterprises.

    python bench/targets_bench.py [--enterprises 1000000] [--requests 20]

Creates the database `yumiao_bench_targets` (dropped first) and fills it in SQL with
`INSERT ... SELECT generate_series`: enterprises over the 19 townships (30% registered on the
platform in 2023), honour records of every code and level (2021–2024), stays in the eleven pools
(some left), and monthly filings Dec 2022 – Dec 2023 for one enterprise in ten. Then it times

- the server: GET /api/v1/targets/2023/progress (JSON) and GET /dashboard (the county page with
  its matrix and charts), one uvicorn worker, one client on loopback;
- the service in process (no HTTP);
- the raw SQL: the very statements the service sends, replayed through the bare driver — the
  aggregates alone (GROUP BY township) and all of them,

and writes a Markdown table to bench/targets.md.
"""

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, server, summary, timed  # noqa: E402
from bench.datagen import fill as datagen_fill  # noqa: E402

AS_OF = date(2023, 12, 31)


def fill(dsn: str, n: int) -> dict[str, float]:
    """The county in SQL (bench/datagen.py, without yearly figures: the matrix does not read them)."""
    return datagen_fill(dsn, n, figures=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()

    url = fresh_database("yumiao_bench_targets")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    took = fill(dsn, args.enterprises)
    fill_s = time.perf_counter() - t0
    with psycopg.connect(dsn) as c:
        counts = {
            t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("enterprise", "honour", "pool_membership", "monthly_filing")
        }

    from sqlalchemy import event

    from app.accounts import service as accounts
    from app.accounts.permissions import SYSTEM
    from app.db import get_engine, get_sessionmaker
    from app.targets import service as target_service

    with get_sessionmaker()() as s:
        key, _ = accounts.create_api_key(s, name="bench", scopes=["targets:read"])
        accounts.create_user(s, username="bench-viewer", password="bench-password-1", role="county_viewer")
        s.commit()

    load_before = os.getloadavg()[0]
    # The service in process, recording every statement it sends.
    recorded: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        recorded.append((statement, parameters))

    with get_sessionmaker()() as s:
        target_service.progress_matrix(s, actor=SYSTEM, key="2023", as_of=AS_OF)  # warm up
        event.listen(get_engine(), "before_cursor_execute", record)
        m = target_service.progress_matrix(s, actor=SYSTEM, key="2023", as_of=AS_OF)
        event.remove(get_engine(), "before_cursor_execute", record)
        in_process = summary(
            timed(
                lambda i: target_service.progress_matrix(s, actor=SYSTEM, key="2023", as_of=AS_OF),
                args.requests,
            )
        )
    county = {r.indicator.code: r.county for r in m.rows}
    aggregates = [(q, p) for q, p in recorded if "GROUP BY" in q.upper()]

    # The same statements through the bare driver.
    with psycopg.connect(dsn) as c:

        def replay(stmts):
            def go(i):
                for q, p in stmts:
                    c.execute(q, p).fetchall()

            return go

        replay(recorded)(0)
        raw_all = summary(timed(replay(recorded), args.requests))
        raw_agg = summary(timed(replay(aggregates), args.requests))
        per_stmt = []
        for q, p in aggregates:
            ms = summary(timed(replay([(q, p)]), max(5, args.requests // 2)))
            kind = (
                "R&D growth (filings self-join)"
                if "monthly_filing" in q
                else "every counted indicator (UNION ALL)"
            )
            per_stmt.append((kind, ms["p50"]))

    with server(url) as base, httpx.Client(base_url=base, timeout=120) as http:
        h = {"Authorization": f"Bearer {key}"}
        for _ in range(3):
            http.get(
                "/api/v1/targets/2023/progress", params={"as_of": AS_OF.isoformat()}, headers=h
            ).raise_for_status()
        api = summary(
            timed(
                lambda i: http.get(
                    "/api/v1/targets/2023/progress", params={"as_of": AS_OF.isoformat()}, headers=h
                ).raise_for_status(),
                args.requests,
            )
        )
        r = http.post("/login", data={"username": "bench-viewer", "password": "bench-password-1"})
        assert r.status_code in (200, 303), r.text
        http.get("/dashboard", params={"key": "2023", "as_of": AS_OF.isoformat()}).raise_for_status()
        page = summary(
            timed(
                lambda i: http.get(
                    "/dashboard", params={"key": "2023", "as_of": AS_OF.isoformat()}
                ).raise_for_status(),
                args.requests,
            )
        )

    load_after = os.getloadavg()[0]
    ratio = api["p50"] / raw_agg["p50"]
    lines = [
        f"Run {date.today()} on {platform.node() or 'this machine'} (machine: 2 cores), PostgreSQL on the same host, "
        f"one uvicorn worker, one client on loopback; the 2023 table (19 indicators × 19 townships) as of {AS_OF}; "
        f"{args.requests} requests per line. Load average (1 min) {load_before:.1f} before and {load_after:.1f} after "
        f"the timings (other work shared the machine when above 2).",
        "",
        f"Data (SQL `generate_series`, {fill_s:.0f} s): {counts['enterprise']:,} enterprises, {counts['honour']:,} honour "
        f"records, {counts['pool_membership']:,} pool stays, {counts['monthly_filing']:,} monthly filings "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in took.items())}).",
        "",
        "| what | p50 ms | p95 ms | vs raw aggregates |",
        "| --- | --- | --- | --- |",
        f"| server: GET /api/v1/targets/2023/progress (JSON matrix) | {api['p50']:.0f} | {api['p95']:.0f} | {ratio:.2f}× |",
        f"| server: GET /dashboard (county page: matrix, charts, trend) | {page['p50']:.0f} | {page['p95']:.0f} | "
        f"{page['p50'] / raw_agg['p50']:.2f}× |",
        f"| service in process (no HTTP) | {in_process['p50']:.0f} | {in_process['p95']:.0f} | "
        f"{in_process['p50'] / raw_agg['p50']:.2f}× |",
        f"| raw SQL, all {len(recorded)} statements the service sends (bare driver) | {raw_all['p50']:.0f} | "
        f"{raw_all['p95']:.0f} | {raw_all['p50'] / raw_agg['p50']:.2f}× |",
        f"| raw SQL, the {len(aggregates)} aggregates alone (GROUP BY township) | {raw_agg['p50']:.0f} | {raw_agg['p95']:.0f} | 1.00× |",
        *[f"| … {kind} | {ms:.0f} | — | — |" for kind, ms in per_stmt],
        "",
        "County results the matrix showed (actual / target): "
        + "; ".join(f"{code} {c.actual}/{c.target}" for code, c in list(county.items())[:6])
        + " …",
        "",
        f"Reading the table: the matrix costs what its aggregates cost — the server's p50 is {ratio:.2f}× the "
        f"bare SQL (p50 difference {api['p50'] - raw_agg['p50']:+.0f} ms: loading the table, HTTP, authentication, "
        f"JSON). The aggregates read every honour record of the year, every pool stay and the whole registry "
        f"(platform registrations), and look up each counted record's township; the dashboard adds the "
        f"twelve-month R&D trend (a self-join of the year's filings) and the page itself.",
    ]
    text = "\n".join(lines)
    print(text)
    (Path(__file__).parent / "targets.md").write_text(
        "# Targets benchmark\n\n" + text + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
