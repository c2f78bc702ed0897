"""A past year's evaluation (冠政发〔2022〕9号 五（四） 年度工作成效评估) reads each figure as it stood at the end of that
year, not as it stands today: a problem resolved in January was open on 31 December, an award approved the next year
was still proposed, a fund's ledger counts only what was entered by then (the yearly 五（二） fund: that year's 500 万),
a plan task done later was not done, an officer had the firms assigned on that day."""

from datetime import UTC, date, datetime

from sqlalchemy import update

from app.accounts.permissions import SYSTEM
from app.awards import workflow
from app.awards.models import AwardLine, FundEntry
from app.evaluation import report
from app.support import problems, visits
from app.support.models import ServiceProblem
from tests.awards.conftest import honour, lines_of
from tests.conftest import bearer, login

END_2023 = date(2023, 12, 31)


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 4, tzinfo=UTC)  # noon in the county


def _problem(db, ent, raised, category="labour"):
    return problems.create(
        db,
        actor=SYSTEM,
        enterprise_id=ent.id,
        category=category,
        title=f"{raised} 反映",
        description="缺工",
        raised_by="厂长",
        raised_date=raised,
        unit_kind="township",
        unit=ent.township,
    )  # assigned (交办) the day it was raised


def test_a_past_year_reads_as_it_stood_on_31_december(db, make, client):
    q = make.enterprise(township="qingquan", honours=[honour("high_tech", "national", "2023-05-01")])
    k = make.enterprise(township="kaifaqu")
    # 服务直通车: raised 2023-11-01 (用工, 15 days: due 11-16), resolved 2024-01-10 — open and overdue at the year's end
    late = _problem(db, q, date(2023, 11, 1))
    problems.transition(
        db, actor=SYSTEM, problem_id=late.id, action="resolve", note="已招到焊工", step_date=date(2024, 1, 10)
    )
    # raised 2023-12-01, resolved 2023-12-20, closed (销号) 2024-01-05 — resolved, not yet closed, at the year's end
    done = _problem(db, k, date(2023, 12, 1))
    problems.transition(
        db, actor=SYSTEM, problem_id=done.id, action="resolve", note="已协调", step_date=date(2023, 12, 20)
    )
    problems.transition(db, actor=SYSTEM, problem_id=done.id, action="close", step_date=date(2024, 1, 5))
    # awards for the 2023 high-tech recognition (冠政办发〔2023〕7号 二（一）2: 县级 10 万, 市级 10 万), computed 2023-05-10:
    # the county line approved 2023-11-01 and paid 2023-12-15; the city line approved 2024-02-01
    lines = {x.rule_id: x for x in lines_of(db, q.id)}
    county, city = lines["gzb2023-7.county.high_tech"], lines["gzb2023-7.city.high_tech.recognised"]
    for line in (county, city):
        workflow.approve(db, actor=SYSTEM, line_id=line.id, comment="同意", amount_yuan=100_000)
    db.execute(
        update(AwardLine).where(AwardLine.enterprise_id == q.id).values(created_at=_at(date(2023, 5, 10)))
    )
    db.execute(update(AwardLine).where(AwardLine.id == county.id).values(decided_at=_at(date(2023, 11, 1))))
    db.execute(update(AwardLine).where(AwardLine.id == city.id).values(decided_at=_at(date(2024, 2, 1))))
    db.execute(
        update(FundEntry)
        .where(FundEntry.award_line_id == county.id)
        .values(created_at=_at(date(2023, 11, 1)))
    )
    db.expire_all()
    workflow.pay(db, actor=SYSTEM, line_id=county.id, paid_date=date(2023, 12, 15), voucher_no="2023-118")
    # 一企一策: a task due 2023-12-01, done 2024-01-20 — overdue at the year's end
    plan = visits.create_plan(
        db,
        actor=SYSTEM,
        enterprise_id=q.id,
        title="提升方案",
        plan_date=date(2023, 10, 1),
        tasks=[("完成能耗诊断", date(2023, 12, 1))],
    )
    task = visits._with_tasks(db, [plan])[0].tasks[0]
    visits.complete_task(db, actor=SYSTEM, task_id=task.id, done_date=date(2024, 1, 20))
    # 服务专员: 张伟 looked after q through 2023, 李娜 from 2024
    zhang = visits.create_officer(db, actor=SYSTEM, name="张伟", department="县工业和信息化局", phone=None)
    li = visits.create_officer(db, actor=SYSTEM, name="李娜", department="县商务局", phone=None)
    visits.assign_officer(
        db, actor=SYSTEM, enterprise_id=q.id, officer_id=zhang.id, start_date=date(2023, 3, 1)
    )
    visits.assign_officer(db, actor=SYSTEM, enterprise_id=q.id, officer_id=li.id, start_date=date(2024, 1, 1))
    db.flush()

    rep = report.build(db, actor=SYSTEM, scope="year", year=2023)
    assert rep.as_of == END_2023
    p = rep.problem_total
    assert (p.total, p.open, p.overdue, p.resolved, p.closed) == (2, 1, 1, 1, 0)
    now = problems.stats(db, actor=SYSTEM, by="all", start=date(2023, 1, 1), end=END_2023)[0]
    assert (now.open, now.resolved, now.closed) == (0, 2, 1)  # today both are resolved, one closed
    t = rep.award_totals
    assert (t["paid_count"], t["paid_yuan"], t["approved_count"]) == (1, 100_000, 0)
    assert (
        t["proposed_count"] >= 1 and city.computed_yuan <= t["proposed_yuan"]
    )  # the city line was still proposed
    by_funder = {a.key: a for a in rep.awards_by["funder"]}
    assert (
        by_funder["county"].paid_count,
        by_funder["city"].approved_count,
        by_funder["city"].proposed_count,
    ) == (1, 0, 1)
    fund = next(f for f in rep.funds if f.fund.code == "gzb2023-7.fund.county")
    assert (fund.budget_yuan, fund.drawn_yuan, fund.paid_awards_yuan, fund.remaining_yuan) == (
        10_000_000,
        100_000,
        100_000,
        9_900_000,
    )
    yearly = next(f for f in rep.funds if f.fund.code == "gz2022-9.fund.county")
    assert yearly.label.endswith("（2023 年额度）") and yearly.budget_yuan == 5_000_000
    assert (rep.visit_counts.plans, rep.visit_counts.tasks_done, rep.visit_counts.tasks_overdue) == (1, 0, 1)
    board = {o.officer.name: o.firms for o in rep.officers}
    assert board == {"张伟": 1, "李娜": 0}

    # the live pages for the same date show the same figures
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
    live = client.get(
        "/api/v1/support/problems/stats",
        headers=bearer(key),
        params={"by": "all", "start": "2023-01-01", "end": "2023-12-31", "as_of": "2023-12-31"},
    ).json()[0]
    api = client.get("/api/v1/evaluation/years/2023", headers=bearer(key)).json()
    assert api["problems"]["open"] == live["open"] == 1 and api["problems"]["overdue"] == live["overdue"] == 1
    assert (
        api["award_totals"]
        == client.get(
            "/api/v1/awards/ledger", headers=bearer(key), params={"year": 2023, "as_of": "2023-12-31"}
        ).json()
    )
    assert api["award_totals"]["paid_yuan"] == 100_000
    future = client.get("/api/v1/support/problems/stats", headers=bearer(key), params={"as_of": "2999-01-01"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "as_of"
    login(client, make.user())
    page = client.get("/evaluation", params={"year": 2023}).text
    assert "按 2023-12-31 当日结束时的状态统计" in page and "（2023 年额度）" in page
    # the current year still reads the live state
    assert report.build(db, actor=SYSTEM, scope="year", year=date.today().year).as_of == date.today()
    assert db.get(ServiceProblem, late.id).status == "resolved"
