"""Award and policy pages: the enterprise panel, the queue with inline approval in 万元, funds, forecast, 公示."""

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from app.awards.models import AwardLine, Fund
from app.money import wan_exact, wan_to_yuan
from tests.awards.conftest import honour, lines_of
from tests.conftest import login

HTMX = {"HX-Request": "true"}


def _h(token):
    return {**HTMX, "X-CSRF-Token": token}


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("15", 150_000),
        ("12.3456", 123_456),
        ("0.0001", 1),
        ("1,000", 10_000_000),
        (" 7.5 ", 75_000),
        ("0.1", 1_000),
        ("3.3333", 33_333),
    ],
)
def test_wan_input_becomes_exact_integer_yuan(text, yuan):
    assert wan_to_yuan(text, "amount_yuan") == yuan
    assert wan_to_yuan(wan_exact(yuan), "x") == yuan


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0.00005", "精确到元"),
        ("abc", "不是数字"),
        ("-1", "不能为负"),
        ("", "请填写"),
        ("NaN", "有限"),
    ],
)
def test_bad_wan_input_names_the_field(text, words):
    from app.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        wan_to_yuan(text, "amount_yuan")
    assert e.value.errors[0].field == "amount_yuan" and words in e.value.errors[0].message


def test_enterprise_page_shows_the_awards_panel_in_wan(client, make, funds):
    ent = make.enterprise(honours=[honour("specialized_sme", "provincial", "2023-05-10")])
    login(client, make.user())
    page = client.get(f"/enterprises/{ent.id}").text
    assert 'id="awards-panel"' in page
    assert "新认定省级专精特新企业" in page and "最高 15.00" in page and "最高 30.00" in page
    assert "待审核" in page and "记录事件" in page


def test_recording_an_event_from_the_panel_creates_proposed_lines(client, make, db, funds):
    ent = make.enterprise()
    token = login(client, make.user())
    r = client.post(
        f"/enterprises/{ent.id}/events",
        headers=_h(token),
        data={
            "type": "equipment_purchase",
            "date": "2023-05-01",
            "purpose": "tech_upgrade",
            "amount_wan": "123.4567",
        },
    )
    assert r.status_code == 200, r.text
    assert "自动生成 1 笔待审核奖补" in r.text
    [line] = lines_of(db, ent.id)
    assert (line.rule_id, line.computed_yuan, line.status) == (
        "gzb2023-7.county.tech_upgrade",
        123_457,
        "proposed",
    )
    assert line.receipt["event"]["amount_yuan"] == 1_234_567


def test_event_form_fields_follow_the_type(client, make):
    ent = make.enterprise()
    login(client, make.user())
    r = client.get(f"/enterprises/{ent.id}/events/fields", params={"type": "design_prize"}, headers=HTMX)
    assert 'name="contest"' in r.text and 'name="rank"' in r.text and 'name="amount_wan"' not in r.text


def test_a_bad_event_on_the_panel_is_shown_inline_and_writes_nothing(client, make, db, funds):
    ent = make.enterprise()
    token = login(client, make.user())
    r = client.post(
        f"/enterprises/{ent.id}/events",
        headers=_h(token),
        data={"type": "loan_interest", "date": "2023-05-01", "interest_paid_wan": "abc"},
    )
    assert r.status_code == 422 and "不是数字" in r.text
    r = client.post(
        f"/enterprises/{ent.id}/events",
        headers=_h(token),
        data={"type": "skills_contest", "date": "", "participants": "120"},
    )
    assert r.status_code == 422 and "event.date" in r.text
    assert lines_of(db, ent.id) == []


def test_queue_approves_inline_with_an_amount_in_wan(client, make, db, funds):
    ent = make.enterprise(name="审核页企业有限公司", honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = next(x for x in lines_of(db, ent.id) if x.funder == "county")
    token = login(client, make.user())
    page = client.get("/awards").text
    assert "审核页企业有限公司" in page and f'id="line-{line.id}"' in page and "批准" in page
    r = client.post(
        f"/awards/lines/{line.id}/approve",
        headers=_h(token),
        data={"amount_wan": "12.3456", "comment": "同意", "fund_id": ""},
    )
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith("<tr") and "已批准" in r.text
    db.refresh(line)
    assert (line.status, line.amount_yuan) == ("approved", 123_456)
    assert line.fund_id == funds["gz2022-9.fund.county"].id


def test_queue_errors_are_shown_in_the_row_and_write_nothing(client, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = next(x for x in lines_of(db, ent.id) if x.funder == "county")
    token = login(client, make.user())
    r = client.post(
        f"/awards/lines/{line.id}/approve",
        headers=_h(token),
        data={"amount_wan": "20.0001", "comment": "同意"},
    )
    assert r.status_code == 422 and "冠政发〔2022〕9号 四（十）" in r.text and "200,000" in r.text
    r = client.post(
        f"/awards/lines/{line.id}/approve",
        headers=_h(token),
        data={"amount_wan": "1.00005", "comment": "同意"},
    )
    assert r.status_code == 422 and "精确到元" in r.text
    r = client.post(
        f"/awards/lines/{line.id}/approve", headers=_h(token), data={"amount_wan": "10", "comment": ""}
    )
    assert r.status_code == 422 and "审核意见" in r.text
    db.refresh(line)
    assert line.status == "proposed" and line.amount_yuan is None
    db.refresh(funds["gz2022-9.fund.county"])
    assert funds["gz2022-9.fund.county"].drawn_yuan == 0


def test_queue_pays_and_rejects_inline(client, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2023-05-01")])
    county = next(x for x in lines_of(db, ent.id) if x.funder == "county")
    city = next(x for x in lines_of(db, ent.id) if x.funder == "city")
    token = login(client, make.user())
    client.post(
        f"/awards/lines/{county.id}/approve", headers=_h(token), data={"amount_wan": "20", "comment": "同意"}
    )
    r = client.post(
        f"/awards/lines/{county.id}/pay",
        headers=_h(token),
        data={"paid_date": date.today().isoformat(), "voucher_no": "冠财拨〔2026〕3号"},
    )
    assert r.status_code == 200 and "已拨付" in r.text
    r = client.post(f"/awards/lines/{city.id}/reject", headers=_h(token), data={"reason": "市级另行审核"})
    assert r.status_code == 200 and "已驳回" in r.text
    r = client.post(f"/awards/lines/{city.id}/reject", headers=_h(token), data={"reason": "再次"})
    assert r.status_code == 409 and "不能驳回" in r.text


def test_township_staff_see_their_townships_queue_read_only(client, make, db, funds):
    make.enterprise(
        township="qingquan",
        name="清泉奖补企业有限公司",
        honours=[honour("gazelle", "provincial", "2022-09-01")],
    )
    other = make.enterprise(
        township="kaifaqu",
        name="开发区奖补企业有限公司",
        honours=[honour("gazelle", "provincial", "2022-09-01")],
    )
    token = login(client, make.user("township_staff", "qingquan"))
    page = client.get("/awards").text
    assert "清泉奖补企业有限公司" in page and "开发区奖补企业有限公司" not in page
    assert "/approve" not in page and "只读" in page
    line = lines_of(db, other.id)[0]
    assert client.get(f"/awards/lines/{line.id}").status_code == 404
    own = db.scalar(select(AwardLine).where(AwardLine.enterprise_id != other.id))
    r = client.post(
        f"/awards/lines/{own.id}/approve", headers=_h(token), data={"amount_wan": "1", "comment": "x"}
    )
    assert r.status_code == 403


def test_line_page_explains_and_recomputes(client, make, db, funds):
    ent = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    line = lines_of(db, ent.id)[0]
    login(client, make.user("county_viewer"))
    page = client.get(f"/awards/lines/{line.id}").text
    assert "冠政发〔2022〕9号 四（十）" in page and "与存档一致" in page and "计算凭据" in page


def test_funds_page_has_balances_a_chinese_chart_and_admin_forms(client, make, db, funds):
    token = login(client, make.user())
    page = client.get("/awards/funds").text
    assert "/static/echarts.min.js" in page and "fund-chart" in page and "已拨付" in page
    assert "县级财政 冠政发〔2022〕9号 五（二）" in page and "500.00" in page and "1,000.00" in page
    fund = funds["gzb2023-7.fund.county"]
    r = client.post(
        f"/awards/funds/{fund.id}/top-up", data={"csrf_token": token, "amount_wan": "50.5", "note": "追加"}
    )
    assert r.status_code == 200 and "已追加资金" in r.text and "1,050.50" in r.text
    db.refresh(fund)
    assert fund.budget_yuan == 10_505_000
    r = client.post(
        f"/awards/funds/{fund.id}/top-up", data={"csrf_token": token, "amount_wan": "x", "note": "追加"}
    )
    assert r.status_code == 422 and "不是数字" in r.text
    r = client.post(
        "/awards/funds",
        data={
            "csrf_token": token,
            "name": "市级奖励资金",
            "funder": "city",
            "document_code": "gzb2023-7",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "amount_wan": "800",
        },
    )
    assert r.status_code == 200 and "已设立资金" in r.text
    assert db.scalar(select(Fund.budget_yuan).where(Fund.name == "市级奖励资金")) == 8_000_000


def test_viewer_sees_funds_but_no_admin_forms(client, make, funds):
    login(client, make.user("county_viewer"))
    page = client.get("/awards/funds").text
    assert "fund-table" in page and "追加" not in page


def test_forecast_page_shows_targets_cost_and_a_what_if_difference(client, make, funds):
    login(client, make.user())
    page = client.get("/awards/forecast").text
    assert "按出资层级" in page and "专精特新" in page and "未纳入测算" in page
    base = re.search(r'id="forecast-total">([\d,.]+)<', page).group(1)
    r = client.get(
        "/awards/forecast",
        params={"override_rule": "gzb2023-7.city.specialized_sme.provincial", "override_value": "20"},
        headers=HTMX,
    )
    assert r.status_code == 200
    assert re.search(r'id="forecast-total">([\d,.]+)<', r.text).group(1) == base
    # 31 培育库 firms × (30 万 → 20 万) at the city: 310 万 less.
    assert re.search(r'id="whatif-diff">([-\d,.]+)<', r.text).group(1) == "-310.00"


def test_forecast_for_candidates(client, make, funds):
    """Candidates are picked: a firm found by the search box, an honour and a level from lists."""
    a = make.enterprise(name="冠县甲机械有限公司")
    b = make.enterprise(name="冠县乙机械有限公司")
    login(client, make.user())
    page = client.get("/awards/forecast", params={"scenario": "candidates"})
    assert page.status_code == 200 and "请在上方“候选企业”中搜索" in page.text
    assert (
        'name="cand_honour"' in page.text and "专精特新" in page.text and "specialized_sme," not in page.text
    )
    found = client.get("/enterprises/suggest", params={"cand_who": "乙机械"}, headers=HTMX).text
    assert f'value="冠县乙机械有限公司（{b.uscc}）"' in found and a.name not in found
    params = {
        "scenario": "candidates",
        "cand_who": [a.name, f"{b.name}（{b.uscc}）", ""],
        "cand_honour": ["specialized_sme", "little_giant", ""],
        "cand_level": ["provincial", "national", ""],
        "cand_date": ["", "", ""],
    }
    r = client.get("/awards/forecast", params=params, headers=HTMX)
    assert r.status_code == 200, r.text
    assert "forecast-total" in r.text and a.name in r.text and b.name in r.text
    r = client.get(
        "/awards/forecast",
        params={
            "scenario": "candidates",
            "cand_who": [a.name],
            "cand_honour": ["gazelle"],
            "cand_level": [""],
            "cand_date": [""],
        },
        headers=HTMX,
    )
    assert r.status_code == 422 and "第 1 行：请选择认定和级别" in r.text
    r = client.get(
        "/awards/forecast",
        params={
            "scenario": "candidates",
            "cand_who": ["没有这家公司"],
            "cand_honour": ["gazelle"],
            "cand_level": ["provincial"],
            "cand_date": [""],
        },
        headers=HTMX,
    )
    assert r.status_code == 422 and "找不到企业“没有这家公司”" in r.text


def test_notice_page_and_xlsx_keep_text_as_text(client, make, db, funds, admin_key):
    from openpyxl import load_workbook

    ent = make.enterprise(
        name='=HYPERLINK("http://x")公司', honours=[honour("gazelle", "provincial", "2023-05-01")]
    )
    token = login(client, make.user())
    for line in lines_of(db, ent.id):
        client.post(
            f"/awards/lines/{line.id}/approve",
            headers=_h(token),
            data={"amount_wan": wan_exact(line.computed_yuan), "comment": "同意"},
        )
    page = client.get("/awards/notice", params={"year": 2023}).text
    assert "2023 年奖补资金拟拨付企业名单（公示）" in page and "新认定省级瞪羚企业" in page
    assert "50.00" in page  # 20 万 county + 30 万 city
    r = client.get("/awards/notice.xlsx", params={"year": 2023})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    names = [c for c in ws["B"] if c.value and "HYPERLINK" in str(c.value)]
    assert names and all(c.data_type == "s" for c in names)
    ledger = client.get("/awards/ledger.xlsx", params={"status": ""})  # 全部, as the list offers it
    assert ledger.status_code == 200
    ws = load_workbook(io.BytesIO(ledger.content))["奖补台账"]
    assert ws["A1"].value == "编号" and ws.max_row >= 3


def test_policies_pages_list_documents_and_each_documents_rules(client, make):
    login(client, make.user("county_viewer"))
    page = client.get("/policies").text
    assert "冠政发〔2022〕9号" in page and "冠政办发〔2023〕7号" in page
    today = date.today()
    assert ("已失效" in page) == (today > date(2024, 12, 31))
    assert "2024-12-31" in page
    doc = client.get("/policies/gz2022-9").text
    assert "对新认定的省级、市级“专精特新”企业，县财政分别给予一次性最高15万元、10万元奖励" in doc
    assert "一次性最高 15 万元" in doc and "gzb2023-7.county.first_above_scale" in doc
    assert client.get("/policies/unknown").status_code == 404


def test_the_policy_page_shows_each_readings_note_and_the_period_explanation(client, make):
    """冠政办发〔2023〕7号 二（六）16 人才 1:1 配套 and 二（三）9 两化融合/DCMM: the reading chosen is on the page."""
    login(client, make.user("county_viewer"))
    doc = client.get("/policies/gzb2023-7").text
    assert "条款解读：" in doc and "国家、省资助 30 万元的，配套 30 万元" in doc
    assert "另一种读法是两类证书各奖最高 5 万元" in doc
    assert "有效期说明：" in doc and "一季度" in doc
    assert "批准时按省级、市级、县级分列份额" in doc
    old = client.get("/policies/gz2022-9").text
    assert "不溯及印发前" in old and "资金口径：" in old and "每年一个额度" in old


def test_a_tech_upgrade_line_is_approved_on_the_page_with_each_funders_share(client, make, db, funds):
    """冠政办发〔2023〕7号 二（二）4 技改 ≤10% 省、市、县合计: the row asks for each share in 万元; the county fund pays its own."""
    from app.accounts.permissions import SYSTEM
    from app.awards import proposals

    ent = make.enterprise(name="技改页企业有限公司")
    proposals.record_event(
        db,
        actor=SYSTEM,
        enterprise_id=ent.id,
        event={
            "type": "equipment_purchase",
            "date": "2023-08-01",
            "purpose": "tech_upgrade",
            "amount_yuan": 10_000_000,
        },
    )
    (line,) = lines_of(db, ent.id)
    token = login(client, make.user())
    page = client.get("/awards").text
    row = page.split(f'id="line-{line.id}"')[1].split("</tr>")[0]
    assert (
        'name="split_province_wan"' in row
        and 'name="split_county_wan"' in row
        and 'name="amount_wan"' not in row
    )
    r = client.post(
        f"/awards/lines/{line.id}/approve",
        headers=_h(token),
        data={
            "split_province_wan": "30",
            "split_city_wan": "30",
            "split_county_wan": "40",
            "comment": "按各级政策核定",
        },
    )
    assert r.status_code == 200, r.text
    assert "已批准" in r.text and "省级 30.00；市级 30.00；县级 40.00" in r.text
    db.refresh(line)
    assert (line.amount_yuan, line.funder_split) == (
        400_000,
        {"province": 300_000, "city": 300_000, "county": 400_000},
    )
    fund = funds["gzb2023-7.fund.county"]
    db.refresh(fund)
    assert fund.drawn_yuan == 400_000
