"""Demo 助企服务: 服务专员 and the 46 助企远航 firms, a year of visits and diagnoses, problems in every state
(some overdue today) and 一企一策 plans, all dated relative to today so the dashboards show current figures."""

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.enterprises.models import Enterprise
from app.support import problems, visits
from app.support.models import ServiceOfficer

OFFICERS = [
    ("张伟", "县工业和信息化局", "13906351101"),
    ("刘洋", "县发展和改革局", "13906351102"),
    ("陈静", "县科学技术局", "13906351103"),
    ("杨帆", "县商务局", "13906351104"),
    ("赵磊", "县人力资源和社会保障局", "13906351105"),
    ("孙丽", "县行政审批服务局", "13906351106"),
]
PROBLEMS = [
    ("labour", "熟练工招聘困难", "扩产后缺少熟练挡车工约 30 人"),
    ("energy", "用电负荷不足", "新增设备需增容 630 千伏安"),
    ("project", "新厂房规划许可办理", "二期厂房规划许可材料待审"),
    ("funding", "流动资金周转紧张", "原材料集中采购需短期贷款 500 万元"),
    ("policy", "研发费用加计扣除政策咨询", "不清楚委托研发费用如何归集"),
    ("other", "厂区道路维修", "厂区门前道路破损影响物流车辆通行"),
]
RESOLUTIONS = [
    "已协调相关部门办理完毕",
    "已对接银行完成授信",
    "已组织专场招聘会",
    "已完成增容送电",
    "已上门解读政策",
]


def seed(session: Session, today: date | None = None) -> None:
    today = today or date.today()
    if session.scalar(select(ServiceOfficer.id).limit(1)):
        return
    rnd = random.Random(20231107)
    officers = [
        visits.create_officer(session, actor=SYSTEM, name=n, department=d, phone=p) for n, d, p in OFFICERS
    ]
    firms = list(
        session.scalars(
            select(Enterprise)
            .where(Enterprise.deleted_at.is_(None), Enterprise.above_scale.is_(True))
            .order_by(Enterprise.id)
            .limit(46)
        )
    )
    start = today - timedelta(days=400)
    for i, ent in enumerate(firms):
        visits.list_voyage(
            session, actor=SYSTEM, enterprise_id=ent.id, listed_date=date(2023, 3, 23), today=today
        )
        officer = officers[i % len(officers)]
        visits.assign_officer(
            session, actor=SYSTEM, enterprise_id=ent.id, officer_id=officer.id, start_date=start, today=today
        )
        if i % 9 == 0:  # a reassignment, kept as history
            visits.assign_officer(
                session,
                actor=SYSTEM,
                enterprise_id=ent.id,
                officer_id=officers[(i + 1) % len(officers)].id,
                start_date=today - timedelta(days=120),
                note="派出单位调整",
                today=today,
            )
            officer = officers[(i + 1) % len(officers)]
        n_visits = 0 if i % 7 == 3 else rnd.randint(1, 4)  # some firms nobody visited lately
        for k in range(n_visits):
            when = today - timedelta(days=rnd.randint(5, 330) if i % 5 else rnd.randint(100, 330))
            kind = "diagnosis" if k == 0 and i % 4 == 0 else "visit"
            v = visits.record_visit(
                session,
                actor=SYSTEM,
                enterprise_id=ent.id,
                visit_date=when,
                officer_id=officer.id,
                visitors=f"{officer.name}（{officer.department}）"
                + ("、省企业诊断专家组" if kind == "diagnosis" else ""),
                findings="生产经营正常，了解用工、用能和项目进展"
                if kind == "visit"
                else "现场管理、精益生产和数字化水平诊断",
                kind=kind,
                today=today,
            )
            if kind == "diagnosis":
                tasks = [
                    ("推行 6S 现场管理", v.visit_date + timedelta(days=60)),
                    ("建设 ERP 与生产执行系统", v.visit_date + timedelta(days=180)),
                    ("申报市级数字化车间", v.visit_date + timedelta(days=300)),
                ]
                plan = visits.create_plan(
                    session,
                    actor=SYSTEM,
                    enterprise_id=ent.id,
                    title=f"{ent.name}“一企一策”提升方案",
                    tasks=tasks,
                    plan_date=v.visit_date,
                    visit_id=v.id,
                    today=today,
                )
                from app.support.models import PlanTask

                for t in session.scalars(
                    select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(PlanTask.due_date)
                ):
                    if t.due_date < today and rnd.random() < 0.6:
                        visits.complete_task(
                            session,
                            actor=SYSTEM,
                            task_id=t.id,
                            done_date=t.due_date - timedelta(days=3),
                            today=today,
                        )
            if k == 0 or rnd.random() < 0.3:
                cat, title, text = PROBLEMS[(i + k) % len(PROBLEMS)]
                p = problems.create(
                    session,
                    actor=SYSTEM,
                    enterprise_id=ent.id,
                    category=cat,
                    title=title,
                    description=text,
                    raised_by="企业负责人",
                    channel="visit",
                    raised_date=v.visit_date,
                    visit_id=v.id,
                    today=today,
                )
                _advance(session, p, rnd, today)
    # a few problems from the municipal platform, and some township-handled ones of non-listed firms
    others = list(
        session.scalars(
            select(Enterprise)
            .where(Enterprise.deleted_at.is_(None), Enterprise.above_scale.is_(False))
            .order_by(Enterprise.id)
            .limit(40)
        )
    )
    for j, ent in enumerate(others):
        cat, title, text = PROBLEMS[j % len(PROBLEMS)]
        raised = today - timedelta(days=rnd.randint(0, 200))
        p = problems.create(
            session,
            actor=SYSTEM,
            enterprise_id=ent.id,
            category=cat,
            title=title,
            description=text,
            raised_by="企业联系人",
            channel="platform" if j % 3 == 0 else "phone",
            raised_date=raised,
            source="platform" if j % 3 == 0 else "staff",
            external_ref=f"LC-{raised.year}-{j:04d}" if j % 3 == 0 else None,
            today=today,
        )
        _advance(session, p, rnd, today)


def _advance(session: Session, p, rnd: random.Random, today: date) -> None:
    """Move a demo problem along: older problems are mostly closed; some recent ones are overdue."""
    age = (today - p.raised_date).days
    if rnd.random() < 0.08:
        problems.transition(
            session,
            actor=SYSTEM,
            problem_id=p.id,
            action="return",
            note="不属于服务直通车受理范围",
            step_date=p.raised_date,
            today=today,
        )
        return
    unit = (
        ("township", p.township)
        if rnd.random() < 0.5
        else (
            "department",
            rnd.choice(
                [
                    "县工业和信息化局",
                    "县人力资源和社会保障局",
                    "国网冠县供电公司",
                    "县自然资源和规划局",
                    "县地方金融监管局",
                ]
            ),
        )
    )
    problems.transition(
        session,
        actor=SYSTEM,
        problem_id=p.id,
        action="assign",
        unit_kind=unit[0],
        unit=unit[1],
        step_date=p.raised_date,
        today=today,
    )
    if age < 3:
        return
    problems.transition(
        session,
        actor=SYSTEM,
        problem_id=p.id,
        action="start",
        step_date=p.raised_date + timedelta(days=1),
        today=today,
    )
    if age < 25 and rnd.random() < 0.5 or rnd.random() < 0.1:
        return  # still in progress (overdue when past its deadline)
    budget = (p.deadline_date - p.raised_date).days
    took = min(age, max(1, int(budget * rnd.uniform(0.3, 1.4))))
    done = p.raised_date + timedelta(days=took)
    problems.transition(
        session,
        actor=SYSTEM,
        problem_id=p.id,
        action="resolve",
        note=rnd.choice(RESOLUTIONS),
        step_date=done,
        today=today,
    )
    if (today - done).days > 5:
        problems.transition(
            session,
            actor=SYSTEM,
            problem_id=p.id,
            action="close",
            note="企业确认满意，销号",
            step_date=min(today, done + timedelta(days=3)),
            today=today,
        )
