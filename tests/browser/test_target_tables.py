"""A county admin makes next year's target table through the pages: copy last year's table as a draft, change a
row (an inline error first), mark a row "not measured" with its reason, publish, and see it on the dashboard."""

import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.targets.models import TargetSet
from tests.browser.test_registry_flows import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(committed):
    from app.targets import service

    with committed() as s:
        service.install_reference(s)
        accounts.create_user(s, username="gxj", password=PASSWORD, role="county_admin")
        s.commit()
    return committed


def test_copy_last_years_table_edit_and_publish(page, live_server, admin):
    log_in(page, live_server)
    page.goto(live_server + "/targets")
    form = page.locator("#copy-form")
    form.locator("select[name=source]").select_option("2023")
    form.locator("input[name=year]").fill("2027")
    form.locator("input[name=document]").fill("冠政办发〔2027〕1号")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/targets/2027/draft")
    assert "草稿" in page.inner_text("h1")
    row = page.locator("#row-high_tech")
    assert row.locator("input[name=deadline]").input_value() == "2027-09-30"
    assert row.locator("input[name=deadline_text]").input_value() == "2027年9月"

    # an inline error: 总数 no longer the sum of the townships; nothing saved
    row.locator("input[name=total]").fill("51")
    row.locator("button", has_text="保存本行").click()
    page.wait_for_selector("#row-high_tech .alert.error")
    assert "与总数 51 不符" in page.inner_text("#row-high_tech .alert.error")

    # not measured this year, with the reason
    row = page.locator("#row-high_tech")
    row.locator("input[name=total]").fill("50")
    row.locator("select[name=measure]").select_option("__none__")
    row.locator("input[name=reason]").fill("认定结果由省科技厅统一公布，年内不统计")
    row.locator("button", has_text="保存本行").click()
    page.wait_for_selector("#draft-message")
    assert "已保存" in page.inner_text("#draft-message")
    assert "不统计" in page.inner_text("#row-high_tech h3")

    # the 特色产业集群 split entered anew: 市级 3, 总数 5
    cluster = page.locator("#row-cluster")
    cluster.locator("input[name=part-cluster_city]").fill("3")
    cluster.locator("input[name=total]").fill("5")
    cluster.locator("button", has_text="保存本行").click()
    page.wait_for_selector("#draft-message")
    assert page.locator("#row-cluster input[name=part-cluster_city]").input_value() == "3"

    page.click("#publish-button")
    page.wait_for_url("**/targets/2027")
    assert "草稿" not in page.inner_text("h1")
    page.goto(live_server + "/dashboard?key=2027&as_of=2027-06-30")
    text = page.inner_text("main")
    assert "冠政办发〔2027〕1号" in text and "认定结果由省科技厅统一公布，年内不统计" in page.content()
    with admin() as s:
        ts = s.scalar(select(TargetSet).where(TargetSet.key == "2027"))
        assert ts.status == "published" and ts.published_by == "gxj"
