"""Monthly filings through the API, the grid and .xlsx: bad figures named by field, other townships refused,
all-or-nothing batches and uploads, growth (month on month, year on year) from SQL, the R&D target check."""

import io

import openpyxl
from sqlalchemy import func, select

from app.reports.models import MonthlyFiling
from tests.conftest import bearer, login


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(MonthlyFiling))


def _key(make, *scopes):
    return make.api_key(scopes=list(scopes or ("filings:read", "filings:write")))


def test_submit_one_and_read_it_back(client, make, reference):
    ent = make.enterprise(township="qingquan", name="清泉研发有限公司")
    key = _key(make)
    r = client.put(
        f"/api/v1/filings/2023-05/enterprises/{ent.id}",
        headers=bearer(key),
        json={"rd_spend_yuan": 120_000, "output_value_yuan": 3_000_000, "electricity_kwh": 50_000},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == "2023-05" and body["rd_spend_yuan"] == 120_000 and body["revenue_yuan"] is None
    assert body["filed_late"] is True  # filed today, long after 2023-06-18
    page = client.get("/api/v1/filings", params={"month": "2023-05"}, headers=bearer(key)).json()
    assert [i["enterprise_name"] for i in page["items"]] == ["清泉研发有限公司"]
    history = client.get(f"/api/v1/filings/enterprises/{ent.id}", headers=bearer(key)).json()
    assert [h["month"] for h in history] == ["2023-05"]


def test_a_negative_figure_is_refused_naming_the_field(client, db, make, reference):
    ent = make.enterprise()
    r = client.put(
        f"/api/v1/filings/2023-05/enterprises/{ent.id}",
        headers=bearer(_key(make)),
        json={"rd_spend_yuan": -5, "output_value_yuan": 3_000_000},
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["field"] == "rd_spend_yuan" and "研发投入" in err["message"] and "不能为负数" in err["message"]
    missing = client.put(
        f"/api/v1/filings/2023-05/enterprises/{ent.id}", headers=bearer(_key(make)), json={"rd_spend_yuan": 5}
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "output_value_yuan"
    assert _count(db) == 0


def test_another_townships_enterprise_is_refused(client, db, make, reference):
    mine = make.enterprise(township="qingquan")
    other = make.enterprise(township="kaifaqu", uscc="91350100M000100Y43")
    token = login(client, make.user(role="township_staff", township="qingquan"))
    h = {"X-CSRF-Token": token}
    figures = {"rd_spend_yuan": 1, "output_value_yuan": 2}
    assert (
        client.put(f"/api/v1/filings/2023-05/enterprises/{other.id}", json=figures, headers=h).status_code
        == 404
    )
    assert (
        client.post(
            f"/filings/2023-05/enterprises/{other.id}",
            data={"rd_spend_yuan": "1", "output_value_yuan": "2"},
            headers=h,
        ).status_code
        == 404
    )
    # in a batch: 422 naming the row, and the good row is not written either
    r = client.post(
        "/api/v1/filings/2023-05",
        headers=h,
        json={"rows": [{"enterprise_id": mine.id, **figures}, {"uscc": "91350100M000100Y43", **figures}]},
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["row"] == 2 and "第 2 行" in err["message"] and "91350100M000100Y43" in err["message"]
    assert "不属于本乡镇" in err["message"]
    assert _count(db) == 0


def test_a_batch_is_all_or_nothing(client, db, make, reference):
    a, b = make.enterprise(), make.enterprise()
    key = _key(make)
    bad = {
        "rows": [
            {"enterprise_id": a.id, "rd_spend_yuan": 1, "output_value_yuan": 1},
            {"enterprise_id": b.id, "rd_spend_yuan": 1, "output_value_yuan": -1},
        ]
    }
    r = client.post("/api/v1/filings/2023-05", json=bad, headers=bearer(key))
    assert (
        r.status_code == 422
        and r.json()["errors"][0]["row"] == 2
        and r.json()["errors"][0]["field"] == "output_value_yuan"
    )
    assert _count(db) == 0
    bad["rows"][1]["output_value_yuan"] = 1
    ok = client.post("/api/v1/filings/2023-05", json=bad, headers=bearer(key))
    assert ok.status_code == 200 and ok.json() == {
        "month": "2023-05",
        "deadline": "2023-06-18",
        "saved": 2,
        "late": 2,
    }


def test_growth_month_on_month_and_year_on_year(client, db, make, reference, filed):
    """Per enterprise and per township, like for like; checked against the 10% target of the year's table
    (附件 row 11, 研发投入月度增长率 10%) in the indicator's reading: year on year unless the county chose month on
    month; both rates are listed either way."""
    from app.accounts.permissions import SYSTEM
    from app.targets import service as target_service

    a, b = make.enterprise(township="qingquan"), make.enterprise(township="qingquan")
    filed(a, "2022-05", 50_000, output=1_000_000)
    filed(a, "2023-04", 100_000, output=1_000_000)
    filed(a, "2023-05", 112_000, output=1_100_000)
    filed(b, "2023-05", 70_000)  # first month: in the totals, not in the growth
    k = make.enterprise(township="kaifaqu")
    filed(k, "2022-05", 100_000)
    filed(k, "2023-04", 100_000)
    filed(k, "2023-05", 105_000)
    key = _key(make, "filings:read")
    items = {
        i["enterprise_id"]: i
        for i in client.get("/api/v1/filings", params={"month": "2023-05"}, headers=bearer(key)).json()[
            "items"
        ]
    }
    assert (
        items[a.id]["rd_mom_pct"] == 12.0
        and items[a.id]["rd_yoy_pct"] == 124.0
        and items[a.id]["output_mom_pct"] == 10.0
    )
    assert items[b.id]["rd_mom_pct"] is None

    def growth():
        g = client.get("/api/v1/filings/2023-05/growth", headers=bearer(key)).json()
        return {t["township"]: t for t in g["townships"]}, g

    # default reading: year on year — 清泉 124% (a: 112,000 vs 50,000), 开发区 5% (105,000 vs 100,000)
    towns, g = growth()
    q, kf = towns["qingquan"], towns["kaifaqu"]
    assert (q["filed"], q["rd_spend_yuan"], q["rd_mom_pct"], q["rd_yoy_pct"], q["rd_target_pct"]) == (
        2,
        182_000,
        12.0,
        124.0,
        10.0,
    )
    assert (q["rd_reading"], q["rd_target_met"]) == ("year_on_year", True)
    assert (kf["rd_mom_pct"], kf["rd_yoy_pct"], kf["rd_reading"], kf["rd_target_met"]) == (
        5.0,
        5.0,
        "year_on_year",
        False,
    )
    assert (
        g["county"]["rd_mom_pct"] == 8.5 and g["county"]["rd_yoy_pct"] == 44.67
    )  # 217,000/200,000; 217,000/150,000
    assert g["county"]["rd_target_met"] is True
    assert [t["township"] for t in g["townships"]] == ["kaifaqu", "qingquan"]  # the attachment's order
    login(client, make.user(role="county_viewer"))
    page = client.get("/filings", params={"month": "2023-05"})
    assert "按目标表中该指标设定的口径判断" in page.text and "同比（本月与上年同月相比）" in page.text

    # the county reads it month on month: 开发区 5% < 10% still, 清泉 12% ≥ 10%, 全县 8.5% < 10%
    target_service.set_rd_reading(
        db, actor=SYSTEM, key="2023", code="rd_growth_rate", reading="month_on_month"
    )
    towns, g = growth()
    assert (towns["qingquan"]["rd_reading"], towns["qingquan"]["rd_target_met"]) == ("month_on_month", True)
    assert towns["kaifaqu"]["rd_target_met"] is False
    assert (g["county"]["rd_reading"], g["county"]["rd_target_met"]) == ("month_on_month", False)


def test_overdue_api(client, make, reference, filed):
    make.enterprise(township="qingquan", name="没填的有限公司")
    filed(make.enterprise(township="qingquan"), "2023-05", 1)
    key = _key(make, "filings:read")
    early = client.get(
        "/api/v1/filings/2023-05/overdue", params={"as_of": "2023-06-18"}, headers=bearer(key)
    ).json()
    assert early["overdue"] is False and early["missing_total"] == 1
    late = client.get(
        "/api/v1/filings/2023-05/overdue", params={"as_of": "2023-06-19"}, headers=bearer(key)
    ).json()
    assert late["overdue"] is True and late["deadline"] == "2023-06-18"
    assert [e["name"] for e in late["enterprises"]] == ["没填的有限公司"]
    assert late["townships"] == [
        {
            "township": "qingquan",
            "township_name": "清泉街道",
            "enterprises": 2,
            "filed": 1,
            "filed_late": 0,
            "missing": 1,
        }
    ]


def test_scopes(client, make, reference):
    ent = make.enterprise()
    read_only = _key(make, "filings:read")
    assert (
        client.put(
            f"/api/v1/filings/2023-05/enterprises/{ent.id}",
            headers=bearer(read_only),
            json={"rd_spend_yuan": 1, "output_value_yuan": 1},
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/api/v1/filings", params={"month": "2023-05"}, headers=bearer(_key(make, "targets:read"))
        ).status_code
        == 403
    )


# --- the grid and .xlsx ------------------------------------------------------------------------------


def test_the_grid_saves_a_row_with_htmx(client, db, make, reference):
    ent = make.enterprise(township="qingquan", name="网格填报有限公司")
    make.enterprise(township="kaifaqu", name="别的乡镇有限公司")
    token = login(client, make.user(role="township_staff", township="qingquan"))
    page = client.get("/filings/2023-05/grid").text
    assert (
        "网格填报有限公司" in page
        and "别的乡镇有限公司" not in page
        and "截止日 <strong>2023年6月18日</strong>" in page
    )
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    bad = client.post(
        f"/filings/2023-05/enterprises/{ent.id}",
        data={"rd_spend_yuan": "-3", "output_value_yuan": "10"},
        headers=h,
    )
    assert (
        bad.status_code == 422
        and "研发投入（rd_spend_yuan）：-3 元不能为负数" in bad.text
        and 'class="invalid"' in bad.text
    )
    assert "<html" not in bad.text and _count(db) == 0
    ok = client.post(
        f"/filings/2023-05/enterprises/{ent.id}",
        data={"rd_spend_yuan": "1200", "output_value_yuan": "50000"},
        headers=h,
    )
    assert (
        ok.status_code == 200
        and "已保存（截止日后，记为逾期）" in ok.text
        and f'id="row-{ent.id}"' in ok.text
    )
    assert db.scalar(select(MonthlyFiling.rd_spend_yuan).where(MonthlyFiling.enterprise_id == ent.id)) == 1200
    assert "逾期填报" in client.get(f"/filings/enterprises/{ent.id}").text


def _template(client, month="2023-05") -> openpyxl.Workbook:
    r = client.get(f"/filings/{month}/template.xlsx")
    assert r.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(r.content))


def _upload(client, wb, token, month="2023-05"):
    buf = io.BytesIO()
    wb.save(buf)
    return client.post(
        f"/filings/{month}/import",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        files={"file": ("f.xlsx", buf.getvalue(), "application/octet-stream")},
    )


def test_xlsx_template_and_upload(client, db, make, reference):
    a = make.enterprise(township="qingquan", name="甲有限公司")
    b = make.enterprise(township="qingquan", name="乙有限公司")
    token = login(client, make.user(role="township_staff", township="qingquan"))
    wb = _template(client)
    ws = wb.active
    assert [c.value for c in ws[1]][:4] == ["统一社会信用代码", "企业名称", "乡镇（街道）", "研发投入（元）"]
    rows = {ws.cell(r, 2).value: r for r in range(2, ws.max_row + 1)}
    assert set(rows) == {"甲有限公司", "乙有限公司"}
    ws.cell(rows["甲有限公司"], 4).value = 5000
    ws.cell(rows["甲有限公司"], 5).value = 80000
    # 乙 left empty: not filed
    r = _upload(client, wb, token)
    assert r.status_code == 200 and "已写入 1 家企业" in r.text
    assert db.scalar(select(MonthlyFiling.rd_spend_yuan).where(MonthlyFiling.enterprise_id == a.id)) == 5000
    assert (
        db.scalar(select(func.count()).select_from(MonthlyFiling).where(MonthlyFiling.enterprise_id == b.id))
        == 0
    )


def _two_firms_and_a_neighbour(client, make):
    """甲 and 乙 in 清泉街道, 丙 in 开发区; a 清泉街道 user logged in; their template (甲 and 乙)."""
    make.enterprise(township="qingquan", name="甲有限公司")
    make.enterprise(township="qingquan", name="乙有限公司")
    other = make.enterprise(township="kaifaqu", name="丙有限公司")
    token = login(client, make.user(role="township_staff", township="qingquan"))
    return other, token, _template(client)


def test_a_bad_upload_names_row_and_column_and_writes_nothing(client, db, make, reference):
    other, token, wb = _two_firms_and_a_neighbour(client, make)
    ws = wb.active
    ws.cell(2, 4).value, ws.cell(2, 5).value = 100, 200
    ws.cell(3, 4).value, ws.cell(3, 5).value = "一百", 200
    r = _upload(client, wb, token)
    assert r.status_code == 422 and "第 3 行“研发投入（元）”：“一百”不是整数" in r.text
    ws.cell(3, 4).value = -1
    r = _upload(client, wb, token)
    assert (
        r.status_code == 422
        and "第 3 行" in r.text
        and "研发投入（rd_spend_yuan）：-1 元不能为负数" in r.text
    )
    ws.cell(3, 4).value = 1
    ws.append([other.uscc, other.name, "开发区", 1, 1])
    r = _upload(client, wb, token)
    assert r.status_code == 422 and "第 4 行" in r.text and "不属于本乡镇" in r.text
    assert _count(db) == 0


def test_a_refused_upload_names_its_bad_cells_and_its_unregistered_codes_at_once(client, db, make, reference):
    """A file with a bad cell and a code of another township is refused once, naming both — the user fixes the
    file in one pass instead of meeting the second error only on the next upload — and writes nothing."""
    other, token, wb = _two_firms_and_a_neighbour(client, make)
    ws = wb.active
    ws.cell(2, 4).value, ws.cell(2, 5).value = 100, 2.5
    ws.cell(3, 4).value, ws.cell(3, 5).value = 100, 200
    ws.append([other.uscc, other.name, "开发区", 1, 1])
    ws.append(["91371599MA3C0000XX", "丁有限公司", "清泉街道", 1, 1])
    r = _upload(client, wb, token)
    assert r.status_code == 422
    assert "文件有 3 处错误，全部未写入" in r.text
    assert "第 2 行“工业产值（元）”：“2.5”不是整数" in r.text
    assert f"第 4 行，统一社会信用代码 {other.uscc}不属于本乡镇或未登记" in r.text
    assert "第 5 行，统一社会信用代码 91371599MA3C0000XX不属于本乡镇或未登记" in r.text
    assert _count(db) == 0


def test_the_overview_page(client, make, reference, filed):
    filed(make.enterprise(township="qingquan"), "2023-04", 100)
    filed(make.enterprise(township="qingquan"), "2023-05", 100)
    login(client, make.user(role="county_viewer"))
    page = client.get("/filings", params={"month": "2023-05"}).text
    assert "2023年5月 · 截止日 2023-06-18" in page and 'id="filing-status"' in page and "全县" in page
    assert "近 12 个月研发投入" in page
    overdue = client.get("/filings/2023-05/overdue", params={"as_of": "2023-06-19"}).text
    assert "已逾期" in overdue


def test_the_trend_leaves_out_deregistered_firms(db, make, reference, filed):
    from app.accounts.permissions import SYSTEM
    from app.db import utcnow
    from app.reports import service

    a, b = make.enterprise(township="qingquan"), make.enterprise(township="kaifaqu")
    for e, rd in ((a, 100), (b, 1000)):
        filed(e, "2023-04", rd)
        filed(e, "2023-05", rd * 2)
    b.deleted_at = utcnow()
    db.flush()
    may = service.period_of(2023, 5)
    (point,) = service.trend(db, actor=SYSTEM, end_period=may, months=1)
    assert (point.filed, point.rd, point.rd_mom_pct) == (1, 200, 100.0)
    (town,) = service.trend(db, actor=SYSTEM, end_period=may, months=1, township="qingquan", yoy=False)
    assert (town.filed, town.rd, town.rd_yoy_pct) == (1, 200, None)


def test_a_clean_sheet_read_by_columns_matches_the_row_by_row_reading(monkeypatch):
    """Every code as text and every figure a whole number: read a column at a time, the same rows as the
    row-by-row reading; one cell otherwise (a fraction here) and the row-by-row reading names it."""
    import pytest

    from app.errors import ValidationFailed
    from app.reports import excel

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([h for h, _ in excel.HEADERS])
    ws.append([" 91371599MA3C00001X ", "甲", "清泉街道", 5000, 80000.0, 0, 12])
    ws.append(["91371599ma3c00002y", "乙", "清泉街道", 1.0, 2, 3, 4])
    buf = io.BytesIO()
    wb.save(buf)
    fast = excel.read_rows(buf.getvalue())
    assert fast == (
        [(None, "91371599MA3C00001X", (5000, 80000, 0, 12)), (None, "91371599ma3c00002y", (1, 2, 3, 4))],
        [2, 3],
    )
    assert all(type(v) is int for _, _, values in fast[0] for v in values)
    monkeypatch.setattr(excel, "_clean_sheet", lambda *a: None)
    assert excel.read_rows(buf.getvalue()) == fast
    monkeypatch.undo()
    ws.cell(3, 5).value = 2.5
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ValidationFailed) as e:
        excel.read_rows(buf.getvalue())
    assert [err.message for err in e.value.errors] == ["第 3 行“工业产值（元）”：“2.5”不是整数"]
