"""A county admin puts next year's plan into the system through the pages: copy a document as a new draft,
edit a rule (an inline error first), run the rule cases, fix the case that now fails, publish."""

import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.policies.models import PolicyVersion
from tests.browser.test_registry_flows import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def admin(committed):
    with committed() as s:
        accounts.create_user(s, username="gxj", password=PASSWORD, role="county_admin")
        s.commit()
    return committed


def test_create_edit_test_and_publish_a_document(page, live_server, admin):
    log_in(page, live_server)
    page.goto(live_server + "/policies")
    page.click("#manage-link")
    page.wait_for_selector("#documents")
    assert "已于 2024-12-31 到期失效" in page.inner_text("main")

    # 以现有文件为底稿新建
    form = page.locator("#copy-form")
    form.locator("select[name=source]").select_option("gzb2023-7")
    form.locator("input[name=code]").fill("gzb2024-3")
    form.locator("input[name=number]").fill("冠政办发〔2024〕3号")
    form.locator("input[name=start]").fill("2024-01-01")
    form.locator("input[name=end]").fill("2024-12-31")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/policy-documents/gzb2024-3/draft")
    assert "草稿：冠政办发〔2024〕3号" in page.inner_text("h1")
    assert page.locator("#case-results .case-failed").count() == 0

    # a rule's form: an inline error, then the new amount (二（一）1 升规 5 万 → 8 万)
    details = page.locator('[id="rule-gzb2024-3.county.first_above_scale"]')
    details.locator("summary").click()
    rule = page.locator("#rule-gzb2024-3-county-first_above_scale")
    rule.locator("input[name=amount_wan]").fill("八")
    rule.locator("button[type=submit]").click()
    page.wait_for_selector("#rule-gzb2024-3-county-first_above_scale .field-error")
    assert (
        "不是数字" in page.locator("#rule-gzb2024-3-county-first_above_scale .field-error").first.inner_text()
    )
    rule = page.locator("#rule-gzb2024-3-county-first_above_scale")
    rule.locator("input[name=amount_wan]").fill("8")
    rule.locator("button[type=submit]").click()
    page.wait_for_selector("#rule-gzb2024-3-county-first_above_scale >> text=已保存到草稿")

    # the copied case for 2024 升规 now fails, and publishing is refused
    page.click("#run-cases")
    page.wait_for_selector("#case-results .case-failed")
    assert "应为 50,000 元，算得 80,000 元" in page.inner_text("#case-results")
    page.click("#publish-button")
    page.wait_for_selector("#publish-errors")
    assert "不能发布" in page.inner_text("#publish-errors")

    # fix the case to the new figure: all pass, publish
    text = page.input_value("textarea[name=cases]")
    text = text.replace(
        "gzb2024-3.county.first_above_scale: 50000", "gzb2024-3.county.first_above_scale: 80000"
    )
    text = text.replace("一次性 50,000 元（冠政办发〔2024〕3号", "一次性 80,000 元（冠政办发〔2024〕3号")
    page.fill("textarea[name=cases]", text)
    page.click("#save-cases")
    page.wait_for_selector("#cases >> text=测试用例已保存并运行")
    assert page.locator("#case-results .case-failed").count() == 0
    page.click("#publish-button")
    page.wait_for_url("**/policy-documents?done=*")
    assert "已发布 冠政办发〔2024〕3号" in page.inner_text("main")

    with admin() as s:
        v = s.scalar(
            select(PolicyVersion).where(
                PolicyVersion.code == "gzb2024-3", PolicyVersion.status == "published"
            )
        )
        assert v is not None and v.published_by == "gxj" and "yuan: 80000" in v.content
