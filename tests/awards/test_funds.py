"""Funds: seeded from the policy files, topped up on the record, and never overdrawn — even 100 approvals at once."""

import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import IntegrityError

from app.accounts import service as accounts
from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.awards import funds as fund_service
from app.awards import proposals, workflow
from app.awards.models import AwardLine, Fund, FundEntry
from app.cli import run_migrations
from tests.conftest import bearer


def test_the_migration_creates_the_funds_the_policy_files_name(tmp_path):
    """冠政发〔2022〕9号 五（二） county 500万 each year of 2022–2024 (a yearly envelope: three years, 1500万 in all);
    冠政办发〔2023〕7号 三（二） county 1000万 for 2023."""
    url = f"sqlite:///{tmp_path / 'f.db'}"
    run_migrations(url)
    eng = create_engine(url)
    with eng.connect() as c:
        funds = c.execute(
            text(
                "select code, funder, budget_yuan, drawn_yuan, period_start, period_end from fund "
                "order by code"
            )
        ).all()
        entries = c.execute(text("select kind, amount_yuan, year from fund_entry order by id")).all()
        years = c.execute(text("select year, budget_yuan, drawn_yuan from fund_year order by year")).all()
    eng.dispose()
    assert [tuple(map(str, f)) for f in funds] == [
        ("gz2022-9.fund.county", "county", "15000000", "0", "2022-04-09", "2024-12-31"),
        ("gzb2023-7.fund.county", "county", "10000000", "0", "2023-01-01", "2023-12-31"),
    ]
    assert entries == [
        ("allocation", 5_000_000, 2022),
        ("allocation", 10_000_000, None),
        ("adjustment", 5_000_000, 2023),
        ("adjustment", 5_000_000, 2024),
    ]
    assert years == [(2022, 5_000_000, 0), (2023, 5_000_000, 0), (2024, 5_000_000, 0)]


def test_funds_api_shows_budget_drawn_remaining_and_what_proposed_lines_would_take(client, make, funds):
    key = make.api_key(scopes=("awards:read",))
    make.enterprise(honours=[{"code": "gazelle", "level": "provincial", "honour_date": "2022-09-01"}])
    rows = {f["code"]: f for f in client.get("/api/v1/awards/funds", headers=bearer(key)).json()}
    g = rows["gz2022-9.fund.county"]
    assert (g["budget_yuan"], g["drawn_yuan"], g["remaining_yuan"], g["yearly"]) == (
        15_000_000,
        0,
        15_000_000,
        True,
    )
    assert [(y["year"], y["budget_yuan"], y["remaining_yuan"]) for y in g["years"]] == [
        (2022, 5_000_000, 5_000_000),
        (2023, 5_000_000, 5_000_000),
        (2024, 5_000_000, 5_000_000),
    ]
    assert g["proposed_yuan"] == 200_000  # 冠政发〔2022〕9号 四（十） 瞪羚 最高 20 万


def test_a_top_up_is_a_ledger_record_and_audited(client, admin_key, db, funds):
    fund = funds["gzb2023-7.fund.county"]
    r = client.post(
        f"/api/v1/awards/funds/{fund.id}/top-ups",
        headers=bearer(admin_key),
        json={"amount_yuan": 2_000_000, "note": "县政府常务会议纪要〔2023〕12号 追加"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "top_up"
    db.refresh(fund)
    assert fund.budget_yuan == 12_000_000
    a = db.scalar(select(AuditEntry).where(AuditEntry.entity_type == "fund", AuditEntry.action == "top_up"))
    assert a.changes == {"budget_yuan": [10_000_000, 12_000_000]}
    entries = client.get(f"/api/v1/awards/funds/{fund.id}/entries", headers=bearer(admin_key)).json()
    assert [e["kind"] for e in entries][:2] == ["top_up", "allocation"]


def test_bad_fund_input_is_422_naming_the_field(client, admin_key, funds):
    fund = funds["gzb2023-7.fund.county"]
    r = client.post(
        f"/api/v1/awards/funds/{fund.id}/top-ups",
        headers=bearer(admin_key),
        json={"amount_yuan": 0, "note": "x"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount_yuan"
    r = client.post(
        f"/api/v1/awards/funds/{fund.id}/top-ups", headers=bearer(admin_key), json={"amount_yuan": 5}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = client.patch(
        f"/api/v1/awards/funds/{fund.id}",
        headers=bearer(admin_key),
        json={"period_start": "2024-01-01", "period_end": "2023-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period_end"
    r = client.post(
        "/api/v1/awards/funds",
        headers=bearer(admin_key),
        json={
            "name": "某资金",
            "funder": "county",
            "document_code": "nope",
            "period_start": "2023-01-01",
            "period_end": "2023-12-31",
            "amount_yuan": 1,
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "document_code"


def test_only_county_admins_manage_funds(client, make, funds):
    key = make.api_key(scopes=("awards:read",))
    fund = funds["gzb2023-7.fund.county"]
    r = client.post(
        f"/api/v1/awards/funds/{fund.id}/top-ups", headers=bearer(key), json={"amount_yuan": 10, "note": "x"}
    )
    assert r.status_code == 403


def test_the_database_itself_refuses_an_overdraft(db, funds):
    fund = funds["gzb2023-7.fund.county"]
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(update(Fund).where(Fund.id == fund.id).values(drawn_yuan=Fund.budget_yuan + 1))


# --- concurrency on PostgreSQL with real commits -------------------------------------------

N, FITS, AWARD = 100, 37, 50_000  # 冠政办发〔2023〕7号 二（一）1: 首次升规 一次性奖励 5 万元


def _proposed_lines(committed) -> tuple[int, list[int]]:
    """100 enterprises, each with a proposed 首次升规 line, and a county fund holding exactly 37 of them."""
    with committed() as s:
        fund = fund_service.create(
            s,
            actor=SYSTEM,
            name="并发测试资金",
            funder="county",
            document_code="gzb2023-7",
            period_start=date(2023, 1, 1),
            period_end=date(2023, 12, 31),
            amount_yuan=FITS * AWARD,
        )
        from tests.conftest import Factory

        make = Factory(s)
        ids = []
        for i in range(N):
            ent = make.enterprise(name=f"并发升规企业{i:03d}有限公司")
            rec = proposals.record_event(
                s,
                actor=SYSTEM,
                enterprise_id=ent.id,
                event={"type": "first_above_scale", "date": "2023-06-01"},
            )
            assert [line.computed_yuan for line in rec.lines] == [AWARD]
            ids.append(rec.lines[0].id)
        s.commit()
        return fund.id, ids


def _race(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _assert_exactly_37(committed, fund_id):
    with committed() as s:
        fund = s.get(Fund, fund_id)
        approved = s.scalar(select(func.count()).select_from(AwardLine).where(AwardLine.status == "approved"))
        drawn = s.scalar(select(func.sum(AwardLine.amount_yuan)).where(AwardLine.fund_id == fund_id))
        draws = s.scalar(select(func.count()).select_from(FundEntry).where(FundEntry.kind == "draw"))
        assert approved == FITS and draws == FITS
        assert fund.drawn_yuan == drawn == fund.budget_yuan == FITS * AWARD


def test_100_concurrent_approvals_through_the_service_never_overdraw(committed):
    fund_id, line_ids = _proposed_lines(committed)

    def approve(i):
        with committed() as s:
            try:
                workflow.approve(s, actor=SYSTEM, line_id=line_ids[i], comment="同意", fund_id=fund_id)
                s.commit()
                return "approved"
            except fund_service.FundExhausted as e:
                s.rollback()
                return e.code

    results = _race(N, approve)
    assert sorted(results, key=str).count("approved") == FITS, results
    assert results.count("fund_exhausted") == N - FITS
    _assert_exactly_37(committed, fund_id)


def test_100_concurrent_approvals_over_http_never_overdraw(app, committed):
    fund_id, line_ids = _proposed_lines(committed)
    with committed() as s:
        key, _ = accounts.create_api_key(s, name="approver", scopes=["awards:read", "awards:approve"])
        s.commit()
    with TestClient(app) as client:
        responses = _race(
            N,
            lambda i: client.post(
                f"/api/v1/awards/lines/{line_ids[i]}/approve",
                headers=bearer(key),
                json={"comment": "同意", "fund_id": fund_id},
            ),
        )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == FITS, [r.text for r in responses if r.status_code not in (200, 409)][:3]
    refused = [r for r in responses if r.status_code == 409]
    assert len(refused) == N - FITS
    assert all(r.json()["code"] == "fund_exhausted" and "余额不足" in r.json()["detail"] for r in refused)
    _assert_exactly_37(committed, fund_id)


def test_a_tech_upgrade_line_approved_with_a_split_draws_each_fund_its_share(
    client, admin_key, make, db, funds
):
    """冠政办发〔2023〕7号 二（二）4: 技改 按照不超过10%的比例给予支持 — one ceiling for 省、市、县 together. The approver
    enters each funder's share; the county fund draws only the county share."""
    ent = make.enterprise()
    ev = {
        "type": "equipment_purchase",
        "date": "2023-08-01",
        "purpose": "tech_upgrade",
        "amount_yuan": 10_000_000,
    }
    r = client.post(f"/api/v1/enterprises/{ent.id}/events", headers=bearer(admin_key), json={"event": ev})
    assert r.status_code == 201, r.text
    (line,) = r.json()["lines"]
    assert (line["rule_id"], line["computed_yuan"], line["ceiling"]) == (
        "gzb2023-7.county.tech_upgrade",
        1_000_000,
        True,
    )
    assert (
        "条款解读：“落实省、市、县技改奖补政策……不超过10%”是省、市、县三级合计的上限" in line["explanation"]
    )
    url = f"/api/v1/awards/lines/{line['id']}/approve"
    missing = client.post(url, headers=bearer(admin_key), json={"comment": "同意"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "split"
    over = client.post(
        url,
        headers=bearer(admin_key),
        json={"comment": "同意", "split": {"province": 400_000, "city": 400_000, "county": 300_000}},
    )
    assert over.status_code == 422 and "超过" in over.json()["errors"][0]["message"]
    bad = client.post(url, headers=bearer(admin_key), json={"comment": "同意", "split": {"town": 1}})
    assert bad.status_code == 422
    ok = client.post(
        url,
        headers=bearer(admin_key),
        json={
            "comment": "按各级政策核定",
            "split": {"province": 300_000, "city": 300_000, "county": 400_000},
        },
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["amount_yuan"] == 400_000
    assert body["funder_split"] == {"province": 300_000, "city": 300_000, "county": 400_000}
    fund = funds["gzb2023-7.fund.county"]
    db.refresh(fund)
    assert fund.drawn_yuan == 400_000  # the county share only, not the 100 万 ceiling of all three
    assert fund_service.ledger_check(db)[fund.id]["lines_yuan"] == 400_000
    r = client.post(
        f"/api/v1/awards/lines/{line['id']}/reject", headers=bearer(admin_key), json={"reason": "项目未验收"}
    )
    assert r.status_code == 200, r.text
    db.refresh(fund)
    assert fund.drawn_yuan == 0


def test_a_split_is_refused_on_a_line_of_one_funder(client, admin_key, make, funds):
    """冠政发〔2022〕9号 四（十） 瞪羚 县级最高20万元: one funder, so no split."""
    ent = make.enterprise(honours=[{"code": "gazelle", "level": "provincial", "honour_date": "2022-09-01"}])
    line_id = client.get(f"/api/v1/enterprises/{ent.id}/awards", headers=bearer(admin_key)).json()[0]["id"]
    r = client.post(
        f"/api/v1/awards/lines/{line_id}/approve",
        headers=bearer(admin_key),
        json={"comment": "同意", "split": {"county": 100_000}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "split"
