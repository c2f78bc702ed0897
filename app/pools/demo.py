"""Demo data for the pools: members drawn from each pool's candidates, a few who left, graduation
proposals, recorded and provisional 亩产效益 classes. Called by `yumiao seed-demo` after the registry."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import SYSTEM
from app.enterprises import service as enterprise_service
from app.enterprises.models import EnterpriseFigure
from app.enterprises.schemas import EnterpriseUpdate
from app.errors import AppError
from app.pools import listing, membership, mu_provisional, mu_records
from app.pools.listing import PoolFilters
from app.pools.schemas import EnterIn, LeaveIn

# pool → (entry date, figures year, how many members)
PLAN = {
    "yumiao_pool": (date(2022, 6, 1), 2022, 60),
    "primary_pool": (date(2023, 3, 1), 2022, 80),
    "xiaoshenggui_pool": (date(2023, 3, 1), 2022, 30),
    "intermediate_pool": (date(2023, 4, 1), 2022, 40),
    "advanced_pool": (date(2023, 4, 1), 2022, 20),
    "specialized_sme_pool": (date(2023, 5, 1), 2022, 15),
    "two_integration_pool": (date(2023, 5, 1), 2022, 10),
    "smart_manufacturing_pool": (date(2023, 6, 1), 2022, 8),
}


def seed(session: Session) -> None:
    years = set(session.scalars(select(EnterpriseFigure.year).distinct()))
    if not years:
        return
    for pool_code, (when, year, wanted) in PLAN.items():
        if year not in years:
            continue
        _fill(session, pool_code, when, year, wanted)
    _history(session)
    _graduations(session)
    for year in sorted(years)[-2:]:
        mu_provisional.compute_provisional(session, actor=SYSTEM, year=year)
    _recorded_classes(session, max(years) - 1 if max(years) - 1 in years else max(years))
    session.flush()


def _fill(session: Session, pool_code: str, when: date, year: int, wanted: int) -> None:
    """Enter the first candidates (符合 first, then 待人工判断), spread over the townships."""
    rows = []
    for candidacy in (["met"], ["judgement"]):
        if len(rows) >= wanted * 3:
            break
        page, _, _ = listing.candidates_page(
            session,
            actor=SYSTEM,
            pool_code=pool_code,
            filters=PoolFilters(year=year, candidacy=candidacy),
            limit=500,
        )
        rows.extend(page)
    by_town: dict[str, list] = {}
    for r in rows:
        by_town.setdefault(r.enterprise.township, []).append(r)
    picked = []
    while len(picked) < wanted and any(by_town.values()):
        for town in list(by_town):
            if by_town[town] and len(picked) < wanted:
                picked.append(by_town[town].pop(0))
    for r in picked:
        best = next((c for c, v in r.classes.items() if v == "met"), None) or next(
            c for c, v in r.classes.items() if v == "judgement"
        )
        note = None if r.candidacy == "met" else "演示：乡镇推荐，经县工信局研判"
        try:
            membership.enter(
                session,
                actor=SYSTEM,
                pool_code=pool_code,
                data=EnterIn(
                    enterprise_id=r.enterprise.id, entry_class=best, entered_date=when, year=year, note=note
                ),
            )
        except AppError:
            continue


def _history(session: Session) -> None:
    """A few members of the 2022 pool left at the 2023 review: full history on their pages."""
    rows, _, _ = listing.members_page(
        session, actor=SYSTEM, pool_code="yumiao_pool", filters=PoolFilters(), limit=6
    )
    for r in rows[:4]:
        membership.leave(
            session,
            actor=SYSTEM,
            pool_code="yumiao_pool",
            enterprise_id=r.enterprise.id,
            data=LeaveIn(reason="not_eligible", left_date=date(2023, 12, 31), note="演示：年度评价调整"),
        )


def _graduations(session: Session) -> None:
    """Three 初级培育库 members become 规上: the system proposes moving them on."""
    rows, _, _ = listing.members_page(
        session, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(), limit=40
    )
    for r in [r for r in rows if not r.enterprise.above_scale][-3:]:
        enterprise_service.update(
            session,
            actor=SYSTEM,
            enterprise_id=r.enterprise.id,
            data=EnterpriseUpdate(above_scale=True),
            if_match=None,
        )


def _recorded_classes(session: Session, year: int) -> None:
    """The county's evaluation list for a year, for the members of 初级培育库 (recorded beats provisional)."""
    rows, _, _ = listing.members_page(
        session, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(), limit=30
    )
    classes = "ABBCABCDBA"
    for i, r in enumerate(rows):
        mu_records.record_mu_class(
            session,
            actor=SYSTEM,
            enterprise_id=r.enterprise.id,
            year=year,
            mu_class=classes[i % len(classes)],
            note="演示：县亩产效益评价名单",
        )
