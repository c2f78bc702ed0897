"""Plausibility checks on a month's figures: what a person must confirm before an unusual figure counts.

Three checks, each naming the field and the figures compared:
- 研发投入高于当月工业产值 (R&D spend above the month's output);
- a figure more than `SPIKE_FACTOR` times the firm's usual month (the median of its last 12 filed months, when
  it has at least `MIN_HISTORY` of them);
- a month's figure above the firm's whole latest annual revenue (营业收入, from the registry's yearly figures).
"""

from collections import defaultdict
from statistics import median

from sqlalchemy import Integer, select, text
from sqlalchemy.orm import Session

from app.enterprises.models import EnterpriseFigure
from app.reports.models import FILING_FIELDS, MonthlyFiling

SPIKE_FACTOR = 10
MIN_HISTORY = 3
MONEY_FIELDS = ("rd_spend_yuan", "output_value_yuan", "revenue_yuan")
# From this many firms on (a file's worth), PostgreSQL first picks out the firms that may fail a check.
SCREEN_FROM = 200


def _n(v: int, unit: str) -> str:
    return f"{v:,} {unit}"


def checks(session: Session, *, enterprise_id: int, period: int, values: dict) -> list[dict]:
    """The checks `values` fail, as [{code, field, message}] (empty: plausible)."""
    return checks_many(session, period=period, values_by_enterprise={enterprise_id: values})[enterprise_id]


def checks_many(
    session: Session, *, period: int, values_by_enterprise: dict[int, dict], screen: bool | None = None
) -> dict[int, list[dict]]:
    """The checks of many firms' month at once: two queries whatever the number of firms.

    For many firms (`screen`: by default from SCREEN_FROM firms on PostgreSQL) one statement first picks out
    the firms that may fail a check, comparing the figures with the medians and annual revenue in SQL; only
    those are then checked here, so a 100,000-row file does not bring 100,000 firms' history into Python.
    The screen lets through every firm a check would flag (and perhaps a few more, checked here as usual)."""
    from app import bulk

    if screen is None:
        screen = len(values_by_enterprise) >= SCREEN_FROM and bulk.is_postgres(session)
    if screen and values_by_enterprise:
        ids = list(values_by_enterprise)
        columns = [[values_by_enterprise[e].get(f) for e in ids] for f in FILING_FIELDS]
        suspect = _screen(session, period, ids, columns)
        found = _checks(session, period, {eid: values_by_enterprise[eid] for eid in suspect})
        return {eid: found.get(eid, []) for eid in values_by_enterprise}
    return _checks(session, period, values_by_enterprise)


def failed_rows(session: Session, *, period: int, ids: list[int], rows: list[tuple]) -> dict[int, list[dict]]:
    """`checks_many` for a batch as plain rows (`rows[i]`: firm `ids[i]`'s figures in FILING_FIELDS order),
    returning only the firms that fail a check: a file's figures go to the screen as columns, with no
    dictionary per row."""
    from app import bulk

    if len(ids) < SCREEN_FROM or not bulk.is_postgres(session):
        found = _checks(session, period, _as_dicts(ids, rows))
        return {eid: f for eid, f in found.items() if f}
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in FILING_FIELDS]
    suspect = _screen(session, period, ids, columns)
    if not suspect:
        return {}
    picked = [(eid, r) for eid, r in zip(ids, rows, strict=True) if eid in suspect]
    found = _checks(session, period, _as_dicts([e for e, _ in picked], [r for _, r in picked]))
    return {eid: f for eid, f in found.items() if f}


def _as_dicts(ids: list[int], rows: list[tuple]) -> dict[int, dict]:
    fields = list(FILING_FIELDS)
    return {eid: dict(zip(fields, r, strict=True)) for eid, r in zip(ids, rows, strict=True)}


def _screen(session: Session, period: int, ids: list[int], columns: list[list]) -> set[int]:
    """The firms whose figures may fail a check (a superset of those that do), in one statement; `columns`
    holds the figures of `ids` a field at a time, in FILING_FIELDS order.

    Each firm's past 12 months and its latest annual revenue are read by its own probe of the
    (enterprise_id, period) and (enterprise_id, year) indexes: a join of the file's firms with all annual
    figures was planned as a sequential read of the whole table (4.1 million rows at a million firms: 2.9 s,
    growing with the registry where the probes do not), and the months likewise as a read of every firm's
    12 months."""
    from app import bulk

    fields = list(FILING_FIELDS)
    cols = ", ".join(f"f{i}" for i in range(len(fields)))
    arrays = ", ".join(f"CAST(:f{i} AS bigint[])" for i in range(len(fields)))
    history = ", ".join(
        f"count(m.{f}) AS n{i}, percentile_cont(0.5) WITHIN GROUP (ORDER BY m.{f}) AS m{i}"
        for i, f in enumerate(fields)
    )
    rd, output = fields.index("rd_spend_yuan"), fields.index("output_value_yuan")
    # The median compared in float8; a margin of a millionth keeps every firm Python's exact test flags.
    tests = [f"u.f{rd} > u.f{output}"]
    tests += [
        f"(h.n{i} >= {MIN_HISTORY} AND h.m{i} > 0 AND u.f{i} > {SPIKE_FACTOR} * h.m{i} * 0.999999)"
        for i in range(len(fields))
    ]
    tests += [f"u.f{fields.index(f)} > a.revenue" for f in MONEY_FIELDS]
    sql = f"""
        WITH u AS MATERIALIZED (
            SELECT * FROM unnest(CAST(:ids AS integer[]), {arrays}) AS u(eid, {cols})
        ), h AS (
            SELECT u.eid, {history}
            FROM u CROSS JOIN LATERAL (
                SELECT {", ".join(fields)} FROM monthly_filing mf
                WHERE mf.enterprise_id = u.eid AND mf.period < :period AND mf.period >= :period - 12
            ) m
            GROUP BY u.eid
        ), a AS (
            SELECT u.eid, latest.revenue
            FROM u CROSS JOIN LATERAL (
                SELECT f.revenue_yuan AS revenue FROM enterprise_figure f
                WHERE f.enterprise_id = u.eid AND f.revenue_yuan > 0
                ORDER BY f.year DESC LIMIT 1
            ) latest
        )
        SELECT u.eid FROM u LEFT JOIN h ON h.eid = u.eid LEFT JOIN a ON a.eid = u.eid
        WHERE {" OR ".join(tests)}
    """
    params = {
        "ids": bulk.array_literal(ids),
        "period": period,
        **{f"f{i}": bulk.array_literal(column) for i, column in enumerate(columns)},
    }
    return set(session.scalars(text(sql), params))


def _checks(session: Session, period: int, values_by_enterprise: dict[int, dict]) -> dict[int, list[dict]]:
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
