"""Events that can earn awards, and the enterprise facts the rules look at.

An event is one thing that happened to one enterprise (新认定省级专精特新, 首次升规,
一笔贷款利息…). Its `type` picks the model; field names are those of
shared/DOMAIN.md. Money is integer 元 and never negative; an unknown `type` or
an unknown field is rejected.

    parse_event({"type": "honour", "honour": "specialized_sme", "level": "provincial",
                 "outcome": "new", "date": "2023-05-10"})  # -> HonourEvent

`EnterpriseFacts` describes the enterprise *before* the event. Every fact is
optional: `None` means "not known", and a rule whose condition needs an
unknown fact is reported as not computable instead of being guessed.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    field_validator,
    model_validator,
)

from app import reference
from app.enterprises.schemas import IsoDate  # YYYY-MM-DD only, not 0 or "0"

Level = Literal["national", "provincial", "city", "county"]
Outcome = Literal["new", "renewed", "rejected"]
Size = Literal["micro", "small", "medium", "large"]
Ownership = Literal["private", "state", "foreign", "other"]
Purpose = Literal["tech_upgrade", "smart_upgrade"]
Contest = Literal["governor_cup", "liaocheng"]
Rank = Literal["gold", "silver", "bronze"]

EventType = Literal[
    "honour",
    "first_above_scale",
    "sales_milestone",
    "loan_interest",
    "equipment_purchase",
    "design_prize",
    "skills_contest",
    "talent_program",
    "talent_loan_interest",
    "output_growth",
    "strong_town",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__

# Chinese names of the event types.
EVENT_TYPE_NAMES = {
    "honour": "认定",
    "first_above_scale": "首次升规",
    "sales_milestone": "年销售收入突破",
    "loan_interest": "科技成果转化贷款贴息",
    "equipment_purchase": "技改、智能化改造设备购置",
    "design_prize": "工业设计大赛获奖",
    "skills_contest": "承办职工技能大赛",
    "talent_program": "入选重点人才工程",
    "talent_loan_interest": "领军人才创办企业贷款贴息",
    "output_growth": "一季度新增产值",
    "strong_town": "民营经济高质量发展强镇",
}

# Chinese names of the event figures, used in the explanation of computed lines.
FIELD_LABELS = {
    "previous_revenue_yuan": "上年销售收入",
    "revenue_yuan": "本年销售收入",
    "interest_paid_yuan": "实际支付利息",
    "amount_yuan": "设备及软硬件购置费用",
    "grant_yuan": "国家、省人才资助经费",
    "benchmark_interest_yuan": "按银行同期贷款基准利率计算的利息",
    "new_output_yuan": "新增产值",
}
CONTEST_NAMES = {"governor_cup": "山东省“省长杯”工业设计大赛", "liaocheng": "聊城市工业设计大赛"}
RANK_NAMES = {"gold": "金奖", "silver": "银奖", "bronze": "铜奖"}
PURPOSE_NAMES = {"tech_upgrade": "技术改造", "smart_upgrade": "智能化改造"}


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("须为整数，不能是布尔值")
    return value


# The bound before the validator, so that the JSON Schema says `minimum`.
Yuan = Annotated[int, Field(ge=0, description="金额，整数元"), BeforeValidator(_no_bool)]
Count = Annotated[int, Field(ge=0), BeforeValidator(_no_bool)]


def _type_required(schema: dict[str, Any]) -> None:
    """`type` picks the model (the union's discriminator): required in the JSON Schema, though a
    model built in Python fills it in."""
    schema["required"] = ["type", *(name for name in schema.get("required", []) if name != "type")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_type_required)

    date: IsoDate


def _honour_schema(schema: dict[str, Any]) -> None:
    """The honour codes, and the levels each one has, as JSON Schema (checked by `_known_honour`)."""
    _type_required(schema)
    honours = reference.honours()
    schema["properties"]["honour"]["enum"] = list(honours)
    schema["anyOf"] = [
        {"properties": {"honour": {"const": code}, "level": {"enum": list(spec["levels"])}}}
        for code, spec in honours.items()
    ]


class HonourEvent(_Event):
    """认定：新认定、复审通过或申报未通过。"""

    model_config = ConfigDict(json_schema_extra=_honour_schema)

    type: Literal["honour"] = "honour"
    honour: str
    level: Level
    outcome: Outcome

    @model_validator(mode="after")
    def _known_honour(self) -> "HonourEvent":
        honours = reference.honours()
        if self.honour not in honours:
            raise ValueError(f"未知的认定类型 {self.honour!r}")
        if self.level not in honours[self.honour]["levels"]:
            raise ValueError(f"{honours[self.honour]['name']}没有 {self.level} 这一级别")
        return self


class FirstAboveScaleEvent(_Event):
    """首次升成规模以上工业企业。"""

    type: Literal["first_above_scale"] = "first_above_scale"


class SalesMilestoneEvent(_Event):
    """年销售收入：上年与本年，用来判断首次突破 5/10/30 亿元。"""

    type: Literal["sales_milestone"] = "sales_milestone"
    previous_revenue_yuan: Yuan
    revenue_yuan: Yuan


class LoanInterestEvent(_Event):
    """科技成果转化贷款：实际支付的利息。"""

    type: Literal["loan_interest"] = "loan_interest"
    interest_paid_yuan: Yuan


class EquipmentPurchaseEvent(_Event):
    """技改或智能化改造中的设备、软硬件、知识产权购置费用。"""

    type: Literal["equipment_purchase"] = "equipment_purchase"
    purpose: Purpose
    amount_yuan: Yuan


class DesignPrizeEvent(_Event):
    """工业设计大赛获奖。"""

    type: Literal["design_prize"] = "design_prize"
    contest: Contest
    rank: Rank


class SkillsContestEvent(_Event):
    """承办职工技能大赛。"""

    type: Literal["skills_contest"] = "skills_contest"
    participants: Count


class TalentProgramEvent(_Event):
    """领军人才入选国家级、省级重点人才工程，`grant_yuan` 为国家或省的资助经费。"""

    type: Literal["talent_program"] = "talent_program"
    level: Literal["national", "provincial"]
    grant_yuan: Yuan


class TalentLoanInterestEvent(_Event):
    """领军人才创（领）办企业的贷款：实付利息与按同期基准利率计算的利息。"""

    type: Literal["talent_loan_interest"] = "talent_loan_interest"
    interest_paid_yuan: Yuan
    benchmark_interest_yuan: Yuan


class OutputGrowthEvent(_Event):
    """一段时期的新增产值、增速（小数，0.15 即 15%）与全市复合排名。

    `date` is the last day of the period the figures measure (2023-03-31 for 2023 年一季度).
    """

    type: Literal["output_growth"] = "output_growth"
    new_output_yuan: Yuan
    growth_rate: Decimal = Field(ge=-1, le=1000, description="增速，小数：0.15 即 15%（-1 即下降 100%）")
    city_rank: Annotated[int, Field(ge=1), BeforeValidator(_no_bool)]


def _township_schema(schema: dict[str, Any]) -> None:
    _type_required(schema)
    schema["properties"]["township"]["enum"] = list(reference.township_names())


class StrongTownEvent(_Event):
    """乡镇（街道）被评为市级、省级民营经济高质量发展强镇。Not in DOMAIN.md yet."""

    model_config = ConfigDict(json_schema_extra=_township_schema)

    type: Literal["strong_town"] = "strong_town"
    level: Literal["city", "provincial"]
    township: str

    @field_validator("township")
    @classmethod
    def _known_township(cls, value: str) -> str:
        if value not in reference.township_names():
            raise ValueError(f"未知的乡镇（街道）代码 {value!r}")
        return value


Event = Annotated[
    HonourEvent
    | FirstAboveScaleEvent
    | SalesMilestoneEvent
    | LoanInterestEvent
    | EquipmentPurchaseEvent
    | DesignPrizeEvent
    | SkillsContestEvent
    | TalentProgramEvent
    | TalentLoanInterestEvent
    | OutputGrowthEvent
    | StrongTownEvent,
    Field(discriminator="type"),
]
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


# An event in a request body: documented as the union of the event models, but kept as the object
# sent, so that the service reads it with errors naming the event's own fields (`event.level`).
EventObject = Annotated[dict[str, Any], BeforeValidator(lambda value: value, json_schema_input_type=Event)]
# An event recorded on an enterprise: not an honour (recorded as the enterprise's honour) nor a
# township's 强镇 award.
RecordableEvent = Annotated[
    FirstAboveScaleEvent
    | SalesMilestoneEvent
    | LoanInterestEvent
    | EquipmentPurchaseEvent
    | DesignPrizeEvent
    | SkillsContestEvent
    | TalentProgramEvent
    | TalentLoanInterestEvent
    | OutputGrowthEvent,
    Field(discriminator="type"),
]
RecordableEventObject = Annotated[
    dict[str, Any], BeforeValidator(lambda value: value, json_schema_input_type=RecordableEvent)
]


def parse_event(data: Any) -> Event:
    """Validate a mapping (or JSON-compatible object) into the event model its `type` names."""
    return event_adapter.validate_python(data)


class EnterpriseFacts(BaseModel):
    """What is known about the enterprise just before the event; `None` = unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: Size | None = None
    ownership: Ownership | None = None
    above_scale: StrictBool | None = None
    honours: list[tuple[str, Level]] | None = Field(
        default=None,
        description="认定 held before the event, as (honour code, level); [] = none, None = unknown",
    )
    prior_grants_yuan: dict[str, Yuan] | None = Field(
        default=None,
        description="Amounts already granted to this enterprise, by rule id, for rules with a cumulative "
        "cap (智能化改造 单户 500 万, 领军人才贴息 累计 100 万). A missing key means 0; None = unknown.",
    )
    other_interest_subsidy: StrictBool | None = Field(
        default=None, description="已获得其他类别贷款贴息 (excludes 领军人才贷款贴息)"
    )
    talent_founded_date: IsoDate | None = Field(
        default=None, description="领军人才来冠创（领）办本企业之日 (starts the 3-year window)"
    )
    revenue_by_year: dict[int, Yuan] | None = Field(
        default=None,
        description="年销售收入 recorded for years before the event's year (the registry's annual figures); "
        "None = unknown. 首次突破 is checked against every recorded year.",
    )
    revenue_history_complete: StrictBool | None = Field(
        default=None,
        description="True when the recorded years cover the enterprise's whole history (or a person has "
        "confirmed it never reached the threshold before them); otherwise 首次 cannot be known for sure",
    )

    @field_validator("honours")
    @classmethod
    def _known_honours(cls, value: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
        honours = reference.honours()
        for code, level in value or []:
            if code not in honours:
                raise ValueError(f"未知的认定类型 {code!r}")
            if level not in honours[code]["levels"]:
                raise ValueError(f"{honours[code]['name']}没有 {level} 这一级别")
        return value

    def holds(self, honour: str, levels: Sequence[str] | None = None) -> bool | None:
        """Whether the enterprise holds `honour` (at one of `levels`); None if honours are unknown."""
        if self.honours is None:
            return None
        return any(code == honour and (levels is None or level in levels) for code, level in self.honours)
