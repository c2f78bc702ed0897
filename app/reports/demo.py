"""Demo monthly filings (月度填报), so the R&D growth trend and the overdue list show data.

Every enterprise files January 2022 – December 2023 (the 2023 table's year and the year before
it, so that each 2023 month has its 同比 month, the reading row 11 of the table is judged by),
and the three months before last month; last month about 70% have filed, so the overdue list has
names. A firm's R&D spend follows its own yearly trend (about +7% a year) with a seasonal shape
and a township's good or bad month, so a township's 同比 growth lands around the 10% target: some
townships reach it in a month, most do not. Bulk insert without audit: seed data, like the registry's.
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
    periods = list(range(period_of(2022, 1), period_of(2023, 12) + 1))
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
    season = [0.7, 0.8, 1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.05, 1.0, 1.1, 1.25]  # January … December
    first = periods[0]
    for eid, township, rd_year, out_year in rows:
        rd0 = max(1_000, (rd_year or rng.randint(100_000, 2_000_000)) // 12)
        out0 = max(50_000, (out_year or rng.randint(5_000_000, 50_000_000)) // 12)
        rd_trend = rng.gauss(0.07, 0.06)  # the firm's yearly growth
        out_trend = rng.gauss(0.05, 0.04)
        for p in periods:
            s = shock.setdefault((township, p), rng.gauss(0.0, 0.04))
            years = (p - first) / 12
            m_index = year_month(p)[1] - 1
            rd = max(0, int(rd0 * season[m_index] * (1 + rd_trend) ** years * (1 + s + rng.gauss(0.0, 0.05))))
            out = max(0, int(out0 * (1 + out_trend) ** years * (1 + rng.gauss(0.0, 0.04))))
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
