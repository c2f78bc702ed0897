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

from bench.common import ADMIN_URL, ROOT, fresh_database, pct, server, summary, timed  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "growth.json"
SCOPES = ["enterprises:read", "enterprises:write", "targets:read", "pools:read", "filings:read", "filings:write",
          "pools:write", "changes:read", "policies:read"]


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
    print(f"[{n:,}] filled in {time.perf_counter() - t:.0f} s: " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()),
          flush=True)
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
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    if isinstance(path_or_ids, list):
        lua.write("ids = {" + ",".join(map(str, path_or_ids)) + "}\n")
        lua.write('request = function() return wrk.format("GET", "/api/v1/enterprises/" .. ids[math.random(#ids)]) end\n')
        path = "/"
    else:
        path = path_or_ids
    lua.write("done = function(summary, latency, requests)\n"
              "  io.write(string.format('RESULT %d %d %d %d %d %f\\n', summary.requests, summary.errors.status, "
              "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
              "latency:percentile(50), latency:percentile(95), summary.duration / 1e6))\nend\n")
    lua.close()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", lua.name,
         "-H", f"Authorization: Bearer {key}", base + path],
        capture_output=True, text=True, check=True,
    ).stdout
    os.unlink(lua.name)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) ([\d.]+)", out)
    reqs, bad_status, sock_err, p50_us, p95_us, dur = m.groups()
    return {"rps": int(reqs) / float(dur), "p50": int(p50_us) / 1000, "p95": int(p95_us) / 1000,
            "errors": int(bad_status) + int(sock_err), "requests": int(reqs)}


def part_api(n: int, url: str, args) -> dict:
    key = api_key()
    with psycopg.connect(dsn_of(url)) as c:
        ids = [r[0] for r in c.execute("SELECT id FROM enterprise WHERE deleted_at IS NULL ORDER BY random() LIMIT 2000")]
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
                runs["app_lat"].append(wrk(app_base, target, key, conns=1, threads=1, seconds=args.seconds / 2))
                runs["ref_lat"].append(wrk(ref_base, target, key, conns=1, threads=1, seconds=args.seconds / 2))
            med = {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p95")} for k, v in runs.items()}
            errors = sum(r["errors"] for v in runs.values() for r in v)
            out[label] = {
                "app_rps": med["app_tput"]["rps"], "ref_rps": med["ref_tput"]["rps"],
                "app_p50": med["app_lat"]["p50"], "ref_p50": med["ref_lat"]["p50"],
                "rps_ratio": med["app_tput"]["rps"] / med["ref_tput"]["rps"],
                "p50_ratio": med["app_lat"]["p50"] / med["ref_lat"]["p50"],
                "errors": errors,
            }
            print(f"[{n:,}] api {label}: {out[label]}", flush=True)
    return out


# --- results -----------------------------------------------------------------------------------------------


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def save_result(part: str, n: int, figures: dict) -> None:
    results = load_results()
    figures = {**figures, "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "load": round(os.getloadavg()[0], 1)}
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
    ("api", "wrk errors (non-2xx, socket)", lambda r: r["get"]["errors"] + r["list"]["errors"], "{}"),
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
    text = "\n".join([
        "# How cost grows: 10k, 100k and 1M enterprises",
        "",
        f"Measured {when[0]} – {when[-1]} on {platform.node() or 'this machine'} (2 cores shared with other work; "
        "PostgreSQL, client and servers on the same host) by `bench/growth_bench.py`; data by `bench/datagen.py` "
        "(SQL generate_series). Each ratio is taken within one run, side by side (the machine's absolute speed drifts).",
        "",
        *lines,
        "",
    ])
    (HERE / "growth.md").write_text(text, encoding="utf-8")


PARTS = {"api": part_api}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--parts", default="api,import,targets,pools")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--refill", action="store_true")
    args = ap.parse_args()
    for n in [int(x) for x in args.sizes.split(",")]:
        url = prepare(n, args.refill)
        for part in args.parts.split(","):
            if part in PARTS:
                save_result(part, n, PARTS[part](n, url, args))


if __name__ == "__main__":
    main()
