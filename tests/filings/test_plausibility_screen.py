"""A large file's plausibility checks: PostgreSQL first picks out the firms that may fail a check, and those
are checked as one firm's month is. Every firm the one-at-a-time checks flag is flagged the same way, with the
same messages — at the edges too (exactly 10× the median, an even number of past months, a month equal to the
annual revenue, a zero median, too little history)."""

import io
from datetime import date

import openpyxl

from app.accounts.permissions import SYSTEM
from app.reports import excel, plausibility
from app.reports.models import FILING_FIELDS, MonthlyFiling

PERIOD = 2026 * 12 + 9  # 2026-10, the last closed month on 2026-11-30


def _past(db, ent, months: list[tuple[int, int, int | None, int | None]]):
    """Filed months before PERIOD, newest first: (rd, output, revenue, electricity)."""
    for back, (rd, output, revenue, kwh) in enumerate(months, start=1):
        p = PERIOD - back
        db.add(
            MonthlyFiling(
                enterprise_id=ent.id,
                year=p // 12,
                month=p % 12 + 1,
                period=p,
                rd_spend_yuan=rd,
                output_value_yuan=output,
                revenue_yuan=revenue,
                electricity_kwh=kwh,
                filed_by="test",
                updated_by="test",
            )
        )
    db.flush()


def _case(make, db, history, values, figures=None):
    ent = make.enterprise(figures=figures or [])
    _past(db, ent, history)
    return ent, values


def _cases(make, db):
    steady = [(100_000, 3_000_000, None, 5_000)] * 3
    even = [(100_000, 3_000_000, None, None)] * 2 + [(200_000, 3_000_000, None, None)] * 2  # median 150,000
    return {
        "ten_times": _case(make, db, steady, {"rd_spend_yuan": 1_000_000, "output_value_yuan": 3_000_000}),
        "above_ten_times": _case(
            make, db, steady, {"rd_spend_yuan": 1_000_001, "output_value_yuan": 3_000_000}
        ),
        "even_at": _case(make, db, even, {"rd_spend_yuan": 1_500_000, "output_value_yuan": 3_000_000}),
        "even_above": _case(make, db, even, {"rd_spend_yuan": 1_500_001, "output_value_yuan": 3_000_000}),
        "two_months": _case(
            make, db, steady[:2], {"rd_spend_yuan": 99_000_000, "output_value_yuan": 100_000_000}
        ),
        "zero_median": _case(
            make,
            db,
            [(0, 3_000_000, None, None)] * 3,
            {"rd_spend_yuan": 50_000, "output_value_yuan": 3_000_000},
        ),
        "rd_above_output": _case(make, db, [], {"rd_spend_yuan": 200, "output_value_yuan": 100}),
        "electricity": _case(
            make,
            db,
            steady,
            {"rd_spend_yuan": 100_000, "output_value_yuan": 3_000_000, "electricity_kwh": 50_001},
        ),
        "revenue_equal": _case(
            make,
            db,
            [],
            {"rd_spend_yuan": 1, "output_value_yuan": 36_000_000, "revenue_yuan": 36_000_000},
            [{"year": 2025, "revenue_yuan": 36_000_000}, {"year": 2024, "revenue_yuan": 1}],
        ),
        "revenue_above_latest": _case(
            make,
            db,
            [],
            {"rd_spend_yuan": 1, "output_value_yuan": 2_000_000, "revenue_yuan": 36_000_001},
            [{"year": 2025, "revenue_yuan": 36_000_000}, {"year": 2024, "revenue_yuan": 90_000_000}],
        ),
        "latest_revenue_zero": _case(
            make,
            db,
            [],
            {"rd_spend_yuan": 1, "output_value_yuan": 11_000_000},
            [{"year": 2025, "revenue_yuan": 0}, {"year": 2024, "revenue_yuan": 10_000_000}],
        ),
        "plausible": _case(
            make,
            db,
            steady,
            {"rd_spend_yuan": 120_000, "output_value_yuan": 3_100_000, "electricity_kwh": 5_500},
        ),
    }


EXPECTED = {
    "ten_times": [],
    "above_ten_times": ["spike:rd_spend_yuan"],
    "even_at": [],
    "even_above": ["spike:rd_spend_yuan"],
    "two_months": [],
    "zero_median": [],
    "rd_above_output": ["rd_above_output:rd_spend_yuan"],
    "electricity": ["spike:electricity_kwh"],
    "revenue_equal": [],
    "revenue_above_latest": ["above_annual_revenue:revenue_yuan"],
    "latest_revenue_zero": ["above_annual_revenue:output_value_yuan"],
    "plausible": [],
}


def _codes(found: list[dict]) -> list[str]:
    return [f"{c['code']}:{c['field']}" for c in found]


def test_the_screen_in_sql_flags_what_the_checks_flag(db, make, reference, monkeypatch):
    cases = _cases(make, db)
    values = {ent.id: v for ent, v in cases.values()}
    one_by_one = plausibility.checks_many(db, period=PERIOD, values_by_enterprise=values, screen=False)
    screened = plausibility.checks_many(db, period=PERIOD, values_by_enterprise=values, screen=True)
    assert screened == one_by_one
    # the batch's own entry (rows as tuples, only the failing firms returned), screened and not
    ids = list(values)
    rows = [tuple(values[e].get(f) for f in FILING_FIELDS) for e in ids]
    failing = {eid: found for eid, found in one_by_one.items() if found}
    assert plausibility.failed_rows(db, period=PERIOD, ids=ids, rows=rows) == failing
    monkeypatch.setattr(plausibility, "SCREEN_FROM", 1)
    assert plausibility.failed_rows(db, period=PERIOD, ids=ids, rows=rows) == failing
    assert {name: _codes(screened[ent.id]) for name, (ent, _) in cases.items()} == EXPECTED
    ent, _ = cases["even_above"]
    assert "近 4 个月通常水平（中位数 150,000 元）的 10 倍" in screened[ent.id][0]["message"]


def test_a_large_file_flags_the_same_rows(db, make, reference, monkeypatch):
    """The importer's own path with the screen on (as for any file of SCREEN_FROM rows or more)."""
    monkeypatch.setattr(plausibility, "SCREEN_FROM", 1)
    cases = _cases(make, db)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([h for h, _ in excel.HEADERS])
    for ent, v in cases.values():
        ws.append(
            [ent.uscc, ent.name, "清泉街道"]
            + [v.get(f) for f in ("rd_spend_yuan", "output_value_yuan", "revenue_yuan", "electricity_kwh")]
        )
    buf = io.BytesIO()
    wb.save(buf)
    saved = excel.import_xlsx(db, actor=SYSTEM, period=PERIOD, data=buf.getvalue(), today=date(2026, 11, 30))
    assert len(saved) == len(cases)
    db.expire_all()
    got = {}
    for name, (ent, _) in cases.items():
        row = db.query(MonthlyFiling).filter_by(enterprise_id=ent.id, period=PERIOD).one()
        got[name] = _codes(row.checks or [])
    assert got == EXPECTED
