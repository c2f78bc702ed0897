"""Target tables as data: the reference tables from the migration, next year's by API, .xlsx and form.

Bad input (rows not summing to 总数, an unknown township or indicator, a negative figure) is a clear
error naming the cell, and writes nothing.
"""

import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import create_engine, func, select, text

from app.reference import township_names, townships
from app.reference.targets import load_goals, load_targets_2023
from app.targets.models import TargetIndicator, TargetSet
from tests.conftest import bearer, login

SHORTS = [t["short"] for t in townships()]


def test_the_migration_loads_the_2023_table_and_the_goals(tmp_path):
    """A fresh database (SQLite here) holds the attachment exactly as transcribed, and the three-year goals."""
    from app.cli import run_migrations

    url = f"sqlite:///{tmp_path / 't.db'}"
    run_migrations(url)
    eng = create_engine(url)
    with eng.connect() as c:
        sets = c.execute(text("select key, kind, document from target_set order by key")).all()
        assert sets == [
            ("2022-2024", "period", "冠政发〔2022〕9号"),
            ("2023", "annual", "冠政办发〔2023〕7号"),
        ]
        rows = c.execute(
            text(
                "select i.code, i.total, i.deadline, i.county_only, sum(f.value), count(f.township) from target_indicator i "
                "join target_set s on s.id = i.set_id left join target_figure f on f.indicator_id = i.id "
                "where s.key = '2023' group by i.code, i.total, i.deadline, i.county_only"
            )
        ).all()
    eng.dispose()
    table = load_targets_2023().by_code()
    assert len(rows) == 19
    for code, total, deadline, county_only, figure_sum, n in rows:
        t = table[code]
        assert float(total) == t.total and bool(county_only) == t.county_only
        assert (str(deadline) if deadline else None) == (t.deadline.isoformat() if t.deadline else None)
        if t.county_only:
            assert n == 0
        else:
            assert n == 19 and float(figure_sum) == sum(t.townships.values())
            if t.kind == "count":
                assert float(figure_sum) == t.total  # the township figures add up to 总数, as in the seed


def test_install_reference_is_idempotent_and_matches(db, reference):
    from app.targets import service

    assert service.install_reference(db) == []
    goals = service.get_set(db, actor=_system(), key="2022-2024")
    assert [i.code for i in goals.indicators] == [g.code for g in load_goals().goals]
    assert goals.period_start == date(2022, 1, 1) and goals.period_end == date(2024, 12, 31)


def _system():
    from app.accounts.permissions import SYSTEM

    return SYSTEM


def _rows_2024():
    """Next year's table: the 2023 rows with 高新技术企业 raised to 3 per township (57)."""
    rows = []
    for t in load_targets_2023().indicators:
        row = {"code": t.code, "total": t.total, "deadline_text": t.deadline_text.replace("2023", "2024")}
        if t.townships:
            row["townships"] = dict(t.townships)
        rows.append(row)
    ht = next(r for r in rows if r["code"] == "high_tech")
    ht["townships"] = dict.fromkeys(township_names(), 3)
    ht["total"] = 57
    return rows


def _count_sets(db) -> int:
    return db.scalar(select(func.count()).select_from(TargetSet))


def test_api_enters_next_years_table(client, db, make, reference):
    key = make.api_key(scopes=["targets:read", "targets:write"])
    body = {"document": "冠政办发〔2024〕1号", "title": "2024年冠县优质企业培育计划", "rows": _rows_2024()}
    r = client.put("/api/v1/targets/2024", json=body, headers=bearer(key))
    assert r.status_code == 200, r.text
    ht = next(i for i in r.json()["indicators"] if i["code"] == "high_tech")
    assert ht["total"] == 57 and ht["townships"]["qingquan"] == 3 and ht["deadline"] == "2024-09-30"
    assert ht["measure"]["kind"] == "honour_count" and "高新技术企业" in ht["measure_text"]
    assert client.get("/api/v1/targets", headers=bearer(key)).json()["items"][0]["key"] == "2024"
    again = client.put("/api/v1/targets/2024", json=body, headers=bearer(key))
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "year"
    body["rows"] = body["rows"][:3]
    replaced = client.put("/api/v1/targets/2024", params={"replace": "true"}, json=body, headers=bearer(key))
    assert replaced.status_code == 200 and len(replaced.json()["indicators"]) == 3


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda rows: rows[8]["townships"].__setitem__("qingquan", 4),
            "total",
            "第 9 行（高新技术企业培育数量），各乡镇合计 58，与总数 57 不符",
        ),
        (lambda rows: rows[8]["townships"].__setitem__("冠城镇", 0), "townships.冠城镇", "未知乡镇“冠城镇”"),
        (
            lambda rows: rows.append({"code": "unicorn", "total": 1, "deadline_text": "2024年12月"}),
            "code",
            "未知指标“unicorn”",
        ),
        (
            lambda rows: (rows[8]["townships"].__setitem__("qingquan", -1), rows[8].__setitem__("total", 53)),
            "townships.qingquan",
            "第 9 行（高新技术企业培育数量），清泉街道：-1 不能为负数",
        ),
    ],
)
def test_bad_tables_name_the_cell_and_write_nothing(client, db, make, reference, change, field, message):
    key = make.api_key(scopes=["targets:read", "targets:write"])
    rows = _rows_2024()
    change(rows)
    before = _count_sets(db)
    r = client.put(
        "/api/v1/targets/2024", json={"document": "X", "title": "Y", "rows": rows}, headers=bearer(key)
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert _count_sets(db) == before
    assert db.scalar(select(func.count()).select_from(TargetSet).where(TargetSet.key == "2024")) == 0


def test_only_county_administrators_enter_tables(client, make, reference):
    token = login(client, make.user(role="township_staff", township="qingquan"))
    r = client.put(
        "/api/v1/targets/2024",
        json={"document": "X", "title": "Y", "rows": _rows_2024()},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403
    viewer = make.api_key(scopes=["targets:read"])
    assert (
        client.put(
            "/api/v1/targets/2024",
            json={"document": "X", "title": "Y", "rows": _rows_2024()},
            headers=bearer(viewer),
        ).status_code
        == 403
    )


# --- .xlsx in the attachment's layout ------------------------------------------------------------


def _sheet(client, key) -> openpyxl.Workbook:
    r = client.get("/api/v1/targets/2023/table.xlsx", headers=bearer(key))
    assert r.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(r.content))


def _cell(ws, name: str, column: str):
    header = [c.value for c in ws[2]]
    col = header.index(column) + 1
    for r in range(3, ws.max_row + 1):
        if ws.cell(r, 2).value == name:
            return ws.cell(r, col)
    raise KeyError(name)


def _upload(client, key, wb, **form):
    buf = io.BytesIO()
    wb.save(buf)
    data = {"document": "冠政办发〔2024〕1号", "title": "2024年冠县优质企业培育计划", **form}
    return client.post(
        "/api/v1/targets/2024/upload",
        data=data,
        headers=bearer(key),
        files={"file": ("t.xlsx", buf.getvalue(), "application/octet-stream")},
    )


def test_the_table_downloads_in_the_attachments_layout_and_uploads_as_next_years(client, db, make, reference):
    key = make.api_key(scopes=["targets:read", "targets:write"])
    wb = _sheet(client, key)
    ws = wb["目标表"]
    assert [c.value for c in ws[2]][:4] == ["序号", "项目名称", "开发区", "清泉街道"]
    assert [c.value for c in ws[2]][-3:] == ["总数", "完成时限", "工信局联系人"]
    assert _cell(ws, "高新技术企业培育数量", "清泉街道").value == 2
    assert _cell(ws, "瞪羚企业", "清泉街道").value is None  # county-level row: township cells empty
    assert "冯伟" in _cell(ws, "创新型中小企业申报数量", "工信局联系人").value
    # next year's: 清泉街道 高新技术企业 2 → 3, 总数 50 → 51, deadlines moved a year
    _cell(ws, "高新技术企业培育数量", "清泉街道").value = 3
    _cell(ws, "高新技术企业培育数量", "总数").value = 51
    for r in range(3, ws.max_row + 1):
        c = ws.cell(r, 2 + 19 + 2)
        if isinstance(c.value, str):
            c.value = c.value.replace("2023", "2024")
    r = _upload(client, key, wb)
    assert r.status_code == 200, r.text
    ht = next(i for i in r.json()["indicators"] if i["code"] == "high_tech")
    assert ht["townships"]["qingquan"] == 3 and ht["total"] == 51 and ht["deadline"] == "2024-09-30"
    rate = next(i for i in r.json()["indicators"] if i["code"] == "rd_growth_rate")
    assert rate["kind"] == "rate" and rate["filing_day"] == 18 and rate["townships"]["qingquan"] == 10


def test_a_bad_upload_names_the_sheet_cell_and_writes_nothing(client, db, make, reference):
    key = make.api_key(scopes=["targets:read", "targets:write"])
    wb = _sheet(client, key)
    ws = wb["目标表"]
    _cell(ws, "高新技术企业培育数量", "清泉街道").value = 3  # 总数 left at 50
    _cell(ws, "科技型中小企业培育数量", "贾镇").value = -8
    r = _upload(client, key, wb)
    assert r.status_code == 422
    errors = r.json()["errors"]
    # sheet rows: title (1), header (2), 序号 9 on row 11, 序号 10 on row 12
    assert {(e["row"], e["field"]) for e in errors} >= {(11, "total"), (12, "townships.jiazhen")}
    assert any(
        "第 11 行（高新技术企业培育数量），各乡镇合计 51，与总数 50 不符" in e["message"] for e in errors
    )
    assert any("贾镇：-8 不能为负数" in e["message"] for e in errors)
    assert db.scalar(select(func.count()).select_from(TargetSet).where(TargetSet.key == "2024")) == 0


def test_an_upload_that_is_not_a_table(client, make, reference):
    key = make.api_key(scopes=["targets:read", "targets:write"])
    wb = openpyxl.Workbook()
    wb.active.append(["随便", "什么"])
    r = _upload(client, key, wb)
    assert r.status_code == 422 and "未找到目标表" in r.json()["errors"][0]["message"]


def test_the_progress_export_puts_actuals_beside_targets(client, make, reference):
    key = make.api_key(scopes=["targets:read"])
    make.enterprise(
        township="qingquan",
        honours=[{"code": "high_tech", "level": "national", "outcome": "new", "honour_date": "2023-05-01"}],
    )
    r = client.get("/api/v1/targets/2023/export.xlsx", params={"as_of": "2023-12-31"}, headers=bearer(key))
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb["完成情况"]
    assert ws.cell(2, 3).value == "开发区" and ws.cell(3, 3).value == "目标" and ws.cell(3, 4).value == "完成"
    ht = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 2).value == "高新技术企业培育数量")
    assert ws.cell(ht, 5).value == "2" and ws.cell(ht, 6).value == "1"  # 清泉街道 目标 2, 完成 1
    assert "目标表" in wb.sheetnames


# --- the form ---------------------------------------------------------------------------------------


def _form_data(rows: list[dict], year="2024", **extra) -> dict:
    data = {"year": year, "document": "冠政办发〔2024〕1号", "title": "2024年计划", **extra}
    for i, r in enumerate(rows):
        p = f"rows-{i}-"
        data |= {
            p + "code": r["code"],
            p + "include": "on",
            p + "total": str(r["total"]),
            p + "deadline_text": r["deadline_text"],
            p + "county_only": "0" if r.get("townships") else "1",
        }
        for t, v in (r.get("townships") or {}).items():
            data[f"{p}t-{t}"] = str(v)
    return data


def test_the_form_marks_the_bad_cell_and_saves_nothing(client, db, make, reference):
    token = login(client, make.user())
    assert "录入年度目标表" in client.get("/targets/new").text
    rows = _rows_2024()
    rows[8]["townships"]["xinji"] = -1
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post("/targets/new", data=_form_data(rows), headers=h)
    assert r.status_code == 422
    assert "辛集镇：-1 不能为负数" in r.text
    assert re.search(r'name="rows-8-t-xinji" value="-1"[^>]*class="invalid"', r.text)
    assert db.scalar(select(func.count()).select_from(TargetSet).where(TargetSet.key == "2024")) == 0
    ok = client.post("/targets/new", data=_form_data(_rows_2024()), headers=h)
    assert ok.status_code == 200 and ok.headers["HX-Redirect"] == "/targets/2024"
    assert (
        db.scalar(
            select(func.count()).select_from(TargetIndicator).join(TargetSet).where(TargetSet.key == "2024")
        )
        == 19
    )
