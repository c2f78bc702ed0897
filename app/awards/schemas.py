"""Request and response shapes of the awards API: one family per resource (…In / …Read / …Page).

Events arrive as plain objects and are validated by `facts.parse_event_data`, so an error names
the event's own field (`event.level`), not the model the union picked; the OpenAPI document
describes them as the union of the event models (`EventObject`). Money is integer 元.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import JsonDict

from app.awards.engine import Benefit, Line, NotComputable
from app.awards.event_models import EnterpriseFacts, EventObject, RecordableEventObject
from app.enterprises.schemas import IsoDate  # YYYY-MM-DD only, not 0 or "0"

Funder = Literal["province", "city", "county"]
Status = Literal["proposed", "approved", "paid", "rejected"]

EVENT_EXAMPLE = {
    "type": "honour",
    "honour": "specialized_sme",
    "level": "provincial",
    "outcome": "new",
    "date": "2023-05-10",
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ExtraFacts(_In):
    """Facts about the enterprise the registry does not hold; given by whoever records or previews."""

    other_interest_subsidy: StrictBool | None = Field(default=None, description="已获得其他类别贷款贴息")
    talent_founded_date: IsoDate | None = Field(default=None, description="领军人才来冠创（领）办本企业之日")
    revenue_history_complete: StrictBool | None = Field(
        default=None,
        description="首次突破：库中年度销售收入记录之前，企业从未达到该额度（经人工核实）；未给出即未知",
    )


# --- computing ------------------------------------------------------------------------------


# The checks of the model validators below, as JSON Schema.
_ONE_SOURCE: JsonDict = {
    "not": {
        "required": ["enterprise", "enterprise_id"],
        "properties": {"enterprise": {"type": "object"}, "enterprise_id": {"type": "integer"}},
    }
}
_ONE_MODE: JsonDict = {
    "anyOf": [
        {"required": ["events"], "properties": {"events": {"type": "array"}, "year": {"type": "null"}}},
        {"required": ["year"], "properties": {"year": {"type": "integer"}, "events": {"type": "null"}}},
    ]
}


class PreviewIn(_In):
    """An event and either what is known of the enterprise (`enterprise`) or its id (`enterprise_id`)."""

    model_config = ConfigDict(json_schema_extra=_ONE_SOURCE)

    event: EventObject = Field(description="事件，字段见 DOMAIN.md", examples=[EVENT_EXAMPLE])
    enterprise: EnterpriseFacts | None = Field(
        default=None, description="企业情况（规模、所有制、已有认定……）；未给出的视为未知"
    )
    enterprise_id: int | None = Field(
        default=None, ge=1, description="按库中企业取事实（规模、所有制、此前认定、已获奖补）"
    )
    facts: ExtraFacts | None = Field(default=None, description="与 enterprise_id 同用：库中没有的事实")

    @model_validator(mode="after")
    def _one_source(self) -> "PreviewIn":
        if self.enterprise is not None and self.enterprise_id is not None:
            raise ValueError("enterprise 与 enterprise_id 只能给出其一")
        return self


class PreviewRead(BaseModel):
    lines: list[Line] = Field(description="金额行：各出资层级分别计算、叠加")
    benefits: list[Benefit] = Field(description="非货币待遇（税收优惠等）")
    not_computable: list[NotComputable] = Field(description="适用或可能适用但无法计算的规则，及其原因")
    total_yuan: int = Field(description="金额行合计（元）；上限行按上限计")
    total_by_funder: dict[str, int]
    facts: EnterpriseFacts = Field(description="计算所依据的企业事实")


class BatchItem(_In):
    event: EventObject
    enterprise: EnterpriseFacts | None = None
    enterprise_id: int | None = Field(default=None, ge=1)


class BatchIn(_In):
    """Either `events` (compute each, save nothing) or `year` (propose lines for every recorded event of the year)."""

    model_config = ConfigDict(json_schema_extra=_ONE_MODE)

    events: list[BatchItem] | None = Field(default=None, max_length=100_000)
    year: int | None = Field(default=None, ge=2000, le=2100)

    @model_validator(mode="after")
    def _one_mode(self) -> "BatchIn":
        if (self.events is None) == (self.year is None):
            raise ValueError("请给出 events（逐条试算）或 year（为该年已记录的事件生成奖补）其中之一")
        return self


class BatchItemRead(BaseModel):
    index: int
    total_yuan: int
    lines: list[Line]
    not_computable: list[NotComputable]


class BatchRead(BaseModel):
    mode: Literal["events", "year"]
    events: int = Field(description="计算的事件数")
    lines: int = Field(description="金额行数")
    total_yuan: int
    total_by_funder: dict[str, int]
    items: list[BatchItemRead] = Field(default=[], description="逐条结果（events 模式）")
    created_lines: int = Field(default=0, description="新生成的待审核奖补行（year 模式）")
    existing_lines: int = Field(default=0, description="已存在而未重复生成的奖补行（year 模式）")
    honour_events_created: int = Field(default=0, description="为未登记事件的认定补建的事件数（year 模式）")


# --- recorded events and award lines --------------------------------------------------------


class EventRecordIn(_In):
    event: RecordableEventObject = Field(
        description="事件（非认定类：first_above_scale、sales_milestone、loan_interest…；认定请用认定接口）",
        examples=[{"type": "loan_interest", "date": "2023-06-30", "interest_paid_yuan": 250000}],
    )
    facts: ExtraFacts | None = None
    note: str | None = Field(default=None, max_length=500)


class AwardLineSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    enterprise_name: str | None = None
    township: str | None = None
    event_id: int
    event_type: str
    event_date: date
    rule_id: str
    document: str
    document_code: str
    clause: str
    funder: Funder
    kind: str
    ceiling: bool
    computed_yuan: int = Field(description="按规则计算的金额；上限行即上限")
    amount_yuan: int | None = Field(description="批准金额（批准后）；分列份额的奖补为本级份额")
    funder_split: dict[str, int] | None = Field(
        default=None, description="分列份额的奖补（技改 ≤10% 省、市、县合计）批准时录入的各级份额，整数元"
    )
    status: Status
    fund_id: int | None
    explanation: str
    created_at: datetime


class AwardLineRead(AwardLineSummary):
    document_version: str
    receipt: dict[str, Any] = Field(description="计算凭据：事件、事实、规则及政策文件版本")
    decision_comment: str | None
    decided_by: str | None
    decided_at: datetime | None
    rejected_reason: str | None
    paid_date: date | None
    voucher_no: str | None
    paid_by: str | None


class AwardLinePage(BaseModel):
    items: list[AwardLineSummary]
    next_cursor: str | None


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    type: str
    event_date: date
    data: dict[str, Any]
    facts: dict[str, Any] | None
    honour_id: int | None
    note: str | None
    recorded_by: str
    created_at: datetime


class EventRecorded(BaseModel):
    event: EventRead
    lines: list[AwardLineSummary] = Field(description="自动生成的待审核奖补（免申即享）")
    benefits: list[Benefit]
    not_computable: list[NotComputable]
    skipped: list[str] = Field(default=[], description="一次性奖励此前已生成过、本次不重复生成的规则")
    warnings: list[str] = Field(
        default=[],
        description="不能按政策生成奖补的原因（如事件日期不在任何政策文件的有效期内：最近的文件及其失效日期）",
    )


class ApproveIn(_In):
    amount_yuan: int | None = Field(default=None, ge=0, description="批准金额（整数元）；不填则按计算金额")
    comment: str = Field(min_length=1, max_length=1000, description="审核意见")
    fund_id: int | None = Field(
        default=None, ge=1, description="支出资金；不填则按出资层级、事件日期和文件自动选择"
    )
    split: dict[Funder, Annotated[int, Field(ge=0)]] | None = Field(
        default=None,
        description="各级份额（整数元）：仅用于合计上限的奖补（技改 ≤10% 为省、市、县合计），"
        '如 {"province": 300000, "city": 300000, "county": 400000}；本级资金只支出本级份额',
    )


class PayIn(_In):
    paid_date: IsoDate = Field(description="拨付日期")
    voucher_no: str = Field(min_length=1, max_length=100, description="凭证号")


class RejectIn(_In):
    reason: str = Field(min_length=1, max_length=1000, description="驳回原因")


class RecomputeRead(BaseModel):
    line_id: int
    rule_id: str
    stored_yuan: int
    recomputed_yuan: int | None = Field(description="用存档的政策文件版本重新计算的金额")
    matches: bool
    policy_versions: dict[str, str]
    current_versions: dict[str, str]
    rules_changed_since: bool = Field(description="政策文件是否已有新版本")
    explanation: str | None


# --- funds ---------------------------------------------------------------------------------


class FundCreate(_In):
    code: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=60)
    name: str = Field(min_length=2, max_length=200)
    funder: Funder
    document_code: str | None = Field(
        default=None, max_length=40, description="资金所属政策文件代码，如 gzb2023-7"
    )
    clause: str | None = Field(default=None, max_length=40)
    period_start: IsoDate
    period_end: IsoDate
    amount_yuan: int = Field(ge=0, description="预算金额（整数元）；按年设额度时为每年的额度")
    note: str | None = Field(default=None, max_length=500)
    yearly: bool = Field(
        default=False, description="按年设额度：期间内每个自然年一个额度（各为 amount_yuan）"
    )


class FundUpdate(_In):
    name: str | None = Field(default=None, min_length=2, max_length=200)
    period_start: IsoDate | None = None
    period_end: IsoDate | None = None


class TopUpIn(_In):
    amount_yuan: int = Field(gt=0, description="追加金额（整数元）")
    note: str = Field(min_length=1, max_length=500, description="追加依据")
    year: int | None = Field(
        default=None, ge=2000, le=2100, description="按年设额度的资金：追加到哪一年的额度（必填）"
    )


class BudgetAdjustmentIn(_In):
    year: int | None = Field(
        default=None,
        ge=2000,
        le=2100,
        description="按年设额度的资金（yearly）：调整哪一年的额度（必填）；其他资金不填，调整整个期间的预算",
    )
    budget_yuan: int = Field(ge=0, description="调整后的预算（整数元），不得低于已支用的金额")
    reason: str = Field(min_length=1, max_length=500, description="调整理由，如 县政府常务会议纪要")


class FundYearRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    budget_yuan: int
    drawn_yuan: int
    remaining_yuan: int


class FundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    funder: Funder
    document_code: str | None
    clause: str | None
    period_start: date
    period_end: date
    budget_yuan: int
    drawn_yuan: int
    remaining_yuan: int
    paid_yuan: int = 0
    proposed_yuan: int = Field(default=0, description="尚待审核、将由本资金支出的奖补（按上限计）")
    yearly: bool = Field(
        default=False, description="按年设额度：每个自然年一个额度，奖补按事件日期所在年度支出"
    )
    years: list[FundYearRead] = Field(
        default_factory=list, description="按年设额度的资金：各年的预算、已支用和余额"
    )


class FundEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    fund_id: int
    kind: str
    amount_yuan: int
    award_line_id: int | None
    note: str | None
    year: int | None = Field(default=None, description="按年设额度的资金：该笔所属的年度额度")
    actor_name: str
    created_at: datetime


# --- forecast -------------------------------------------------------------------------------


class CandidateIn(_In):
    enterprise_id: int = Field(ge=1)
    honour: str
    level: str
    outcome: Literal["new", "renewed"] = "new"
    date: IsoDate | None = Field(default=None, description="预计认定日期；默认当年 12 月 31 日")


class ForecastIn(_In):
    scenario: Literal["targets", "candidates"] = "targets"
    year: int = Field(default=2023, ge=2000, le=2100)
    candidates: list[CandidateIn] = Field(default=[], max_length=5000)
    overrides: dict[str, Decimal] = Field(default={}, description="测算假设：{规则 id: 金额（元）或百分比}")


class ForecastFundRead(BaseModel):
    fund_id: int | None
    code: str | None
    name: str
    funder: str
    remaining_yuan: int | None
    proposed_yuan: int
    forecast_yuan: int
    after_yuan: int | None = Field(description="测算支出后的余额；无资金时为空")
    short: bool = Field(description="余额不足")


class ForecastRowRead(BaseModel):
    source: str = Field(description="目标表行或企业")
    event: str
    count: int
    rule_id: str
    document: str
    clause: str
    funder: str
    per_head_yuan: int
    total_yuan: int
    overridden: bool


class NotForecast(BaseModel):
    name: str
    reason: str


class ForecastNotComputable(BaseModel):
    source: str
    rule_id: str
    reason: str


class ForecastSummary(BaseModel):
    total_yuan: int
    by_funder: dict[str, int]
    by_fund: list[ForecastFundRead]
    rows: list[ForecastRowRead]
    not_forecast: list[NotForecast]
    not_computable: list[ForecastNotComputable]
    assumptions: list[str]


class FundDifference(BaseModel):
    fund_id: int | None
    name: str
    difference_yuan: int


class ForecastDifference(BaseModel):
    total_yuan: int
    by_funder: dict[str, int]
    by_fund: list[FundDifference]


class NoDifference(BaseModel):
    """`{}`: no what-if values were given."""

    model_config = ConfigDict(extra="forbid")


class ForecastRead(BaseModel):
    base: ForecastSummary
    what_if: ForecastSummary | None = Field(description="按测算假设（overrides）计算；未给出假设时为空")
    overrides: dict[str, str] = Field(description="所用的测算假设：{规则 id: 数值}")
    difference: ForecastDifference | NoDifference = Field(description="测算假设带来的差额；未给出假设时为 {}")


class NoticeRow(BaseModel):
    line_id: int
    enterprise_id: int
    enterprise_name: str
    township: str
    event: str = Field(description="认定或事件（中文）")
    subject: str
    document: str
    clause: str
    funder: Funder
    amount_yuan: int | None
    status: Status


class LedgerTotals(BaseModel):
    """各状态的笔数与金额（整数元）。"""

    proposed_count: int
    proposed_yuan: int
    approved_count: int
    approved_yuan: int
    paid_count: int
    paid_yuan: int
    rejected_count: int
    rejected_yuan: int
