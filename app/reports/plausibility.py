"""Plausibility checks on a month's figures: what a person must confirm before an unusual figure counts.

Three checks, each naming the field and the figures compared:
- 研发投入高于当月工业产值 (R&D spend above the month's output);
- a figure more than `SPIKE_FACTOR` times the firm's usual month (the median of its last 12 filed months, when
  it has at least `MIN_HISTORY` of them);
- a month's figure above the firm's whole latest annual revenue (营业收入, from the registry's yearly figures).
"""

from collections import defaultdict
from statistics import median

from sqlalchemy import Integer, select
from sqlalchemy.orm import Session

from app.enterprises.models import EnterpriseFigure
from app.reports.models import FILING_FIELDS, MonthlyFiling

SPIKE_FACTOR = 10
MIN_HISTORY = 3
MONEY_FIELDS = ("rd_spend_yuan", "output_value_yuan", "revenue_yuan")


def _n(v: int, unit: str) -> str:
    return f"{v:,} {unit}"


def checks(session: Session, *, enterprise_id: int, period: int, values: dict) -> list[dict]:
    """The checks `values` fail, as [{code, field, message}] (empty: plausible)."""
    return checks_many(session, period=period, values_by_enterprise={enterprise_id: values})[enterprise_id]


def checks_many(
    session: Session, *, period: int, values_by_enterprise: dict[int, dict]
) -> dict[int, list[dict]]:
    """The checks of many firms' month at once: two queries whatever the number of firms."""
    from app import bulk

    ids = list(values_by_enterprise)
    if not ids:
        return {}
    history: dict[int, list] = defaultdict(list)
    cols = [getattr(MonthlyFiling, f) for f in FILING_FIELDS]
    for r in session.execute(
        select(MonthlyFiling.enterprise_id, *cols).where(
            bulk.among(session, MonthlyFiling.enterprise_id, ids, Integer),
            MonthlyFiling.period < period,
            MonthlyFiling.period >= period - 12,
        )
    ):
        history[r[0]].append(r[1:])
    annual: dict[int, tuple[int, int]] = {}
    for eid, year, revenue in session.execute(
        select(EnterpriseFigure.enterprise_id, EnterpriseFigure.year, EnterpriseFigure.revenue_yuan)
        .where(
            bulk.among(session, EnterpriseFigure.enterprise_id, ids, Integer),
            EnterpriseFigure.revenue_yuan > 0,
        )
        .order_by(EnterpriseFigure.enterprise_id, EnterpriseFigure.year.desc())
    ):
        annual.setdefault(eid, (year, revenue))
    return {
        eid: _failed(values, history[eid], annual.get(eid)) for eid, values in values_by_enterprise.items()
    }


def _failed(values: dict, history: list, annual: tuple[int, int] | None) -> list[dict]:
    out: list[dict] = []
    rd, output = values.get("rd_spend_yuan"), values.get("output_value_yuan")
    if rd is not None and output is not None and rd > output:
        out.append(
            {
                "code": "rd_above_output",
                "field": "rd_spend_yuan",
                "message": f"研发投入 {_n(rd, '元')} 高于当月工业产值 {_n(output, '元')}",
            }
        )
    for i, (field, (label, unit)) in enumerate(FILING_FIELDS.items()):
        v = values.get(field)
        past = [r[i] for r in history if r[i] is not None]
        if v is None or len(past) < MIN_HISTORY:
            continue
        usual = median(past)
        if usual > 0 and v > SPIKE_FACTOR * usual:
            out.append(
                {
                    "code": "spike",
                    "field": field,
                    "message": f"{label} {_n(v, unit)} 是该企业近 {len(past)} 个月通常水平（中位数 "
                    f"{_n(int(usual), unit)}）的 {v / usual:,.0f} 倍",
                }
            )
    if annual is not None:
        year, revenue = annual
        for field in MONEY_FIELDS:
            v = values.get(field)
            if v is not None and v > revenue:
                out.append(
                    {
                        "code": "above_annual_revenue",
                        "field": field,
                        "message": f"{FILING_FIELDS[field][0]} {_n(v, '元')} 超过该企业 {year} 年全年营业收入 "
                        f"{_n(revenue, '元')}",
                    }
                )
    return out
