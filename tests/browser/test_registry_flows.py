"""Key flows in a real browser: log in, search and filter, edit with an inline USCC error, import a file."""

import io
import random

import pytest
import xlsxwriter
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.permissions import SYSTEM
from app.demo import seed
from app.enterprises import service
from app.enterprises.excel import COLUMNS
from app.enterprises.models import Enterprise
from app.enterprises.schemas import EnterpriseCreate
from app.enterprises.uscc import generate
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def county(committed):
    with committed() as s:
        accounts.create_user(s, username="gxj", password=PASSWORD, role="county_admin")
        accounts.create_user(s, username="qq", password=PASSWORD, role="township_staff", township="qingquan")
        seed.load(s, 120, seed=5)
        service.create(
            s,
            actor=SYSTEM,
            data=EnterpriseCreate(
                uscc="91350100M000100Y43",
                name="冠县恒通精工轴承有限公司",
                township="qingquan",
                size="small",
                figures=[{"year": 2025, "revenue_yuan": 16_500_000}],
            ),
        )
        s.commit()
    return committed


def log_in(page, base, username="gxj"):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def test_log_in_and_out(page, live_server, county):
    page.goto(live_server + "/enterprises")
    assert "/login" in page.url
    page.fill("input[name=username]", "gxj")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")
    log_in(page, live_server)
    assert page.url.endswith("/dashboard")  # the landing page after log-in
    page.click("header nav >> text=企业")
    page.wait_for_selector("text=企业名录")
    page.click("text=退出")
    page.wait_for_url("**/login")


def test_live_search_and_filter(page, live_server, county):
    log_in(page, live_server)
    page.goto(live_server + "/enterprises")
    page.fill("input[name=q]", "恒通精工")
    page.wait_for_function("document.querySelectorAll('#enterprise-table tbody tr').length === 1")
    assert "冠县恒通精工轴承有限公司" in page.inner_text("#enterprise-table")
    assert "q=" in page.url  # the search is in the address bar, so it can be shared and reloaded
    page.fill("input[name=q]", "")
    page.select_option("select[name=township]", "kaifaqu")
    page.wait_for_function(
        "[...document.querySelectorAll('#enterprise-table tbody tr td:nth-child(3)')].every(td => td.innerText === '县经济开发区')"
    )
    rows = page.locator("#enterprise-table tbody tr").count()
    assert rows >= 1
    with county() as s:
        expected = s.scalar(
            select(func.count()).select_from(Enterprise).where(Enterprise.township == "kaifaqu")
        )
    assert rows == min(expected, 50)


def test_township_staff_only_see_their_township(page, live_server, county):
    log_in(page, live_server, "qq")
    page.goto(live_server + "/enterprises")
    cells = page.locator("#enterprise-table tbody tr td:nth-child(3)").all_inner_texts()
    assert cells and set(cells) == {"清泉街道"}
    assert page.locator("select[name=township]").count() == 0


def test_edit_shows_inline_uscc_error_then_saves(page, live_server, county):
    with county() as s:
        eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == "91350100M000100Y43"))
    log_in(page, live_server)
    page.goto(f"{live_server}/enterprises/{eid}/edit")
    page.fill("input[name=uscc]", "91350100M000100Y44")
    page.locator("input[name=uscc]").dispatch_event("change")
    page.wait_for_selector("#err-uscc:has-text('校验位错误')")
    page.click("#form-card button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert "校验位错误" in page.inner_text("#err-uscc")
    with county() as s:
        assert s.scalar(select(Enterprise.uscc).where(Enterprise.id == eid)) == "91350100M000100Y43"
    page.fill("input[name=uscc]", "91350100M000100Y43")
    page.fill("input[name=name]", "冠县恒通精密轴承有限公司")
    page.click("#form-card button[type=submit]")
    page.wait_for_url(f"**/enterprises/{eid}")
    assert page.inner_text("h1") == "冠县恒通精密轴承有限公司"
    page.click("text=变更历史")
    page.wait_for_selector("#history")
    assert "冠县恒通精密轴承有限公司" in page.inner_text("#history")


def _xlsx(rows):
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for i, (h, _, _) in enumerate(COLUMNS):
        ws.write_string(0, i, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


def test_import_file_with_error_then_clean(page, live_server, county, tmp_path):
    rng = random.Random(99)
    good = [
        [
            generate(rng),
            f"导入测试{i}有限公司",
            "清泉街道",
            None,
            None,
            "小型",
            "民营",
            "否",
            None,
            2025,
            12_000_000,
        ]
        for i in range(3)
    ]
    bad = [*good, ["91350100M000100Y44", "坏行有限公司", "清泉街道", None, None, "小型", "民营", "否"]]
    (tmp_path / "bad.xlsx").write_bytes(_xlsx(bad))
    (tmp_path / "good.xlsx").write_bytes(_xlsx(good))
    log_in(page, live_server)
    page.goto(live_server + "/enterprises/import")
    page.set_input_files("input[type=file]", str(tmp_path / "bad.xlsx"))
    page.click("text=上传并导入")
    page.wait_for_selector("#import-errors")
    text = page.inner_text("#import-errors")
    assert "导入被拒绝" in text and "第 5 行" in text and "校验位错误" in text
    with county() as s:
        assert (
            s.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.name.like("导入测试%")))
            == 0
        )
    page.set_input_files("input[type=file]", str(tmp_path / "good.xlsx"))
    page.click("text=上传并导入")
    page.wait_for_selector("#import-ok")
    assert "新登记 3 家企业" in page.inner_text("#import-ok")
    assert page.locator("#upload-progress").get_attribute("value") is not None
    with county() as s:
        assert (
            s.scalar(select(func.count()).select_from(Enterprise).where(Enterprise.name.like("导入测试%")))
            == 3
        )
