"""Demo monthly filings (月度填报), so the R&D growth trend and the overdue list show data.

Every enterprise files December 2022 – December 2023 (the 2023 table's year and the month
before it), and the three months before last month; last month about 70% have filed, so the
overdue list has names. R&D spend walks month to month around +6% with a township's good or bad
month (some townships reach the 10% target in a month, most do not). Bulk insert without audit: seed data, like the registry's.
"""

import random
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.enterprises.models import Enterprise, EnterpriseFigure
from app.reports.models import MonthlyFiling
from app.reports.service import last_month, period_of, year_month


def seed(session: Session, today: date | None = None, seed: int = 20230318) -> int:
    today = today or date.today()
    rng = random.Random(seed)
    last = last_month(today)
    periods = list(range(period_of(2022, 12), period_of(2023, 12) + 1))
    periods += [p for p in range(last - 3, last + 1) if p > periods[-1]]
    rows = session.execute(
        select(
            Enterprise.id,
            Enterprise.township,
            EnterpriseFigure.rd_spend_yuan,
            EnterpriseFigure.output_value_yuan,
        )
        .outerjoin(
            EnterpriseFigure,
            (EnterpriseFigure.enterprise_id == Enterprise.id) & (EnterpriseFigure.year == 2023),
        )
        .where(Enterprise.deleted_at.is_(None))
    ).all()
    now = utcnow()
    buf: list[dict] = []
    n = 0
    shock: dict[tuple[str, int], float] = {}  # a township's good or bad month
    for eid, township, rd_year, out_year in rows:
        rd = max(1_000, (rd_year or rng.randint(100_000, 2_000_000)) // 12)
        out = max(50_000, (out_year or rng.randint(5_000_000, 50_000_000)) // 12)
        prev = None
        for p in periods:
            if prev is not None and p != prev + 1:  # a gap of years: start again near the firm's level
                rd = int(rd * rng.uniform(1.0, 1.6))
            prev = p
            s = shock.setdefault((township, p), rng.gauss(0.0, 0.04))
            rd = max(0, int(rd * (1 + rng.gauss(0.06 + s, 0.12))))
            out = max(0, int(out * (1 + rng.gauss(0.02, 0.08))))
            if p == last and rng.random() > 0.7:
                continue  # not yet filed
            y, m = year_month(p)
            late = rng.random() < 0.05
            buf.append(
                {
                    "enterprise_id": eid,
                    "year": y,
                    "month": m,
                    "period": p,
                    "rd_spend_yuan": rd,
                    "output_value_yuan": out,
                    "revenue_yuan": int(out * rng.uniform(0.9, 1.05)),
                    "electricity_kwh": int(out / rng.uniform(8, 30)),
                    "filed_at": now,
                    "filed_by": "demo",
                    "filed_late": late,
                    "updated_at": now,
                    "updated_by": "demo",
                    "corrected_late": False,
                    "revisions": 1,
                }
            )
            if len(buf) >= 5000:
                session.execute(insert(MonthlyFiling), buf)
                n += len(buf)
                buf = []
    if buf:
        session.execute(insert(MonthlyFiling), buf)
        n += len(buf)
    session.flush()
    return n
