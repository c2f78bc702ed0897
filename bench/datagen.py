"""A county (or a province) in SQL: `INSERT ... SELECT generate_series`, deterministic for a given size.

    from bench.datagen import fill
    took = fill(dsn, 1_000_000)      # seconds per table

Every benchmark that measures how cost grows with the registry (10k, 100k, 1M enterprises) fills its
database with this, not through the ORM: a million enterprises take about a minute here, against an
hour through app/demo/seed.py. The shapes follow app/demo/generator.py: enterprises over the 19
townships (30 % registered on the platform in 2023), yearly figures 2022–2025 with a log-normal
revenue, honour records of every code and level (2021–2024), stays in the pools (some left), and
monthly filings Dec 2022 – Dec 2023 for one enterprise in ten. `setseed` makes every run the same.
"""

import time

import psycopg


def fill(dsn: str, n: int, *, figures: bool = True) -> dict[str, float]:
    from app.pools.definitions import load_pools
    from app.reference import honours, townships

    towns = ",".join(f"'{t['code']}'" for t in townships())
    pairs = ",".join(f"('{code}','{lv}')" for code, spec in honours().items() for lv in spec["levels"])
    pools = ",".join(f"'{p}'" for p in load_pools())
    took: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as c:

        def run(name: str, sql: str, **params) -> None:
            t = time.perf_counter()
            c.execute("SELECT setseed(0.20261130)")
            c.execute(sql, params)
            took[name] = time.perf_counter() - t

        run(
            "enterprise",
            f"""
            INSERT INTO enterprise (uscc, name, township, chain, industry, size, ownership, above_scale, mu_class,
                                    platform_registered_date, version, created_at, updated_at)
            SELECT '91371525' || lpad(g::text, 10, '0'),
                   (ARRAY['冠县','聊城','山东','冠州','鲁西'])[1 + g %% 5]
                     || (ARRAY['恒通','华泰','鑫源','瑞丰','金桥','宏达','永盛','泰和','正阳','东方'])[1 + (g / 5) %% 10]
                     || (ARRAY['机械','轴承','纺织','新材料','食品','汽车配件'])[1 + (g / 50) %% 6]
                     || g || '有限公司',
                   (ARRAY[{towns}])[1 + (hashint4(g) & 2147483647) %% 19],
                   (ARRAY['高端装备','轴承','纺织服装','新材料','食品加工','汽车零部件'])[1 + (g / 50) %% 6], '工业',
                   (ARRAY['micro','small','small','medium'])[1 + g %% 4], 'private', g %% 10 = 0,
                   (ARRAY['A','B','C','D'])[1 + g %% 4],
                   CASE WHEN random() < 0.3 THEN date '2023-01-01' + (random() * 364)::int END, 1, now(), now()
            FROM generate_series(1, %(n)s) g""",
            n=n,
        )
        if figures:
            run(
                "enterprise_figure",
                """
                INSERT INTO enterprise_figure (enterprise_id, year, revenue_yuan, main_revenue_yuan, output_value_yuan,
                                               rd_spend_yuan, tax_yuan, employees, land_mu, energy_tce)
                SELECT e.id, y, r, (r * 0.92)::bigint, (r * 1.02)::bigint, (r * 0.03)::bigint, (r * 0.035)::bigint,
                       greatest(3, r / 600000)::int, (5 + e.id %% 295)::numeric, (r / 20000)::numeric
                FROM (SELECT id, least(8000000000, greatest(500000, exp(16.4 + 1.1 * sqrt(-2 * ln(1 - random()))
                                                                      * cos(2 * pi() * random())))) AS base
                      FROM enterprise) e
                CROSS JOIN generate_series(2022, 2025) y
                CROSS JOIN LATERAL (SELECT (e.base * power(1.08, y - 2022) * (0.9 + random() * 0.2))::bigint AS r) f""",
            )
        run(
            "honour",
            f"""
            WITH pairs(code, level) AS (VALUES {pairs}),
                 numbered AS (SELECT code, level, row_number() OVER () AS k, count(*) OVER () AS m FROM pairs)
            INSERT INTO honour (enterprise_id, code, level, outcome, honour_date, created_at)
            SELECT 1 + (random() * (%(n)s - 1))::int, p.code, p.level,
                   (ARRAY['new','new','new','new','new','renewed','rejected'])[1 + (g %% 7)],
                   date '2021-01-01' + (random() * 1460)::int, now()
            FROM generate_series(1, %(h)s) g JOIN numbered p ON p.k = 1 + g %% p.m""",
            n=n,
            h=int(n * 0.4),
        )
        run(
            "pool_membership",
            f"""
            INSERT INTO pool_membership (enterprise_id, pool, entry_class, entered_date, entered_by, entry_evaluation,
                                         left_date, leave_reason, created_at)
            SELECT g, (ARRAY[{pools}])[1 + (g / 7) %% {len(load_pools())}], 'bench',
                   date '2022-04-09' + (random() * 600)::int AS entered, 'bench', '[]',
                   CASE WHEN g %% 5 = 0 THEN date '2024-01-01' + (g %% 300) END,
                   CASE WHEN g %% 5 = 0 THEN 'other' END, now()
            FROM generate_series(1, %(n)s, 7) g""",
            n=n,
        )
        run(
            "monthly_filing",
            """
            INSERT INTO monthly_filing (enterprise_id, year, month, period, rd_spend_yuan, output_value_yuan, revenue_yuan,
                                        electricity_kwh, filed_at, filed_by, filed_late, updated_at, updated_by,
                                        corrected_late, revisions)
            SELECT e, p / 12, p %% 12 + 1, p,
                   ((1000 + e %% 5000) * 100 * power(1.06, p - 24275) * (0.85 + random() * 0.3))::bigint,
                   ((1000 + e %% 5000) * 2000 * (0.9 + random() * 0.2))::bigint, NULL, NULL,
                   now(), 'bench', random() < 0.05, now(), 'bench', false, 1
            FROM generate_series(10, %(n)s, 10) e CROSS JOIN generate_series(24275, 24287) p""",
            n=n,
        )
        t = time.perf_counter()
        c.execute("VACUUM ANALYZE")
        took["vacuum analyze"] = time.perf_counter() - t
    return took


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as c:
        return {
            t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("enterprise", "enterprise_figure", "honour", "pool_membership", "monthly_filing")
        }
