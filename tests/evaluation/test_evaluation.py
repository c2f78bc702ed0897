"""The yearly evaluation (冠政发〔2022〕9号 五（四）) and non-award fund spending: the audit fee and 培育行动经费
are ledger entries that never overdraw the fund, and the report's figures equal the live pages' for the same
date — targets, award ledger, funds, pools, problems, visits, registers — on the page, in .xlsx and in the API."""

import io
import threading
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.permissions import SYSTEM
from app.awards import funds as fund_service
from app.awards.funds import FundExhausted
from app.awards.models import Fund, FundEntry
from app.errors import ValidationFailed
from app.evaluation import report, spending
from app.registers import service as registers
from app.support import problems, visits
from tests.conftest import bearer, login

TODAY = date.today()


def _fund(db, budget=100_000):
    return fund_service.create(
        db,
        actor=SYSTEM,
        name="测试统筹资金",
        funder="county",
        period_start=date(2022, 1, 1),
        period_end=date(2026, 12, 31),
        amount_yuan=budget,
        code=f"test.{budget}",
    )


def test_spending_is_a_ledger_entry_and_never_overdraws(db):
    fund = _fund(db)
    e = spending.spend(
        db,
        actor=SYSTEM,
        fund_id=fund.id,
        kind="audit_fee",
        amount_yuan=60_000,
        spent_date=date(2023, 3, 1),
        note="2022 年度培育资金第三方专项审计费用",
    )
    assert (e.kind, e.entry_date) == ("audit_fee", date(2023, 3, 1))
    db.refresh(fund)
    assert fund.drawn_yuan == 60_000
    with pytest.raises(FundExhausted) as exc:  # 40,000 left
        spending.spend(
            db,
            actor=SYSTEM,
            fund_id=fund.id,
            kind="action_cost",
            amount_yuan=40_001,
            spent_date=date(2023, 4, 1),
            note="培育行动经费",
        )
    assert "尚余 40,000 元" in exc.value.detail
    spending.spend(
        db,
        actor=SYSTEM,
        fund_id=fund.id,
        kind="action_cost",
        amount_yuan=40_000,
        spent_date=date(2023, 4, 1),
        note="企业家培训经费",
    )
    db.refresh(fund)
    assert fund.drawn_yuan == fund.budget_yuan
    check = fund_service.ledger_check(db)[fund.id]
    assert check["ledger_net_drawn_yuan"] == check["drawn_yuan"] == 100_000
    with pytest.raises(ValidationFailed) as exc:
        spending.spend(
            db,
            actor=SYSTEM,
            fund_id=fund.id,
            kind="award",
            amount_yuan=0,
            spent_date=TODAY + timedelta(days=1),
            note="",
        )
    assert {x.field for x in exc.value.errors} == {"kind", "amount_yuan", "note", "spent_date"}
    assert (
        spending.spending(db, start=date(2023, 1, 1), end=date(2023, 12, 31))[fund.id].total_yuan == 100_000
    )


def test_concurrent_spending_never_overdraws(committed):
    with committed() as s:
        fund_id = _fund(s, budget=100_000).id
        s.commit()
    results: list[str] = []

    def one():
        with committed() as s:
            try:
                spending.spend(
                    s,
                    actor=SYSTEM,
                    fund_id=fund_id,
                    kind="audit_fee",
                    amount_yuan=30_000,
                    spent_date=date(2024, 2, 1),
                    note="审计费用",
                )
                s.commit()
                results.append("ok")
            except FundExhausted:
                s.rollback()
                results.append("exhausted")

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["exhausted"] * 3 + ["ok"] * 3
    with committed() as s:
        assert s.get(Fund, fund_id).drawn_yuan == 90_000
        assert (
            len(
                s.scalars(
                    select(FundEntry).where(FundEntry.fund_id == fund_id, FundEntry.kind == "audit_fee")
                ).all()
            )
            == 3
        )


def test_spending_through_the_api_and_the_page(db, make, client):
    fund = _fund(db, budget=50_000)
    key = make.api_key(scopes=("awards:read", "awards:write"))
    body = {
        "fund_id": fund.id,
        "kind": "audit_fee",
        "amount_yuan": 30_000,
        "spent_date": "2024-03-01",
        "note": "审计",
    }
    r = client.post("/api/v1/evaluation/spending", json=body, headers=bearer(key))
    assert r.status_code == 201 and r.json()["fund_remaining_yuan"] == 20_000
    r = client.post("/api/v1/evaluation/spending", json=body, headers=bearer(key))
    assert r.status_code == 409 and r.json()["code"] == "fund_exhausted"
    token = login(client, make.user())
    r = client.post(
        "/evaluation/spending",
        data={
            "csrf_token": token,
            "fund_id": fund.id,
            "kind": "action_cost",
            "amount_wan": "1.5",
            "spent_date": "2024-05-01",
            "note": "数字专员培训经费",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/evaluation/spending").text
    assert "数字专员培训经费" in page and "培育行动经费" in page
    db.refresh(fund)
    assert fund.drawn_yuan == 45_000


def _data(db, make):
    """A little of everything in 2023 and this year."""
    q = make.enterprise(
        township="qingquan", honours=[{"code": "high_tech", "level": "national", "honour_date": "2023-05-01"}]
    )
    k = make.enterprise(township="kaifaqu")
    for ent, kind, when in [
        (q, "digital_officer", "2023-05-06"),
        (k, "modern_manager", "2023-06-01"),
        (q, "digital_officer", TODAY.isoformat()),
    ]:
        registers.create(
            db,
            actor=SYSTEM,
            register="training",
            values={
                "uscc": ent.uscc,
                "course_kind": kind,
                "course_name": "课程",
                "participant": "学员",
                "training_date": when,
            },
        )
    registers.create(
        db,
        actor=SYSTEM,
        register="assessments",
        values={"uscc": q.uscc, "assessment_date": "2023-07-01", "level": 2},
    )
    o = visits.create_officer(
        db, actor=SYSTEM, name="张伟", department="县工业和信息化局", phone="13906351101"
    )
    visits.assign_officer(db, actor=SYSTEM, enterprise_id=q.id, officer_id=o.id, start_date=date(2023, 1, 1))
    v = visits.record_visit(
        db,
        actor=SYSTEM,
        enterprise_id=q.id,
        visit_date=TODAY - timedelta(days=5),
        visitors="张伟",
        findings="正常",
    )
    problems.create(
        db,
        actor=SYSTEM,
        enterprise_id=q.id,
        category="labour",
        title="招工",
        description="缺焊工",
        raised_by="厂长",
        raised_date=TODAY - timedelta(days=40),
        visit_id=v.id,
    )
    p = problems.create(
        db,
        actor=SYSTEM,
        enterprise_id=k.id,
        category="energy",
        title="用电",
        description="增容",
        raised_by="厂长",
        raised_date=TODAY - timedelta(days=3),
        unit_kind="department",
        unit="国网冠县供电公司",
    )
    problems.transition(db, actor=SYSTEM, problem_id=p.id, action="resolve", note="已增容")
    spending.spend(
        db,
        actor=SYSTEM,
        fund_id=_fund(db, budget=200_000).id,
        kind="audit_fee",
        amount_yuan=25_000,
        spent_date=TODAY,
        note="审计费用",
    )
    return q, k


def test_the_report_equals_the_live_pages(db, make, client, reference):  # noqa: F811
    _data(db, make)
    key = make.api_key(
        scopes=(
            "targets:read",
            "awards:read",
            "support:read",
            "registers:read",
            "pools:read",
            "evaluation:read",
        )
    )
    h = bearer(key)
    # 2023: the 2023 table and the 2022–2024 goals, as of 2023-12-31
    rep = client.get("/api/v1/evaluation/years/2023", headers=h).json()
    assert rep["as_of"] == "2023-12-31"
    for set_key in ("2023", "2022-2024"):
        live = client.get(
            f"/api/v1/targets/{set_key}/progress", params={"as_of": "2023-12-31"}, headers=h
        ).json()
        mine = {t["code"]: t for t in rep["targets"] if t["set"] == set_key}
        assert mine and {r["code"]: r["county"]["actual"] for r in live["rows"]} == {
            c: t["actual"] for c, t in mine.items()
        }
        assert {r["code"]: r["townships"]["qingquan"]["actual"] for r in live["rows"]} == {
            c: t["townships"]["qingquan"]["actual"] for c, t in mine.items()
        }
    assert {t["code"]: t["actual"] for t in rep["targets"]}["digital_assessment"] == 1
    # 2023 has ended: the ledger as it stood on 2023-12-31 (lines computed today did not exist then)
    assert (
        rep["award_totals"]
        == client.get("/api/v1/awards/ledger", params={"year": 2023, "as_of": "2023-12-31"}, headers=h).json()
    )
    assert rep["registers"] == {
        k: v
        for k, v in client.get(
            "/api/v1/registers/totals", headers=h, params={"start": "2023-01-01", "end": "2023-12-31"}
        )
        .json()
        .items()
        if k not in ("start", "end")
    }
    # this year, as of today: problems, visits, registers, pools and funds as the pages show them now
    now = client.get(f"/api/v1/evaluation/years/{TODAY.year}", headers=h).json()
    assert now["as_of"] == TODAY.isoformat()
    stats = client.get(
        "/api/v1/support/problems/stats",
        headers=h,
        params={"by": "all", "start": f"{TODAY.year}-01-01", "end": f"{TODAY.year}-12-31"},
    ).json()[0]
    assert now["problems"] == {
        "total": stats["total"],
        "open": stats["open"],
        "overdue": stats["overdue"],
        "resolved": stats["resolved"],
        "closed": stats["closed"],
        "returned": stats["returned"],
        "overdue_rate_pct": stats["overdue_rate_pct"],
        "mean_days_to_resolve": stats["mean_days_to_resolve"],
    }
    assert (now["problems"]["total"], now["problems"]["overdue"], now["problems"]["resolved"]) == (2, 1, 1)
    assert now["registers"]["digital_officers"] == 1 and now["visits"]["visits"] == 1
    for p in now["pools"]:
        assert (
            p["members_at_end"] == client.get(f"/api/v1/pools/{p['code']}", headers=h).json()["member_count"]
        )
    balances = {b.fund.id: b for b in fund_service.balances(db)}  # the /awards/funds page
    assert {f["fund_id"]: f["remaining_yuan"] for f in now["funds"]} == {
        i: b.remaining_yuan for i, b in balances.items()
    }
    assert sum(f["audit_fee_yuan"] for f in now["funds"]) == 25_000
    # the printable page and the .xlsx carry the same figures
    login(client, make.user())
    page = client.get("/evaluation", params={"year": TODAY.year}).text
    assert f"收集企业诉求 {stats['total']} 件" in page and f"其中超期 {stats['overdue']} 件" in page
    assert "13906351101" in page
    public = client.get("/evaluation", params={"year": TODAY.year, "public": "true"}).text
    assert "13906351101" not in public and "张伟" not in public and "公开版" in public
    wb = load_workbook(io.BytesIO(client.get("/evaluation/report.xlsx", params={"year": 2023}).content))
    sheet = wb["目标2023"]
    row5 = next(
        r for r in sheet.iter_rows(min_row=4, values_only=True) if r[1] == "中小企业数字化水平测评数量"
    )
    assert (row5[3], row5[4]) == (1, 120)
    pub = load_workbook(
        io.BytesIO(
            client.get("/evaluation/report.xlsx", params={"year": TODAY.year, "public": "true"}).content
        )
    )
    assert "服务专员" not in pub.sheetnames
    plan = client.get("/api/v1/evaluation/plan", headers=h).json()
    assert (plan["start"], plan["end"], plan["as_of"]) == ("2022-01-01", "2024-12-31", "2024-12-31")
    assert plan["registers"]["digital_officers"] == 1  # the 2026 training is outside the plan


def test_township_staff_get_their_township(db, make, client, reference):  # noqa: F811
    _data(db, make)
    staff = make.user("township_staff", "kaifaqu")
    rep = report.build(
        db,
        actor=__import__("app.accounts.permissions", fromlist=["x"]).user_principal(staff),
        year=TODAY.year,
    )
    assert rep.problem_total.total == 1 and rep.funds == [] and rep.visit_counts.visits == 0
    login(client, staff)
    assert client.get("/evaluation").status_code == 200
