"""Policy matching (政策直达): the rules an enterprise meets now or is closest to meeting — no database.

    match(firm, as_of=day, policy_set=policy_store.current(session), pools=load_pools()) -> list[Match]

Two sources of rules:

* the award and benefit rules of app/policies whose document is in force on `as_of` (after
  supersession), judged by the award engine (app/awards/engine.py) on the enterprise's honours,
  or on the event the enterprise would need (a hypothetical one, to show the possible amount);
* the entry classes of the cultivation pools in force on `as_of` (app/pools/criteria.py) the
  enterprise is not yet a member of.

Every rule comes out with the conditions it checked, each `met`, `failed` or `unknown`, in
Chinese with the figures used ("2024 年主营业务收入 1,650 万元，差 350 万元达到 2,000 万元"):

* `met`      every condition the system can check holds now;
* `near`     a condition fails that the enterprise can still reach (revenue short of a line,
             an honour not yet held, not yet 规上) — `missing` says what and by how much;
* `unknown`  nothing fails, but a figure is not recorded, a person must judge, or the rule
             answers an event the registry does not record (a loan, a purchase, a prize).

A rule that fails on what will not change (size, ownership, already past a milestone, an honour
already held where the rule wants the first one) is left out. Figures and thresholds that are not
policy rules (the 规上 line) come from matching.yaml beside this module.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from app import reference
from app.awards import engine
from app.awards.event_models import (
    FIELD_LABELS,
    DesignPrizeEvent,
    EnterpriseFacts,
    EquipmentPurchaseEvent,
    FirstAboveScaleEvent,
    HonourEvent,
    LoanInterestEvent,
    OutputGrowthEvent,
    SalesMilestoneEvent,
    SkillsContestEvent,
    TalentLoanInterestEvent,
    TalentProgramEvent,
)
from app.enterprises.snapshot import HELD_OUTCOMES, EnterpriseSnapshot, HonourRecord
from app.money import wan
from app.policies.loader import PolicySet
from app.policies.schema import Fixed, PercentOf, Range, Rule, Share, Unspecified, UpTo
from app.pools import criteria as pool_criteria
from app.pools.definitions import (
    FIGURE_NAMES,
    AnyOf,
    Criterion,
    EntryClass,
    FigurePositive,
    Flag,
    HonourApplied,
    HonourHeld,
    HonourNotHeld,
    PoolDefinition,
    RevenueBetween,
)

HERE = Path(__file__).parent
Status = Literal["met", "failed", "unknown"]
MatchStatus = Literal["met", "near", "unknown"]
MATCH_STATUSES: tuple[str, ...] = ("met", "near", "unknown")


@lru_cache
def prospects() -> dict:
    return yaml.safe_load((HERE / "matching.yaml").read_text(encoding="utf-8"))


# --- what comes out


@dataclass(frozen=True)
class Condition:
    key: str
    status: Status
    explanation: str
    current_yuan: int | None = None
    target_yuan: int | None = None
    gap_yuan: int | None = None
    reachable: bool = True  # a failed condition the enterprise can still meet

    @property
    def ratio(self) -> float:
        """How far a failed condition is, 0–1 (1 when it cannot be measured)."""
        if self.status != "failed":
            return 0.0
        if self.gap_yuan is not None and self.target_yuan:
            return min(1.0, self.gap_yuan / self.target_yuan)
        return 1.0


@dataclass(frozen=True)
class Amount:
    kind: Literal["fixed", "up_to", "computed", "unspecified", "benefit"]
    yuan: int | None
    ceiling: bool
    funder: str | None
    text: str


@dataclass(frozen=True)
class Match:
    id: str
    kind: Literal["award", "benefit", "pool_entry"]
    status: MatchStatus
    title: str
    document: str
    clause: str
    clause_text: str | None
    funder: str | None
    amount: Amount | None
    conditions: tuple[Condition, ...]
    review: str | None = None
    event_date: dt.date | None = None  # the honour or event a met rule rests on

    @property
    def missing(self) -> tuple[Condition, ...]:
        """What stands between the enterprise and the rule: failed conditions first, then unknown."""
        return tuple(
            sorted((c for c in self.conditions if c.status != "met"), key=lambda c: c.status != "failed")
        )

    def sort_key(self) -> tuple:
        # Said once per match (kept beside its fields): a shared match is sorted again for every firm that has it.
        key = self.__dict__.get("_sort_key")
        if key is None:
            rank = MATCH_STATUSES.index(self.status)
            failed = [c for c in self.conditions if c.status == "failed"]
            yuan = (self.amount.yuan or 0) if self.amount else 0
            key = self.__dict__["_sort_key"] = (
                rank,
                len(failed),
                max((c.ratio for c in failed), default=0.0),
                -yuan,
                self.id,
            )
        return key


# --- formatting


def _honour_name(code: str, levels: list[str] | tuple[str, ...] | None = None) -> str:
    name = reference.honours().get(code, {}).get("name", code)
    if not levels:
        return name
    return "、".join(reference.LEVEL_NAMES.get(lv, lv) for lv in levels) + name


def _record_text(h: HonourRecord) -> str:
    return f"{h.date.isoformat()} {reference.OUTCOME_NAMES.get(h.outcome, h.outcome)}{_honour_name(h.code, [h.level])}"


def _period(doc) -> str:
    p = doc.spec.in_force
    return f"{p.start.isoformat()}–{p.end.isoformat()}"


def _gap(year: int, label: str, value: int, target: int, key: str, what: str = "") -> Condition:
    """A money figure short of a line: "2024 年主营业务收入 1,650 万元，差 350 万元达到 2,000 万元"."""
    text = f"{year} 年{label} {wan(value)} 万元，差 {wan(target - value)} 万元达到 {wan(target)} 万元{what}"
    return Condition(
        key, "failed", text, current_yuan=int(value), target_yuan=int(target), gap_yuan=int(target - value)
    )


# --- amounts


def describe_amount(rule: Rule, policy_set: PolicySet) -> Amount | None:
    """The amount a rule gives, in words, without an event's figures."""
    funder = rule.funder
    if rule.kind == "benefit":
        return Amount("benefit", None, False, None, f"{rule.label}：{rule.subject}")
    a = rule.amount
    once = "一次性" if getattr(a, "one_off", False) else ""
    if isinstance(a, Fixed):
        return Amount("fixed", a.yuan, False, funder, f"{rule.label}{once} {a.yuan:,} 元")
    if isinstance(a, UpTo):
        return Amount("up_to", a.yuan, True, funder, f"{rule.label}{once}最高 {a.yuan:,} 元")
    if isinstance(a, PercentOf):
        text = f"{rule.label}：{FIELD_LABELS[a.base]} × {a.percent.normalize():f}%"
        if a.ceiling:
            text += "（为上限）"
        if a.limit_to:
            text += f"，不超过{FIELD_LABELS[a.limit_to]}"
        if a.cap_yuan is not None:
            text += f"，{'单户累计' if a.cap_scope == 'enterprise' else ''}最高 {a.cap_yuan:,} 元"
        return Amount("computed", None, a.ceiling, funder, text)
    if isinstance(a, Share):
        ref = policy_set.rules[a.of_rule]
        return Amount(
            "computed", None, False, funder, f"{rule.label}：{ref.label}金额 × {a.percent.normalize():f}%"
        )
    if isinstance(a, Range):
        text = (
            f"{rule.label}：{FIELD_LABELS[a.base]} × {a.percent.normalize():f}%，"
            f"不低于 {a.min_yuan:,} 元、不高于 {a.max_yuan:,} 元"
        )
        return Amount("computed", None, False, funder, text)
    if isinstance(a, Unspecified):
        return Amount("unspecified", None, False, funder, f"{rule.label}：{a.reason}")
    return None


def _from_result(rule: Rule, result: engine.Result, policy_set: PolicySet, *, exact: bool):
    """(amount, unknown conditions) for `rule` in an engine result, or None if the rule does not apply.

    `exact`: the event's figures are real, so a computed line's amount stands; otherwise only
    fixed and capped amounts are figures, and the rest is described in words.
    """
    for line in result.lines:
        if line.rule_id == rule.id:
            if exact or line.kind in ("fixed", "up_to"):
                amount = Amount(line.kind, line.amount_yuan, line.ceiling, line.funder, line.explanation)
            else:
                amount = describe_amount(rule, policy_set)
            return amount, []
    for b in result.benefits:
        if b.rule_id == rule.id:
            return Amount("benefit", None, False, None, b.explanation), []
    for nc in result.not_computable:
        if nc.rule_id == rule.id:
            unknown = [Condition(",".join(nc.missing_facts) or "amount", "unknown", nc.reason)]
            return describe_amount(rule, policy_set), unknown
    return None


# --- the matcher

# The engine is pure, and most firms share their facts (size, ownership, no honours): its results are
# kept per (event, facts, policy files' versions) for every firm and request of this process.
_RESULTS: dict[tuple, engine.Result] = {}
_RESULTS_MAX = 10_000  # about 35 MB per process at most (3–4 KB a result)


def _compute(event, facts: EnterpriseFacts, policy_set: PolicySet) -> engine.Result:
    key = (
        event,
        facts.size,
        facts.ownership,
        facts.above_scale,
        tuple(facts.honours or ()),
        None if facts.revenue_by_year is None else tuple(sorted(facts.revenue_by_year.items())),
        tuple(d.version for d in policy_set.documents.values()),
    )
    result = _RESULTS.get(key)
    if result is None:
        if len(_RESULTS) >= _RESULTS_MAX:
            _RESULTS.clear()
        result = _RESULTS[key] = engine.compute(event, facts, policy_set)
    return result


class _Matcher:
    def __init__(self, firm: EnterpriseSnapshot, as_of: dt.date, policy_set: PolicySet):
        self.firm = firm
        self.as_of = as_of
        self.ps = policy_set
        self.year = firm.year_for(as_of)
        self._held: dict[dt.date | None, frozenset[tuple[str, str]]] = {}  # by `before` (None: until as_of)
        self._facts: dict[tuple, EnterpriseFacts] = {}

    def facts(
        self, before: dt.date | None = None, extra: tuple[str, ...] = (), revenue_before: int | None = None
    ) -> EnterpriseFacts:
        # Made once per firm and question: most rules ask the same (the honours held now), and the facts are a
        # validated, immutable model.
        key = (before, extra, revenue_before)
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = self._make_facts(before, extra, revenue_before)
        return found

    def _make_facts(
        self, before: dt.date | None, extra: tuple[str, ...], revenue_before: int | None
    ) -> EnterpriseFacts:
        known = self._held.get(before)
        if known is None:
            known = self._held[before] = frozenset(
                self.firm.held(before=before) if before is not None else self.firm.held(until=self.as_of)
            )
        held = set(known)
        for code in extra:  # assume a required honour is held, to see what else the rule asks
            if not any(c == code for c, _ in held):
                held.add((code, reference.honours()[code]["levels"][0]))
        revenue = None
        if revenue_before is not None:  # 首次突破: every recorded year before the one judged
            revenue = {
                y: int(f["revenue_yuan"])
                for y, f in self.firm.figures.items()
                if y < revenue_before and f.get("revenue_yuan") is not None
            }
        return EnterpriseFacts(
            size=self.firm.size,
            ownership=self.firm.ownership,
            above_scale=self.firm.above_scale,
            honours=sorted(held),
            revenue_by_year=revenue,
        )

    def compute(self, event, facts: EnterpriseFacts) -> engine.Result:
        return _compute(event, facts, self.ps)

    def award(
        self,
        rule: Rule,
        status: MatchStatus,
        conditions: list[Condition],
        amount: Amount | None,
        event_date: dt.date | None = None,
    ) -> Match:
        doc = self.ps.document_of(rule.id)
        return Match(
            id=rule.id,
            kind="benefit" if rule.kind == "benefit" else "award",
            status=status,
            title=f"{rule.subject}（{rule.label}）",
            document=doc.number,
            clause=rule.clause,
            clause_text=rule.clause_text,
            funder=rule.funder,
            amount=amount,
            conditions=tuple(conditions),
            review=rule.review,
            event_date=event_date,
        )

    # -- policy rules

    def rules(self) -> list[Rule]:
        types = {r.event for r in self.ps.rules.values()} - {"strong_town"}  # a township's, not a firm's
        in_force = {r.id for t in types for r in engine.rules_in_force(t, self.as_of, self.ps)}
        # A lapsed document's entitlement that runs on (领军人才贴息 3 年内) is not something to seek now.
        return [
            r
            for r in self.ps.rules.values()
            if r.id in in_force and self.ps.document_of(r.id).in_force(self.as_of)
        ]

    def rule(self, rule: Rule) -> Match | None:
        if rule.event == "honour":
            return self._honour(rule)
        if rule.event == "first_above_scale":
            return self._first_above_scale(rule)
        if rule.event == "sales_milestone":
            return self._sales_milestone(rule)
        return self._needs_event(rule)

    def _fact_conditions(self, rule: Rule) -> list[Condition]:
        """The enterprise conditions the engine found to hold, said plainly."""
        c = rule.conditions
        out = []
        if c.sizes:
            names = "、".join(reference.SIZE_NAMES[s] for s in c.sizes)
            out.append(
                Condition("size", "met", f"{reference.SIZE_NAMES[self.firm.size]}企业，属于{names}企业")
            )
        if c.ownership:
            names = "、".join(reference.OWNERSHIP_NAMES[o] for o in c.ownership)
            out.append(
                Condition(
                    "ownership",
                    "met",
                    f"{reference.OWNERSHIP_NAMES[self.firm.ownership]}企业，属于{names}企业",
                )
            )
        return out

    def _holds(self, rule: Rule) -> list[Condition]:
        out = []
        for code in rule.conditions.holds or []:
            held = [
                h
                for h in self.firm.honours
                if h.code == code and h.outcome in HELD_OUTCOMES and h.date <= self.as_of
            ]
            if held:
                out.append(Condition("honours", "met", "持有：" + "；".join(_record_text(h) for h in held)))
            else:
                out.append(Condition("honours", "failed", f"须持有{_honour_name(code)}认定（尚未登记）"))
        return out

    def _honour(self, rule: Rule) -> Match | None:
        c = rule.conditions
        doc = self.ps.document_of(rule.id)
        records = sorted(
            (
                h
                for h in self.firm.honours
                if h.code == c.honour
                and h.level in c.levels
                and h.outcome in c.outcomes
                and h.date <= self.as_of
                and doc.in_force(h.date)
                and (c.date_from is None or h.date >= c.date_from)
                and (c.date_to is None or h.date <= c.date_to)
            ),
            key=lambda h: h.date,
            reverse=True,
        )
        for h in records:
            event = HonourEvent(date=h.date, honour=h.code, level=h.level, outcome=h.outcome)
            found = _from_result(rule, self.compute(event, self.facts(before=h.date)), self.ps, exact=True)
            if found is None:
                continue  # e.g. held before, so not the first time
            amount, unknown = found
            conds = [Condition("honour", "met", _record_text(h)), *self._fact_conditions(rule), *unknown]
            return self.award(rule, "unknown" if unknown else "met", conds, amount, event_date=h.date)
        wanted = [o for o in c.outcomes if o in HELD_OUTCOMES]
        if not wanted:
            return None  # a rule for a refused application is never something to aim for
        already = [
            h
            for h in self.firm.honours
            if h.code == c.honour and h.level in c.levels and h.outcome in HELD_OUTCOMES
        ]
        if "renewed" not in wanted and already:
            return None  # holds it already: a new recognition is not in prospect
        if wanted == ["renewed"] and not already:
            return None  # renewal presupposes the honour
        outcome = wanted[0]
        event = HonourEvent(date=self.as_of, honour=c.honour, level=c.levels[0], outcome=outcome)
        found = _from_result(rule, self.compute(event, self.facts()), self.ps, exact=False)
        if found is None:
            return None  # the enterprise facts rule it out (size, first time)
        amount, unknown = found
        outcome_name = "、".join(reference.OUTCOME_NAMES[o] for o in wanted)
        need = Condition(
            "honour",
            "failed",
            f"尚未{outcome_name}{_honour_name(c.honour, c.levels)}（政策期 {_period(doc)}）",
        )
        return self.award(rule, "near", [need, *self._fact_conditions(rule), *unknown], amount)

    def _first_above_scale(self, rule: Rule) -> Match | None:
        p = prospects()["first_above_scale"]
        facts = self.facts()
        found = _from_result(
            rule, self.compute(FirstAboveScaleEvent(date=self.as_of), facts), self.ps, exact=False
        )
        if found is None:
            return None
        amount, unknown = found
        if self.firm.above_scale:
            cond = Condition(
                "above_scale", "met", "现为规模以上企业（首次升规的时间须在政策期内，由审核人核实）"
            )
            return self.award(rule, "unknown" if unknown else "met", [cond, *unknown], amount)
        conds: list[Condition] = []
        sections = pool_criteria.industry_sections(self.firm.industry)
        allowed = p["sections"]
        if sections is None:
            conds.append(
                Condition(
                    "industry", "unknown", "未登记可对应国民经济行业门类的所属行业，无法确定是否为工业企业"
                )
            )
        elif not any(s in allowed for s in sections):
            return None  # not an industrial firm: 升规 here means 规上工业
        else:
            conds.append(
                Condition(
                    "industry", "met", f"所属行业 {self.firm.industry}，属于工业（门类 {'、'.join(allowed)}）"
                )
            )
        label = FIGURE_NAMES.get(p["figure"], p["figure"])
        value = self.firm.figure(self.year, p["figure"])
        if value is None:
            when = f"{self.year} 年" if self.year else ""
            conds.append(Condition(p["figure"], "unknown", f"{when}无{label}数据，无法判断与规上标准的差距"))
        elif value < p["min_yuan"]:
            conds.append(
                _gap(self.year, label, value, p["min_yuan"], p["figure"], "（规模以上工业企业标准）")
            )
        else:
            conds.append(
                Condition(
                    "above_scale",
                    "failed",
                    f"{self.year} 年{label} {wan(value)} 万元，已达 {wan(p['min_yuan'])} 万元，尚未纳入规模以上企业统计",
                    current_yuan=int(value),
                    target_yuan=p["min_yuan"],
                    gap_yuan=0,
                )
            )
        failed = any(c.status == "failed" for c in conds)
        status: MatchStatus = "near" if failed else "unknown"
        return self.award(rule, status, conds + unknown, amount)

    def _sales_milestone(self, rule: Rule) -> Match | None:
        line = rule.conditions.revenue_crossing_yuan
        label = "营业收入"
        year = self.year
        rev = self.firm.figure(year, "revenue_yuan")
        prev = self.firm.figure(year - 1, "revenue_yuan") if year else None
        if rev is None:
            when = f"{year} 年" if year else ""
            cond = Condition("revenue_yuan", "unknown", f"{when}无营业收入数据")
            event = SalesMilestoneEvent(date=self.as_of, previous_revenue_yuan=line - 1, revenue_yuan=line)
            status: MatchStatus = "unknown"
        elif rev >= line:
            if prev is None:
                cond = Condition(
                    "revenue_yuan",
                    "unknown",
                    f"{year} 年营业收入 {wan(rev)} 万元，已达 {wan(line)} 万元；无 {year - 1} 年数据，无法判断是否首次突破",
                )
                event = SalesMilestoneEvent(
                    date=self.as_of, previous_revenue_yuan=line - 1, revenue_yuan=int(rev)
                )
                status = "unknown"
            elif prev >= line:
                return None  # crossed before: not a first time
            else:
                cond = Condition(
                    "revenue_yuan",
                    "met",
                    f"{year} 年营业收入 {wan(rev)} 万元，首次突破 {wan(line)} 万元（{year - 1} 年 {wan(prev)} 万元）",
                    current_yuan=int(rev),
                    target_yuan=line,
                    gap_yuan=0,
                )
                event = SalesMilestoneEvent(
                    date=self.as_of, previous_revenue_yuan=int(prev), revenue_yuan=int(rev)
                )
                status = "met"
        else:
            cond = _gap(year, label, rev, line, "revenue_yuan")
            event = SalesMilestoneEvent(date=self.as_of, previous_revenue_yuan=line - 1, revenue_yuan=line)
            status = "near"
        found = _from_result(
            rule, self.compute(event, self.facts(revenue_before=year or 0)), self.ps, exact=False
        )
        if found is None:
            return None  # ownership, or a crossing in an earlier recorded year, rules it out
        amount, unknown = found
        if unknown and status == "met":
            status = "unknown"
        return self.award(rule, status, [cond, *self._fact_conditions(rule), *unknown], amount)

    def _dummy_event(self, rule: Rule):
        """An event of the rule's type that meets its event conditions, to see what the facts allow."""
        c = rule.conditions
        d = self.as_of
        match rule.event:
            case "loan_interest":
                return LoanInterestEvent(date=d, interest_paid_yuan=0)
            case "equipment_purchase":
                return EquipmentPurchaseEvent(date=d, purpose=c.purpose or "tech_upgrade", amount_yuan=0)
            case "design_prize":
                return DesignPrizeEvent(date=d, contest=c.contest or "liaocheng", rank=c.rank or "gold")
            case "skills_contest":
                return SkillsContestEvent(date=d, participants=c.min_participants or 0)
            case "talent_program":
                return TalentProgramEvent(date=d, level=(c.levels or ["provincial"])[0], grant_yuan=0)
            case "talent_loan_interest":
                return TalentLoanInterestEvent(date=d, interest_paid_yuan=0, benchmark_interest_yuan=0)
            case "output_growth":
                return OutputGrowthEvent(
                    date=d,
                    new_output_yuan=(c.new_output_above_yuan or 0) + 1,
                    growth_rate=c.min_growth_rate or Decimal(0),
                    city_rank=c.max_city_rank or 1,
                )
        return None

    def _needs_event(self, rule: Rule) -> Match | None:
        event = self._dummy_event(rule)
        if event is None:
            return None
        holds = self._holds(rule)
        facts = self.facts(extra=tuple(rule.conditions.holds or ()))
        found = _from_result(rule, self.compute(event, facts), self.ps, exact=False)
        if found is None:
            return None  # the facts, or the event's dates, rule it out
        amount, unknown = found
        need = prospects()["event_needs"].get(rule.event, rule.event)
        conds = [
            *holds,
            *self._fact_conditions(rule),
            Condition("event", "unknown", f"须有：{need}"),
            *unknown,
        ]
        status: MatchStatus = "near" if any(c.status == "failed" for c in holds) else "unknown"
        return self.award(rule, status, conds, amount)

    # -- pool entry classes

    def pool_facts(self) -> pool_criteria.FirmFacts:
        return pool_criteria.FirmFacts.from_snapshot(self.firm, until=self.as_of)

    def _criterion(self, c: Criterion, r: pool_criteria.CriterionResult, year: int) -> Condition:
        status: Status = r.status.value  # met / failed / unknown
        if status != "failed":
            return Condition(c.kind, status, r.explanation)
        if isinstance(c, RevenueBetween):
            v = self.firm.figure(year, c.figure)
            if v is not None and v < c.min_yuan:
                return _gap(year, FIGURE_NAMES[c.figure], v, c.min_yuan, c.figure)
            return Condition(c.kind, "failed", r.explanation, reachable=False)
        if isinstance(c, Flag):
            return Condition(c.kind, "failed", r.explanation, reachable=c.above_scale)
        if isinstance(c, HonourHeld | HonourApplied | FigurePositive):
            return Condition(c.kind, "failed", r.explanation)
        if isinstance(c, AnyOf):
            reachable = any(
                self._criterion(cc, rr, year).reachable for cc, rr in zip(c.criteria, r.children, strict=True)
            )
            return Condition(c.kind, "failed", r.explanation, reachable=reachable)
        if isinstance(c, HonourNotHeld):
            return Condition(c.kind, "failed", r.explanation, reachable=False)
        return Condition(c.kind, "failed", r.explanation, reachable=False)  # size, industry

    def pool_entries(self, pools: Mapping[str, PoolDefinition]) -> list[Match]:
        out = []
        facts = self.pool_facts()
        year = self.year or self.as_of.year
        for pool in pools.values():
            if not pool.in_force.covers(self.as_of) or pool.code in self.firm.pools:
                continue
            for entry in pool.entry_classes:
                found = self._entry_match(pool, entry, facts, year)
                if found is not None:
                    out.append(found)
        return out

    def _entry_match(
        self, pool: PoolDefinition, entry: EntryClass, facts: pool_criteria.FirmFacts, year: int
    ) -> Match | None:
        """The entry class as a match, or None when a criterion fails for good. A class none of whose criteria
        reads a figure comes to the same match for every firm whose facts agree on what they read: made once."""
        read = _reads(entry)
        if read is None:
            return self._judge_entry(pool, entry, facts, year)
        key = (id(entry), year, *_read_values(facts, read))
        known = _ENTRY_MATCHES.get(key)
        if known is not None and known[0] is entry and known[1] is pool:
            return known[2]
        found = self._judge_entry(pool, entry, facts, year)
        if len(_ENTRY_MATCHES) >= _BY_FACTS_MAX:
            _ENTRY_MATCHES.clear()
        _ENTRY_MATCHES[key] = entry, pool, found
        return found

    def _judge_entry(
        self, pool: PoolDefinition, entry: EntryClass, facts: pool_criteria.FirmFacts, year: int
    ) -> Match | None:
        # One criterion at a time, left at the first failure that will not change: most classes end there (size,
        # scale), and the sentences of the criteria after it would only be thrown away.
        conds = []
        for c in entry.criteria:
            cond = self._entry_condition(c, facts, year, entry.code)
            if cond.status == "failed" and not cond.reachable:
                return None
            conds.append(cond)
        if any(c.status == "failed" for c in conds):
            status: MatchStatus = "near"
        elif any(c.status == "unknown" for c in conds):
            status = "unknown"
        else:
            status = "met"
        return Match(
            id=f"pool:{pool.code}.{entry.code}",
            kind="pool_entry",
            status=status,
            title=f"入{pool.name}：{entry.name}",
            document=pool.document,
            clause=entry.clause,
            clause_text=entry.text,
            funder=None,
            amount=None,
            conditions=tuple(conds),
        )

    def _entry_condition(
        self, c: Criterion, facts: pool_criteria.FirmFacts, year: int, entry: str
    ) -> Condition:
        """The criterion as a condition; one that reads no figure is judged once for the facts it reads."""
        read = _reads(c)
        if read is None:  # a figure: each firm's own
            return self._criterion(c, pool_criteria.evaluate_criterion(c, facts, year, entry), year)
        key = (id(c), year, *_read_values(facts, read))
        known = _CONDITIONS.get(key)
        if known is not None and known[0] is c:
            return known[1]
        cond = self._criterion(c, pool_criteria.evaluate_criterion(c, facts, year, entry), year)
        if len(_CONDITIONS) >= _BY_FACTS_MAX:
            _CONDITIONS.clear()
        _CONDITIONS[key] = c, cond
        return cond


# The entry classes and criteria of the pools that read no figure, judged once per process for each year and
# set of the facts they read (app/pools/criteria.py `reads`: the size, whether 规上, the industry, the honours):
# the same few for most firms. Kept by the definition's identity, with the definition (so an id is not reused
# while it is in here); matches and conditions are immutable values.
_ENTRY_MATCHES: dict[tuple, tuple[EntryClass, PoolDefinition, Match | None]] = {}
_CONDITIONS: dict[tuple, tuple[Criterion, Condition]] = {}
_BY_FACTS_MAX = 20_000
_READS: dict[int, tuple[Criterion | EntryClass, tuple[str, ...] | None]] = {}


def _reads(what: Criterion | EntryClass) -> tuple[str, ...] | None:
    """The facts a criterion, or the criteria of an entry class, read, in a fixed order; None when a figure."""
    known = _READS.get(id(what))
    if known is None or known[0] is not what:
        if isinstance(what, EntryClass):
            read = frozenset().union(*(pool_criteria.reads(c) for c in what.criteria))
        else:
            read = pool_criteria.reads(what)
        if len(_READS) >= 10_000:  # definitions of versions no longer read
            _READS.clear()
        known = _READS[id(what)] = what, None if "figures" in read else tuple(sorted(read))
    return known[1]


def _read_values(facts: pool_criteria.FirmFacts, read: tuple[str, ...]):
    for name in read:
        value = getattr(facts, name)
        yield tuple(value) if isinstance(value, list) else value  # the honours: a list


# Rules judged on the enterprise's figures; every other rule is judged on its honours, size, ownership and
# scale alone (the facts `_Matcher.facts` gives without `revenue_before`, `_holds`, `_fact_conditions`).
_FIGURE_EVENTS = frozenset({"first_above_scale", "sales_milestone"})

# The answers of the rules not judged on figures, and the rules in force, kept per policy files' versions and
# day (and for the former per honours, size, ownership and scale): most firms share them (no honours, the same
# size and ownership), so a batch of twenty firms judges the forty-odd honour rules a few times, not twenty.
# A firm with honours shares too: a rule reads the records (dates, outcomes) of one or two honours only
# (`_records_read`), and of every other honour only whether it is held on the day; so the rules that read none
# of the firm's records are kept per the honours held and the codes recorded (`_BY_HELD`), and only the few
# that read them are judged for the firm itself. Matches are immutable values.
_BY_PROFILE: dict[tuple, tuple[Match, ...]] = {}
_BY_PROFILE_MAX = 1_000  # some 65 KB an entry (2023 rules): at most about 65 MB per process
_BY_HELD: dict[tuple, tuple[Match, ...]] = {}
_IN_FORCE: dict[tuple, tuple[list[Rule], list[Rule], list[frozenset[str]]]] = {}


def _records_read(rule: Rule) -> frozenset[str]:
    """The honours whose records a rule not judged on figures reads: the one an honour rule rewards
    (`_Matcher._honour`), those an event rule asks to be held (`_Matcher._holds`)."""
    c = rule.conditions
    if rule.event == "honour":
        return frozenset([c.honour] if c.honour else [])
    return frozenset(c.holds or ())


def _in_force(m: _Matcher, versions: tuple) -> tuple[list[Rule], list[Rule], list[frozenset[str]]]:
    """(rules judged on figures, the others, the honours whose records each of the others reads) in force on
    the matcher's day."""
    key = (versions, m.as_of)
    found = _IN_FORCE.get(key)
    if found is None:
        if len(_IN_FORCE) >= 100:
            _IN_FORCE.clear()
        rules = m.rules()
        others = [r for r in rules if r.event not in _FIGURE_EVENTS]
        found = _IN_FORCE[key] = (
            [r for r in rules if r.event in _FIGURE_EVENTS],
            others,
            [_records_read(r) for r in others],
        )
    return found


def _judged(m: _Matcher, rules: list[Rule]) -> tuple[Match, ...]:
    return tuple(x for x in (m.rule(r) for r in rules) if x is not None)


def _not_on_figures(m: _Matcher, versions: tuple, others: list[Rule], reads: list[frozenset[str]]):
    """The matches of the rules not judged on figures: those that read none of the firm's honour records as
    kept for firms alike (`_BY_HELD`), then the firm's own."""
    firm = m.firm
    recorded = frozenset(h.code for h in firm.honours)
    alike = [r for r, read in zip(others, reads, strict=True) if not read & recorded]
    own = [r for r, read in zip(others, reads, strict=True) if read & recorded]
    held = frozenset(firm.held(until=m.as_of))
    key = (versions, m.as_of, firm.size, firm.ownership, firm.above_scale, held, recorded)
    common = _BY_HELD.get(key)
    if common is None:
        if len(_BY_HELD) >= _BY_PROFILE_MAX:
            _BY_HELD.clear()
        common = _BY_HELD[key] = _judged(m, alike)
    return (*common, *_judged(m, own))


def match(
    firm: EnterpriseSnapshot,
    *,
    as_of: dt.date,
    policy_set: PolicySet,
    pools: Mapping[str, PoolDefinition],
) -> list[Match]:
    """Every rule the enterprise meets or may still meet on `as_of`, closest first."""
    m = _Matcher(firm, as_of, policy_set)
    versions = tuple(d.version for d in policy_set.documents.values())
    on_figures, others, reads = _in_force(m, versions)
    key = (versions, as_of, firm.size, firm.ownership, firm.above_scale, firm.honours)
    shared = _BY_PROFILE.get(key)
    if shared is None:
        if len(_BY_PROFILE) >= _BY_PROFILE_MAX:
            _BY_PROFILE.clear()
        shared = _BY_PROFILE[key] = _not_on_figures(m, versions, others, reads)
    found = [*shared, *_judged(m, on_figures)]
    found.extend(m.pool_entries(pools))
    return sorted(found, key=Match.sort_key)  # ids differ: the order does not hang on the order judged
