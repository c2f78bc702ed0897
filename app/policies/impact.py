"""Before publishing: what a draft would cost, next to what today's documents give for the same events.

The forecast the system already has (app.awards.forecast) is run twice on the same scenarios —
once with the published documents, once with the draft in place of its published version (or
added, for a new code) — by funder and by fund against each fund's balance. The scenarios are
moved into the draft's period by whole years, so a 2024 plan is judged on:

* `events`:  the events recorded in the year before the draft's period (last year's 认定, 升规,
             贴息…), each with what the registry knows of its enterprise;
* `targets`: the 2023 target table met in full (its rows as events).

The funds the draft lists are counted at their budget (they are created when it is published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.errors import NotFound, ValidationFailed
from app.policies import store


@dataclass
class Impact:
    code: str
    number: str
    scenario: str
    shift_years: int
    events: int  # scenarios (events or target rows) judged
    current: object  # app.awards.forecast.Forecast with the published documents
    draft: object  # the same with the draft
    notes: list[str] = field(default_factory=list)

    def difference(self) -> dict:
        funders = sorted(set(self.current.by_funder) | set(self.draft.by_funder))
        base_funds = {(f.code or f.name): f.forecast_yuan for f in self.current.by_fund}
        return {
            "total_yuan": self.draft.total_yuan - self.current.total_yuan,
            "by_funder": {
                f: self.draft.by_funder.get(f, 0) - self.current.by_funder.get(f, 0) for f in funders
            },
            "by_fund": {
                (f.code or f.name): f.forecast_yuan - base_funds.get(f.code or f.name, 0)
                for f in self.draft.by_fund
            },
        }

    def summary(self) -> dict:
        """The comparison as the page and the API show it: totals and differences by funder, and each fund's
        balance against what either set of documents would spend from it."""
        diff = self.difference()
        cur = {(f.code or f.name): f.forecast_yuan for f in self.current.by_fund}
        drafted = {f.code or f.name for f in self.draft.by_fund}
        funds = [
            {
                "name": f.name,
                "funder": f.funder,
                "remaining_yuan": f.remaining_yuan,
                "current_yuan": cur.get(f.code or f.name, 0),
                "draft_yuan": f.forecast_yuan,
                "difference_yuan": diff["by_fund"].get(f.code or f.name, 0),
                "after_yuan": f.after_yuan,
            }
            for f in self.draft.by_fund
        ]
        funds += [
            {
                "name": f.name,
                "funder": f.funder,
                "remaining_yuan": f.remaining_yuan,
                "current_yuan": f.forecast_yuan,
                "draft_yuan": 0,
                "difference_yuan": -f.forecast_yuan,
                "after_yuan": f.remaining_yuan,
            }
            for f in self.current.by_fund
            if (f.code or f.name) not in drafted
        ]
        return {
            "code": self.code,
            "number": self.number,
            "scenario": self.scenario,
            "scenarios": self.events,
            "notes": self.notes,
            "current_by_funder": self.current.by_funder,
            "draft_by_funder": self.draft.by_funder,
            "difference_by_funder": diff["by_funder"],
            "current_total_yuan": self.current.total_yuan,
            "draft_total_yuan": self.draft.total_yuan,
            "by_fund": funds,
        }


def _shift(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _event_scenarios(session: Session, start: date, end: date, years: int) -> list:
    from app.awards import facts as award_facts
    from app.awards import forecast
    from app.awards.models import EnterpriseEvent

    rows = list(
        session.scalars(
            select(EnterpriseEvent)
            .where(EnterpriseEvent.event_date.between(_shift(start, -years), _shift(end, -years)))
            .order_by(EnterpriseEvent.event_date, EnterpriseEvent.id)
        )
    )
    states = award_facts.enterprise_states(session, {r.enterprise_id for r in rows})
    out = []
    for r in rows:
        day = _shift(r.event_date, years)
        event = award_facts.parse_event_data({**r.data, "date": day.isoformat()})
        facts = states[r.enterprise_id].facts(day, extra=r.facts)
        out.append(forecast.Scenario(f"事件 {r.id}（{r.event_date}）", event, facts, 1))
    return out


def _target_scenarios(start: date) -> tuple[list, list]:
    from app.awards import facts as award_facts
    from app.awards import forecast

    scenarios, skipped = forecast.target_scenarios(2023)
    years = start.year - 2023
    moved = [
        forecast.Scenario(
            s.source,
            award_facts.parse_event_data(
                {**s.event.model_dump(mode="json"), "date": _shift(s.event.date, years).isoformat()}
            ),
            s.facts,
            s.count,
            s.assumption,
        )
        for s in scenarios
    ]
    return moved, skipped


def _planned_funds(session: Session, doc, balances: list) -> list:
    """The draft's funds not created yet, as balances at their full budget."""
    from app.awards.funds import FundBalance
    from app.awards.models import Fund
    from app.policies.schema import FUNDER_NAMES

    existing = {b.fund.code for b in balances}
    planned = []
    for i, f in enumerate(doc.spec.funds, start=1):
        if f.id in existing:
            continue
        fund = Fund(
            id=-i,
            code=f.id,
            name=f"{FUNDER_NAMES[f.funder]}财政 {doc.number} {f.clause}（发布后设立）",
            funder=f.funder,
            document_code=doc.code,
            clause=f.clause,
            period_start=f.period.start,
            period_end=f.period.end,
            budget_yuan=f.amount_yuan,
            drawn_yuan=0,
        )
        planned.append(FundBalance(fund, 0, 0))
    return planned


def impact(session: Session, *, actor: Principal, code: str, scenario: str = "events") -> Impact:
    """The draft of `code` against today's documents on the same scenario (see the module docstring)."""
    from app.awards import forecast
    from app.awards import funds as fund_service

    actor.require("awards:read")
    draft = store._draft(session, code)
    if draft is None:
        raise NotFound(f"政策文件 {code} 没有草稿")
    doc = store.parse(draft.content)
    start, end = doc.spec.in_force.start, doc.spec.in_force.end
    notes: list[str] = []
    if scenario == "events":
        years = 1
        scenarios = _event_scenarios(session, start, end, years)
        notes.append(
            f"按 {_shift(start, -1)} 至 {_shift(end, -1)} 已记录的 {len(scenarios)} 个事件，日期顺延 1 年，"
            "企业情况取系统登记的；上限类奖励按上限计"
        )
        skipped: list = []
    elif scenario == "targets":
        years = start.year - 2023
        scenarios, skipped = _target_scenarios(start)
        notes.append(f"按 2023 年目标表全部完成计，日期顺延 {years} 年；{forecast.TARGET_FACTS_TEXT}")
    else:
        raise ValidationFailed.one("scenario", "scenario 应为 events 或 targets")
    balances = fund_service.balances(session)
    current = forecast.run(scenarios, balances, policy_set=store.current(session))
    with_draft = forecast.run(
        scenarios,
        balances + _planned_funds(session, doc, balances),
        policy_set=store.with_drafts(session, [code]),
    )
    current.not_forecast = with_draft.not_forecast = skipped
    return Impact(code, doc.number, scenario, years, len(scenarios), current, with_draft, notes)
