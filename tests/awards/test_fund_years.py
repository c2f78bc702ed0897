"""冠政发〔2022〕9号 五（二）: "每年奖励资金和培育行动经费……在冠政发〔2021〕18号所列支的500万元内统筹解决" — read as a
yearly envelope of 500 万. Each award draws on the year of its event date; the county admin sets or lowers a year's
budget (a ledger entry of kind adjustment, with its reason, audited), never below what that year has drawn."""

from datetime import date

from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.awards import funds as fund_service
from app.awards.models import FundEntry, FundYear
from app.evaluation import spending as spending_service
from tests.awards.conftest import honour, lines_of
from tests.conftest import bearer, login


def _line(db, ent, rule_id):
    return next(x for x in lines_of(db, ent.id) if x.rule_id == rule_id)


def _approve(client, key, line_id, amount):
    return client.post(
        f"/api/v1/awards/lines/{line_id}/approve",
        headers=bearer(key),
        json={"comment": "同意", "amount_yuan": amount},
    )


def _year(db, fund, year):
    return db.scalar(
        select(FundYear)
        .where(FundYear.fund_id == fund.id, FundYear.year == year)
        .execution_options(populate_existing=True)
    )


def test_an_award_draws_on_its_event_year_and_a_year_is_never_lowered_below_its_draws(
    client, admin_key, make, db, funds
):
    """四（十） 瞪羚 最高 20 万 (2022) and 省级专精特新 最高 15 万 (2024), both paid from 五（二）'s yearly 500 万."""
    fund = funds["gz2022-9.fund.county"]
    a = make.enterprise(honours=[honour("gazelle", "provincial", "2022-09-01")])
    b = make.enterprise(honours=[honour("specialized_sme", "provincial", "2024-03-01")])
    assert (
        _approve(
            client, admin_key, _line(db, a, "gz2022-9.county.gazelle.provincial").id, 200_000
        ).status_code
        == 200
    )
    line_b = _line(db, b, "gz2022-9.county.specialized_sme.provincial")
    assert "按每年一个额度理解" in line_b.explanation and "2024 年额度" in line_b.explanation
    assert _approve(client, admin_key, line_b.id, 150_000).status_code == 200
    assert (
        _year(db, fund, 2022).drawn_yuan,
        _year(db, fund, 2023).drawn_yuan,
        _year(db, fund, 2024).drawn_yuan,
    ) == (200_000, 0, 150_000)

    url = f"/api/v1/awards/funds/{fund.id}/budget-adjustments"
    # below what 2022 has drawn: 422 naming budget_yuan, in Chinese, and nothing written
    entries_before = db.scalar(select(func.count()).select_from(FundEntry))
    r = client.post(
        url,
        headers=bearer(admin_key),
        json={"year": 2022, "budget_yuan": 199_999, "reason": "统筹 18号 技改奖补"},
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["field"] == "budget_yuan" and "2022 年额度不能低于已支用的 200,000 元" in err["message"]
    assert db.scalar(select(func.count()).select_from(FundEntry)) == entries_before
    # a reason is required; a yearly fund needs the year
    r = client.post(
        url, headers=bearer(admin_key), json={"year": 2022, "budget_yuan": 300_000, "reason": " "}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post(url, headers=bearer(admin_key), json={"budget_yuan": 300_000, "reason": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "year"
    r = client.post(
        url, headers=bearer(admin_key), json={"year": 2026, "budget_yuan": 300_000, "reason": "x"}
    )
    assert r.status_code == 422 and "没有 2026 年的额度" in r.json()["errors"][0]["message"]

    # 2024 lowered to 200 万 (18号's own 技改 awards took the rest): recorded, audited, the fund's total follows
    r = client.post(
        url,
        headers=bearer(admin_key),
        json={"year": 2024, "budget_yuan": 2_000_000, "reason": "18号 2024 年技改奖补已用 300 万元"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["amount_yuan"], r.json()["year"]) == ("adjustment", -3_000_000, 2024)
    db.refresh(fund)
    assert (fund.budget_yuan, _year(db, fund, 2024).budget_yuan) == (12_000_000, 2_000_000)
    audit = db.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "fund", AuditEntry.action == "adjust_budget")
    )
    assert audit.changes == {
        "year": [None, 2024],
        "year_budget_yuan": [5_000_000, 2_000_000],
        "budget_yuan": [15_000_000, 12_000_000],
    }
    assert "18号 2024 年技改奖补已用 300 万元" in audit.note
    check = fund_service.ledger_check(db)[fund.id]
    assert check["budget_yuan"] == check["ledger_budget_yuan"] == check["years_budget_yuan"] == 12_000_000
    assert check["drawn_yuan"] == check["years_drawn_yuan"] == 350_000

    # lowered to exactly what it has drawn: allowed; then the year is full, another year is not
    r = client.post(
        url, headers=bearer(admin_key), json={"year": 2024, "budget_yuan": 150_000, "reason": "年底清算"}
    )
    assert r.status_code == 201
    c = make.enterprise(honours=[honour("specialized_sme", "provincial", "2024-05-01")])
    full = _approve(client, admin_key, _line(db, c, "gz2022-9.county.specialized_sme.provincial").id, 10_000)
    assert full.status_code == 409 and full.json()["code"] == "fund_exhausted"
    assert "2024 年额度余额不足" in full.json()["detail"]
    d = make.enterprise(honours=[honour("specialized_sme", "provincial", "2022-11-01")])
    assert (
        _approve(
            client, admin_key, _line(db, d, "gz2022-9.county.specialized_sme.provincial").id, 10_000
        ).status_code
        == 200
    )

    # rejecting the 2024 line gives its money back to 2024
    r = client.post(
        f"/api/v1/awards/lines/{line_b.id}/reject", headers=bearer(admin_key), json={"reason": "迁出"}
    )
    assert r.status_code == 200
    assert _year(db, fund, 2024).drawn_yuan == 0


def test_non_award_spending_draws_on_the_year_of_its_date(db, funds):
    """五（四）: the yearly audit fee is paid from the fund — out of the envelope of the year it is dated in; a fee
    paid after the period (the 2024 audit, paid in 2025) comes out of the last year's."""
    fund = funds["gz2022-9.fund.county"]
    fund_service.set_year_budget(
        db, actor=SYSTEM, fund_id=fund.id, year=2023, budget_yuan=30_000, reason="测试"
    )
    spending_service.spend(
        db,
        actor=SYSTEM,
        fund_id=fund.id,
        kind="audit_fee",
        amount_yuan=30_000,
        spent_date=date(2023, 12, 20),
        note="2023 年度第三方专项审计费用",
    )
    assert _year(db, fund, 2023).drawn_yuan == 30_000
    import pytest

    from app.awards.funds import FundExhausted
    from app.errors import ValidationFailed

    with pytest.raises(FundExhausted, match="2023 年额度"), db.begin_nested():
        spending_service.spend(
            db,
            actor=SYSTEM,
            fund_id=fund.id,
            kind="action_cost",
            amount_yuan=1,
            spent_date=date(2023, 12, 21),
            note="培训场地",
        )
    with pytest.raises(ValidationFailed, match="已支用的 30,000 元"), db.begin_nested():
        fund_service.set_year_budget(
            db, actor=SYSTEM, fund_id=fund.id, year=2023, budget_yuan=29_999, reason="x"
        )
    spending_service.spend(
        db,
        actor=SYSTEM,
        fund_id=fund.id,
        kind="audit_fee",
        amount_yuan=40_000,
        spent_date=date(2025, 3, 1),
        note="2024 年度第三方专项审计费用",
    )
    assert _year(db, fund, 2024).drawn_yuan == 40_000


def test_the_funds_page_shows_each_year_and_an_admin_sets_it(client, make, db, funds):
    fund = funds["gz2022-9.fund.county"]
    viewer = make.user(role="county_viewer")
    login(client, viewer)
    page = client.get("/awards/funds")
    assert page.status_code == 200 and "按年额度" in page.text and "每年一个额度" in page.text
    assert f'id="fund-{fund.id}-year-2023"' in page.text and "调整该年额度" not in page.text
    token = login(client, make.user(role="county_admin"))
    bad = client.post(
        f"/awards/funds/{fund.id}/budget",
        data={"csrf_token": token, "year": "2023", "budget_wan": "abc", "reason": "x"},
    )
    assert bad.status_code == 422 and "不是数字" in bad.text
    ok = client.post(
        f"/awards/funds/{fund.id}/budget",
        data={"csrf_token": token, "year": "2023", "budget_wan": "320", "reason": "县政府常务会议纪要"},
        follow_redirects=True,
    )
    assert ok.status_code == 200 and "已调整资金额度" in ok.text
    assert _year(db, fund, 2023).budget_yuan == 3_200_000
    township = make.user(role="township_staff", township="qingquan")
    token = login(client, township)
    r = client.post(
        f"/awards/funds/{fund.id}/budget",
        data={"csrf_token": token, "year": "2023", "budget_wan": "1", "reason": "x"},
    )
    assert r.status_code == 403
