"""Forecasts: what the year would cost if the targets were met, or if these candidates were honoured.

Each scenario is a list of (event, facts, count). The engine computes each event once and the
lines are multiplied by the count; the costs are summed by funder and by fund and set against
what each fund has left. A what-if replaces a rule's figure for the forecast only (the engine's
`overrides=`); the rules themselves never change. Up-to lines are counted at their cap, so a
forecast is the most the scenario could cost.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards import facts as award_facts
from app.awards import funds as fund_service
from app.awards.engine import compute
from app.awards.event_models import EnterpriseFacts, Event
from app.enterprises.models import Enterprise
from app.enterprises.visibility import visible_to
from app.errors import FieldError, NotFound, ValidationFailed
from app.policies import store as policy_store
from app.policies.loader import PolicySet
from app.policies.schema import FUNDER_NAMES
from app.reference.targets import load_targets_2023

# How a row (or part) of the 2023 target table becomes events. Not policy figures: the award
# amounts still come from the rules. A pool row (培育库) is read as its members earning the
# honour the pool prepares them for.
TARGET_EVENTS: dict[str, tuple[dict[str, Any], str]] = {
    "specialized_sme_pool": (
        {"type": "honour", "honour": "specialized_sme", "level": "provincial", "outcome": "new"},
        "培育库企业均新认定为省级专精特新中小企业",
    ),
    "little_giant": ({"type": "honour", "honour": "little_giant", "level": "national", "outcome": "new"}, ""),
    "xiaoshenggui_pool": ({"type": "first_above_scale"}, "“小升规”培育库企业均首次升规"),
    "gazelle": ({"type": "honour", "honour": "gazelle", "level": "provincial", "outcome": "new"}, ""),
    "cluster_city": ({"type": "honour", "honour": "cluster", "level": "city", "outcome": "new"}, ""),
    "cluster_provincial": (
        {"type": "honour", "honour": "cluster", "level": "provincial", "outcome": "new"},
        "",
    ),
    "cluster_national": ({"type": "honour", "honour": "cluster", "level": "national", "outcome": "new"}, ""),
    "high_tech": ({"type": "honour", "honour": "high_tech", "level": "national", "outcome": "new"}, ""),
    "one_tech_rd_center": (
        {"type": "honour", "honour": "one_tech_rd_center", "level": "provincial", "outcome": "new"},
        "",
    ),
    "two_integration_pool": (
        {"type": "honour", "honour": "two_integration", "level": "city", "outcome": "new"},
        "培育库企业均首次取得市级两化融合贯标证书",
    ),
    "dcmm_pool": (
        {"type": "honour", "honour": "dcmm", "level": "city", "outcome": "new"},
        "培育库企业均首次取得市级 DCMM 贯标证书",
    ),
}
NOT_FORECAST: dict[str, str] = {
    "innovative_sme_applications": "创新型中小企业认定无奖励条款",
    "digital_assessment": "数字化水平测评不是奖补事件",
    "policy_platform_registrations": "平台注册不是奖补事件",
    "tech_sme": "科技型中小企业入库本身无奖励（贴息按贷款利息计算，无法预估）",
    "rd_growth_rate": "研发投入增长率不是奖补事件",
    "lab_innovation_center": "新认定重点实验室、技术创新中心无奖励条款（市级仅对绩效评估合格的技术创新中心择优支持）",
    "taishan_talent_pool": "人才配套资助取决于国家、省资助经费，表中没有",
    "national_talent_pool": "人才配套资助取决于国家、省资助经费，表中没有",
    "smart_manufacturing_pool": "智能工厂、数字化车间、智能制造场景奖励不同，表中未分项",
    "champion": "表中未分国家级、省级，也未分示范企业与产品，奖励各不相同",
}
# What a target forecast assumes of the enterprises it does not name.
TARGET_FACTS = EnterpriseFacts(size="small", ownership="private", honours=[], prior_grants_yuan={})
TARGET_FACTS_TEXT = "目标测算假设企业为此前未获同类认定的民营小型企业；上限类奖励按上限计"


@dataclass
class Row:
    source: str  # target row or enterprise
    event: str
    count: int
    rule_id: str
    document: str
    clause: str
    funder: str
    fund_code: str | None
    per_head_yuan: int
    overridden: bool

    @property
    def total_yuan(self) -> int:
        return self.per_head_yuan * self.count


@dataclass
class FundCost:
    fund_id: int | None
    code: str | None
    name: str
    funder: str
    remaining_yuan: int | None
    proposed_yuan: int
    forecast_yuan: int

    @property
    def after_yuan(self) -> int | None:
        return None if self.remaining_yuan is None else self.remaining_yuan - self.forecast_yuan

    @property
    def short(self) -> bool:
        return self.after_yuan is not None and self.after_yuan < 0


@dataclass
class Forecast:
    rows: list[Row] = field(default_factory=list)
    by_funder: dict[str, int] = field(default_factory=dict)
    by_fund: list[FundCost] = field(default_factory=list)
    not_forecast: list[tuple[str, str]] = field(default_factory=list)
    not_computable: list[tuple[str, str, str]] = field(default_factory=list)  # (source, rule, reason)
    assumptions: list[str] = field(default_factory=list)

    @property
    def total_yuan(self) -> int:
        return sum(self.by_funder.values())


@dataclass
class Scenario:
    source: str
    event: Event
    facts: EnterpriseFacts
    count: int
    assumption: str = ""


def target_scenarios(year: int) -> tuple[list[Scenario], list[tuple[str, str]]]:
    """The 2023 target table as events: one scenario per row (or part) that earns awards."""
    if year != 2023:
        raise ValidationFailed.one("year", "目前只有 2023 年的目标表（冠政办发〔2023〕7号 附件）")
    table = load_targets_2023()
    scenarios, skipped = [], []
    for target in table.indicators:
        for code, name, total in [(p.code, p.name, p.total) for p in target.parts or []] or [
            (target.code, target.name, target.total)
        ]:
            if code in TARGET_EVENTS:
                template, assumption = TARGET_EVENTS[code]
                day = target.deadline or date(year, 12, 31)
                event = award_facts.parse_event_data({**template, "date": day})
                scenarios.append(Scenario(name, event, TARGET_FACTS, int(total), assumption))
            elif code in NOT_FORECAST:
                skipped.append((name, NOT_FORECAST[code]))
    return scenarios, skipped


def candidate_scenarios(
    session: Session, *, actor: Principal, year: int, candidates: list[Mapping[str, Any]]
) -> list[Scenario]:
    """Each candidate enterprise earning the honour named, with the facts the registry holds."""
    if not candidates:
        raise ValidationFailed.one("candidates", "请列出候选企业（企业 id、认定、级别）")
    events, errors = [], []
    for i, c in enumerate(candidates):
        data = {
            "type": "honour",
            "honour": c.get("honour"),
            "level": c.get("level"),
            "outcome": c.get("outcome") or "new",
            "date": c.get("date") or date(year, 12, 31),
        }
        try:
            events.append((c["enterprise_id"], award_facts.parse_event_data(data, prefix=f"candidates[{i}]")))
        except ValidationFailed as e:
            errors.extend(e.errors)
    if errors:
        raise ValidationFailed(errors)
    ids = {eid for eid, _ in events}
    names = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids), visible_to(actor))
        ).all()
    )
    missing = sorted(ids - set(names))
    if missing:
        raise NotFound(f"未找到企业 {'、'.join(map(str, missing[:20]))}")
    states = award_facts.enterprise_states(session, ids)
    return [Scenario(names[eid], event, states[eid].facts(event.date), 1) for eid, event in events]


def _fund_for(line, balances: list[fund_service.FundBalance]):
    candidates = [
        b
        for b in balances
        if b.fund.funder == line.funder
        and b.fund.period_start <= line.event_date <= b.fund.period_end
        and b.fund.document_code in (None, line.document_code)
    ]
    for preferred in (
        [b for b in candidates if b.fund.code == line.fund_id],
        [b for b in candidates if b.fund.document_code == line.document_code],
        candidates,
    ):
        if preferred:
            return preferred[0]
    return None


@dataclass
class _Dated:
    """A line with the event date the fund match needs."""

    funder: str
    document_code: str
    fund_id: str | None
    event_date: date


def run(
    scenarios: list[Scenario],
    balances: list[fund_service.FundBalance],
    *,
    overrides: Mapping[str, Decimal] | None = None,
    policy_set: PolicySet,
    unfunded_proposed: Mapping[str, int] | None = None,
    year: int | None = None,
) -> Forecast:
    """The scenarios' lines under `policy_set` (the published documents, or a draft in their place). A yearly fund
    (冠政发〔2022〕9号 五（二）) is set against what is left of its envelope for `year`."""
    ps = policy_set
    unfunded_proposed = unfunded_proposed or {}
    out = Forecast()
    by_fund: dict[int | str, FundCost] = {}
    by_funder: dict[str, int] = defaultdict(int)
    for b in balances:
        remaining, name = b.remaining_yuan, b.fund.name
        if b.fund.yearly and year is not None:
            remaining = next((y.remaining_yuan for y in b.years if y.year == year), 0)
            name = f"{name}（{year} 年额度）"
        by_fund[b.fund.id] = FundCost(
            b.fund.id, b.fund.code, name, b.fund.funder, remaining, b.proposed_yuan, 0
        )
    for sc in scenarios:
        try:
            result = compute(sc.event, sc.facts, ps, overrides=overrides)
        except ValueError as e:
            raise ValidationFailed.one("overrides", f"overrides：{e}") from None
        if sc.assumption and sc.assumption not in out.assumptions:
            out.assumptions.append(sc.assumption)
        described = award_facts.describe_event(sc.event.model_dump(mode="json"))
        for line in result.lines:
            out.rows.append(
                Row(
                    sc.source,
                    described,
                    sc.count,
                    line.rule_id,
                    line.document,
                    line.clause,
                    line.funder,
                    line.fund_id,
                    line.amount_yuan,
                    line.overridden,
                )
            )
            total = line.amount_yuan * sc.count
            by_funder[line.funder] += total
            match = _fund_for(_Dated(line.funder, line.document_code, line.fund_id, sc.event.date), balances)
            key: int | str = match.fund.id if match else f"none:{line.funder}"
            if key not in by_fund:
                by_fund[key] = FundCost(
                    None,
                    None,
                    f"{FUNDER_NAMES[line.funder]}（未设资金）",
                    line.funder,
                    None,
                    unfunded_proposed.get(line.funder, 0),
                    0,
                )
            by_fund[key].forecast_yuan += total
        for nc in result.not_computable:
            out.not_computable.append((sc.source, nc.rule_id, nc.reason))
    out.by_funder = dict(by_funder)
    out.by_fund = [fc for fc in by_fund.values() if fc.forecast_yuan or fc.fund_id is not None]
    return out


def _check_overrides(overrides: Mapping[str, Decimal], ps: PolicySet) -> None:
    rules = ps.rules
    errors = [
        FieldError(f"overrides.{rid}", f"overrides.{rid}：没有这条规则")
        for rid in overrides
        if rid not in rules
    ]
    if errors:
        raise ValidationFailed(errors)


@dataclass
class ForecastOutcome:
    base: Forecast
    what_if: Forecast | None
    overrides: dict[str, Decimal]

    def difference(self) -> dict[str, Any]:
        if self.what_if is None:
            return {}
        funders = set(self.base.by_funder) | set(self.what_if.by_funder)
        base_funds = {(f.fund_id, f.name): f.forecast_yuan for f in self.base.by_fund}
        return {
            "total_yuan": self.what_if.total_yuan - self.base.total_yuan,
            "by_funder": {
                f: self.what_if.by_funder.get(f, 0) - self.base.by_funder.get(f, 0) for f in sorted(funders)
            },
            "by_fund": [
                {
                    "fund_id": f.fund_id,
                    "name": f.name,
                    "difference_yuan": f.forecast_yuan - base_funds.get((f.fund_id, f.name), 0),
                }
                for f in self.what_if.by_fund
            ],
        }


def unfunded_proposed(session: Session, *, actor: Principal) -> dict[str, int]:
    """Per funder, proposed lines (at their caps) that no fund would pay — the same figure the funds page counts
    under 待审核 for that funder, so both pages show one number."""
    from sqlalchemy import exists, func, select

    from app.awards.models import AwardLine, Fund

    payable = exists(select(Fund.id).where(fund_service._proposed_for(Fund)))
    stmt = (
        select(AwardLine.funder, func.coalesce(func.sum(AwardLine.computed_yuan), 0))
        .where(AwardLine.status == "proposed", ~payable)
        .group_by(AwardLine.funder)
    )
    return {f: int(v) for f, v in session.execute(stmt)}


def forecast(
    session: Session,
    *,
    actor: Principal,
    scenario: str,
    year: int,
    candidates: list[Mapping[str, Any]] | None = None,
    overrides: Mapping[str, Decimal] | None = None,
) -> ForecastOutcome:
    """The scenario's cost by funder and by fund against what is left; with a what-if beside it."""
    actor.require("awards:read")
    overrides = dict(overrides or {})
    ps = policy_store.current(session)
    _check_overrides(overrides, ps)
    skipped: list[tuple[str, str]] = []
    if scenario == "targets":
        scenarios, skipped = target_scenarios(year)
    elif scenario == "candidates":
        scenarios = candidate_scenarios(session, actor=actor, year=year, candidates=candidates or [])
    else:
        raise ValidationFailed.one("scenario", "scenario 应为 targets 或 candidates")
    balances = fund_service.balances(session)
    unfunded = unfunded_proposed(session, actor=actor)
    base = run(scenarios, balances, policy_set=ps, unfunded_proposed=unfunded, year=year)
    base.not_forecast = skipped
    if scenario == "targets":
        base.assumptions.insert(0, TARGET_FACTS_TEXT)
    what_if = None
    if overrides:
        what_if = run(
            scenarios, balances, overrides=overrides, policy_set=ps, unfunded_proposed=unfunded, year=year
        )
        what_if.not_forecast, what_if.assumptions = skipped, base.assumptions
    return ForecastOutcome(base, what_if, overrides)
