"""How cost grows with the registry: 10k, 100k and 1M enterprises, every figure as a ratio measured in one run.

    python bench/growth_bench.py [--sizes 10000,100000,1000000] [--parts api,import,targets,pools] [--seconds 10]

For each size the database `yumiao_bench_growth_<n>` is filled in SQL by bench/datagen.py (kept between runs
when its enterprise count is right; --refill to start over). Parts:

- api: GET /api/v1/enterprises/{id} (random ids) and GET /api/v1/enterprises (page 1) on the application and on
  the bare reference bench/ref_app.py (Starlette + psycopg pool, the same SQL and API-key lookup), one uvicorn
  worker each, both up at once and measured alternately: req/s by `wrk -t2 -c8` and p50 by `wrk -t1 -c1`
  (apt-get install wrk). The rate limit is raised out of the way for both.
- import: a 100,000-row enterprise .xlsx through the importer (validation, all-or-nothing, audit) against a bare
  COPY of the same rows into the same tables; likewise the monthly filings and 亩产效益 imports.
- targets: the county matrix (JSON API), the county dashboard page and a township page, p50 over sequential requests.
- pools: a pool's candidate page with counts per township.

Results are kept per part and size in bench/growth.json (a later run of one part replaces only its own figures)
and the table is written to bench/growth.md.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, fresh_database, server  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "growth.json"
SCOPES = [
    "enterprises:read",
    "enterprises:write",
    "targets:read",
    "pools:read",
    "filings:read",
    "filings:write",
    "pools:write",
    "changes:read",
    "policies:read",
]


def db_name(n: int) -> str:
    return f"yumiao_bench_growth_{n}"


def dsn_of(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def prepare(n: int, refill: bool) -> str:
    """The size's database, filled (or reused when it already holds n enterprises); returns its URL."""
    from app.config import get_settings
    from app.db import get_engine, get_sessionmaker

    for cached in (get_settings, get_engine, get_sessionmaker):  # one process may visit several sizes
        cached.cache_clear()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name(n)
    if not refill:
        try:
            with psycopg.connect(dsn_of(url)) as c:
                have = c.execute("SELECT count(*) FROM enterprise").fetchone()[0]
            if have >= n:
                os.environ["YUMIAO_DATABASE_URL"] = url
                os.environ.setdefault("YUMIAO_SECRET_KEY", "bench-secret-key-0123456789abcdef")
                from app.cli import run_migrations

                run_migrations(url)  # the schema of this checkout (a no-op when it is current)
                print(f"[{n:,}] reusing {db_name(n)} ({have:,} enterprises)", flush=True)
                return url
        except psycopg.OperationalError:
            pass
    url = fresh_database(db_name(n))
    from bench.datagen import fill

    t = time.perf_counter()
    took = fill(dsn_of(url), n)
    print(
        f"[{n:,}] filled in {time.perf_counter() - t:.0f} s: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()),
        flush=True,
    )
    return url


def api_key(scopes=SCOPES) -> str:
    from app.accounts import service as accounts
    from app.db import get_sessionmaker

    with get_sessionmaker()() as s:
        key, _ = accounts.create_api_key(s, name=f"growth-{time.time_ns()}", scopes=scopes)
        s.commit()
    return key


# --- wrk ---------------------------------------------------------------------------------------------------


def wrk(base: str, path_or_ids, key: str, *, conns: int, threads: int, seconds: float) -> dict:
    """Run wrk; `path_or_ids` is a path, or a list of enterprise ids to GET at random."""
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - wrk reads it by name
    if isinstance(path_or_ids, list):
        lua.write("ids = {" + ",".join(map(str, path_or_ids)) + "}\n")
        lua.write(
            'request = function() return wrk.format("GET", "/api/v1/enterprises/" .. ids[math.random(#ids)]) end\n'
        )
        path = "/"
    else:
        path = path_or_ids
    lua.write(
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('RESULT %d %d %d %d %d %f\\n', summary.requests, summary.errors.status, "
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
        "latency:percentile(50), latency:percentile(95), summary.duration / 1e6))\nend\n"
    )
    lua.close()
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            lua.name,
            "-H",
            f"Authorization: Bearer {key}",
            base + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(lua.name)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+)", out)
    reqs, bad_status, sock_err, p50_us, p95_us, dur = m.groups()
    return {
        "rps": int(reqs) / float(dur),
        "p50": int(p50_us) / 1000,
        "p95": int(p95_us) / 1000,
        "errors": int(bad_status) + int(sock_err),
        "requests": int(reqs),
    }


def part_api(n: int, url: str, args) -> dict:
    key = api_key()
    with psycopg.connect(dsn_of(url)) as c:
        ids = [
            r[0]
            for r in c.execute(
                "SELECT id FROM enterprise WHERE deleted_at IS NULL ORDER BY random() LIMIT 2000"
            )
        ]
    env = {"YUMIAO_API_RATE_LIMIT": "100000000/minute"}
    out: dict = {}
    with server(url, env=env) as app_base, server(url, target="bench.ref_app:app", env=env) as ref_base:
        for base in (app_base, ref_base):  # warm up both
            wrk(base, ids, key, conns=4, threads=2, seconds=2)
            wrk(base, "/api/v1/enterprises?limit=50", key, conns=4, threads=2, seconds=2)
        for label, target in (("get", ids), ("list", "/api/v1/enterprises?limit=50")):
            runs: dict[str, list[dict]] = {"app_tput": [], "ref_tput": [], "app_lat": [], "ref_lat": []}
            for _ in range(args.repeat):  # alternate, so drift on the shared machine hits both alike
                runs["app_tput"].append(wrk(app_base, target, key, conns=8, threads=2, seconds=args.seconds))
                runs["ref_tput"].append(wrk(ref_base, target, key, conns=8, threads=2, seconds=args.seconds))
                runs["app_lat"].append(
                    wrk(app_base, target, key, conns=1, threads=1, seconds=args.seconds / 2)
                )
                runs["ref_lat"].append(
                    wrk(ref_base, target, key, conns=1, threads=1, seconds=args.seconds / 2)
                )
            med = {
                k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p95")}
                for k, v in runs.items()
            }
            app_errors = sum(r["errors"] for k, v in runs.items() if k.startswith("app") for r in v)
            ref_errors = sum(r["errors"] for k, v in runs.items() if k.startswith("ref") for r in v)
            out[label] = {
                "app_rps": med["app_tput"]["rps"],
                "ref_rps": med["ref_tput"]["rps"],
                "app_p50": med["app_lat"]["p50"],
                "ref_p50": med["ref_lat"]["p50"],
                "rps_ratio": med["app_tput"]["rps"] / med["ref_tput"]["rps"],
                "p50_ratio": med["app_lat"]["p50"] / med["ref_lat"]["p50"],
                "errors": app_errors,
                "ref_errors": ref_errors,
            }
            print(f"[{n:,}] api {label}: {out[label]}", flush=True)
    return out


# --- import ------------------------------------------------------------------------------------------------


def _xlsx(header: list[str], rows) -> bytes:
    import io

    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    ws = wb.add_worksheet()
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def import_files(rows: int) -> tuple[list[list], bytes, bytes, bytes]:
    """The enterprise rows (as the sheet holds them) and the three .xlsx files: enterprises, one month's
    filings of those enterprises, and their 亩产效益 classes."""
    import random

    from app.enterprises import excel
    from app.enterprises.uscc import generate
    from app.reports.excel import HEADERS as FILING_HEADERS

    rng = random.Random(20261130)
    towns = ["清泉街道", "崇文街道", "烟庄街道", "桑阿镇", "柳林镇", "范寨镇", "店子镇"]
    seen: set[str] = set()
    ent = []
    while len(ent) < rows:
        code = generate(rng, region="371599")  # a region the generated registry does not use
        if code in seen:
            continue
        seen.add(code)
        i = len(ent)
        rev = rng.randrange(1_000_000, 90_000_000)
        ent.append(
            [
                code,
                f"导入基准{i}有限公司",
                towns[i % len(towns)],
                "装备",
                "工业",
                "小型",
                "民营",
                "否",
                "B",
                2025,
                rev,
                int(rev * 0.9),
                int(rev * 1.05),
                rev // 30,
                rev // 25,
                20 + i % 300,
                20.5,
                300.25,
            ]
        )
    ent_x = _xlsx([h for h, _, _ in excel.COLUMNS], ent)
    fil_x = _xlsx(
        [h for h, _ in FILING_HEADERS],
        ([r[0], r[1], r[2], r[10] // 40, r[10] // 10, r[10] // 11, 1000 + i] for i, r in enumerate(ent)),
    )
    mu_x = _xlsx(["统一社会信用代码", "亩产效益类别"], ([r[0], "ABCD"[i % 4]] for i, r in enumerate(ent)))
    return ent, ent_x, fil_x, mu_x


def part_import(n: int, url: str, args) -> dict:
    """Each import in its own transaction, rolled back after the timing (the database stays the size it was);
    the bare COPY of the same rows likewise."""
    from app.accounts.permissions import SYSTEM
    from app.config import get_settings
    from app.db import get_sessionmaker
    from app.enterprises import excel
    from app.pools import mu_records as pool_service
    from app.reports import excel as filings_excel
    from app.reports.service import period_of

    rows = args.import_rows
    get_settings().import_max_rows = max(get_settings().import_max_rows, rows)
    ent, ent_x, fil_x, mu_x = import_files(rows)
    today = date.today()
    period = period_of(today.year, today.month) - 1
    y, m = divmod(period, 12)
    out: dict = {"rows": rows}

    def app_run() -> dict[str, float]:
        took = {}
        with get_sessionmaker()() as s:
            t = time.perf_counter()
            r = excel.import_enterprises(s, actor=SYSTEM, data=ent_x)
            s.flush()
            took["enterprises"] = time.perf_counter() - t
            assert r.created == rows, r
            t = time.perf_counter()
            saved = filings_excel.import_xlsx(s, actor=SYSTEM, period=period, data=fil_x, today=today)
            s.flush()
            took["filings"] = time.perf_counter() - t
            assert len(saved) == rows
            t = time.perf_counter()
            done, _ = pool_service.import_mu_classes(s, actor=SYSTEM, year=2025, data=mu_x)
            s.flush()
            took["mu"] = time.perf_counter() - t
            assert done == rows
            s.rollback()
        return took

    audit_cols = (
        "at, actor_kind, actor_id, actor_name, action, entity_type, entity_id, enterprise_id, township, "
        "changes, note"
    )

    def bare_run(with_audit: bool, method: str = "copy") -> dict[str, float]:
        """COPY (or, method "executemany", psycopg's executemany of INSERTs, pipelined) of the rows the importer
        writes: the data rows, and (with_audit) their audit entries too."""
        took = {}

        class _Rows:
            """What `cursor.copy(...)` gives, for both methods: rows written one by one, sent at the end."""

            def __init__(self, c, copy_sql: str):
                self.c, self.copy_sql, self.rows = c, copy_sql, []

            def __enter__(self):
                if method == "copy":
                    self.cp = self.c.cursor().copy(self.copy_sql)
                    return self.cp.__enter__()
                return self

            def write_row(self, row):
                self.rows.append(row)

            def __exit__(self, *exc):
                if method == "copy":
                    return self.cp.__exit__(*exc)
                if exc[0] is None and self.rows:
                    m = re.match(r"COPY (\w+) \(([^)]*)\) FROM STDIN", self.copy_sql)
                    table, cols = m.group(1), m.group(2)
                    marks = ", ".join(["%s"] * len(self.rows[0]))
                    self.c.cursor().executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", self.rows)
                return False

        def copy(c, copy_sql: str):
            return _Rows(c, copy_sql)

        towns = {"清泉街道": "qingquan"}
        with psycopg.connect(dsn_of(url)) as c:
            now = datetime.now(UTC)

            def audit(rows):
                if with_audit:
                    with copy(c, f"COPY audit_entry ({audit_cols}) FROM STDIN") as cp:
                        for r in rows:
                            cp.write_row(
                                (
                                    now,
                                    "system",
                                    None,
                                    "system",
                                    "create",
                                    *r[:4],
                                    json.dumps(r[4], ensure_ascii=False),
                                    r[5],
                                )
                            )

            t = time.perf_counter()
            with copy(
                c,
                "COPY enterprise (uscc, name, township, chain, industry, size, ownership, above_scale, "
                "mu_class, version, created_at, updated_at) FROM STDIN",
            ) as cp:
                for r in ent:
                    cp.write_row(
                        (
                            r[0],
                            r[1],
                            towns.get(r[2], "qingquan"),
                            r[3],
                            r[4],
                            "small",
                            "private",
                            False,
                            r[8],
                            1,
                            now,
                            now,
                        )
                    )
            ids = dict(c.execute("SELECT uscc, id FROM enterprise WHERE uscc LIKE '91371599%'").fetchall())
            with copy(
                c,
                "COPY enterprise_figure (enterprise_id, year, revenue_yuan, main_revenue_yuan, "
                "output_value_yuan, rd_spend_yuan, tax_yuan, employees, land_mu, energy_tce) FROM STDIN",
            ) as cp:
                for r in ent:
                    cp.write_row((ids[r[0]], *r[9:]))
            audit(
                (
                    "enterprise",
                    str(ids[r[0]]),
                    ids[r[0]],
                    "qingquan",
                    {
                        "uscc": [None, r[0]],
                        "name": [None, r[1]],
                        "township": [None, "qingquan"],
                        "chain": [None, r[3]],
                        "industry": [None, r[4]],
                        "size": [None, "small"],
                        "ownership": [None, "private"],
                        "above_scale": [None, False],
                        "mu_class": [None, r[8]],
                    },
                    "Excel 导入",
                )
                for r in ent
            )
            took["enterprises"] = time.perf_counter() - t
            t = time.perf_counter()
            with copy(
                c,
                "COPY monthly_filing (enterprise_id, year, month, period, rd_spend_yuan, output_value_yuan, "
                "revenue_yuan, electricity_kwh, filed_at, filed_by, filed_late, updated_at, updated_by, "
                "corrected_late, revisions) FROM STDIN",
            ) as cp:
                for i, r in enumerate(ent):
                    cp.write_row(
                        (
                            ids[r[0]],
                            y,
                            m + 1,
                            period,
                            r[10] // 40,
                            r[10] // 10,
                            r[10] // 11,
                            1000 + i,
                            now,
                            "bench",
                            False,
                            now,
                            "bench",
                            False,
                            1,
                        )
                    )
            audit(
                (
                    (
                        "monthly_filing",
                        f"{ids[r[0]]}:{y}-{m + 1:02d}",
                        ids[r[0]],
                        "qingquan",
                        {
                            "rd_spend_yuan": [None, r[10] // 40],
                            "output_value_yuan": [None, r[10] // 10],
                            "revenue_yuan": [None, r[10] // 11],
                            "electricity_kwh": [None, 1000 + i],
                            "late": False,
                        },
                        "月度填报",
                    )
                    for i, r in enumerate(ent)
                )
            )
            took["filings"] = time.perf_counter() - t
            t = time.perf_counter()
            with copy(
                c,
                "COPY mu_class_record (enterprise_id, year, mu_class, source, note, recorded_by, "
                "recorded_at) FROM STDIN",
            ) as cp:
                for i, r in enumerate(ent):
                    cp.write_row((ids[r[0]], 2025, "ABCD"[i % 4], "imported", None, "bench", now))
            if with_audit:  # and the registry's current class, as the importer keeps it
                c.execute(
                    "UPDATE enterprise e SET mu_class = u.c, version = e.version + 1 FROM unnest(%s::int[], %s::text[]) "
                    "AS u(id, c) WHERE e.id = u.id",
                    ([ids[r[0]] for r in ent], ["ABCD"[i % 4] for i in range(len(ent))]),
                )
            audit(
                (
                    (
                        "mu_class_record",
                        f"{ids[r[0]]}:2025",
                        ids[r[0]],
                        "qingquan",
                        {"year": 2025, "mu_class": [None, "ABCD"[i % 4]]},
                        "2025 年亩产效益评价名单导入",
                    )
                    for i, r in enumerate(ent)
                )
            )
            took["mu"] = time.perf_counter() - t
            c.rollback()
        return took

    with psycopg.connect(dsn_of(url), autocommit=True) as c:  # earlier runs' rolled-back rows, out of the way
        c.execute(
            "VACUUM ANALYZE enterprise, enterprise_figure, monthly_filing, mu_class_record, audit_entry, audit_entry_xid"
        )
    runs = []
    for _ in range(args.import_repeat):  # alternate, so drift hits both alike
        runs.append((app_run(), bare_run(True), bare_run(False), bare_run(True, "executemany")))
    for kind in ("enterprises", "filings", "mu"):
        a = statistics.median(r[0][kind] for r in runs)
        b = statistics.median(r[1][kind] for r in runs)
        d = statistics.median(r[2][kind] for r in runs)
        e = statistics.median(r[3][kind] for r in runs)
        out[kind] = {
            "app_s": a,
            "bare_s": b,
            "app_rps": rows / a,
            "bare_rps": rows / b,
            "ratio": b / a,
            "data_only_rps": rows / d,
            "data_only_ratio": d / a,
            "executemany_rps": rows / e,
            "executemany_ratio": e / a,
        }
        print(f"[{n:,}] import {kind}: {out[kind]}", flush=True)
    return out


# --- targets and pools: served from the cache, and computed afresh -------------------------------------------


def _timed_get(http, path, params, n, *, invalidate=None) -> float:
    """p50 ms of n GETs; with `invalidate`, a change is committed before each (the first view after a change)."""
    ms = []
    for _ in range(n):
        if invalidate:
            invalidate()
        t = time.perf_counter()
        http.get(path, params=params).raise_for_status()
        ms.append((time.perf_counter() - t) * 1000)
    return statistics.median(ms)


def _bump(url: str):
    """A committed change of the data version: what any write to the counted tables does."""

    def go():
        with psycopg.connect(dsn_of(url), autocommit=True) as c:
            c.execute("UPDATE data_version SET v = v + 1 WHERE id = 1")

    return go


def part_targets(n: int, url: str, args) -> dict:
    from datetime import date as _date

    from sqlalchemy import select

    from app.accounts import service as accounts
    from app.accounts.models import User
    from app.db import get_sessionmaker
    from app.targets import service as target_service

    with get_sessionmaker()() as s:
        target_service.install_reference(s)
        for name, role, town in (
            ("growth-county", "county_viewer", None),
            ("growth-town", "township_staff", "qingquan"),
        ):
            if s.scalar(select(User.id).where(User.username == name)) is None:
                accounts.create_user(s, username=name, password="growth-password-1", role=role, township=town)
        s.commit()
    key = api_key()
    as_of = _date(2023, 12, 31).isoformat()
    q = {"key": "2023", "as_of": as_of}
    reps = args.page_requests
    out: dict = {}
    with server(url) as base:
        api = httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {key}"})
        webs = {}
        for who, label in (("growth-county", "county"), ("growth-town", "township")):
            web = httpx.Client(base_url=base, timeout=600)
            token = web.get("/login").cookies.get("yumiao_login_csrf", "")  # the log-in form's CSRF token
            r = web.post(
                "/login", data={"username": who, "password": "growth-password-1", "csrf_token": token}
            )
            assert r.status_code in (200, 303), r.text
            webs[label] = web
        steps = [
            ("matrix", api, "/api/v1/targets/2023/progress", {"as_of": as_of}),
            ("county", webs["county"], "/dashboard", q),
            ("township", webs["township"], "/dashboard", q),
        ]
        try:
            # cached: the three requests in turn, so the ratios of pages to matrix share the machine's moments
            for _, http, path, params in steps:
                http.get(path, params=params).raise_for_status()
            hits: dict[str, list[float]] = {label: [] for label, *_ in steps}
            for _ in range(reps):
                for label, http, path, params in steps:
                    t = time.perf_counter()
                    http.get(path, params=params).raise_for_status()
                    hits[label].append((time.perf_counter() - t) * 1000)
            for label, ms in hits.items():
                out[f"{label}_hit"] = statistics.median(ms)
            for label, http, path, params in steps:
                out[f"{label}_fresh"] = _timed_get(
                    http, path, params, max(3, reps // 4), invalidate=_bump(url)
                )
        finally:
            api.close()
            for web in webs.values():
                web.close()
    out["county_vs_matrix"] = out["county_hit"] / out["matrix_hit"]
    out["township_vs_matrix"] = out["township_hit"] / out["matrix_hit"]
    print(f"[{n:,}] targets: {out}", flush=True)
    return out


def part_pools(n: int, url: str, args) -> dict:
    key = api_key()
    out: dict = {}
    reps = args.page_requests
    with (
        server(url) as base,
        httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {key}"}) as api,
    ):
        for pool in ("primary_pool", "yumiao_pool"):
            path = f"/api/v1/pools/{pool}/candidates"
            body = api.get(path, params={"year": 2024}).json()
            out[f"{pool}_candidates"] = sum(v["met"] + v["judgement"] for v in body["counts"].values())
            out[f"{pool}_hit"] = _timed_get(api, path, {"year": 2024}, reps)
            out[f"{pool}_fresh"] = _timed_get(
                api, path, {"year": 2024}, max(3, reps // 4), invalidate=_bump(url)
            )
    print(f"[{n:,}] pools: {out}", flush=True)
    return out


# --- results -----------------------------------------------------------------------------------------------


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def save_result(part: str, n: int, figures: dict) -> None:
    results = load_results()
    figures = {
        **figures,
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": round(os.getloadavg()[0], 1),
    }
    results.setdefault(part, {})[str(n)] = figures
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    render(results)


ROWS = [
    # (part, label, getter, format)
    ("api", "GET /enterprises/{id}: app req/s (wrk 8 conns)", lambda r: r["get"]["app_rps"], "{:,.0f}"),
    ("api", "… reference req/s", lambda r: r["get"]["ref_rps"], "{:,.0f}"),
    ("api", "… app / reference req/s (target ≥ 0.5×)", lambda r: r["get"]["rps_ratio"], "{:.2f}×"),
    ("api", "… app p50 ms (1 conn)", lambda r: r["get"]["app_p50"], "{:.2f}"),
    ("api", "… reference p50 ms", lambda r: r["get"]["ref_p50"], "{:.2f}"),
    ("api", "… app / reference p50 (target ≤ 2.5×)", lambda r: r["get"]["p50_ratio"], "{:.2f}×"),
    ("api", "GET /enterprises (page 1): app req/s", lambda r: r["list"]["app_rps"], "{:,.0f}"),
    ("api", "… reference req/s", lambda r: r["list"]["ref_rps"], "{:,.0f}"),
    ("api", "… app / reference req/s (target ≥ 0.5×)", lambda r: r["list"]["rps_ratio"], "{:.2f}×"),
    ("api", "… app p50 ms", lambda r: r["list"]["app_p50"], "{:.2f}"),
    ("api", "… reference p50 ms", lambda r: r["list"]["ref_p50"], "{:.2f}"),
    ("api", "… app / reference p50 (target ≤ 2.5×)", lambda r: r["list"]["p50_ratio"], "{:.2f}×"),
    (
        "api",
        "wrk errors (non-2xx, socket): app / reference",
        lambda r: (
            f"{r['get']['errors'] + r['list']['errors']} / {r['get'].get('ref_errors', 0) + r['list'].get('ref_errors', 0)}"
        ),
        "{}",
    ),
    ("import", "rows per imported file in this run", lambda r: r["rows"], "{:,}"),
    *[
        row
        for kind, label in (
            ("enterprises", "enterprise .xlsx"),
            ("filings", "monthly filings .xlsx"),
            ("mu", "亩产效益 classes .xlsx"),
        )
        for row in (
            ("import", f"import of an {label}: app rows/s", lambda r, k=kind: r[k]["app_rps"], "{:,.0f}"),
            (
                "import",
                "… bare COPY of the same rows (data + audit entries) rows/s",
                lambda r, k=kind: r[k]["bare_rps"],
                "{:,.0f}",
            ),
            ("import", "… app / bare COPY (target ≥ 0.5×)", lambda r, k=kind: r[k]["ratio"], "{:.2f}×"),
            (
                "import",
                "… bare COPY of the data rows alone rows/s",
                lambda r, k=kind: r[k]["data_only_rps"],
                "{:,.0f}",
            ),
            ("import", "… app / data rows alone", lambda r, k=kind: r[k]["data_only_ratio"], "{:.2f}×"),
            (
                "import",
                "… bare executemany of the same rows (data + audit entries) rows/s",
                lambda r, k=kind: r[k]["executemany_rps"],
                "{:,.0f}",
            ),
            (
                "import",
                "… app / bare executemany (target ≥ 0.5×)",
                lambda r, k=kind: r[k]["executemany_ratio"],
                "{:.2f}×",
            ),
        )
    ],
    (
        "targets",
        "GET /api/v1/targets/2023/progress (matrix) p50 ms, cached",
        lambda r: r["matrix_hit"],
        "{:,.1f}",
    ),
    ("targets", "… computed afresh (first view after a change)", lambda r: r["matrix_fresh"], "{:,.0f}"),
    ("targets", "county page /dashboard p50 ms, cached", lambda r: r["county_hit"], "{:,.1f}"),
    ("targets", "… computed afresh", lambda r: r["county_fresh"], "{:,.0f}"),
    ("targets", "… county page / matrix API (target ≤ 1.5×)", lambda r: r["county_vs_matrix"], "{:.2f}×"),
    ("targets", "township page /dashboard p50 ms, cached", lambda r: r["township_hit"], "{:,.1f}"),
    ("targets", "… computed afresh", lambda r: r["township_fresh"], "{:,.0f}"),
    ("targets", "… township page / matrix API (target ≤ 1.5×)", lambda r: r["township_vs_matrix"], "{:.2f}×"),
    (
        "pools",
        "GET …/primary_pool/candidates (page + counts) p50 ms, cached",
        lambda r: r["primary_pool_hit"],
        "{:,.1f}",
    ),
    ("pools", "… computed afresh", lambda r: r["primary_pool_fresh"], "{:,.0f}"),
    ("pools", "GET …/yumiao_pool/candidates p50 ms, cached", lambda r: r["yumiao_pool_hit"], "{:,.1f}"),
    ("pools", "… computed afresh", lambda r: r["yumiao_pool_fresh"], "{:,.0f}"),
]


def render(results: dict) -> None:
    sizes = sorted({int(n) for part in results.values() for n in part})
    head = "| figure | " + " | ".join(f"{n:,}" for n in sizes) + " |"
    lines = [head, "| --- |" + " --- |" * len(sizes)]
    for part, label, get, fmt in ROWS:
        if part not in results:
            continue
        cells = []
        for n in sizes:
            r = results[part].get(str(n))
            try:
                cells.append(fmt.format(get(r)) if r else "—")
            except (KeyError, TypeError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    when = sorted({r["measured"] for part in results.values() for r in part.values()})
    text = "\n".join(
        [
            "# How cost grows: 10k, 100k and 1M enterprises",
            "",
            f"Measured {when[0]} – {when[-1]} on {platform.node() or 'this machine'} (2 cores shared with other work; "
            "PostgreSQL, client and servers on the same host) by `bench/growth_bench.py`; data by `bench/datagen.py` "
            "(SQL generate_series). Each ratio is taken within one run, side by side (the machine's absolute speed drifts).",
            "",
            *lines,
            "",
        ]
    )
    (HERE / "growth.md").write_text(text, encoding="utf-8")


PARTS = {"api": part_api, "import": part_import, "targets": part_targets, "pools": part_pools}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--parts", default="api,import,targets,pools")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--refill", action="store_true")
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--import-repeat", type=int, default=1)
    ap.add_argument("--page-requests", type=int, default=20)
    args = ap.parse_args()
    for n in [int(x) for x in args.sizes.split(",")]:
        url = prepare(n, args.refill)
        for part in args.parts.split(","):
            if part in PARTS:
                save_result(part, n, PARTS[part](n, url, args))


if __name__ == "__main__":
    main()
