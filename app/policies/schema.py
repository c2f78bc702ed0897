"""The shape of a policy file: one document, its funds and its rules.

Every model forbids unknown keys, so a typo in a rule stops loading; the
loader turns the validation error into a message naming the file, the rule id
and the field. See README.md in this folder for how a clause becomes a rule.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app import reference
from app.awards.event_models import (
    Contest,
    Count,
    EventType,
    Level,
    Outcome,
    Ownership,
    Purpose,
    Rank,
    Size,
    Yuan,
)

Funder = Literal["province", "city", "county"]
FUNDER_NAMES = {"province": "省级", "city": "市级", "county": "县级"}

RULE_ID = r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$"
Percent = Annotated[Decimal, Field(ge=0, le=100, description="百分比：40 即 40%")]
# Event figures a percentage may be taken of.
BaseField = Literal["interest_paid_yuan", "amount_yuan", "grant_yuan", "benchmark_interest_yuan"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class Fixed(_Model):
    """X 万元 (no 最高): the amount is paid as stated."""

    shape: Literal["fixed"]
    yuan: Yuan
    one_off: bool = False


class UpTo(_Model):
    """最高 X 万元: a cap; a person decides the amount granted, never above it."""

    shape: Literal["up_to"]
    yuan: Yuan
    one_off: bool = False


class PercentOf(_Model):
    """A percentage of an event figure, optionally capped.

    `ceiling` marks 不超过 X%: the result is the most that may be granted.
    `limit_to` names a second event figure the result may not exceed.
    `cap_scope: enterprise` makes `cap_yuan` cumulative per enterprise under this
    rule (facts.prior_grants_yuan says how much is already used).
    """

    shape: Literal["percent"]
    base: BaseField
    percent: Percent
    ceiling: bool = False
    cap_yuan: Yuan | None = None
    cap_scope: Literal["event", "enterprise"] = "event"
    limit_to: BaseField | None = None


class Share(_Model):
    """A percentage of another rule's line in the same result (市级按省级贴息额的 50%)."""

    shape: Literal["share"]
    of_rule: str
    percent: Percent


class Range(_Model):
    """A percentage of an event figure held between a floor and a ceiling (1:1 配套，50–400 万)."""

    shape: Literal["range"]
    base: BaseField
    percent: Annotated[Decimal, Field(ge=0)]
    min_yuan: Yuan
    max_yuan: Yuan

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.max_yuan < self.min_yuan:
            raise ValueError("max_yuan is below min_yuan")
        return self


class Unspecified(_Model):
    """A benefit named without an amount: listed, never computed."""

    shape: Literal["unspecified"]
    reason: str


Amount = Annotated[Fixed | UpTo | PercentOf | Share | Range | Unspecified, Field(discriminator="shape")]


class Conditions(_Model):
    """What the event and the enterprise facts must satisfy. All given conditions must hold."""

    honour: str | None = None
    levels: list[Level] | None = None
    outcomes: list[Outcome] | None = None
    first_time: bool = False  # no honour of the same code at any of `levels` held before
    # With first_time: the honour codes that count as "the same kind" (两化融合 or DCMM: the first
    # certificate of either kind); default the event's own honour.
    first_of: list[str] | None = None
    # No line (not rejected) already granted to the enterprise under any of these rule ids
    # (one award for the first of two certificates).
    not_granted_under: list[str] | None = None
    revenue_crossing_yuan: Yuan | None = None  # previous < X <= revenue
    purpose: Purpose | None = None
    contest: Contest | None = None
    rank: Rank | None = None
    min_participants: Count | None = None
    new_output_above_yuan: Yuan | None = None  # strictly above (超过)
    min_growth_rate: Decimal | None = None  # fraction, inclusive (不低于)
    max_city_rank: Count | None = None  # inclusive (前 N 户)
    date_from: date | None = None
    date_to: date | None = None
    # Conditions on the enterprise facts.
    sizes: list[Size] | None = None
    ownership: list[Ownership] | None = None
    holds: list[str] | None = None  # honour codes the enterprise must hold (any level)
    no_other_interest_subsidy: bool = False
    within_years_of_talent_founding: int | None = Field(default=None, ge=1)


# Which event types each event condition may be used with.
EVENT_CONDITIONS: dict[str, set[str]] = {
    "honour": {"honour"},
    "levels": {"honour", "talent_program", "strong_town"},
    "outcomes": {"honour"},
    "first_time": {"honour"},
    "first_of": {"honour"},
    "revenue_crossing_yuan": {"sales_milestone"},
    "purpose": {"equipment_purchase"},
    "contest": {"design_prize"},
    "rank": {"design_prize"},
    "min_participants": {"skills_contest"},
    "new_output_above_yuan": {"output_growth"},
    "min_growth_rate": {"output_growth"},
    "max_city_rank": {"output_growth"},
}
# Event figures each event type has, for `base` / `limit_to`.
EVENT_FIGURES: dict[str, set[str]] = {
    "loan_interest": {"interest_paid_yuan"},
    "equipment_purchase": {"amount_yuan"},
    "talent_program": {"grant_yuan"},
    "talent_loan_interest": {"interest_paid_yuan", "benchmark_interest_yuan"},
}


class Rule(_Model):
    """One benefit of one clause, from one funder, for one event type."""

    id: str = Field(pattern=RULE_ID)
    clause: str
    clause_text: str
    kind: Literal["money", "benefit"] = "money"
    event: EventType
    funder: Funder | None = None
    label: str = Field(description="what the money is, e.g. 县级奖励、省级贴息")
    subject: str = Field(description="who earns it and why, e.g. 新认定省级专精特新企业")
    conditions: Conditions = Conditions()
    amount: Amount | None = None
    supersedes: str | None = None
    review: str | None = Field(default=None, description="what a person must still verify")
    note: str | None = Field(
        default=None,
        description="how the clause is read where the text allows more than one reading, and the other "
        "reading; shown on the policy page and in the explanation of every line the rule produces",
    )
    # The entitlement outlives the document: an event after in_force.end still answers the rule
    # when the enterprise's entitlement window (within_years_of_talent_founding) began while the
    # document was in force (领军人才贴息 3 年内).
    outlives_period: bool = False
    # The line stands for several funders' policies together (技改 ≤10% 省、市、县合计): the
    # approver enters each funder's share and each fund draws only its own share.
    split_funders: list[Funder] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        if self.kind == "benefit":
            if self.amount is not None:
                raise ValueError("a benefit has no amount")
        else:
            if self.amount is None:
                raise ValueError(
                    "a money rule needs an amount (use shape: unspecified if the clause has none)"
                )
            if self.funder is None and self.amount.shape != "unspecified":
                raise ValueError("a money rule with an amount needs a funder")
        c = self.conditions
        for name, types in EVENT_CONDITIONS.items():
            if name in c.model_fields_set and self.event not in types:
                raise ValueError(f"conditions.{name} does not apply to {self.event} events")
        if self.event == "honour":
            honours = reference.honours()
            if c.honour is None or not c.levels or not c.outcomes:
                raise ValueError("an honour rule needs conditions.honour, levels and outcomes")
            if c.honour not in honours:
                raise ValueError(f"conditions.honour: unknown honour {c.honour!r}")
            bad = [lv for lv in c.levels if lv not in honours[c.honour]["levels"]]
            if bad:
                raise ValueError(f"conditions.levels: {c.honour} has no level {bad}")
        for code in c.holds or []:
            if code not in reference.honours():
                raise ValueError(f"conditions.holds: unknown honour {code!r}")
        if c.first_of is not None:
            if not c.first_time:
                raise ValueError("conditions.first_of needs first_time: true")
            for code in c.first_of:
                if code not in reference.honours():
                    raise ValueError(f"conditions.first_of: unknown honour {code!r}")
        if self.outlives_period and c.within_years_of_talent_founding is None:
            raise ValueError(
                "outlives_period needs conditions.within_years_of_talent_founding (the entitlement window)"
            )
        if self.split_funders is not None and (self.funder is None or self.funder not in self.split_funders):
            raise ValueError("split_funders must include the rule's funder")
        amount = self.amount
        if isinstance(amount, PercentOf | Range):
            figures = EVENT_FIGURES.get(self.event, set())
            for figure in (amount.base, getattr(amount, "limit_to", None)):
                if figure is not None and figure not in figures:
                    raise ValueError(f"amount: {self.event} events have no figure {figure}")
        return self


class Fund(_Model):
    """A funder's budget under the document (DOMAIN.md, Funds)."""

    id: str = Field(pattern=RULE_ID)
    funder: Funder
    clause: str
    clause_text: str
    amount_yuan: Yuan
    period: Period
    # yearly: the amount is an envelope for each calendar year of the period (one fund per year,
    # each budget set by the county admin); otherwise one budget for the whole period.
    yearly: bool = False
    note: str | None = None


class PolicyDocument(_Model):
    """One file in app/policies: a 文件 and every rule read from it."""

    code: str = Field(pattern=r"^[a-z0-9-]+$", description="prefix of every rule id, e.g. gz2022-9")
    number: str = Field(description="文号, e.g. 冠政发〔2022〕9号")
    title: str
    issuer: str
    issue_date: date
    in_force: Period = Field(description="events dated in this period are governed by the rules")
    in_force_note: str | None = Field(
        default=None, description="why the period starts and ends where it does"
    )
    funds: list[Fund] = []
    rules: list[Rule]

    @model_validator(mode="after")
    def _ids(self) -> "PolicyDocument":
        seen: set[str] = set()
        for item in [*self.rules, *self.funds]:
            if not item.id.startswith(self.code + "."):
                raise ValueError(f"id {item.id} does not start with the document code {self.code}.")
            if item.id in seen:
                raise ValueError(f"id {item.id} is used twice")
            seen.add(item.id)
        return self
