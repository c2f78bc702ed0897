"""Excel import (all-or-nothing, precise errors, hostile files) and export (formula-safe)."""

import io
import time
import zipfile

import xlsxwriter
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.enterprises.excel import COLUMNS
from app.enterprises.models import Enterprise, EnterpriseFigure
from app.enterprises.uscc import generate
from tests.conftest import bearer, login

HEAD = [c[0] for c in COLUMNS]


def xlsx(rows, headers=HEAD) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    ws = wb.add_worksheet()
    for i, h in enumerate(headers):
        ws.write_string(0, i, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            elif isinstance(v, str) and v.startswith("=") and v.endswith("!"):
                ws.write_formula(r, c, v[:-1])
            else:
                ws.write_string(r, c, v)
    wb.close()
    return buf.getvalue()


def row(uscc, name="冠县示例机械有限公司", township="清泉街道", size="小型", revenue=16_500_000, year=2024):
    r = [None] * len(HEAD)
    r[0], r[1], r[2], r[5], r[6], r[7] = uscc, name, township, size, "民营", "否"
    r[9], r[10] = year, revenue
    return r


def count(db, model=Enterprise):
    return db.scalar(select(func.count()).select_from(model))


def upload(client, key, data):
    return client.post(
        "/api/v1/enterprises/import",
        headers=bearer(key),
        files={"file": ("e.xlsx", data, "application/octet-stream")},
    )


def codes(n, seed=3):
    import random

    rng = random.Random(seed)
    return [generate(rng) for _ in range(n)]


def test_clean_file_imports_every_row_with_figures_and_audit(client, make, db):
    key = make.api_key()
    c = codes(3)
    r = upload(client, key, xlsx([row(c[0]), row(c[1], township="开发区"), row(c[2], township="kaifaqu")]))
    assert r.status_code == 201, r.text
    assert r.json() == {"created": 3, "figures": 3}
    ent = db.scalar(select(Enterprise).where(Enterprise.uscc == c[1]))
    assert ent.township == "kaifaqu" and ent.size == "small"
    assert (
        db.scalar(select(EnterpriseFigure.revenue_yuan).where(EnterpriseFigure.enterprise_id == ent.id))
        == 16_500_000
    )
    assert (
        db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.enterprise_id == ent.id)) == 1
    )


def test_one_bad_row_rejects_the_whole_file_with_every_error_listed(client, make, db):
    key = make.api_key()
    existing = make.enterprise()
    c = codes(6, seed=4)
    bad_uscc = c[1][:17] + ("0" if c[1][17] != "0" else "1")
    rows = [
        row(c[0]),
        row(bad_uscc),  # row 3: checksum
        row(c[2], township="火星乡"),  # row 4: unknown township
        row(c[3], revenue=-5),  # row 5: negative revenue
        row(c[0]),  # row 6: duplicate of row 2
        row(existing.uscc),  # row 7: already registered
    ]
    n0, f0, a0 = count(db), count(db, EnterpriseFigure), count(db, AuditEntry)
    r = upload(client, key, xlsx(rows))
    assert r.status_code == 422
    errs = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert errs == {
        (3, "统一社会信用代码"),
        (4, "乡镇（街道）"),
        (5, "营业收入（元）"),
        (6, "统一社会信用代码"),
        (7, "统一社会信用代码"),
    }
    messages = " ".join(e["message"] for e in r.json()["errors"])
    assert "校验位错误" in messages and "未知的乡镇“火星乡”" in messages and "不能为负数" in messages
    assert "与第 2 行重复" in messages and "已登记" in messages
    assert (count(db), count(db, EnterpriseFigure), count(db, AuditEntry)) == (n0, f0, a0)


def test_template_example_is_never_imported(client, make, db):
    """The example sits on its own sheet; copied into the data sheet it is refused by row, with the file."""
    key = make.api_key()
    tpl = client.get("/api/v1/enterprises/import-template.xlsx", headers=bearer(key)).content
    wb = load_workbook(io.BytesIO(tpl))
    assert wb.sheetnames[0] == "企业" and "示例（不导入）" in wb.sheetnames
    assert [c.value for c in wb["企业"][1]] == HEAD and wb["企业"].max_row == 1
    example = [c.value for c in wb["示例（不导入）"][2]]
    assert "示例" in example[1]
    n0 = count(db)
    # Uploaded as downloaded: nothing to import.
    r = upload(client, key, tpl)
    assert r.status_code == 422 and "没有数据行" in r.text
    # The example copied into the data sheet above a real firm: the whole file is refused, naming row 2.
    real = row(codes(1, seed=21)[0], name="冠县恒信机械有限公司")
    r = upload(client, key, xlsx([example, real]))
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert (
        [e["row"] for e in errors] == [2]
        and "示例企业" in errors[0]["message"]
        and "删除该行" in errors[0]["message"]
    )
    # Only the code, or only the name, of the example is enough to refuse it.
    r = upload(client, key, xlsx([row(example[0], name="冠县某机械有限公司")]))
    assert r.status_code == 422 and "示例企业" in r.text
    assert count(db) == n0
    # Without the example the same firm imports.
    r = upload(client, key, xlsx([real]))
    assert r.status_code == 201 and r.json()["created"] == 1


def test_unknown_or_missing_columns_are_reported(client, make):
    key = make.api_key()
    r = upload(client, key, xlsx([["x"]], headers=["公司名字"]))
    fields = {e["field"] for e in r.json()["errors"]}
    assert "公司名字" in fields and "统一社会信用代码" in fields


def test_formulas_are_refused(client, make):
    key = make.api_key()
    r0 = row(codes(1, seed=9)[0])
    r0[1] = '=HYPERLINK("http://x","点我")!'
    r = upload(client, key, xlsx([r0]))
    assert r.status_code == 422
    assert "公式" in r.json()["errors"][0]["message"]


def test_hostile_files_are_refused_quickly_and_write_nothing(client, make, db):
    key = make.api_key()
    n0 = count(db)
    # A zip bomb: 300 MB of zeros that packs into a few hundred KB.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(chunk)
    cases = {
        "bomb": (bomb.getvalue(), "压缩炸弹"),
        "not a zip": (b"PK\x03\x04 this is not really a zip" * 10, "不是有效的 .xlsx"),
        "empty": (b"", "文件为空"),
        "text": ("统一社会信用代码,企业名称\n".encode(), "不是有效的 .xlsx"),
        "truncated": (xlsx([row(codes(1)[0])])[:300], "不是有效的 .xlsx"),
    }
    for name, (data, reason) in cases.items():
        t = time.perf_counter()
        r = upload(client, key, data)
        assert r.status_code == 422, name
        assert reason in r.json()["errors"][0]["message"], (name, r.json())
        assert time.perf_counter() - t < 5, name
    assert count(db) == n0


def test_too_many_rows_refused(client, make, monkeypatch):
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "import_max_rows", 5)
    key = make.api_key()
    r = upload(client, key, xlsx([row(c) for c in codes(6, seed=11)]))
    assert r.status_code == 422 and "行数过多" in r.json()["errors"][0]["message"]


def test_page_import_shows_error_table_and_writes_nothing(client, make, db):
    token = login(client, make.user())
    n0 = count(db)
    r = client.post(
        "/enterprises/import",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        files={"file": ("e.xlsx", xlsx([row("BAD")]), "application/octet-stream")},
    )
    assert r.status_code == 422
    assert "导入被拒绝" in r.text and "第 2 行" in r.text
    assert count(db) == n0


def test_township_staff_cannot_import_other_townships(client, make, db):
    token = login(client, make.user(role="township_staff", township="qingquan"))
    r = client.post(
        "/enterprises/import",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        files={"file": ("e.xlsx", xlsx([row(codes(1, seed=12)[0], township="开发区")]), "x")},
    )
    assert r.status_code == 422 and "只能导入本乡镇" in r.text


def test_export_writes_text_as_text_never_as_formula(client, make):
    key = make.api_key()
    make.enterprise(
        name='=HYPERLINK("http://evil","x")', figures=[{"year": 2024, "revenue_yuan": 12_345_678}]
    )
    data = client.get("/api/v1/enterprises/export.xlsx", headers=bearer(key), params={"year": 2024}).content
    ws = load_workbook(io.BytesIO(data)).active
    cell = ws.cell(row=2, column=2)
    assert cell.value == '=HYPERLINK("http://evil","x")' and cell.data_type == "s"
    assert ws.cell(row=2, column=9).value == 1234.5678  # 万元
