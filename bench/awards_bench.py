"""Awards benchmark on PostgreSQL: preview throughput through the engine and through HTTP, and 100k events in batch.

    python bench/awards_bench.py [--events 100000] [--requests 1000] [--enterprises 20000]

Creates the database `yumiao_bench_awards` (dropped first), loads generated enterprises, and measures
  * the engine in one process: parse + compute, and compute alone, events/s;
  * POST /api/v1/awards/preview on one uvicorn worker: sequential and 8 clients at once, with the
    enterprise's facts in the request and with `enterprise_id` (facts read from the database);
  * a batch of 100k events: `proposals.batch_preview` in process, POST /api/v1/awards/batch in requests of
    10k events, and `compute_year` proposing (and storing, with receipts and audit) the lines of 100k
    events recorded in the database, then again (nothing new to store).
Prints a Markdown table, also written to bench/awards.md.
"""

import argparse
import os
import platform
import random
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, server, summary, timed  # noqa: E402

HONOURS = [
    ("specialized_sme", "provincial"),
    ("specialized_sme", "city"),
    ("little_giant", "national"),
    ("gazelle", "provincial"),
    ("unicorn", "provincial"),
    ("high_tech", "national"),
    ("tech_sme", "national"),
    ("innovative_sme", "provincial"),
    ("green_factory", "provincial"),
    ("digital_workshop", "provincial"),
    ("two_integration", "city"),
    ("dcmm", "provincial"),
    ("cluster", "city"),
    ("design_center", "provincial"),
    ("champion_product", "national"),
    ("smart_factory", "provincial"),
    ("innovation_center", "city"),
]


READING = """Reading the figures: the engine finds the rules answering an event in its plan (by type, honour, level,
outcome and period, app/awards/engine.py) and keeps what is the same for every such event, so computing costs a
few µs, about what parsing the event costs (bench/policies.md); the HTTP preview's milliseconds are HTTP, the
API-key lookup and JSON around it, and with `enterprise_id` four indexed queries (the enterprise as the caller
may see it, its fields, its honours, its award lines). The year's run stores every line with its receipt (event, facts, rule,
policy versions: about 1.5 KB of JSON) and an audit entry, in one transaction; the lines go in by executemany
with ids drawn from the sequence, their audit entries by one COPY. Run again, it only reads and recomputes, and stores nothing. Eight clients add
little over one because the clients, the server and PostgreSQL share the same 2 cores."""


def make_event(rng: random.Random, day: date) -> dict:
    kind = rng.choices(
        [
            "honour",
            "first_above_scale",
            "sales_milestone",
            "loan_interest",
            "equipment_purchase",
            "design_prize",
            "skills_contest",
            "talent_program",
            "talent_loan_interest",
            "output_growth",
        ],
        weights=[60, 6, 8, 6, 8, 3, 3, 2, 2, 2],
    )[0]
    d = day.isoformat()
    if kind == "honour":
        code, level = rng.choice(HONOURS)
        outcome = rng.choices(["new", "renewed", "rejected"], weights=[70, 20, 10])[0]
        return {"type": "honour", "honour": code, "level": level, "outcome": outcome, "date": d}
    if kind == "first_above_scale":
        return {"type": kind, "date": d}
    if kind == "sales_milestone":
        prev = rng.randint(300, 3200) * 1_000_000
        return {
            "type": kind,
            "date": d,
            "previous_revenue_yuan": prev,
            "revenue_yuan": int(prev * rng.uniform(0.9, 1.6)),
        }
    if kind == "loan_interest":
        return {"type": kind, "date": d, "interest_paid_yuan": rng.randint(10_000, 900_000)}
    if kind == "equipment_purchase":
        return {
            "type": kind,
            "date": d,
            "purpose": rng.choice(["tech_upgrade", "smart_upgrade"]),
            "amount_yuan": rng.randint(500_000, 80_000_000),
        }
    if kind == "design_prize":
        return {
            "type": kind,
            "date": d,
            "contest": rng.choice(["governor_cup", "liaocheng"]),
            "rank": rng.choice(["gold", "silver", "bronze"]),
        }
    if kind == "skills_contest":
        return {"type": kind, "date": d, "participants": rng.randint(40, 300)}
    if kind == "talent_program":
        return {
            "type": kind,
            "date": d,
            "level": rng.choice(["national", "provincial"]),
            "grant_yuan": rng.randint(200_000, 6_000_000),
        }
    if kind == "talent_loan_interest":
        bench = rng.randint(20_000, 400_000)
        return {
            "type": kind,
            "date": d,
            "interest_paid_yuan": int(bench * rng.uniform(0.3, 1.2)),
            "benchmark_interest_yuan": bench,
        }
    return {
        "type": "output_growth",
        "date": f"{day.year}-03-31",  # the first quarter of the event's year
        "new_output_yuan": rng.randint(50, 400) * 1_000_000,
        "growth_rate": str(round(rng.uniform(0.05, 0.4), 3)),
        "city_rank": rng.randint(1, 80),
    }


def make_facts(rng: random.Random) -> dict:
    return {
        "size": rng.choice(["micro", "small", "medium", "large"]),
        "ownership": rng.choices(["private", "state", "foreign", "other"], weights=[90, 4, 3, 3])[0],
        "honours": [],
        "prior_grants_yuan": {},
    }


def events_in(rng: random.Random, year: int, n: int) -> list[dict]:
    """`n` events of the generated mix dated in `year`."""
    start = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - start).days
    return [make_event(rng, start + timedelta(days=rng.randint(0, days - 1))) for _ in range(n)]


def events_in_2023(rng: random.Random, n: int) -> list[dict]:
    return events_in(rng, 2023, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--enterprises", type=int, default=20_000)
    args = ap.parse_args()

    # Measure the application, not the per-key rate limit (600/minute by default).
    os.environ.setdefault("YUMIAO_API_RATE_LIMIT", "100000000/minute")
    url = fresh_database("yumiao_bench_awards")
    from app.accounts import service as accounts
    from app.accounts.permissions import SYSTEM
    from app.awards import facts as award_facts
    from app.awards import proposals
    from app.awards.engine import compute
    from app.awards.event_models import EnterpriseFacts, parse_event
    from app.db import get_sessionmaker
    from app.demo import seed
    from app.policies.loader import load_policies

    rng = random.Random(2023)
    ps = load_policies()
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    out: list[str] = []

    # 1. the engine in one process
    sample = events_in_2023(rng, 20_000)
    facts = [EnterpriseFacts.model_validate(make_facts(rng)) for _ in sample]
    t = time.perf_counter()
    parsed = [parse_event(e) for e in sample]
    results = [compute(e, f, ps) for e, f in zip(parsed, facts, strict=True)]
    both_s = time.perf_counter() - t
    t = time.perf_counter()
    for e, f in zip(parsed, facts, strict=True):
        compute(e, f, ps)
    compute_s = time.perf_counter() - t
    lines_per_event = sum(len(r.lines) for r in results) / len(results)

    # enterprises for the facts-from-the-database cases and the recorded-events batch
    t = time.perf_counter()
    with get_sessionmaker()() as s:
        seed.load(s, args.enterprises, seed=7)
        key, _ = accounts.create_api_key(
            s, name="bench", scopes=["awards:read", "awards:write", "enterprises:read"]
        )
        s.commit()
    load_s = time.perf_counter() - t
    from sqlalchemy import select, text

    from app.enterprises.models import Enterprise

    with get_sessionmaker()() as s:
        ent_ids = list(s.scalars(select(Enterprise.id)))
        s.execute(text("ANALYZE"))
        s.commit()

    # 2. batch of N events in process (facts in the request, nothing stored)
    batch_events = events_in_2023(rng, args.events)
    items = [
        {"event": e, "enterprise": EnterpriseFacts.model_validate(make_facts(rng))} for e in batch_events
    ]
    with get_sessionmaker()() as s:
        t = time.perf_counter()
        outcome = proposals.batch_preview(s, actor=SYSTEM, items=items)
        batch_s = time.perf_counter() - t
    batch_total = sum(outcome.total_by_funder.values())

    # 3. HTTP: preview one at a time and 8 at once; batch in requests of 10k events
    h = {"Authorization": f"Bearer {key}"}
    http_rows = []
    preview_bodies = [{"event": e, "enterprise": make_facts(rng)} for e in events_in_2023(rng, args.requests)]
    id_bodies = [
        {"event": e, "enterprise_id": rng.choice(ent_ids)} for e in events_in_2023(rng, args.requests)
    ]
    with server(url) as base, httpx.Client(base_url=base, headers=h, timeout=120) as http:
        for b in preview_bodies[:50]:  # warm up
            http.post("/api/v1/awards/preview", json=b)
        for name, bodies in (
            ("facts in the request", preview_bodies),
            ("enterprise_id (facts from the database)", id_bodies),
        ):

            def one(i, bodies=bodies):
                r = http.post("/api/v1/awards/preview", json=bodies[i])
                assert r.status_code == 200, r.text

            t = time.perf_counter()
            ms = timed(one, len(bodies))
            seq_rps = len(bodies) / (time.perf_counter() - t)
            conc_rps = _concurrent(base, h, bodies, 8)
            http_rows.append((name, summary(ms), seq_rps, conc_rps))
        t = time.perf_counter()
        chunk = 10_000
        http_lines = 0
        for i in range(0, len(batch_events), chunk):
            body = {
                "events": [{"event": e, "enterprise": make_facts(rng)} for e in batch_events[i : i + chunk]]
            }
            r = http.post("/api/v1/awards/batch", json=body)
            assert r.status_code == 200, r.text[:500]
            http_lines += r.json()["lines"]
        http_batch_s = time.perf_counter() - t

    # 4. compute_year over N recorded events: propose and store every line (receipt + audit)
    from sqlalchemy import insert

    from app.awards.models import AwardLine, EnterpriseEvent

    rows, seen_first = [], set()
    now = time.time()
    for e in events_in_2023(rng, args.events):
        eid = rng.choice(ent_ids)
        if e["type"] == "first_above_scale":
            if eid in seen_first:
                e = {"type": "skills_contest", "date": e["date"], "participants": rng.randint(40, 300)}
            seen_first.add(eid)
        ev = parse_event(e)
        rows.append(
            {
                "enterprise_id": eid,
                "type": ev.type,
                "event_date": ev.date,
                "data": ev.model_dump(mode="json"),
                "facts": None,
                "event_key": award_facts.event_key(ev),
                "honour_id": None,
                "note": None,
                "recorded_by": "bench",
            }
        )
    uniq = {(r["enterprise_id"], r["event_key"]): r for r in rows}
    rows = list(uniq.values())
    with get_sessionmaker()() as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(EnterpriseEvent), rows[i : i + 5000])
        s.commit()
    prep_s = time.time() - now
    with get_sessionmaker()() as s:
        t = time.perf_counter()
        year = proposals.compute_year(s, actor=SYSTEM, year=2023)
        s.commit()
        year_s = time.perf_counter() - t
        t = time.perf_counter()
        again = proposals.compute_year(s, actor=SYSTEM, year=2023)
        s.commit()
        again_s = time.perf_counter() - t
        stored = s.scalar(select(text("count(*)")).select_from(AwardLine))

    cpu = os.cpu_count()
    out += [
        f"Run {started} to {time.strftime('%H:%M', time.gmtime())} UTC on {platform.node() or 'this machine'} "
        f"({cpu} cores), PostgreSQL on the same host, "
        f"Python {platform.python_version()}. Events are a generated mix of the DOMAIN.md event types dated in 2023 "
        f"(both policy documents in force), {lines_per_event:.2f} money lines per event on average.",
        "",
        "| what | events | time s | events/s | notes |",
        "| --- | --- | --- | --- | --- |",
        f"| engine: parse + compute, one process | {len(sample):,} | {both_s:.2f} | {len(sample) / both_s:,.0f} | "
        f"pydantic validation of the event included |",
        f"| engine: compute only | {len(sample):,} | {compute_s:.2f} | {len(sample) / compute_s:,.0f} | "
        f"events parsed beforehand |",
        f"| batch in process (`proposals.batch_preview`) | {args.events:,} | {batch_s:.2f} | "
        f"{args.events / batch_s:,.0f} | facts given; {sum(len(r.lines) for r in outcome.results):,} lines, "
        f"{batch_total / 10000:,.0f} 万元 at caps; nothing stored |",
        f"| batch over HTTP (`POST /api/v1/awards/batch`, 10k events per request) | {len(batch_events):,} | "
        f"{http_batch_s:.2f} | {len(batch_events) / http_batch_s:,.0f} | {http_lines:,} lines returned; JSON both ways |",
        f"| year from recorded events (`compute_year`, `yumiao compute-awards`) | {year.events:,} | {year_s:.2f} | "
        f"{year.events / year_s:,.0f} | {year.created_lines:,} lines stored with receipts and audit entries "
        f"({year.honour_events_created:,} honour events added for the generated honours) |",
        f"| … run again (idempotent) | {again.events:,} | {again_s:.2f} | {again.events / again_s:,.0f} | "
        f"{again.created_lines} new lines, {again.existing_lines:,} already stored |",
        "",
        "| POST /api/v1/awards/preview (one uvicorn worker) | p50 ms | p95 ms | req/s sequential | req/s, 8 clients |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {name} | {s['p50']:.1f} | {s['p95']:.1f} | {seq:,.0f} | {conc:,.0f} |"
            for name, s, seq, conc in http_rows
        ],
        "",
        f"{args.requests:,} requests per line after 50 to warm up; the client runs on the same 2 cores as the "
        f"server and PostgreSQL. {args.enterprises:,} generated enterprises loaded in {load_s:.1f} s; "
        f"{len(rows):,} recorded events inserted in {prep_s:.1f} s; {stored:,} award lines stored in all. "
        "Load average (1, 5, 15 min, as `uptime` shows it) "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + " at the start, "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + " at the end: other work on the machine shares the 2 cores.",
        "",
        READING,
    ]
    text_out = "\n".join(out)
    print(text_out)
    (Path(__file__).parent / "awards.md").write_text(text_out + "\n", encoding="utf-8")


def _concurrent(base: str, headers: dict, bodies: list[dict], clients: int) -> float:
    """Requests/s with `clients` threads each sending its share of `bodies`."""

    def work(part: list[dict]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            for b in part:
                r = http.post("/api/v1/awards/preview", json=b)
                assert r.status_code == 200, r.text

    parts = [bodies[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=work, args=(p,)) for p in parts]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(bodies) / (time.perf_counter() - t)


if __name__ == "__main__":
    main()
