"""Implausible monthly figures: shown beside the field, saved only once a person confirms them with a note,
flagged in the reports until confirmed; corrections audited. Digits may be typed grouped (1,234,567)."""

import io

import openpyxl
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.reports import plausibility
from app.reports.models import MonthlyFiling
from tests.conftest import login

HX = {"HX-Request": "true"}
MONTH = "2026-10"  # the last closed month on 2026-11-30


def _firm(make):
    # 产值 3,000,000 a month; 2025 annual revenue 36,000,000
    return make.enterprise(
        township="qingquan", name="清泉精工有限公司", figures=[{"year": 2025, "revenue_yuan": 36_000_000}]
    )


def _history(filed, ent):
    for m in ("2026-07", "2026-08", "2026-09"):
        filed(ent, m, 100_000, 3_000_000)


def _filing(db, ent):
    return db.scalar(
        select(MonthlyFiling).where(
            MonthlyFiling.enterprise_id == ent.id, MonthlyFiling.period == 2026 * 12 + 9
        )
    )


def test_an_absurd_figure_needs_a_confirmation_with_a_note(client, db, make, reference, filed):
    ent = _firm(make)
    _history(filed, ent)
    token = login(client, make.user("township_staff", "qingquan"))
    h = {**HX, "X-CSRF-Token": token}
    url = f"/filings/{MONTH}/enterprises/{ent.id}"
    # R&D 99,999,999,999 元 for a firm with output 3,000,000: above output, ~1,000,000× its usual month, and
    # above its whole 2025 revenue — each named beside the field; nothing is saved.
    r = client.post(
        url, headers=h, data={"rd_spend_yuan": "99,999,999,999", "output_value_yuan": "3,000,000"}
    )
    assert r.status_code == 422
    assert "研发投入 99,999,999,999 元 高于当月工业产值 3,000,000 元" in r.text
    assert "通常水平（中位数 100,000 元）的 1,000,000 倍" in r.text
    assert "超过该企业 2025 年全年营业收入 36,000,000 元" in r.text
    assert 'name="confirm_note"' in r.text and "确认无误并保存" in r.text
    assert 'value="99,999,999,999"' in r.text  # what was typed stays, grouped
    assert _filing(db, ent) is None
    # Confirmed with a note: saved, the checks kept with who confirmed them, audited.
    r = client.post(
        url,
        headers=h,
        data={
            "rd_spend_yuan": "99,999,999,999",
            "output_value_yuan": "3,000,000",
            "confirm_note": "已电话核实：系笔误，待更正",
        },
    )
    assert r.status_code == 200 and "异常已核实" in r.text
    f = _filing(db, ent)
    assert f.rd_spend_yuan == 99_999_999_999 and len(f.checks) == 3 and not f.flagged
    assert f.checks_note == "已电话核实：系笔误，待更正"
    # The correction: a plausible figure needs no confirmation and clears the checks; both saves are audited.
    r = client.post(url, headers=h, data={"rd_spend_yuan": "120,000", "output_value_yuan": "3,000,000"})
    assert r.status_code == 200 and "已保存" in r.text
    db.refresh(f)
    assert f.rd_spend_yuan == 120_000 and f.checks is None and f.revisions == 2
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "monthly_filing", AuditEntry.enterprise_id == ent.id)
        .order_by(AuditEntry.id)
    ).all()
    assert entries[-2].note.endswith("数据异常已核实：已电话核实：系笔误，待更正")
    assert entries[-1].changes["rd_spend_yuan"] == [99_999_999_999, 120_000]
    # The history tab shows the correction in words.
    page = client.get(f"/enterprises/{ent.id}", params={"tab": "history"}).text
    assert "研发投入：99,999,999,999 元 → 120,000 元" in page


def test_an_imported_absurd_figure_is_flagged_until_confirmed(client, db, make, reference, filed):
    ent = _firm(make)
    _history(filed, ent)
    token = login(client, make.user("township_staff", "qingquan"))
    tpl = client.get(f"/filings/{MONTH}/template.xlsx").content
    wb = openpyxl.load_workbook(io.BytesIO(tpl))
    ws = wb.active
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if any(c.value == ent.uscc for c in row):
            row[next(i for i, h in enumerate(headers) if "研发投入" in str(h))].value = 99_999_999_999
            row[next(i for i, h in enumerate(headers) if "工业产值" in str(h))].value = 3_000_000
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        f"/filings/{MONTH}/import",
        headers={**HX, "X-CSRF-Token": token},
        files={"file": ("f.xlsx", buf.getvalue(), "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    assert _filing(db, ent).flagged
    # Flagged in the month's report and listed under 数据异常待核实 in the grid.
    overview = client.get("/filings", params={"month": MONTH}).text
    assert "待核实" in overview and "status=flagged" in overview
    grid = client.get(f"/filings/{MONTH}/grid", params={"status": "flagged"}).text
    assert ent.name in grid and "数据异常待核实 1" in grid and "共 <strong>1</strong> 家" in grid
    # A confirmation needs a note.
    url = f"/filings/{MONTH}/enterprises/{ent.id}/confirm"
    r = client.post(url, headers={**HX, "X-CSRF-Token": token}, data={"confirm_note": " "})
    assert r.status_code == 422 and "请写明与企业核实的情况" in r.text
    r = client.post(
        url, headers={**HX, "X-CSRF-Token": token}, data={"confirm_note": "企业确认：本月购置研发设备"}
    )
    assert r.status_code == 200 and "已确认核实" in r.text
    assert not _filing(db, ent).flagged
    grid = client.get(f"/filings/{MONTH}/grid", params={"status": "flagged"}).text
    assert ent.name not in grid


def test_plausible_figures_raise_nothing(db, make, reference, filed):
    ent = _firm(make)
    _history(filed, ent)
    assert (
        plausibility.checks(
            db,
            enterprise_id=ent.id,
            period=2026 * 12 + 9,
            values={"rd_spend_yuan": 150_000, "output_value_yuan": 3_200_000},
        )
        == []
    )
