"""The award engine: from one event and what is known of the enterprise, the award lines the rules give.

Pure functions — no database, no files, no clock. The rules come in as a
`PolicySet` (the published versions: app.policies.store.current(session)); the engine knows rule
shapes (fixed, up_to, percent with caps, share of another line, range,
unspecified, benefit), never documents.

Public API
----------
    compute(event, facts, policy_set, *, overrides=None) -> Result
        event:      an app.awards.event_models Event (parse_event(dict) builds one)
        facts:      EnterpriseFacts describing the enterprise before the event, or None (all unknown)
        overrides:  {rule_id: value} for what-if forecasts without touching the rules —
                    fixed/up_to/unspecified: amount in 元 (int); percent/share/range: the percent
                    (40 = 40%). An unknown rule id or an override of a benefit raises ValueError.

    rules_in_force(event_type, day, policy_set) -> list[Rule]
        The rules that answer that event type on that day, after supersession.

    Result.lines          money lines (Line), in rule order; different funders stack
    Result.benefits       non-monetary benefits (Benefit), e.g. 高新技术企业 15% 税率
    Result.not_computable rules that apply or may apply but cannot be computed (NotComputable):
                          an amount the text does not give, or a condition on an unknown fact
    Result.total_yuan / Result.total_by_funder()

How a rule is applied
---------------------
* Only rules of documents in force on `event.date` answer the event; outside
  every period the result is empty.
* A rule whose `supersedes` names an older rule removes that rule on the days
  the newer document is in force (the same funder never pays twice).
* Every condition must hold. One that fails → no line. One that needs an
  unknown fact → NotComputable with the reason and the facts missing.
* Amounts are integer 元, rounded half up. `kind` is fixed / up_to / computed;
  `ceiling` is True when the amount is the most a person may grant
  (最高 X 万, 不超过 X%).
* A share line is computed from the line of the rule it names in the same
  result; if that line is missing there is no share line.
"""

from bisect import bisect_right
from collections.abc import Callable, Hashable, Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Literal, TypeVar, assert_never

from pydantic import BaseModel, ConfigDict

from app import reference
from app.awards.event_models import (
    FIELD_LABELS,
    DesignPrizeEvent,
    EnterpriseFacts,
    EquipmentPurchaseEvent,
    Event,
    FirstAboveScaleEvent,
    HonourEvent,
    LoanInterestEvent,
    OutputGrowthEvent,
    SalesMilestoneEvent,
    SkillsContestEvent,
    StrongTownEvent,
    TalentLoanInterestEvent,
    TalentProgramEvent,
)
from app.policies.loader import PolicySet
from app.policies.schema import BaseField, Fixed, Funder, PercentOf, Range, Rule, Share, Unspecified, UpTo
from app.reference import SIZE_NAMES

__all__ = ["Benefit", "Line", "NotComputable", "Result", "compute", "compute_rule_by_rule", "rules_in_force"]

OverrideValue = int | float | Decimal
Kind = Literal["fixed", "up_to", "computed"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule_id: str
    document: str  # 文号
    document_code: str
    document_version: str  # sha256 of the policy file
    clause: str


class Line(_Out):
    """One amount from one funder under one rule."""

    funder: Funder
    kind: Kind
    amount_yuan: int
    ceiling: bool  # the amount is the most a person may grant, not the amount granted
    fund_id: str | None = None  # the document's fund this funder pays from, if the document sets one
    overridden: bool = False  # a what-if value replaced the rule's figure
    explanation: str


class Benefit(_Out):
    """A benefit that is not money paid (tax rate, tax base)."""

    description: str
    explanation: str


class NotComputable(_Out):
    funder: Funder | None
    reason: str
    missing_facts: list[str] = []


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    lines: list[Line] = []
    benefits: list[Benefit] = []
    not_computable: list[NotComputable] = []

    @property
    def total_yuan(self) -> int:
        return sum(line.amount_yuan for line in self.lines)

    def total_by_funder(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            totals[line.funder] = totals.get(line.funder, 0) + line.amount_yuan
        return totals


# A plan entry's computed line (_Builder.compiled): (event, facts, lines so far, not computable so far).
_Make = Callable[
    [Any, EnterpriseFacts, Mapping[str, "Line"], Mapping[str, "NotComputable"]], "Line | NotComputable | None"
]
_NOTHING: Mapping[str, Any] = MappingProxyType({})

_new = object.__new__
_set = object.__setattr__
# Every field of each model is set, so every object of a model has the same fields-set: one set per
# model, shared. The models are frozen (pydantic refuses to set a field, which is what would add to
# it), and pydantic copies the set when it copies a model (model_copy, copy, deepcopy).
_FIELDS: dict[type[BaseModel], set[str]] = {
    cls: set(cls.model_fields) for cls in (Line, Benefit, NotComputable, Result)
}


_M = TypeVar("_M", bound=BaseModel)


def _construct(cls: type[_M], values: dict[str, object]) -> _M:
    """`cls(**values)` for values the engine has built from validated rules, events and facts (every
    field given, each of its declared type: amounts int 元), set as `model_construct` sets them (the
    fields-set shared, see _FIELDS), without validating them a second time."""
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", _FIELDS[cls])
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


@lru_cache(maxsize=4096)
def _yuan(amount: int) -> str:
    """12345 -> '12,345 元'. Caps, thresholds and fixed amounts recur in every explanation."""
    return f"{amount:,} 元"


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _round(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP))


_ONE = Decimal(1)
# Decimal's default context keeps 28 digits: an amount × percent below this is exact in Decimal, and so
# is its division by 100, so `_percent_of` in integers rounds exactly as `_round` does.
_EXACT_BELOW = 10**28


def _exact_percent(percent: Decimal) -> tuple[int, int] | None:
    """`percent / 100` as (multiplier, divisor) in integers, the divisor 1 or a power of ten; None for a
    value the integer form does not take (negative, not finite)."""
    sign, digits, exponent = percent.as_tuple()
    if sign or not isinstance(exponent, int):
        return None
    coefficient = int("".join(map(str, digits)))
    shift = exponent - 2
    return (coefficient * 10**shift, 1) if shift >= 0 else (coefficient, 10**-shift)


def _percent_of(amount: int, percent: Decimal, exact: tuple[int, int] | None) -> int:
    """`_round(amount * percent / 100)`: in integers when the Decimal product is exact (a multiplier
    from `_exact_percent`, amount ≥ 0, product below `_EXACT_BELOW`), half up as `_round`; else by
    `_round` itself."""
    if exact is not None and amount >= 0:
        product = amount * exact[0]
        if product < _EXACT_BELOW:
            divisor = exact[1]
            return (product + divisor // 2) // divisor
    return _round(amount * percent / 100)


def _answers(rule: Rule, day: date, policy_set: PolicySet) -> bool:
    doc = policy_set.document_of(rule.id)
    if doc.in_force(day):
        return True
    # An entitlement granted while the document was in force runs its course (领军人才贴息 3 年内);
    # whether this enterprise's window began in the period is a condition checked in _check.
    return rule.outlives_period and day > doc.spec.in_force.end


def rules_in_force(
    event_type: str, day: date, policy_set: PolicySet, honour: str | None = None
) -> list[Rule]:
    """Rules answering `event_type` (an honour event: of that honour code) on `day`, in file order,
    with superseded rules removed. Looks only at the rules indexed under the event type.

    A rule with `outlives_period` also answers after its document lapsed (its condition then
    requires the enterprise's entitlement to have begun while the document was in force).
    """
    rules = [rule for rule in policy_set.rules_for(event_type, honour) if _answers(rule, day, policy_set)]
    superseded = {
        rule.supersedes
        for rule in policy_set.superseding(event_type)
        if policy_set.document_of(rule.id).in_force(day)
    }
    # A lapsed document's running entitlement gives way to a document in force that pays the same
    # funder for the same event: the later document carries the entitlement on, never both.
    current = {(rule.funder, rule.event) for rule in rules if policy_set.document_of(rule.id).in_force(day)}
    superseded |= {
        rule.id
        for rule in rules
        if not policy_set.document_of(rule.id).in_force(day) and (rule.funder, rule.event) in current
    }
    return [rule for rule in rules if rule.id not in superseded]


# ── conditions ──────────────────────────────────────────────────────────────


class _Verdict:
    """Outcome of checking a rule's conditions: fails, or unknowns, or holds."""

    def __init__(self) -> None:
        self.fails = False
        self.unknown: list[str] = []
        self.missing: list[str] = []

    def require(self, ok: bool) -> None:
        if not ok:
            self.fails = True

    def need(self, ok: bool | None, fact: str, reason: str) -> None:
        if ok is None:
            self.unknown.append(reason)
            self.missing.append(fact)
        elif not ok:
            self.fails = True


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _yi(yuan: int) -> str:
    return f"{yuan / 100_000_000:g} 亿元"


def _first_crossing(
    v: "_Verdict", threshold: int, event: SalesMilestoneEvent, facts: EnterpriseFacts
) -> None:
    """首次突破 (the event crosses the threshold, checked by _check_event): never at or above it in any
    earlier recorded year; unknown while years before the records may hide an earlier crossing."""
    years = facts.revenue_by_year
    if years is None:
        v.need(None, "revenue_by_year", f"未知企业以往各年度销售收入，无法判断是否首次突破{_yi(threshold)}")
        return
    earlier = {y: r for y, r in years.items() if y < event.date.year}
    if any(r >= threshold for r in earlier.values()):
        v.require(False)  # crossed before, fell back, crosses again: not 首次
        return
    if not facts.revenue_history_complete:
        since = f"{min(earlier)} 年以前" if earlier else "以往年度"
        v.need(
            None,
            "revenue_history_complete",
            f"企业{since}的销售收入无记录，无法确认此前从未突破{_yi(threshold)}（须人工确认后记录）",
        )


def _honour_of(event: Event) -> str | None:
    """The honour code an honour event is about (the rules are indexed by it), else None."""
    match event:
        case HonourEvent(honour=honour):
            return honour
        case _:
            return None


def _check_event(rule: Rule, event: Event, facts: EnterpriseFacts, v: _Verdict) -> None:
    """The rule's conditions on the event itself, by the event's class. The policy schema lets a
    condition appear only on the event types it applies to (EVENT_CONDITIONS), so each class
    looks only at its own fields. Conditions that may ask about unknown facts come after every
    plain requirement, so that an event that does not qualify asks about nothing."""
    c = rule.conditions
    match event:
        case HonourEvent():
            if c.honour is not None:
                v.require(event.honour == c.honour)
            if c.levels is not None:
                v.require(event.level in c.levels)
            if c.outcomes is not None:
                v.require(event.outcome in c.outcomes)
        case TalentProgramEvent() | StrongTownEvent():
            if c.levels is not None:
                v.require(event.level in c.levels)
        case SalesMilestoneEvent():
            if c.revenue_crossing_yuan is not None:
                v.require(event.previous_revenue_yuan < c.revenue_crossing_yuan <= event.revenue_yuan)
        case EquipmentPurchaseEvent():
            if c.purpose is not None:
                v.require(event.purpose == c.purpose)
        case DesignPrizeEvent():
            if c.contest is not None:
                v.require(event.contest == c.contest)
            if c.rank is not None:
                v.require(event.rank == c.rank)
        case SkillsContestEvent():
            if c.min_participants is not None:
                v.require(event.participants >= c.min_participants)
        case OutputGrowthEvent():
            if c.new_output_above_yuan is not None:
                v.require(event.new_output_yuan > c.new_output_above_yuan)
            if c.min_growth_rate is not None:
                v.require(event.growth_rate >= c.min_growth_rate)
            if c.max_city_rank is not None:
                v.require(event.city_rank <= c.max_city_rank)
        case FirstAboveScaleEvent() | LoanInterestEvent() | TalentLoanInterestEvent():
            pass  # no condition on these events' own fields
        case _:
            assert_never(event)
    if c.date_from is not None:
        v.require(event.date >= c.date_from)
    if c.date_to is not None:
        v.require(event.date <= c.date_to)
    if v.fails:
        return
    _check_event_facts(rule, event, facts, v)


def _check_event_facts(rule: Rule, event: Event, facts: EnterpriseFacts, v: _Verdict) -> None:
    """The conditions that weigh the event against the facts (首次, not granted before, 首次突破),
    once the event's own fields qualify."""
    c = rule.conditions
    if c.first_time and isinstance(event, HonourEvent):
        codes = c.first_of or [event.honour]
        each = [facts.holds(code, c.levels) for code in codes]
        held = True if any(each) else (None if None in each else False)
        v.need(
            None if held is None else not held, "honours", "未知企业此前是否已获得同类认定，无法判断是否首次"
        )
    if c.not_granted_under and not v.fails:
        grants = facts.prior_grants_yuan
        granted = None if grants is None else any(grants.get(r, 0) > 0 for r in c.not_granted_under)
        v.need(
            None if granted is None else not granted,
            "prior_grants_yuan",
            "未知企业此前是否已按同一条款获得奖励",
        )
    if c.revenue_crossing_yuan is not None and isinstance(event, SalesMilestoneEvent) and not v.fails:
        _first_crossing(v, c.revenue_crossing_yuan, event, facts)


def _check(rule: Rule, event: Event, facts: EnterpriseFacts, policy_set: PolicySet | None = None) -> _Verdict:
    v = _Verdict()
    _check_event(rule, event, facts, v)
    if v.fails:  # the event itself does not qualify: facts are not asked about
        return v
    _check_facts(rule, event, facts, policy_set, v)
    return v


def _check_qualified(
    rule: Rule, event: Event, facts: EnterpriseFacts, policy_set: PolicySet | None = None
) -> _Verdict:
    """`_check` for an event whose own fields are known to qualify (the plan has tested them)."""
    v = _Verdict()
    _check_event_facts(rule, event, facts, v)
    if v.fails:
        return v
    _check_facts(rule, event, facts, policy_set, v)
    return v


def _check_facts(
    rule: Rule, event: Event, facts: EnterpriseFacts, policy_set: PolicySet | None, v: _Verdict
) -> None:
    """The conditions on the enterprise facts alone."""
    c = rule.conditions
    if c.sizes is not None:
        if facts.size is None:
            wanted = "、".join(SIZE_NAMES[s] for s in c.sizes)
            v.need(None, "size", f"未知企业规模，无法判断是否为{wanted}企业")
        else:
            v.require(facts.size in c.sizes)
    if c.ownership is not None:
        ok = None if facts.ownership is None else facts.ownership in c.ownership
        v.need(ok, "ownership", "未知企业所有制，无法判断是否为民营企业")
    for code in c.holds or []:
        held = facts.holds(code)
        if held is None:
            name = reference.honours()[code]["name"]
            v.need(None, "honours", f"未知企业是否为{name}，无法判断是否符合条件")
        else:
            v.require(held)
    if c.no_other_interest_subsidy:
        ok = None if facts.other_interest_subsidy is None else not facts.other_interest_subsidy
        v.need(ok, "other_interest_subsidy", "未知企业是否已获得其他类别贷款贴息")
    if c.within_years_of_talent_founding is not None:
        start = facts.talent_founded_date
        ok = None
        if start is not None:
            ok = start <= event.date < _add_years(start, c.within_years_of_talent_founding)
            if ok and rule.outlives_period and policy_set is not None:
                period = policy_set.document_of(rule.id).spec.in_force
                if not period.contains(event.date):  # after the document lapsed: the window must
                    # have been running while it was in force
                    ok = (
                        start <= period.end
                        and _add_years(start, c.within_years_of_talent_founding) > period.start
                    )
        v.need(ok, "talent_founded_date", "未知领军人才来冠创（领）办企业的日期，无法判断是否在3年内")


# ── amounts ─────────────────────────────────────────────────────────────────


def _figure(event: Event, name: BaseField) -> int:
    """The event figure a percentage is taken of. The policy schema allows a rule only the figures
    its event type has (EVENT_FIGURES)."""
    if name in _FIGURES.get(type(event), ()):
        figure: int = getattr(event, name)
        return figure
    raise ValueError(f"{event.type} 事件没有数额 {name}")


_FIGURES: dict[type, frozenset[str]] = {
    LoanInterestEvent: frozenset({"interest_paid_yuan"}),
    TalentLoanInterestEvent: frozenset({"interest_paid_yuan", "benchmark_interest_yuan"}),
    EquipmentPurchaseEvent: frozenset({"amount_yuan"}),
    TalentProgramEvent: frozenset({"grant_yuan"}),
}


def _override_value(rule: Rule, value: OverrideValue) -> int | Decimal:
    if rule.amount is None:
        raise ValueError(f"{rule.id} 是非货币待遇，不能设定测算金额")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{rule.id} 的测算值须为数字")
    number = Decimal(str(value))
    if number < 0:
        raise ValueError(f"{rule.id} 的测算值不能为负")
    if isinstance(rule.amount, Fixed | UpTo | Unspecified):
        if number != number.to_integral_value():
            raise ValueError(f"{rule.id} 的测算金额须为整数元")
        return int(number)
    return number


def _source(rule: Rule, policy_set: PolicySet) -> dict[str, str]:
    doc = policy_set.document_of(rule.id)
    return {
        "rule_id": rule.id,
        "document": doc.number,
        "document_code": doc.code,
        "document_version": doc.version,
        "clause": rule.clause,
    }


def _cite(rule: Rule, policy_set: PolicySet) -> str:
    return f"{policy_set.document_of(rule.id).number} {rule.clause}"


class _Builder:
    """Builds one result; holds the event, the facts and the overrides while the rules are applied."""

    def __init__(
        self,
        event: Event,
        facts: EnterpriseFacts,
        policy_set: PolicySet,
        overrides: dict[str, int | Decimal],
        lines: dict[str, Line] | None = None,
        not_computable: dict[str, NotComputable] | None = None,
        benefits: list[Benefit] | None = None,
        kept: "_Entry | None" = None,
    ):
        self.event = event
        self.facts = facts
        self.ps = policy_set
        self.overrides = overrides
        self.lines: dict[str, Line] = {} if lines is None else lines
        self.benefits: list[Benefit] = [] if benefits is None else benefits
        self.not_computable: dict[str, NotComputable] = {} if not_computable is None else not_computable
        # what is the same for every event of a plan entry (notes, fixed texts, sources), or None
        self.kept = kept

    def skip(self, rule: Rule, reason: str, missing: list[str] | None = None) -> None:
        self.not_computable[rule.id] = _construct(
            NotComputable,
            {
                **self._source(rule),
                "funder": rule.funder,
                "reason": reason,
                "missing_facts": missing or [],
            },
        )

    def _source(self, rule: Rule) -> dict[str, str]:
        if self.kept is None:
            return _source(rule, self.ps)
        source = self.kept.sources.get(rule.id)
        if source is None:
            source = self.kept.sources[rule.id] = _source(rule, self.ps)
        return source

    def _texts(self, rule: Rule, base: BaseField, percent: Decimal) -> tuple[str, str, str]:
        """The fixed parts of a percentage line's text: "label = figure ", " × p% = ", "（subject；cite）"."""
        key = (rule.id, percent)
        texts = None if self.kept is None else self.kept.texts.get(key)
        if texts is None:
            texts = (
                f"{rule.label} = {FIELD_LABELS[base]} ",
                f" × {_pct(percent)} = ",
                f"（{rule.subject}；{_cite(rule, self.ps)}）",
            )
            if self.kept is not None:
                self.kept.texts[key] = texts
        return texts

    def _notes(self, rule: Rule, ceiling: bool) -> str:
        """What follows a line's computation in its explanation: supersession, period, review, reading,
        fund, what-if and ceiling notes, each after a 。."""
        notes = []
        if rule.supersedes and self.ps.document_of(rule.supersedes).in_force(self.event.date):
            notes.append(f"本条取代{_cite(self.ps.rules[rule.supersedes], self.ps)}的同一奖励")
        doc = self.ps.document_of(rule.id)
        if rule.outlives_period and not doc.in_force(self.event.date):
            notes.append(
                f"{doc.number}已于 {doc.spec.in_force.end} 失效；该企业的享受期在文件有效期内开始，按本条延续至期满"
            )
        if self.event.date < doc.spec.issue_date and doc.spec.in_force_note:
            notes.append(
                f"有效期：事件日期早于{doc.number}的印发日期 {doc.spec.issue_date}，按其施行期（自 {doc.spec.in_force.start} 起）适用"
            )
        if rule.review:
            notes.append(f"须人工核实：{rule.review}")
        if rule.note:
            notes.append(f"条款解读：{rule.note}")
        paid_from = self.ps.fund_for(rule.id)
        if paid_from is not None and paid_from.yearly:
            notes.append(
                f"资金口径：{doc.number} {paid_from.clause}的 {paid_from.amount_yuan // 10_000} 万元按每年一个额度理解，"
                f"本笔计入事件日期所在的 {self.event.date.year} 年额度"
            )
        if rule.id in self.overrides:
            notes.append("测算假设：按给定的测算值计算，非文件规定")
        if ceiling:
            notes.append("此为上限，实际金额由审核确定")
        return "".join(f"。{n}" for n in notes)

    def _kept_notes(self, rule: Rule, ceiling: bool) -> str:
        if self.kept is None:
            return self._notes(rule, ceiling)
        # in a plan's run the notes depend on the rule, the period and the year (no what-if there)
        key = (rule.id, ceiling)
        notes = self.kept.notes.get(key)
        if notes is None:
            notes = self.kept.notes[key] = self._notes(rule, ceiling)
        return notes

    def line(self, rule: Rule, *, kind: Kind, amount: int, ceiling: bool, text: str) -> None:
        if rule.funder is None:  # the policy schema gives every rule with an amount its funder
            raise ValueError(f"{rule.id} 未定出资层级")
        notes = self._kept_notes(rule, ceiling)
        fund = self.ps.fund_for(rule.id)
        self.lines[rule.id] = _construct(
            Line,
            {
                **self._source(rule),
                "funder": rule.funder,
                "kind": kind,
                "amount_yuan": amount,
                "ceiling": ceiling,
                "fund_id": fund.id if fund else None,
                "overridden": rule.id in self.overrides,
                "explanation": text + notes,
            },
        )

    # ── a plan entry's computed lines, each made once into a function of the event ──

    def compiled(self, rule: Rule) -> "_Make | None":
        """For a plan entry (no what-if): the line of a percentage, range or share rule as one function
        of (event, facts, lines so far, not computable so far) returning what `give` would add, with the
        parts that are the same for every event of the entry (texts, notes, source) made here once and
        the amount in integers (`_percent_of`). None when the rule takes `give` for every event."""
        amount = rule.amount
        if self.kept is None or self.overrides or rule.funder is None:
            return None
        match amount:
            case PercentOf() | Range():
                figures = _FIGURES.get(type(self.event), frozenset())
                if amount.base not in figures:
                    return None  # give raises, naming the figure
                if isinstance(amount, Range):
                    return self._compiled_range(rule, amount)
                if amount.limit_to is not None and amount.limit_to not in figures:
                    return None
                return self._compiled_percent(rule, amount)
            case Share():
                return self._compiled_share(rule, amount)
        return None

    def _template(self, rule: Rule, ceiling: bool) -> dict[str, object]:
        """A computed line's fields in their order, the amount and the explanation left to fill in."""
        fund = self.ps.fund_for(rule.id)
        return {
            **self._source(rule),
            "funder": rule.funder,
            "kind": "computed",
            "amount_yuan": 0,
            "ceiling": ceiling,
            "fund_id": fund.id if fund else None,
            "overridden": False,
            "explanation": "",
        }

    def _compiled_percent(self, rule: Rule, amount: PercentOf) -> "_Make":
        percent, exact = amount.percent, _exact_percent(amount.percent)
        head, times, tail = self._texts(rule, amount.base, percent)
        tail += self._kept_notes(rule, amount.ceiling)
        template = self._template(rule, amount.ceiling)
        rule_id, funder, source = rule.id, rule.funder, self._source(rule)
        figure = attrgetter(amount.base)
        limit_of = None if amount.limit_to is None else attrgetter(amount.limit_to)
        limit_label = "" if amount.limit_to is None else FIELD_LABELS[amount.limit_to]
        cap = amount.cap_yuan
        per_enterprise = cap is not None and amount.cap_scope == "enterprise"
        over_cap = "" if cap is None else f"；超过上限 {_yuan(cap)}，按上限计"
        cap_text = "" if cap is None else _yuan(cap)

        def make(
            event: Any,
            facts: EnterpriseFacts,
            lines: Mapping[str, Line],
            skipped: Mapping[str, NotComputable],
        ) -> Line | NotComputable | None:
            base = figure(event)
            value = raw = _percent_of(base, percent, exact)
            steps = ""  # after the first step, each after a ；
            if limit_of is not None:
                limit = limit_of(event)
                if value > limit:
                    value = limit
                    steps = f"；超过{limit_label} {limit:,} 元，按 {limit:,} 元计"
            if per_enterprise:
                grants = facts.prior_grants_yuan
                if grants is None:
                    return _construct(
                        NotComputable,
                        {
                            **source,
                            "funder": funder,
                            "reason": "未知企业此前已按本条获得的累计金额，无法扣减累计上限",
                            "missing_facts": ["prior_grants_yuan"],
                        },
                    )
                prior = grants.get(rule_id, 0)
                remaining = max(cap - prior, 0)  # type: ignore[operator]  # per_enterprise: cap is set
                if value > remaining:
                    steps += f"；单户累计上限 {cap_text}，此前已获 {prior:,} 元，尚余 {remaining:,} 元，按 {remaining:,} 元计"
                    value = remaining
            elif cap is not None and value > cap:
                steps += over_cap
                value = cap
            values = template.copy()
            values["amount_yuan"] = value
            values["explanation"] = f"{head}{base:,} 元{times}{raw:,} 元{steps}{tail}"
            return _construct(Line, values)

        return make

    def _compiled_range(self, rule: Rule, amount: Range) -> "_Make":
        percent, exact = amount.percent, _exact_percent(amount.percent)
        head, times, tail = self._texts(rule, amount.base, percent)
        tail += self._kept_notes(rule, False)
        template = self._template(rule, False)
        figure = attrgetter(amount.base)
        low, high = amount.min_yuan, amount.max_yuan
        below, above = f"；低于下限 {_yuan(low)}，按下限计", f"；高于上限 {_yuan(high)}，按上限计"

        def make(
            event: Any,
            facts: EnterpriseFacts,
            lines: Mapping[str, Line],
            skipped: Mapping[str, NotComputable],
        ) -> Line | NotComputable | None:
            base = figure(event)
            raw = _percent_of(base, percent, exact)
            if raw < low:
                value, step = low, below
            elif raw > high:
                value, step = high, above
            else:
                value, step = raw, ""
            values = template.copy()
            values["amount_yuan"] = value
            values["explanation"] = f"{head}{base:,} 元{times}{raw:,} 元{step}{tail}"
            return _construct(Line, values)

        return make

    def _compiled_share(self, rule: Rule, amount: Share) -> "_Make":
        ref = self.ps.rules[amount.of_rule]
        percent, exact = amount.percent, _exact_percent(amount.percent)
        head, times = f"{rule.label} = {ref.label} ", f" × {_pct(percent)} = "
        tail = f"（{rule.subject}；{_cite(rule, self.ps)}）"
        # the line is a ceiling when the line it is a share of is one: both ways made here
        ends = {ceiling: tail + self._kept_notes(rule, ceiling) for ceiling in (False, True)}
        templates = {ceiling: self._template(rule, ceiling) for ceiling in (False, True)}
        funder, source, of_rule = rule.funder, self._source(rule), amount.of_rule
        cannot = f"所依据的{ref.label}无法计算："

        def make(
            event: Any,
            facts: EnterpriseFacts,
            lines: Mapping[str, Line],
            skipped: Mapping[str, NotComputable],
        ) -> Line | NotComputable | None:
            if of_rule in skipped:
                return _construct(
                    NotComputable,
                    {
                        **source,
                        "funder": funder,
                        "reason": cannot + skipped[of_rule].reason,
                        "missing_facts": [],
                    },
                )
            base_line = lines.get(of_rule)
            if base_line is None:
                return None
            base, ceiling = base_line.amount_yuan, base_line.ceiling
            value = _percent_of(base, percent, exact)
            values = templates[ceiling].copy()
            values["amount_yuan"] = value
            values["explanation"] = f"{head}{base:,} 元{times}{value:,} 元{ends[ceiling]}"
            return _construct(Line, values)

        return make

    def apply(self, rule: Rule) -> None:
        verdict = _check(rule, self.event, self.facts, self.ps)
        if verdict.fails:
            return
        if verdict.unknown:
            self.skip(rule, "；".join(verdict.unknown), sorted(set(verdict.missing)))
            return
        self.give(rule)

    def give(self, rule: Rule) -> None:
        """The rule's line or benefit (or why it cannot be computed), its conditions having held."""
        if rule.kind == "benefit":
            self.benefits.append(
                _construct(
                    Benefit,
                    {
                        **self._source(rule),
                        "description": rule.subject,
                        "explanation": f"{rule.label}：{rule.subject}（{_cite(rule, self.ps)}）",
                    },
                )
            )
            return
        override = self.overrides.get(rule.id)  # 元 for a flat amount, a percent otherwise (_override_value)
        percent = None if override is None else Decimal(override)
        match rule.amount:
            case Fixed() | UpTo() | Unspecified() as amount:
                self._flat(rule, amount, None if override is None else int(override))
            case PercentOf() as amount:
                self._percent(rule, amount, percent)
            case Range() as amount:
                self._range(rule, amount, percent)
            case Share() as amount:
                self._share(rule, amount, percent)

    def _flat(self, rule: Rule, amount: Fixed | UpTo | Unspecified, override: int | None) -> None:
        if isinstance(amount, Unspecified):
            if override is None:
                self.skip(rule, f"{rule.subject}：{amount.reason}")
                return
            if rule.funder is None:
                raise ValueError(f"{rule.id} 未定出资层级，不能测算金额")
            kind: Kind = "fixed"
            one_off, value = False, override
        else:
            kind, one_off = amount.shape, amount.one_off
            value = amount.yuan if override is None else override
        prefix = ("一次性" if one_off else "") + ("最高" if kind == "up_to" else "")
        text = (
            f"{rule.label}：{rule.subject}，{prefix} {_yuan(value)}"
            if prefix
            else f"{rule.label}：{rule.subject}，{_yuan(value)}"
        )
        self.line(
            rule, kind=kind, amount=value, ceiling=kind == "up_to", text=f"{text}（{_cite(rule, self.ps)}）"
        )

    def _percent(self, rule: Rule, amount: PercentOf, override: Decimal | None) -> None:
        percent = amount.percent if override is None else override
        base = _figure(self.event, amount.base)
        raw = _round(base * percent / 100)
        value = raw
        head, times, tail = self._texts(rule, amount.base, percent)
        steps = [f"{head}{_yuan(base)}{times}{_yuan(raw)}"]
        if amount.limit_to is not None:
            limit = _figure(self.event, amount.limit_to)
            if value > limit:
                value = limit
                steps.append(f"超过{FIELD_LABELS[amount.limit_to]} {_yuan(limit)}，按 {_yuan(limit)}计")
        if amount.cap_yuan is not None:
            if amount.cap_scope == "enterprise":
                if self.facts.prior_grants_yuan is None:
                    self.skip(
                        rule, "未知企业此前已按本条获得的累计金额，无法扣减累计上限", ["prior_grants_yuan"]
                    )
                    return
                prior = self.facts.prior_grants_yuan.get(rule.id, 0)
                remaining = max(amount.cap_yuan - prior, 0)
                if value > remaining:
                    steps.append(
                        f"单户累计上限 {_yuan(amount.cap_yuan)}，此前已获 {_yuan(prior)}，"
                        f"尚余 {_yuan(remaining)}，按 {_yuan(remaining)}计"
                    )
                    value = remaining
            elif value > amount.cap_yuan:
                steps.append(f"超过上限 {_yuan(amount.cap_yuan)}，按上限计")
                value = amount.cap_yuan
        text = "；".join(steps) + tail
        self.line(rule, kind="computed", amount=value, ceiling=amount.ceiling, text=text)

    def _range(self, rule: Rule, amount: Range, override: Decimal | None) -> None:
        percent = amount.percent if override is None else override
        base = _figure(self.event, amount.base)
        raw = _round(base * percent / 100)
        value = min(max(raw, amount.min_yuan), amount.max_yuan)
        head, times, tail = self._texts(rule, amount.base, percent)
        steps = [f"{head}{_yuan(base)}{times}{_yuan(raw)}"]
        if raw < amount.min_yuan:
            steps.append(f"低于下限 {_yuan(amount.min_yuan)}，按下限计")
        elif raw > amount.max_yuan:
            steps.append(f"高于上限 {_yuan(amount.max_yuan)}，按上限计")
        text = "；".join(steps) + tail
        self.line(rule, kind="computed", amount=value, ceiling=False, text=text)

    def _share(self, rule: Rule, amount: Share, override: Decimal | None) -> None:
        ref = self.ps.rules[amount.of_rule]
        if amount.of_rule in self.not_computable:
            self.skip(rule, f"所依据的{ref.label}无法计算：{self.not_computable[amount.of_rule].reason}")
            return
        base_line = self.lines.get(amount.of_rule)
        if base_line is None:
            return
        percent = amount.percent if override is None else override
        value = _round(base_line.amount_yuan * percent / 100)
        text = (
            f"{rule.label} = {ref.label} {_yuan(base_line.amount_yuan)} × {_pct(percent)} = {_yuan(value)}"
            f"（{rule.subject}；{_cite(rule, self.ps)}）"
        )
        self.line(rule, kind="computed", amount=value, ceiling=base_line.ceiling, text=text)


def compute_rule_by_rule(
    event: Event,
    facts: EnterpriseFacts | None,
    policy_set: PolicySet,
    *,
    overrides: Mapping[str, OverrideValue] | None = None,
) -> Result:
    """`compute` without the plan: every rule in force for the event's type (and honour) checked in
    full and every line built afresh. The same Result as `compute`; what-if overrides take this path."""
    normalised: dict[str, int | Decimal] = {}
    for rule_id, value in (overrides or {}).items():
        if rule_id not in policy_set.rules:
            raise ValueError(f"没有规则 {rule_id}")
        normalised[rule_id] = _override_value(policy_set.rules[rule_id], value)
    builder = _Builder(event, facts or EnterpriseFacts(), policy_set, normalised)
    rules = rules_in_force(event.type, event.date, policy_set, _honour_of(event))
    for rule in rules:  # shares last: they read the line they are a share of
        if not isinstance(rule.amount, Share):
            builder.apply(rule)
    for rule in rules:
        if isinstance(rule.amount, Share):
            builder.apply(rule)
    order = {rule.id: i for i, rule in enumerate(rules)}
    return Result(
        lines=sorted(builder.lines.values(), key=lambda line: order[line.rule_id]),
        benefits=builder.benefits,
        not_computable=sorted(builder.not_computable.values(), key=lambda nc: order[nc.rule_id]),
    )


# ── the plan: what the rules decide before any event is seen ──────────────────
#
# Which rules answer an event depends on its type, a few of its fields (an honour's code, level and
# outcome; a talent programme's level; a purchase's purpose; a prize's contest and rank) and on which
# documents are in force on its date. The dates where that can change are few (each document's start,
# the day after its end, its issue date), so the plan splits time into periods between them and keeps,
# per (event class, those fields, period), the rules that answer with every condition on those fields
# already checked. A rule with no other condition needs no check per event; a fixed or 最高 amount
# gives the same line for every event of a period and year, so that line is built once and reused
# (lines are immutable).

_KEY_FIELDS: dict[type, tuple[str, ...]] = {
    HonourEvent: ("honour", "level", "outcome"),
    TalentProgramEvent: ("level",),
    StrongTownEvent: ("level",),
    EquipmentPurchaseEvent: ("purpose",),
    DesignPrizeEvent: ("contest", "rank"),
}
# The conditions the key settles, by event class.
_KEY_CONDITIONS: dict[type, frozenset[str]] = {
    HonourEvent: frozenset({"honour", "levels", "outcomes"}),
    TalentProgramEvent: frozenset({"levels"}),
    StrongTownEvent: frozenset({"levels"}),
    EquipmentPurchaseEvent: frozenset({"purpose"}),
    DesignPrizeEvent: frozenset({"contest", "rank"}),
}
_NO_KEY: Callable[[Event], tuple[()]] = lambda event: ()  # noqa: E731
_KEY_OF: dict[type, Callable[[Event], Hashable]] = {
    cls: attrgetter(*_KEY_FIELDS[cls]) if cls in _KEY_FIELDS else _NO_KEY
    for cls in (
        HonourEvent,
        FirstAboveScaleEvent,
        SalesMilestoneEvent,
        LoanInterestEvent,
        EquipmentPurchaseEvent,
        DesignPrizeEvent,
        SkillsContestEvent,
        TalentProgramEvent,
        TalentLoanInterestEvent,
        OutputGrowthEvent,
        StrongTownEvent,
    )
}
_UNKNOWN = EnterpriseFacts()


def _keyed_conditions_hold(rule: Rule, event: Event) -> bool:
    """The conditions of `rule` that the plan's key settles, on an event with that key (as _check_event)."""
    c = rule.conditions
    match event:
        case HonourEvent():
            return (
                (c.honour is None or event.honour == c.honour)
                and (c.levels is None or event.level in c.levels)
                and (c.outcomes is None or event.outcome in c.outcomes)
            )
        case TalentProgramEvent() | StrongTownEvent():
            return c.levels is None or event.level in c.levels
        case EquipmentPurchaseEvent():
            return c.purpose is None or event.purpose == c.purpose
        case DesignPrizeEvent():
            return (c.contest is None or event.contest == c.contest) and (
                c.rank is None or event.rank == c.rank
            )
    return True


def _set_conditions(rule: Rule) -> set[str]:
    """The conditions of `rule` that say anything (given in the file and other than the default)."""
    c = rule.conditions
    return {
        name
        for name, spec in type(c).model_fields.items()
        if name in c.model_fields_set or getattr(c, name) != spec.default
    }


# Conditions on the event's own fields that need nothing else once they hold.
_EVENT_ONLY = frozenset(
    {"min_participants", "new_output_above_yuan", "min_growth_rate", "max_city_rank", "date_from", "date_to"}
)


def _event_tests(rule: Rule, cls: type) -> tuple[Callable[[Any], bool], ...]:
    """The rule's conditions on the event's own fields that the key does not settle, as predicates
    (the same comparisons as _check_event, for events of class `cls`)."""
    c = rule.conditions
    tests: list[Callable[[Any], bool]] = []  # each takes an event of class `cls`
    if cls is SalesMilestoneEvent and c.revenue_crossing_yuan is not None:
        crossing = c.revenue_crossing_yuan
        tests.append(lambda e: e.previous_revenue_yuan < crossing <= e.revenue_yuan)
    if cls is SkillsContestEvent and c.min_participants is not None:
        participants = c.min_participants
        tests.append(lambda e: e.participants >= participants)
    if cls is OutputGrowthEvent:
        if c.new_output_above_yuan is not None:
            above = c.new_output_above_yuan
            tests.append(lambda e: e.new_output_yuan > above)
        if c.min_growth_rate is not None:
            rate = c.min_growth_rate
            tests.append(lambda e: e.growth_rate >= rate)
        if c.max_city_rank is not None:
            rank = c.max_city_rank
            tests.append(lambda e: e.city_rank <= rank)
    if c.date_from is not None:
        start = c.date_from
        tests.append(lambda e: e.date >= start)
    if c.date_to is not None:
        end = c.date_to
        tests.append(lambda e: e.date <= end)
    return tuple(tests)


# Conditions on the facts alone whose outcome (holds, fails, unknown) a compiled test can tell; the
# reason a fact is unknown is left to the full check.
_FACT_TESTED = frozenset(
    {
        "sizes",
        "ownership",
        "holds",
        "no_other_interest_subsidy",
        "first_time",
        "first_of",
        "not_granted_under",
    }
)


_FactsTest = Callable[[EnterpriseFacts], bool | None]


def _facts_test(rule: Rule, event: Event) -> _FactsTest:
    """The rule's conditions on the facts (those in _FACT_TESTED) as one test for events of `event`'s
    key: False when one fails, None when none fails but one is unknown, True when all hold (as
    _check_event_facts and _check_facts judge them)."""
    c = rule.conditions
    parts: list[Callable[[EnterpriseFacts], bool | None]] = []
    if c.sizes is not None:
        sizes = c.sizes
        parts.append(lambda f: None if f.size is None else f.size in sizes)
    if c.ownership is not None:
        ownership = c.ownership
        parts.append(lambda f: None if f.ownership is None else f.ownership in ownership)
    for code in c.holds or []:

        def held(f: EnterpriseFacts, code: str = code) -> bool | None:  # f.holds(code), written out
            honours = f.honours
            if honours is None:
                return None
            for held_code, _level in honours:  # noqa: SIM110 (a loop: no generator made per call)
                if held_code == code:
                    return True
            return False

        parts.append(held)
    if c.no_other_interest_subsidy:
        parts.append(lambda f: None if f.other_interest_subsidy is None else not f.other_interest_subsidy)
    if c.first_time and isinstance(event, HonourEvent):
        codes = frozenset(c.first_of or [event.honour])  # never empty
        levels = c.levels

        def first(f: EnterpriseFacts) -> bool | None:  # not f.holds(code, levels) for any of the codes
            honours = f.honours
            if honours is None:
                return None
            for code, level in honours:  # noqa: SIM110 (a loop: no generator made per call)
                if code in codes and (levels is None or level in levels):
                    return False
            return True

        parts.append(first)
    if c.not_granted_under:
        under = tuple(c.not_granted_under)

        def not_granted(f: EnterpriseFacts) -> bool | None:
            grants = f.prior_grants_yuan
            if grants is None:
                return None
            for r in under:  # noqa: SIM110 (a loop: no generator made per call)
                if grants.get(r, 0) > 0:
                    return False
            return True

        parts.append(not_granted)

    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:  # the loop below, written out for two parts
        one, two = parts

        def both(f: EnterpriseFacts) -> bool | None:
            first = one(f)
            if first is False:
                return False
            second = two(f)
            if second is False:
                return False
            return None if first is None or second is None else True

        return both

    def test(f: EnterpriseFacts) -> bool | None:
        unknown = False
        for part in parts:
            ok = part(f)
            if ok is False:
                return False
            if ok is None:
                unknown = True
        return None if unknown else True

    return test


class _Step:
    """One rule of a plan entry: the tests on the event's own fields left after the key, the test of
    the facts or the full check still to run, and how its outcome is built."""

    __slots__ = ("benefit", "check", "computed", "facts", "flat", "kept", "make", "rule", "settled", "tests")

    def __init__(self, rule: Rule, event: Event):
        cls = type(event)
        self.rule = rule
        tests = _event_tests(rule, cls)
        self.tests: Callable[[Event], bool] | None = (
            None if not tests else tests[0] if len(tests) == 1 else lambda e: all(test(e) for test in tests)
        )
        left = _set_conditions(rule) - _KEY_CONDITIONS.get(cls, frozenset()) - _EVENT_ONLY
        # conditions on the facts: a compiled test (the full check only to name what is unknown), or
        # for any other condition (首次突破, the talent window, …) the full check for every event
        self.facts = _facts_test(rule, event) if left and left <= _FACT_TESTED else None
        self.check = bool(left) and self.facts is None
        self.flat = rule.kind == "money" and isinstance(rule.amount, Fixed | UpTo)
        self.benefit = rule.kind == "benefit"
        # its outcome is the same for every event it answers: kept in the entry once made
        self.kept = self.flat or self.benefit
        # ... and whether it answers is settled by the tests (no full check left)
        self.settled = self.kept and not self.check
        # a percentage, range or share line: made by `make` (_Builder.compiled), once that is built
        self.computed = rule.kind == "money" and isinstance(rule.amount, PercentOf | Range | Share)
        self.make: _Make | None = None


class _Entry:
    """The rules answering events of one key (class, period, year and the keyed fields), and what
    they give that is the same for every such event."""

    __slots__ = (
        "benefits",
        "conditional",
        "lines",
        "may_keep",
        "notes",
        "order",
        "outcomes",
        "solo",
        "sources",
        "static",
        "steps",
        "texts",
    )

    def __init__(self, steps: tuple[_Step, ...], order: dict[str, int] | None):
        self.steps = steps  # shares last
        self.order = order  # rule order, when shares moved a step out of it; else None
        self.lines: dict[str, Line] = {}  # fixed and 最高 lines, by rule id
        self.benefits: dict[str, Benefit] = {}
        self.notes: dict[tuple[str, bool], str] = {}  # a computed line's notes, by (rule id, ceiling)
        self.texts: dict[tuple[str, Decimal], tuple[str, str, str]] = {}  # see _Builder._texts
        self.sources: dict[str, dict[str, str]] = {}  # _source of each rule, by rule id
        # Every rule answers without a condition left and gives a fixed line or a benefit: the
        # outcome of every such event, once known (lines, benefits).
        self.static: tuple[tuple[Line, ...], tuple[Benefit, ...]] | None = None
        # When every rule whose tests hold is settled (a fixed line or a benefit, no full check left), the
        # outcome depends only on which rules' tests hold: kept by that (a bit per step), once known.
        # An entry with a rule that answers every event and is not settled never has such an outcome.
        self.may_keep = not any(
            not step.settled and step.tests is None and step.facts is None for step in steps
        )
        self.outcomes: dict[int, tuple[tuple[Line, ...], tuple[Benefit, ...]]] = {}
        # for that, the steps with a test (the others answer every event): their bit and tests
        self.conditional = [
            (1 << i, step.tests, step.facts, step.settled)
            for i, step in enumerate(steps)
            if step.tests is not None or step.facts is not None
        ]
        # The entry's one rule answers every event with a computed line (a purchase's percentage, a
        # talent grant's range): its `make`, once built.
        self.solo: _Make | None = None


class _Plan:
    def __init__(self, policy_set: PolicySet):
        bounds: set[date] = set()
        for doc in policy_set.documents.values():
            period = doc.spec.in_force
            bounds.add(period.start)
            if period.end < date.max:
                bounds.add(period.end + timedelta(days=1))
            bounds.add(doc.spec.issue_date)
        self.bounds = sorted(bounds)
        self.entries: dict[tuple[type, int, int, Hashable], _Entry] = {}

    def entry(self, key: tuple[type, int, int, Hashable], event: Event, policy_set: PolicySet) -> _Entry:
        rules = [
            rule
            for rule in rules_in_force(event.type, event.date, policy_set, _honour_of(event))
            if _keyed_conditions_hold(rule, event)
        ]
        steps = [_Step(rule, event) for rule in rules if not isinstance(rule.amount, Share)]
        shares = [_Step(rule, event) for rule in rules if isinstance(rule.amount, Share)]
        moved = bool(shares) and any(
            not isinstance(rule.amount, Share) for rule in rules[rules.index(shares[0].rule) :]
        )
        entry = _Entry(tuple(steps + shares), {rule.id: i for i, rule in enumerate(rules)} if moved else None)
        self.entries[key] = entry
        return entry


def _plan(policy_set: PolicySet) -> _Plan:
    plan = policy_set.derived.get("award_engine_plan")
    if plan is None:
        plan = policy_set.derived["award_engine_plan"] = _Plan(policy_set)
    return plan


_RESULT_FIELDS = _FIELDS[Result]


def _result(lines: list[Line], benefits: list[Benefit], not_computable: list[NotComputable]) -> Result:
    return _construct(Result, {"lines": lines, "benefits": benefits, "not_computable": not_computable})


def compute(
    event: Event,
    facts: EnterpriseFacts | None,
    policy_set: PolicySet,
    *,
    overrides: Mapping[str, OverrideValue] | None = None,
) -> Result:
    """The lines, benefits and not-computable rules for one event. See the module docstring.

    Runs the policy set's plan (above); with what-if overrides, rule by rule (`compute_rule_by_rule`).
    Both give the same Result."""
    cls = type(event)
    key_of = _KEY_OF.get(cls)
    if overrides or key_of is None:
        return compute_rule_by_rule(event, facts, policy_set, overrides=overrides)
    plan = policy_set.derived.get("award_engine_plan") or _plan(policy_set)
    day = event.date
    key = (cls, bisect_right(plan.bounds, day), day.year, key_of(event))
    entry = plan.entries.get(key)
    if entry is None:
        entry = plan.entry(key, event, policy_set)
    kept = entry.static
    if kept is None:
        if facts is None:
            facts = _UNKNOWN
        if entry.may_keep:
            kept = _kept_outcome(entry, event, facts, policy_set)
        if kept is None:
            solo = entry.solo
            if solo is None:
                return _run(entry, event, facts, policy_set)
            made = solo(event, facts, _NOTHING, _NOTHING)
            if made is None:
                return _result([], [], [])
            if isinstance(made, Line):
                return _result([made], [], [])
            return _result([], [], [made])
    # _result, written out: most events take this way
    result = _new(Result)
    _set(result, "__dict__", {"lines": list(kept[0]), "benefits": list(kept[1]), "not_computable": []})
    _set(result, "__pydantic_fields_set__", _RESULT_FIELDS)
    _set(result, "__pydantic_extra__", None)
    _set(result, "__pydantic_private__", None)
    return result


def _kept_outcome(
    entry: _Entry, event: Event, facts: EnterpriseFacts, policy_set: PolicySet
) -> tuple[tuple[Line, ...], tuple[Benefit, ...]] | None:
    """The event's outcome by which rules' tests hold, when every rule they hold for is settled (see
    _Entry.outcomes); None when one is not, or a fact a test asks about is unknown (_run names it)."""
    held = 0  # the steps without a test answer every event (and are settled, or may_keep is False)
    for bit, tests, test, settled in entry.conditional:
        if tests is None or tests(event):
            if test is not None:
                known = test(facts)
                if known is None:
                    return None
                if not known:
                    continue
            if not settled:
                return None
            held |= bit
    kept = entry.outcomes.get(held)
    if kept is None:
        result = _run(entry, event, facts, policy_set)
        kept = entry.outcomes[held] = (tuple(result.lines), tuple(result.benefits))
    return kept


def _run(entry: _Entry, event: Event, facts: EnterpriseFacts, policy_set: PolicySet) -> Result:
    """One event through its entry's steps: the tests, the full check where one is left, and each
    rule's outcome, kept in the entry where it is the same for every event."""
    lines: dict[str, Line] = {}
    skipped: dict[str, NotComputable] = {}
    benefits: list[Benefit] = []
    builder = None  # made for the first outcome that is not kept in the entry
    is_static = True
    for step in entry.steps:
        rule = step.rule
        if step.tests is not None:
            is_static = False
            if not step.tests(event):
                continue
        known: bool | None = True
        if step.facts is not None:
            is_static = False
            known = step.facts(facts)
            if known is False:
                continue
        if step.check or known is None:
            is_static = False
            verdict = _check_qualified(rule, event, facts, policy_set)
            if verdict.fails:
                continue
            if verdict.unknown:  # as _Builder.skip
                source = entry.sources.get(rule.id)
                if source is None:
                    source = entry.sources[rule.id] = _source(rule, policy_set)
                skipped[rule.id] = _construct(
                    NotComputable,
                    {
                        **source,
                        "funder": rule.funder,
                        "reason": "；".join(verdict.unknown),
                        "missing_facts": sorted(set(verdict.missing)),
                    },
                )
                continue
        if step.flat:
            line = entry.lines.get(rule.id)
            if line is None:
                builder = builder or _Builder(event, facts, policy_set, {}, lines, skipped, benefits, entry)
                builder.give(rule)
                entry.lines[rule.id] = lines[rule.id]
            else:
                lines[rule.id] = line
        elif step.benefit:
            benefit = entry.benefits.get(rule.id)
            if benefit is None:
                builder = builder or _Builder(event, facts, policy_set, {}, lines, skipped, benefits, entry)
                builder.give(rule)
                entry.benefits[rule.id] = benefits[-1]
            else:
                benefits.append(benefit)
        else:
            is_static = False
            make = step.make
            if make is None and step.computed:
                builder = builder or _Builder(event, facts, policy_set, {}, lines, skipped, benefits, entry)
                make = step.make = builder.compiled(rule)
                step.computed = make is not None
                if len(entry.steps) == 1 and step.tests is None and step.facts is None and not step.check:
                    entry.solo = make  # nothing left to test on the entry's one rule
            if make is not None:
                made = make(event, facts, lines, skipped)
                if made is not None:
                    if isinstance(made, Line):
                        lines[rule.id] = made
                    else:
                        skipped[rule.id] = made
            else:
                builder = builder or _Builder(event, facts, policy_set, {}, lines, skipped, benefits, entry)
                builder.give(rule)
    line_list = list(lines.values())
    skipped_list = list(skipped.values())
    order = entry.order
    if order is not None:
        line_list.sort(key=lambda line: order[line.rule_id])
        skipped_list.sort(key=lambda nc: order[nc.rule_id])
    if is_static:
        entry.static = (tuple(line_list), tuple(benefits))
    return _result(line_list, benefits, skipped_list)
