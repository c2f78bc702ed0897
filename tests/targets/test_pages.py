"""Dashboards and target pages: the county's live matrix and charts, a township's own board, drill-down to
the enterprises behind every number, township scoping, print and export, and the JSON progress matrix."""

import re
from datetime import date

from tests.conftest import bearer, login


def _ht(ent_township, when="2023-05-01", make=None):
    return make.enterprise(
        township=ent_township,
        name=f"{ent_township}高新科技有限公司",
        honours=[{"code": "high_tech", "level": "national", "outcome": "new", "honour_date": when}],
    )


def test_root_goes_to_the_dashboard(client, make, reference):
    login(client, make.user())
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_county_dashboard_matrix_charts_and_drill_down(client, make, reference):
    _ht("qingquan", make=make)
    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": "2023-12-31"}).text
    assert "全县目标进度" in page and 'id="target-matrix"' in page
    assert '<script src="/static/echarts.min.js"></script>' in page and "cdn" not in page.lower()
    assert "研发投入月度增长（%）" in page and "各乡镇分解目标平均完成度" in page
    # the 高新技术企业 cell of 清泉街道: 1 / 2, linked to the enterprises behind it
    link = "/targets/2023/cells/high_tech?township=qingquan&amp;as_of=2023-12-31"
    assert f'href="{link}"' in page
    assert re.search(
        r'href="/targets/2023/cells/high_tech\?township=qingquan[^"]*"[^>]*>1</a><span class="t">/2</span>',
        page,
    )
    # row 5 (数字化测评) is measured from the assessment register, no longer "未接入"
    assert "系统未登记中小企业数字化水平测评记录" not in page
    assert 'href="/targets/2023/cells/digital_assessment?township=qingquan&amp;as_of=2023-12-31"' in page
    cell = client.get(link.replace("&amp;", "&")).text
    assert "qingquan高新科技有限公司" in cell and "高新技术企业（国家级，新认定，2023-05-01）" in cell
    frag = client.get("/dashboard", params={"key": "2022-2024"}, headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "冠政发〔2022〕9号" in frag.text


def test_township_dashboard_shows_its_own_targets_filings_and_pools(client, make, reference):
    _ht("qingquan", make=make)
    _ht("kaifaqu", make=make)
    make.enterprise(township="qingquan", name="未填报的清泉企业有限公司")
    login(client, make.user(role="township_staff", township="qingquan"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": "2023-12-31"}).text
    assert "清泉街道 · 目标进度" in page and 'id="township-targets"' in page
    assert (
        "kaifaqu高新科技有限公司" not in page
        and "开发区" not in page.split('id="township-targets"')[1].split("</table>")[0]
    )
    assert "未填报的清泉企业有限公司" in page  # last month's overdue filings
    assert 'id="township-pools"' in page and "/pools/xiaoshenggui_pool?tab=candidates" in page
    assert 'id="township-awards"' in page


def test_township_staff_cannot_drill_into_another_township(client, make, reference):
    _ht("kaifaqu", make=make)
    login(client, make.user(role="township_staff", township="qingquan"))
    assert client.get("/targets/2023/cells/high_tech", params={"township": "kaifaqu"}).status_code == 404
    own = client.get("/targets/2023/cells/high_tech").text  # no township: their own
    assert "kaifaqu高新科技有限公司" not in own
    api = client.get("/api/v1/targets/2023/progress/high_tech/enterprises", params={"township": "kaifaqu"})
    assert api.status_code == 404
    progress = client.get("/api/v1/targets/2023/progress", params={"as_of": "2023-12-31"}).json()
    assert progress["townships"] == ["qingquan"]
    ht = next(r for r in progress["rows"] if r["code"] == "high_tech")
    assert ht["county"] is None and list(ht["townships"]) == ["qingquan"]


def test_progress_json(client, make, reference):
    _ht("qingquan", make=make)
    key = make.api_key(scopes=["targets:read"])
    r = client.get("/api/v1/targets/2023/progress", params={"as_of": "2023-09-15"}, headers=bearer(key))
    assert r.status_code == 200
    body = r.json()
    assert body["as_of"] == "2023-09-15" and len(body["rows"]) == 19 and "30 天" in body["status_rules"]
    ht = next(x for x in body["rows"] if x["code"] == "high_tech")
    assert ht["townships"]["qingquan"] == {
        "actual": 1,
        "target": 2,
        "status": "behind",
        "status_name": "进度滞后",
        "percent": 50,
    }
    # 15 days to 2023-09-30 and under 80%: behind, in 清泉街道 (1 of 2) as for the county (1 of 50)
    assert ht["county"]["status"] == "behind" and ht["county"]["actual"] == 1
    da = next(x for x in body["rows"] if x["code"] == "digital_assessment")
    assert da["available"] is True and da["county"]["actual"] == 0 and da["county"]["target"] == 120
    cell = client.get(
        "/api/v1/targets/2023/progress/high_tech/enterprises",
        params={"township": "qingquan"},
        headers=bearer(key),
    ).json()
    assert cell["total"] == 1 and cell["items"][0]["name"] == "qingquan高新科技有限公司"
    assert client.get("/api/v1/targets/1999", headers=bearer(key)).status_code == 404
    assert client.get("/api/v1/targets/abc", headers=bearer(key)).status_code == 422
    assert (
        client.get(
            "/api/v1/targets/2023/progress", headers=bearer(make.api_key(scopes=["filings:read"]))
        ).status_code
        == 403
    )


def test_indicator_page_shows_its_measure_and_parts(client, make, reference):
    login(client, make.user())
    page = client.get("/targets/2023/indicators/cluster", params={"as_of": "2023-06-01"}).text
    assert "统计口径" in page and "特色产业集群登记计数" in page and '"kind": "cluster_count"' in page
    assert "市级特色产业集群" in page and "冠政办发〔2023〕7号 二（四）12" in page
    rd = client.get(
        "/targets/2023/indicators/rd_growth_rate", params={"as_of": date(2023, 6, 18).isoformat()}
    ).text
    assert "研发投入同比增长率" in rd and "据2023年5月填报" in rd
    assert 'id="rd-reading"' in rd and "一年将增至约 3 倍" in rd and "环比（仅列示）" in rd


def test_table_page_print_and_export(client, make, reference):
    login(client, make.user())
    page = client.get("/targets/2023").text
    assert 'id="measures"' in page and "政策通平台注册数" in page
    printable = client.get("/targets/2023/print", params={"as_of": "2023-12-31"}).text
    assert "完成情况" in printable and 'id="target-matrix"' in printable and "window.print()" in printable
    x = client.get("/targets/2023/export.xlsx")
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert client.get("/targets").status_code == 200 and "录入新年度目标" in client.get("/targets").text


def test_cell_enterprises_page_by_name(client, make, reference):
    for name in ("丙高新有限公司", "甲高新有限公司", "乙高新有限公司"):
        make.enterprise(
            township="qingquan",
            name=name,
            honours=[
                {"code": "high_tech", "level": "national", "outcome": "new", "honour_date": "2023-05-01"},
                {"code": "high_tech", "level": "national", "outcome": "new", "honour_date": "2023-07-01"},
            ],
        )
    key = make.api_key(scopes=["targets:read"])
    url = "/api/v1/targets/2023/progress/high_tech/enterprises"
    first = client.get(url, params={"township": "qingquan", "limit": 2}, headers=bearer(key)).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    assert (
        "2023-05-01" in first["items"][0]["basis"] and "2023-07-01" in first["items"][0]["basis"]
    )  # both records
    second = client.get(
        url, params={"township": "qingquan", "limit": 2, "cursor": first["next_cursor"]}, headers=bearer(key)
    ).json()
    names = [i["name"] for i in first["items"] + second["items"]]
    assert sorted(names) == names and len(set(names)) == 3 and second["next_cursor"] is None
    tables = client.get("/api/v1/targets", params={"limit": 1}, headers=bearer(key)).json()
    assert [t["key"] for t in tables["items"]] == ["2022-2024"] and tables["next_cursor"]
    rest = client.get(
        "/api/v1/targets", params={"limit": 1, "cursor": tables["next_cursor"]}, headers=bearer(key)
    ).json()
    assert [t["key"] for t in rest["items"]] == ["2023"]


def test_county_dashboard_shows_the_county_wide_goals_of_the_2023_plan(client, make, reference, db):
    """冠政办发〔2023〕7号 一、二: 工业增加值 +8%、技改投资 +10%、数字经济 3.5% (not measured, with the reason);
    60 技改项目、20 重点项目 (the projects register), 46 助企远航 (the list) and 绿色工厂 2、两化融合 4、DCMM 4
    (honour records)."""
    from app.registers.models import Project
    from app.support.models import VoyageListing

    green = make.enterprise(
        township="qingquan",
        honours=[
            {"code": "green_factory", "level": "provincial", "outcome": "new", "honour_date": "2023-05-01"}
        ],
    )
    make.enterprise(
        township="kaifaqu",
        honours=[{"code": "dcmm", "level": "city", "outcome": "new", "honour_date": "2023-07-01"}],
    )
    for name, kind, stage, start, done in [
        ("一号技改", "tech_upgrade", "under_construction", "2023-03-01", None),
        ("二号技改", "tech_upgrade", "completed", "2022-05-01", "2023-02-01"),
        ("旧技改", "tech_upgrade", "completed", "2021-05-01", "2022-10-01"),  # finished before 2023
        ("计划技改", "tech_upgrade", "planned", "2023-09-01", None),  # not under way
        ("延链项目", "key_chain", "under_construction", "2023-04-01", None),
    ]:
        db.add(
            Project(
                enterprise_id=green.id,
                name=name,
                kind=kind,
                stage=stage,
                investment_yuan=10_000_000,
                start_date=date.fromisoformat(start),
                completion_date=date.fromisoformat(done) if done else None,
                created_by="test",
            )
        )
    db.add(
        VoyageListing(
            enterprise_id=green.id, source="市链长办名单", listed_date=date(2023, 3, 1), created_by="test"
        )
    )
    db.flush()
    login(client, make.user(role="county_viewer"))
    page = client.get("/dashboard", params={"key": "2023", "as_of": "2023-12-31"}).text
    goals = page.split('id="county-goals-table"')[1].split("</table>")[0]
    for text in (
        "规模以上工业增加值增长8%",
        "制造业技改投资增长10%",
        "占GDP比重达到3.5%",
        "制造业技改项目60个以上",
        "20个强链延链补链新建、技改重点项目",
        "增至46家",
    ):
        assert text in goals
    assert goals.count("未统计：") == 3 and "统计部门" in goals
    assert "2 / 60 个" in goals.split('id="goal-tech_upgrade_projects"')[1].split("</tr>")[0]
    assert "1 / 20 个" in goals.split('id="goal-chain_key_projects"')[1].split("</tr>")[0]
    assert "1 / 46 家" in goals.split('id="goal-voyage_service_firms"')[1].split("</tr>")[0]
    green = goals.split('id="goal-green_factory"')[1].split("</tr>")[0]
    assert "1 / 2 家" in green and "进度滞后" in green  # the deadline day itself is still in time
    dcmm = goals.split('id="goal-dcmm_certified"')[1].split("</tr>")[0]
    assert "1 / 4 家" in dcmm
    # township staff see their own board, not the county goals
    login(client, make.user(role="township_staff", township="qingquan"))
    assert 'id="county-goals-table"' not in client.get("/dashboard", params={"key": "2023"}).text


def test_the_county_sets_the_rd_growth_reading_over_the_api(client, make, reference):
    """附件 row 11 研发投入月度增长率: 同比 or 环比 is a setting of the indicator, set by the county."""
    key = make.api_key(scopes=["targets:read", "targets:write"])
    url = "/api/v1/targets/2023/indicators/rd_growth_rate/reading"
    r = client.put(url, headers=bearer(key), json={"reading": "month_on_month"})
    assert r.status_code == 200, r.text
    rate = next(i for i in r.json()["indicators"] if i["code"] == "rd_growth_rate")
    assert rate["measure"]["reading"] == "month_on_month"
    bad = client.put(
        "/api/v1/targets/2023/indicators/high_tech/reading",
        headers=bearer(key),
        json={"reading": "year_on_year"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reading"
    assert client.put(url, headers=bearer(key), json={"reading": "weekly"}).status_code == 422
