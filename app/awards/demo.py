"""Demo awards: the policy funds, lines for the demo honours of 2022–2023, a few recorded events, and
some decisions (approved, paid, rejected) so every award page has something to show."""

import contextlib
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.awards import funds as fund_service
from app.awards import proposals, workflow
from app.awards.models import AwardLine, EnterpriseEvent
from app.enterprises.models import Enterprise, Honour
from app.errors import AppError

EVENTS = [
    {"type": "first_above_scale", "date": "2023-03-31"},
    {"type": "equipment_purchase", "date": "2023-06-30", "purpose": "tech_upgrade", "amount_yuan": 8_600_000},
    {
        "type": "equipment_purchase",
        "date": "2023-09-30",
        "purpose": "smart_upgrade",
        "amount_yuan": 23_500_000,
    },
    {"type": "design_prize", "date": "2023-11-20", "contest": "liaocheng", "rank": "silver"},
    {"type": "skills_contest", "date": "2023-10-15", "participants": 126},
]


def seed(session: Session) -> None:
    fund_service.ensure_policy_funds(session, SYSTEM)
    above = list(
        session.scalars(
            select(Enterprise.id)
            .where(Enterprise.above_scale.is_(True), Enterprise.deleted_at.is_(None))
            .order_by(Enterprise.id)
            .limit(len(EVENTS) * 2)
        )
    )
    for ent_id, event in zip(above, EVENTS * 2, strict=False):
        has_first = session.scalar(
            select(EnterpriseEvent.id).where(
                EnterpriseEvent.enterprise_id == ent_id, EnterpriseEvent.type == "first_above_scale"
            )
        )
        if event["type"] == "first_above_scale" and has_first:
            continue
        with contextlib.suppress(AppError), session.begin_nested():  # the same demo event already recorded
            proposals.record_event(session, actor=SYSTEM, enterprise_id=ent_id, event=event, note="演示数据")
    tech = session.scalar(
        select(Honour.enterprise_id)
        .where(Honour.code == "tech_sme", Honour.outcome == "new")
        .order_by(Honour.id)
        .limit(1)
    )
    if tech is not None:
        with contextlib.suppress(AppError), session.begin_nested():
            proposals.record_event(
                session,
                actor=SYSTEM,
                enterprise_id=tech,
                note="演示数据",
                event={"type": "loan_interest", "date": "2023-12-20", "interest_paid_yuan": 186_000},
            )
    for year in (2022, 2023):
        proposals.compute_year(session, actor=SYSTEM, year=year)
    _decide(session)


def _decide(session: Session) -> None:
    """Approve the first lines of each funder, pay half of those, reject two."""
    today = date.today()
    for funder, n in (("county", 14), ("city", 8), ("province", 2)):
        ids = list(
            session.scalars(
                select(AwardLine.id)
                .where(AwardLine.funder == funder, AwardLine.status == "proposed")
                .order_by(AwardLine.event_date, AwardLine.id)
                .limit(n + 1)
            )
        )
        for i, line_id in enumerate(ids[:n]):
            line = session.get(AwardLine, line_id)
            # A cap is a ceiling: the demo grants 80% of it on every other line.
            amount = line.computed_yuan * 8 // 10 if line.ceiling and i % 2 else line.computed_yuan
            try:
                workflow.approve(
                    session,
                    actor=SYSTEM,
                    line_id=line_id,
                    amount_yuan=amount,
                    comment="材料齐全，符合条件，同意",
                )
            except AppError:
                continue
            if i % 2 == 0:
                workflow.pay(
                    session,
                    actor=SYSTEM,
                    line_id=line_id,
                    paid_date=today,
                    voucher_no=f"冠财拨〔{today.year}〕{100 + line_id}号",
                )
        if ids[n:]:
            workflow.reject(session, actor=SYSTEM, line_id=ids[n], reason="经核实，认定证书日期不在政策期内")
