"""服务直通车 in a real browser: township staff record a visit, raise a problem from it and carry it to 销号;
the county sees it overdue (dashboard card and overdue list) before it is closed, and no longer after."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.permissions import SYSTEM
from app.enterprises import service
from app.enterprises.models import Enterprise
from app.enterprises.schemas import EnterpriseCreate
from app.support.models import ServiceProblem
from app.targets import service as target_service
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
TODAY = date.today()


@pytest.fixture
def people(committed):
    with committed() as s:
        target_service.install_reference(
            s
        )  # the dashboards need a target table (a committed test may have emptied them)
        accounts.create_user(s, username="gxj", password=PASSWORD, role="county_admin")
        accounts.create_user(s, username="qq", password=PASSWORD, role="township_staff", township="qingquan")
        service.create(
            s,
            actor=SYSTEM,
            data=EnterpriseCreate(
                uscc="91350100M000100Y43", name="冠县恒通精工轴承有限公司", township="qingquan", size="small"
            ),
        )
        s.commit()
    return committed


def log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def test_township_records_a_problem_from_a_visit_county_sees_it_overdue_until_closed(
    browser, live_server, people
):
    with people() as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == "91350100M000100Y43"))
    staff = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900}).new_page()
    county = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900}).new_page()
    for pg in (staff, county):
        pg.set_default_timeout(15_000)
    # township staff: a visit on the enterprise page
    log_in(staff, live_server, "qq")
    staff.goto(f"{live_server}/enterprises/{eid}")
    staff.fill("#visit-form input[name=visitors]", "清泉街道经发办 李明")
    staff.fill("#visit-form textarea[name=findings]", "企业反映新产品申报政策不清楚")
    staff.click("#visit-form button[type=submit]")
    staff.wait_for_url("**/support/visits/*")
    assert "企业反映新产品申报政策不清楚" in staff.inner_text("#visit-facts")
    # … and a problem raised in it ten days ago: 政策 problems have 7 days, so it is overdue
    staff.click("#raise-problem")
    staff.wait_for_selector("#problem-form form")
    staff.select_option("select[name=category]", "policy")
    staff.fill("input[name=title]", "研发费用加计扣除政策咨询")
    staff.fill("textarea[name=description]", "委托研发费用如何归集")
    staff.fill("input[name=raised_by]", "王厂长")
    staff.fill("input[name=raised_date]", (TODAY - timedelta(days=10)).isoformat())
    staff.click("#problem-form button[type=submit]")
    staff.wait_for_url("**/support/problems/*")
    assert "已超期 3 天" in staff.inner_text("#problem-facts")
    assert "已交办" in staff.inner_text("#problem-status")
    pid = int(staff.url.rsplit("/", 1)[1])
    # the county sees it overdue: the dashboard card and the overdue list
    log_in(county, live_server, "gxj")
    county.goto(live_server + "/dashboard")
    county.wait_for_selector("#support-card")
    assert county.inner_text("#card-overdue") == "1"
    county.click("#card-overdue")
    county.wait_for_selector("#problem-table")
    assert "研发费用加计扣除政策咨询" in county.inner_text("#problem-table") and "超期" in county.inner_text(
        "#problem-table"
    )
    # township staff resolve and close it (销号)
    staff.select_option("#step-form select[name=action]", "resolve")
    staff.fill("#step-form textarea[name=note]", "已上门解读政策，指导企业完成归集")
    staff.click("#step-form button[type=submit]")
    staff.wait_for_selector("#problem-status:has-text('已办结')")
    staff.select_option("#step-form select[name=action]", "close")
    staff.click("#step-form button[type=submit]")
    staff.wait_for_selector("#problem-status:has-text('已销号')")
    assert [a for a in staff.locator("#problem-steps tbody tr td:nth-child(2)").all_inner_texts()] == [
        "收集",
        "交办",
        "办结",
        "销号",
    ]
    with people() as s:
        p = s.get(ServiceProblem, pid)
        assert (p.status, p.visit_id is not None, p.resolved_date) == ("closed", True, TODAY)
    # no longer overdue for the county
    county.goto(live_server + "/support?overdue=true")
    assert "没有符合条件的诉求" in county.inner_text("#problem-table")
    county.goto(live_server + "/dashboard")
    county.wait_for_selector("#support-card")
    assert county.inner_text("#card-overdue") == "0"
