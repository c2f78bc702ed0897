"""Each role's main tasks end to end in a real browser, asserting what the person sees — including that no
code is shown as main text.

- county admin: find a firm, record an honour, approve and pay the award it brings (the ledger totals follow),
  export a filtered list and compare the file with the list;
- township staff: file a month with one implausible figure and confirm it; import with the template's example
  row left in;
- county viewer: sees no write control.
"""

import io
import random
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.permissions import SYSTEM
from app.awards import funds
from app.demo import seed
from app.enterprises import service
from app.enterprises.models import Enterprise
from app.enterprises.schemas import EnterpriseCreate
from app.enterprises.uscc import generate
from app.reports import service as filings
from app.reports.models import MonthlyFiling
from app.reports.schemas import FilingIn
from tests.conftest import PASSWORD
from tests.test_words_not_codes import _codes, main_text, shown_codes

pytestmark = pytest.mark.browser

FIRM = "冠县恒通精工轴承有限公司"
MONTH = "2026-10"  # the last closed month on 2026-11-30


@pytest.fixture
def county(committed):
    with committed() as s:
        accounts.create_user(s, username="gxj", password=PASSWORD, role="county_admin")
        accounts.create_user(s, username="ck", password=PASSWORD, role="county_viewer")
        accounts.create_user(s, username="qq", password=PASSWORD, role="township_staff", township="qingquan")
        seed.load(s, 150, seed=5)
        funds.ensure_policy_funds(s, SYSTEM)
        ent = service.create(
            s,
            actor=SYSTEM,
            data=EnterpriseCreate(
                uscc="91350100M000100Y43",
                name=FIRM,
                township="qingquan",
                size="small",
                figures=[{"year": 2025, "revenue_yuan": 36_000_000}],
            ),
        )
        for m in ("2026-07", "2026-08", "2026-09"):
            p = filings.parse_month(m)
            filings.submit(
                s,
                actor=SYSTEM,
                enterprise_id=ent.id,
                period=p,
                today=filings.deadline(s, p),
                data=FilingIn(rd_spend_yuan=100_000, output_value_yuan=3_000_000),
            )
        s.commit()
    return committed


def log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def no_codes(page):
    found = shown_codes(main_text(page.content()), _codes())
    assert not found, f"{page.url} shows codes as main text: {found}"


def test_county_admin_records_an_honour_approves_pays_and_exports(page, live_server, county):
    page.on("dialog", lambda d: d.accept())  # 批准 and 拨付 ask first
    log_in(page, live_server, "gxj")
    # Find the firm.
    page.goto(live_server + "/enterprises")
    page.fill("input[name=q]", "恒通精工")
    page.wait_for_function("document.querySelectorAll('#enterprise-table tbody tr').length === 1")
    assert page.inner_text("#list-total") == "共 1 家"
    page.click(f"#enterprise-table >> text={FIRM}")
    page.wait_for_selector(f"h1:has-text('{FIRM}')")
    no_codes(page)
    # Record an honour: the open tab is highlighted, the award it brings is proposed.
    page.click("nav.tabs >> text=认定")
    page.wait_for_selector("nav.tabs a.active:has-text('认定')")
    page.select_option("select[name=code]", label="专精特新中小企业")
    page.select_option("select[name=level]", label="省级")
    page.select_option("select[name=outcome]", label="新认定")
    page.fill("input[name=honour_date]", "2023-05-10")
    page.click("form[hx-post$='/honours'] button[type=submit]")
    page.wait_for_selector("text=已记录")
    page.click("nav.tabs >> text=变更历史")
    page.wait_for_selector("#history")
    history = page.inner_text("#history")
    assert "认定：— → 专精特新中小企业" in history and "级别：— → 省级" in history
    no_codes(page)
    # Approve and pay it from the queue; the ledger totals follow each decision without a reload.
    page.goto(live_server + "/awards?q=" + FIRM)
    row = page.locator("#award-queue tbody tr").first
    approved_before = int(page.inner_text("#total-approved-count"))
    row.locator("input[name=comment]").fill("材料齐全，同意")
    row.locator("button:has-text('批准')").click()
    page.wait_for_selector("#award-queue tbody tr >> text=已批准")
    page.wait_for_function(
        f"document.getElementById('total-approved-count').innerText === '{approved_before + 1}'"
    )
    row = page.locator("#award-queue tbody tr:has-text('已批准')").first
    row.locator("input[name=paid_date]").fill(
        date.today().isoformat()
    )  # not before the approval, not after today
    row.locator("input[name=voucher_no]").fill("GX-2023-0701")
    row.locator("button:has-text('登记拨付')").click()
    page.wait_for_selector("#award-queue tbody tr >> text=已拨付")
    page.wait_for_function(
        f"document.getElementById('total-approved-count').innerText === '{approved_before}'"
    )
    no_codes(page)
    # The line's record speaks words: who decided, the state, the rule by its name.
    page.click("#award-queue tbody tr >> a[href^='/awards/lines/']")
    page.wait_for_selector("text=处理记录")
    assert "状态：待审核 → 已批准" in page.inner_text("main")
    no_codes(page)
    # Export a filtered list: two filters set on the page (htmx), then the file holds exactly the rows shown.
    page.goto(live_server + "/enterprises")
    page.select_option("select[name=township]", "qingquan")
    page.wait_for_function("location.search.includes('township=qingquan')")
    page.select_option("select[name=above_scale]", "false")
    page.wait_for_function("location.search.includes('above_scale=false')")
    page.wait_for_function(
        "[...document.querySelectorAll('#enterprise-table tbody tr td:nth-child(5)')].every(td => td.innerText === '规下')"
    )
    shown = page.locator("#enterprise-table tbody tr td:nth-child(2)").all_inner_texts()
    total = int(page.inner_text("#list-total strong").replace(",", ""))
    assert shown and total <= 50  # one page: every row is on the screen
    with page.expect_download() as dl:
        page.click("#export-link")
    ws = load_workbook(io.BytesIO(dl.value.path().read_bytes())).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))[1:]
    assert [r[0] for r in rows] == shown
    assert {r[2] for r in rows} == {"清泉街道"} and {r[6] for r in rows} == {"否"}


def test_township_staff_file_an_implausible_month_and_import(page, live_server, county):
    log_in(page, live_server, "qq")
    with county() as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.name == FIRM))
    # File the month: digits are grouped as typed, units sit beside the inputs.
    page.goto(f"{live_server}/filings/{MONTH}/grid?status=missing")
    assert "未填报" in page.inner_text("nav.status-tabs a.active")
    row = page.locator(f"#row-{ent.id}")
    assert row.locator(".unit").first.inner_text() == "元"
    rd = row.locator("input[name=rd_spend_yuan]")
    rd.press_sequentially("5000000")
    assert rd.input_value() == "5,000,000"
    row.locator("input[name=output_value_yuan]").press_sequentially("3000000")
    row.locator("button:has-text('保存')").last.click()
    # The implausible figure is named beside the field; nothing is saved until it is confirmed with a note.
    page.wait_for_selector(f"#row-{ent.id} .field-warn")
    assert "研发投入 5,000,000 元 高于当月工业产值 3,000,000 元" in page.inner_text(f"#row-{ent.id}")
    with county() as s:
        assert (
            s.scalar(
                select(MonthlyFiling.id).where(
                    MonthlyFiling.enterprise_id == ent.id, MonthlyFiling.period == filings.parse_month(MONTH)
                )
            )
            is None
        )
    page.fill(f"#row-{ent.id} input[name=confirm_note]", "已电话核实：本月集中采购研发设备")
    page.click(f"#row-{ent.id} button:has-text('确认无误并保存')")
    page.wait_for_selector(f"#row-{ent.id} >> text=异常已核实")
    with county() as s:
        f = s.scalar(
            select(MonthlyFiling).where(
                MonthlyFiling.enterprise_id == ent.id, MonthlyFiling.period == filings.parse_month(MONTH)
            )
        )
        assert f.rd_spend_yuan == 5_000_000 and f.checks and f.checks_note.startswith("已电话核实")
    no_codes(page)
    # Import with the template's example left in: the example is refused by its row, nothing is written.
    page.goto(live_server + "/enterprises/import")
    with page.expect_download() as dl:
        page.click("text=下载导入模板")
    wb = load_workbook(io.BytesIO(dl.value.path().read_bytes()))
    example = [c.value for c in wb["示例（不导入）"][2]]
    data = wb["企业"]
    for col, v in enumerate(example, start=1):
        data.cell(row=2, column=col, value=v)
    real = [
        generate(random.Random(99)),
        "冠县清泉新材料有限公司",
        "清泉街道",
        None,
        None,
        "小型",
        "民营",
        "否",
    ]
    for col, v in enumerate(real, start=1):
        data.cell(row=3, column=col, value=v)
    buf = io.BytesIO()
    wb.save(buf)
    page.set_input_files(
        "input[name=file]",
        {"name": "企业.xlsx", "mimeType": "application/octet-stream", "buffer": buf.getvalue()},
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-errors")
    errors = page.inner_text("#import-errors")
    assert "第 2 行是模板中的示例企业" in errors and "未写入任何数据" in errors
    with county() as s:
        assert s.scalar(select(Enterprise.id).where(Enterprise.name == "冠县清泉新材料有限公司")) is None
    # Without the example, the same file imports.
    data.delete_rows(2)
    buf = io.BytesIO()
    wb.save(buf)
    page.set_input_files(
        "input[name=file]",
        {"name": "企业.xlsx", "mimeType": "application/octet-stream", "buffer": buf.getvalue()},
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-ok")
    assert "新登记 1 家企业" in page.inner_text("#import-ok")


def test_county_viewer_sees_no_write_control(page, live_server, county):
    log_in(page, live_server, "ck")
    with county() as s:
        ent_id = s.scalar(select(Enterprise.id).where(Enterprise.name == FIRM))
    for path in (
        "/enterprises",
        f"/enterprises/{ent_id}",
        f"/enterprises/{ent_id}?tab=honours",
        "/pools",
        "/pools/primary_pool?tab=candidates",
        "/awards?status=",
        "/awards/funds",
        f"/filings/{MONTH}/grid?township=qingquan",
        "/filings",
        "/targets",
    ):
        page.goto(live_server + path)
        main = page.locator("main")
        for label in (
            "登记企业",
            "Excel 导入",
            "编辑",
            "批准",
            "驳回",
            "登记拨付",
            "出库",
            "入库",
            "保存",
            "记录",
            "确认核实",
            "设立资金",
        ):
            assert main.locator(f"button:text-is('{label}'), a.btn:text-is('{label}')").count() == 0, (
                path,
                label,
            )
        assert main.locator("form[hx-post], form[method=post]").count() == 0, path
        no_codes(page)
    # Asked for anyway, a write page refuses in words.
    page.goto(live_server + "/enterprises/new")
    assert "没有“登记和修改企业”的权限" in page.inner_text("main")
    no_codes(page)
