"""Pool pages: the pools × townships matrix, a pool's members and candidates with filters and exports,
entering and leaving from the page, and the pool panel on the enterprise page."""

import io
from datetime import date

from python_calamine import CalamineWorkbook

from app.accounts.permissions import SYSTEM
from app.pools import membership
from app.pools.schemas import EnterIn
from tests.conftest import login

HX = {"HX-Request": "true"}


def sheet(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_overview_matrix(client, make, firm, db):
    a = firm(township="kaifaqu", main_revenue=6_000_000)
    b = firm(township="liangtang", main_revenue=6_000_000)
    for e in (a, b):
        membership.enter(
            db, actor=SYSTEM, pool_code="primary_pool", data=EnterIn(enterprise_id=e.id, year=2023)
        )
    login(client, make.user(role="county_viewer"))
    page = client.get("/pools")
    assert page.status_code == 200
    html = page.text
    assert "初级培育库（基础种子库）" in html and "冠政办发〔2023〕7号 二（一）1" in html
    assert 'href="/pools/primary_pool?township=kaifaqu">1</a>' in html
    assert 'href="/pools/primary_pool?township=liangtang">1</a>' in html
    assert ">梁堂镇<" in html or "梁堂镇" in html


def test_pool_page_members_candidates_history_and_fragments(client, make, firm, db):
    member = firm(name="在库企业有限公司", main_revenue=6_000_000, revenue=16_500_000)
    firm(name="候选企业有限公司", main_revenue=7_000_000, township="kaifaqu")
    firm(name="判断企业有限公司", rd=10)
    membership.enter(
        db, actor=SYSTEM, pool_code="primary_pool", data=EnterIn(enterprise_id=member.id, year=2023)
    )
    token = login(client, make.user())
    html = client.get("/pools/primary_pool").text
    assert "在库企业有限公司" in html and "仍符合" in html and "基础种子库" in html
    assert "候选企业有限公司" not in html
    html = client.get("/pools/primary_pool", params={"tab": "candidates"}).text
    assert "候选企业有限公司" in html and 'id="candidate-counts"' in html and "县经济开发区" in html
    frag = client.get(
        "/pools/primary_pool", params={"tab": "candidates", "township": "qingquan"}, headers=HX
    ).text
    assert "<html" not in frag and "候选企业有限公司" not in frag
    html = client.get("/pools/intermediate_pool", params={"tab": "candidates"}).text
    assert "判断企业有限公司" in html and "待人工判断" in html
    # enter from the candidates list, then a second time: the 409 names the field in Chinese
    cand = client.get("/api/v1/pools/primary_pool/candidates", params={"year": 2023}).json()["items"][0]
    h = {"X-CSRF-Token": token, **HX}
    r = client.post(
        "/pools/primary_pool/enter",
        headers=h,
        data={
            "enterprise_id": cand["enterprise_id"],
            "entry_class": "seed",
            "year": "2023",
            "note": "镇街推荐",
        },
    )
    assert r.status_code == 200 and "已入库" in r.text
    r = client.post("/pools/primary_pool/enter", headers=h, data={"enterprise_id": cand["enterprise_id"]})
    assert r.status_code == 409 and "不能重复入库" in r.text
    r = client.post("/pools/primary_pool/enter", headers=h, data={"enterprise_id": "abc"})
    assert r.status_code == 422 and "enterprise_id" in r.text
    r = client.post(
        f"/pools/primary_pool/members/{member.id}/leave",
        headers=h,
        data={"reason": "withdrawn", "left_date": date.today().isoformat(), "note": "企业申请退出"},
    )
    assert r.status_code == 200 and "企业退出" in r.text
    html = client.get("/pools/primary_pool", params={"tab": "history"}).text
    assert "在库企业有限公司" in html and "企业退出" in html
    html = client.get("/pools/primary_pool", params={"tab": "members", "mu_class": "A"}).text
    assert "没有符合条件的成员" in html
    assert client.get("/pools/nope").status_code == 404


def test_exports(client, make, firm, db):
    member = firm(name='=HYPERLINK("x")有限公司', main_revenue=6_000_000)
    firm(name="候选导出有限公司", main_revenue=7_000_000)
    membership.enter(
        db, actor=SYSTEM, pool_code="primary_pool", data=EnterIn(enterprise_id=member.id, year=2023)
    )
    login(client, make.user())
    r = client.get("/pools/primary_pool/members.xlsx", params={"year": 2023})
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = sheet(r.content)
    assert rows[0][:4] == ["统一社会信用代码", "企业名称", "乡镇（街道）", "入库类别"]
    assert rows[1][1] == member.name and rows[1][3] == "基础种子库"  # the name stays text, not a formula
    rows = sheet(client.get("/pools/primary_pool/candidates.xlsx", params={"year": 2023}).content)
    assert [r[1] for r in rows[1:]] == ["候选导出有限公司"] and rows[1][7] == "符合"


def test_enterprise_panel_shows_criteria_with_figures_and_acts(client, make, firm, db):
    ent = firm(revenue=16_500_000, main_revenue=16_000_000)
    token = login(client, make.user())
    html = client.get(f"/enterprises/{ent.id}").text
    assert "培育库与亩产效益" in html
    assert "2023 年营业收入 1,650 万元，在 1000–2000 万元之间" in html
    assert "需人工判断：创新能力强、成长势头好、发展潜力大" in html
    h = {"X-CSRF-Token": token, **HX}
    r = client.post(
        "/pools/yumiao_pool/enter",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "entry_class": "xiaoshenggui",
            "entered_date": "2023-06-01",
            "from": "panel",
        },
    )
    assert r.status_code == 200 and r.headers.get("hx-refresh") == "true"
    html = client.get(f"/enterprises/{ent.id}").text
    assert "在库</strong>（2023-06-01 起" in html
    r = client.post(f"/enterprises/{ent.id}/mu-class", headers=h, data={"year": "2023", "mu_class": "b"})
    assert r.status_code == 200
    html = client.get(f"/enterprises/{ent.id}").text
    assert "正式类别：B 类" in html and "2023 年 B 类（录入）" in html  # official, apart from the provisional
    history = client.get(f"/enterprises/{ent.id}", params={"tab": "history"}).text
    assert "培育库" in history and "亩产效益评价" in history and "入库" in history


def test_township_staff_panel_cannot_record_mu_class(client, make, firm):
    ent = firm(revenue=1)
    token = login(client, make.user(role="township_staff", township="qingquan"))
    html = client.get(f"/enterprises/{ent.id}").text
    assert "录入亩产效益类别" not in html and "入库</button>" in html
    r = client.post(
        f"/enterprises/{ent.id}/mu-class",
        headers={"X-CSRF-Token": token, **HX},
        data={"year": "2023", "mu_class": "A"},
    )
    assert r.status_code == 403


def test_mu_page_scheme_compute_and_import(client, make, firm):
    ent = firm(
        figures=[
            {
                "year": 2023,
                "revenue_yuan": 10_000_000,
                "tax_yuan": 300_000,
                "land_mu": "10",
                "energy_tce": "50",
                "rd_spend_yuan": 100_000,
                "output_value_yuan": 9_000_000,
                "employees": 30,
            }
        ]
    )
    token = login(client, make.user(role="county_admin"))
    h = {"X-CSRF-Token": token, **HX}
    r = client.post(
        "/pools/mu/scheme",
        headers=h,
        data={"weight_tax_per_mu": "40", "band_A": "30", "band_B": "30", "band_C": "30", "band_D": "5"},
    )
    assert r.status_code == 422 and "各档比例之和须为 100%" in r.text
    r = client.post(
        "/pools/mu/scheme",
        headers=h,
        data={"weight_tax_per_mu": "40", "band_A": "30", "band_B": "30", "band_C": "30", "band_D": "10"},
    )
    assert r.status_code == 200 and "已保存" in r.text
    r = client.post("/pools/mu/compute", headers=h, data={"year": "2023"})
    assert r.status_code == 200 and "参与排名 1 家（A 类 1 家" in r.text
    html = client.get("/pools/mu", params={"year": 2023}).text
    assert 'value="40.0"' in html and 'value="30.0"' in html
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["统一社会信用代码", "亩产效益类别"])
    ws.write_row(1, 0, [ent.uscc, "B"])
    wb.close()
    r = client.post(
        "/pools/mu/import", headers=h, data={"year": "2023"}, files={"file": ("list.xlsx", buf.getvalue())}
    )
    assert r.status_code == 200 and "导入成功：2023 年亩产效益评价类别 1 家" in r.text
