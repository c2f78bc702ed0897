"""Demo registers: 数字专员 and 现代管理人员 courses of 2022–2024 (and later), 数字化测评 in 2023 and since, and the
技改 / 强链延链补链 key projects, spread over the townships so the goals and row 5 show meaningful figures."""

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.enterprises.models import Enterprise
from app.registers import service
from app.registers.models import TrainingRecord

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉"
COURSES = {
    "digital_officer": ["工业互联网与数字化转型专题培训", "企业数字专员能力提升班", "智能制造场景应用研修"],
    "modern_manager": ["现代企业管理与精益生产", "车间班组长管理能力提升", "质量管理体系实务"],
    "entrepreneur": ["企业家素质提升专题培训（清华大学）", "企业家网络学院线上培训"],
}
PROJECTS = [
    "智能化技术改造",
    "数字化车间建设",
    "新增生产线",
    "绿色低碳改造",
    "延链配套项目",
    "补链关键零部件项目",
]


def seed(session: Session, today: date | None = None) -> None:
    today = today or date.today()
    if session.scalar(select(TrainingRecord.id).limit(1)):
        return
    rnd = random.Random(20220409)
    firms = list(
        session.scalars(select(Enterprise).where(Enterprise.deleted_at.is_(None)).order_by(Enterprise.id))
    )
    if not firms:
        return
    above = [e for e in firms if e.above_scale] or firms

    def name() -> str:
        return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2)))

    def day(start: date, end: date) -> date:
        return start + timedelta(days=rnd.randint(0, (end - start).days))

    training = []
    for kind, n_period, n_after in (
        ("digital_officer", 88, 21),
        ("modern_manager", 94, 17),
        ("entrepreneur", 60, 25),
    ):
        for i in range(n_period + n_after):
            when = (
                day(date(2022, 5, 1), date(2024, 12, 20))
                if i < n_period
                else day(date(2025, 3, 1), min(today, date(2026, 11, 20)))
            )
            training.append(
                (
                    rnd.choice(above),
                    {
                        "course_kind": kind,
                        "course_name": rnd.choice(COURSES[kind]),
                        "participant": name(),
                        "position": None,
                        "training_date": when,
                    },
                )
            )
    service._write(session, SYSTEM, service.REGISTERS["training"], training, "演示数据")
    assessed = rnd.sample(firms, min(len(firms), 104))
    rows = [
        (
            e,
            {
                "assessment_date": day(date(2023, 3, 1), date(2023, 12, 28)),
                "level": rnd.choice([1, 2, 2, 2, 3, 3, 4]),
                "score": rnd.randint(35, 92),
                "assessor": "山东省中小企业公共服务平台",
            },
        )
        for e in assessed
    ]
    later = rnd.sample(firms, min(len(firms), 140))
    rows += [
        (
            e,
            {
                "assessment_date": day(date(2024, 3, 1), min(today, date(2026, 11, 25))),
                "level": rnd.choice([2, 3, 3, 4]),
                "score": rnd.randint(45, 95),
                "assessor": "山东省中小企业公共服务平台",
            },
        )
        for e in later
    ]
    service._write(session, SYSTEM, service.REGISTERS["assessments"], rows, "演示数据")
    projects = []
    for i in range(48):
        kind = "key_chain" if i % 2 == 0 else "tech_upgrade"
        start = day(date(2022, 6, 1), min(today, date(2026, 10, 1)))
        done = start + timedelta(days=rnd.randint(200, 600))
        stage = "completed" if done < today else "under_construction"
        projects.append(
            (
                rnd.choice(above),
                {
                    "name": f"{rnd.choice(PROJECTS)}（{i + 1:02d}）",
                    "kind": kind,
                    "stage": stage,
                    "investment_yuan": rnd.randint(8, 160) * 1_000_000,
                    "start_date": start,
                    "completion_date": done if stage == "completed" else None,
                },
            )
        )
    service._write(session, SYSTEM, service.REGISTERS["projects"], projects, "演示数据")
