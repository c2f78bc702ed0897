"""Awards: the 公示 (public notice) and the ledger — rows and totals, now or as they stood at the end of a day."""

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards.event_models import EVENT_TYPE_NAMES
from app.awards.models import AwardLine
from app.awards.workflow import LineFilters, filtered_lines, visible_lines
from app.enterprises.models import Enterprise
from app.policies import store as policy_store

# --- 公示 and the ledger ----------------------------------------------------------------------


def subject_of(line: AwardLine) -> str:
    """What the line rewards, in the rule's words (新认定省级专精特新企业)."""
    rule = policy_store.rule_seen(line.rule_id)
    return rule.subject if rule is not None else EVENT_TYPE_NAMES.get(line.event_type, line.event_type)


def notice_rows(
    session: Session, *, actor: Principal, year: int | None = None
) -> list[tuple[AwardLine, str, str]]:
    """Approved (and paid) awards for public notice (公示), by township order then enterprise."""
    rows, _ = _all(session, actor, LineFilters(status=["approved", "paid"], year=year))
    return rows


def _all(session, actor, filters: LineFilters):
    actor.require("awards:read")
    stmt = filtered_lines(actor, filters).order_by(Enterprise.township, Enterprise.name, AwardLine.id)
    return [tuple(r) for r in session.execute(stmt)], None


def ledger_rows(
    session: Session, *, actor: Principal, filters: LineFilters
) -> list[tuple[AwardLine, str, str]]:
    return _all(session, actor, filters)[0]


COUNTY_TZ = timezone(timedelta(hours=8))  # 北京时间: a day of the county ends at 24:00 there


def day_end(as_of: date) -> datetime:
    """The instant the county's day `as_of` ends."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=COUNTY_TZ)


def status_at(as_of: date | None):
    """SQL: a line's status as it stood at the end of `as_of` (None: now) — paid by its payment date, approved or
    rejected by its decision's date, else proposed. (A decision later reversed counts from the last decision.)"""
    if as_of is None:
        return AwardLine.status
    cutoff = day_end(as_of)
    return case(
        (and_(AwardLine.paid_date.is_not(None), AwardLine.paid_date <= as_of), "paid"),
        (and_(AwardLine.status.in_(("approved", "paid")), AwardLine.decided_at < cutoff), "approved"),
        (and_(AwardLine.status == "rejected", AwardLine.decided_at < cutoff), "rejected"),
        else_="proposed",
    )


def ledger_totals(
    session: Session, *, actor: Principal, filters: LineFilters | None = None, as_of: date | None = None
) -> dict[str, int]:
    """Totals of the ledger by state, in one query: proposed at their caps, the rest at the granted amount. With
    `as_of`, each line in the state it was in at the end of that day (a past year's evaluation); a line computed
    later for an event of the period counts as proposed then, since the event had happened."""
    if as_of is not None:
        status = status_at(as_of)
        rows = session.execute(
            filtered_lines(actor, filters or LineFilters())
            .with_only_columns(
                status,
                func.count(AwardLine.id),
                func.coalesce(
                    func.sum(
                        case(
                            (status.in_(("approved", "paid")), AwardLine.amount_yuan),
                            else_=AwardLine.computed_yuan,
                        )
                    ),
                    0,
                ),
                maintain_column_froms=True,
            )
            .group_by(status)
        ).all()
        out = {f"{s}_{k}": 0 for s in ("proposed", "approved", "paid", "rejected") for k in ("count", "yuan")}
        for s, n, yuan in rows:
            out[f"{s}_count"], out[f"{s}_yuan"] = int(n), int(yuan)
        return out
    stmt = filtered_lines(actor, filters or LineFilters()).subquery()
    rows = session.execute(
        select(
            stmt.c.status,
            func.count(),
            func.coalesce(func.sum(stmt.c.computed_yuan), 0),
            func.coalesce(func.sum(stmt.c.amount_yuan), 0),
        ).group_by(stmt.c.status)
    ).all()
    out = {f"{s}_{k}": 0 for s in ("proposed", "approved", "paid", "rejected") for k in ("count", "yuan")}
    for status, count, computed, granted in rows:
        out[f"{status}_count"] = count
        out[f"{status}_yuan"] = int(computed if status in ("proposed", "rejected") else granted)
    return out


def totals_by_year_funder(session: Session, *, actor: Principal) -> list[tuple[int, str, str, int]]:
    """(year, funder, status, yuan) for the chart: one query."""
    actor.require("awards:read")
    year = extract("year", AwardLine.event_date)
    stmt = (
        select(
            year,
            AwardLine.funder,
            AwardLine.status,
            func.sum(func.coalesce(AwardLine.amount_yuan, AwardLine.computed_yuan)),
        )
        .join(Enterprise, visible_lines(actor))
        .group_by(year, AwardLine.funder, AwardLine.status)
        .order_by(year)
    )
    return [(int(y), f, s, int(v)) for y, f, s, v in session.execute(stmt)]
