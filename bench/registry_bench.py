"""Registry benchmark on PostgreSQL: list and get on 100k enterprises, keyset depth, 10k-row import.

    python bench/registry_bench.py [--enterprises 100000] [--requests 400]

Creates the database `yumiao_bench_registry` (dropped first), fills it with the demo generator,
serves it with one uvicorn worker, and prints a Markdown table (also written to bench/registry.md).
"""

import argparse
import io
import platform
import random
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, server, summary, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--import-rows", type=int, default=10_000)
    args = ap.parse_args()

    url = fresh_database("yumiao_bench_registry")
    from app.accounts import service as accounts
    from app.db import get_sessionmaker
    from app.demo import seed

    t = time.perf_counter()
    with get_sessionmaker()() as s:
        seed.load(s, args.enterprises, seed=1)
        key, _ = accounts.create_api_key(s, name="bench", scopes=["enterprises:read", "enterprises:write"])
        s.commit()
    load_s = time.perf_counter() - t
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as c:
        c.execute("ANALYZE")
        ids = [r[0] for r in c.execute("SELECT id FROM enterprise ORDER BY random() LIMIT 1000")]
        deep_name, deep_id = c.execute(
            "SELECT name, id FROM enterprise ORDER BY name, id OFFSET %s LIMIT 1", (args.enterprises // 2,)
        ).fetchone()
        year = c.execute("SELECT max(year) FROM enterprise_figure").fetchone()[0]

    from app.pagination import encode_cursor

    deep_cursor = encode_cursor("name", deep_name, deep_id)
    rng = random.Random(3)
    h = {"Authorization": f"Bearer {key}"}
    rows = []
    with server(url) as base, httpx.Client(base_url=base, headers=h, timeout=30) as http:
        for _ in range(20):  # warm up
            http.get("/api/v1/enterprises")
        list1 = summary(
            timed(
                lambda i: http.get("/api/v1/enterprises", params={"limit": 50}).raise_for_status(),
                args.requests,
            )
        )
        listq = summary(
            timed(
                lambda i: http.get(
                    "/api/v1/enterprises", params={"q": "恒通", "limit": 50}
                ).raise_for_status(),
                args.requests,
            )
        )
        listf = summary(
            timed(
                lambda i: http.get(
                    "/api/v1/enterprises",
                    params={
                        "township": "qingquan",
                        "revenue_min": 10_000_000,
                        "revenue_max": 20_000_000,
                        "sort": "-revenue",
                    },
                ).raise_for_status(),
                args.requests,
            )
        )
        deep = summary(
            timed(
                lambda i: http.get(
                    "/api/v1/enterprises", params={"limit": 50, "cursor": deep_cursor}
                ).raise_for_status(),
                args.requests,
            )
        )
        get = summary(
            timed(
                lambda i: http.get(f"/api/v1/enterprises/{ids[rng.randrange(len(ids))]}").raise_for_status(),
                args.requests,
            )
        )
        t = time.perf_counter()
        for i in range(args.requests):
            http.get(f"/api/v1/enterprises/{ids[i % len(ids)]}")
        get_rps = args.requests / (time.perf_counter() - t)
        t = time.perf_counter()
        for _ in range(args.requests):
            http.get("/api/v1/enterprises", params={"limit": 50})
        list_rps = args.requests / (time.perf_counter() - t)

    # The same queries through the bare driver (psycopg), as the floor the application adds to.
    list_sql = """
        SELECT e.*, f.revenue_yuan FROM enterprise e
        LEFT JOIN enterprise_figure f ON f.enterprise_id = e.id AND f.year = %s
        WHERE e.deleted_at IS NULL ORDER BY e.name, e.id LIMIT 51"""
    deep_sql = """
        SELECT e.*, f.revenue_yuan FROM enterprise e
        LEFT JOIN enterprise_figure f ON f.enterprise_id = e.id AND f.year = %s
        WHERE e.deleted_at IS NULL AND (e.name, e.id) > (%s, %s) ORDER BY e.name, e.id LIMIT 51"""
    offset_sql = """
        SELECT e.*, f.revenue_yuan FROM enterprise e
        LEFT JOIN enterprise_figure f ON f.enterprise_id = e.id AND f.year = %s
        WHERE e.deleted_at IS NULL ORDER BY e.name, e.id OFFSET %s LIMIT 51"""
    with psycopg.connect(dsn) as c:

        def q(sql, params):
            return lambda i: c.execute(sql, params).fetchall()

        def get_raw(i):
            eid = ids[rng.randrange(len(ids))]
            c.execute("SELECT max(year) FROM enterprise_figure").fetchone()
            c.execute("SELECT * FROM enterprise WHERE id = %s AND deleted_at IS NULL", (eid,)).fetchone()
            c.execute("SELECT * FROM enterprise_figure WHERE enterprise_id = %s", (eid,)).fetchall()
            c.execute("SELECT * FROM honour WHERE enterprise_id = %s", (eid,)).fetchall()

        raw_list = summary(timed(q(list_sql, (year,)), args.requests))
        raw_deep = summary(timed(q(deep_sql, (year, deep_name, deep_id)), args.requests))
        raw_offset = summary(timed(q(offset_sql, (year, args.enterprises // 2)), min(args.requests, 100)))
        raw_get = summary(timed(get_raw, args.requests))

    # Import 10k rows from .xlsx through the importer (validation + all-or-nothing write).
    import xlsxwriter

    from app.accounts.permissions import SYSTEM
    from app.enterprises import excel
    from app.enterprises.uscc import generate

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for i, (hd, _, _) in enumerate(excel.COLUMNS):
        ws.write_string(0, i, hd)
    r2 = random.Random(77)
    for r in range(1, args.import_rows + 1):
        for c_, v in enumerate(
            [
                generate(r2),
                f"导入基准{r}有限公司",
                "清泉街道",
                "装备",
                "工业",
                "小型",
                "民营",
                "否",
                "B",
                2025,
                12_000_000 + r,
                11_000_000,
                12_500_000,
                300_000,
                400_000,
                50,
                20.5,
                300,
            ]
        ):
            ws.write(r, c_, v)
    wb.close()
    data = buf.getvalue()
    t = time.perf_counter()
    with get_sessionmaker()() as s:
        result = excel.import_enterprises(s, actor=SYSTEM, data=data)
        s.commit()
    import_s = time.perf_counter() - t
    assert result.created == args.import_rows

    def row(name, app_s, raw_s=None, rps=None):
        ratio = f"{app_s['p50'] / raw_s['p50']:.1f}×" if raw_s else "—"
        rows.append(
            f"| {name} | {app_s['p50']:.1f} | {app_s['p95']:.1f} | {rps or '—'} | "
            f"{raw_s['p50']:.2f} | {ratio} |"
            if raw_s
            else f"| {name} | {app_s['p50']:.1f} | {app_s['p95']:.1f} | {rps or '—'} | — | — |"
        )

    row("GET /api/v1/enterprises (page 1, by name)", list1, raw_list, f"{list_rps:.0f}")
    row("… deep page (cursor at row 50,000)", deep, raw_deep)
    row("… text search q=恒通", listq)
    row("… township + revenue range, by revenue desc", listf)
    row("GET /api/v1/enterprises/{id}", get, raw_get, f"{get_rps:.0f}")
    out = [
        f"Run {date.today()} on {platform.node() or 'this machine'} (2 cores), PostgreSQL, one uvicorn worker, "
        f"one client on loopback, {args.enterprises:,} enterprises ({args.enterprises * 4:,} yearly figure rows); "
        f"{args.requests} requests per line.",
        "",
        "| request | p50 ms | p95 ms | req/s (sequential) | bare driver p50 ms | app / driver |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Keyset vs OFFSET on the bare driver: page at row 50,000 by cursor p50 {raw_deep['p50']:.2f} ms; "
        f"the same page by OFFSET 50000 p50 {raw_offset['p50']:.2f} ms; page 1 {raw_list['p50']:.2f} ms.",
        "",
        f"Import of {args.import_rows:,} rows from .xlsx (validate every row, then write enterprises, figures and "
        f"audit in one transaction): {import_s:.2f} s ({args.import_rows / import_s:,.0f} rows/s). "
        f"Loading {args.enterprises:,} generated enterprises took {load_s:.1f} s.",
    ]
    text_out = "\n".join(out)
    print(text_out)
    (Path(__file__).parent / "registry.md").write_text(text_out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
