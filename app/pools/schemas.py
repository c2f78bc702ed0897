"""What the pools API reads and writes. Codes are those of shared/DOMAIN.md and definitions.yaml."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import IsoDate  # YYYY-MM-DD only, not 0 or "0"

MuClass = Literal["A", "B", "C", "D"]
CandidacyCode = Literal["met", "judgement", "missing", "failed"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- pools


class PoolSummary(BaseModel):
    code: str = Field(examples=["xiaoshenggui_pool"])
    name: str = Field(examples=["“小升规”工业企业培育库"])
    document: str = Field(examples=["冠政办发〔2023〕7号"])
    clause: str
    tier: int | None = Field(description="梯度：1 初级、2 中级、3 高级")
    in_force_start: date
    in_force_end: date
    member_count: int = Field(description="现有成员数（乡镇工作人员只计本乡镇）")
    by_township: dict[str, int] = Field(description="乡镇代码 → 现有成员数")
    pending_graduations: int = Field(description="待确认的毕业提议数")


class PoolList(BaseModel):
    items: list[PoolSummary]
    next_cursor: str | None = Field(description="下一页游标；为空表示已是最后一页")


class PoolDetail(BaseModel):
    code: str
    name: str
    member_count: int
    definition: dict[str, Any] = Field(
        description="definitions.yaml 中该库的完整定义：入库类别、条件、目标、依据条款"
    )


# --- members


class EnterIn(_In):
    """入库：一家企业按某一入库类别进入培育库。"""

    enterprise_id: int
    entry_class: str | None = Field(
        default=None,
        description="入库类别代码；不填则取第一个符合（或待人工判断）的类别",
        examples=["xiaoshenggui"],
    )
    entered_date: IsoDate | None = Field(default=None, description="入库日期，默认今天")
    year: int | None = Field(
        default=None,
        ge=2000,
        le=2100,
        description="据以判断入库条件的年度数据；默认为入库日期所在年度及以前最近一年",
    )
    note: str | None = Field(default=None, max_length=2000, description="说明（如人工判断的依据、推荐单位）")


class LeaveIn(_In):
    """出库。reason：above_scale 升规、honoured 认定成功、talent_selected 入选人才工程、not_eligible 不再符合、
    deregistered 注销、moved 转入其他库、withdrawn 企业退出、other 其他（须说明）。"""

    reason: str = Field(examples=["above_scale"])
    left_date: IsoDate | None = Field(default=None, description="出库日期，默认今天")
    note: str | None = Field(default=None, max_length=2000)


class CriterionRead(BaseModel):
    kind: str
    status: Literal["met", "failed", "unknown"]
    explanation: str = Field(description="中文说明，含所用数据")
    basis: Literal["document", "proxy"] = Field(
        description="document 文件规定；proxy 文件未规定、系统补充的检查"
    )
    needs_judgement: bool = False
    children: list["CriterionRead"] = []


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    pool: str
    entry_class: str
    entry_class_name: str | None = None
    entered_date: date
    entered_by: str
    entry_note: str | None
    evaluated_year: int | None
    entry_evaluation: list[dict[str, Any]] = Field(
        description="入库时的条件判断（年度数据见 evaluated_year）"
    )
    left_date: date | None
    leave_reason: str | None
    leave_reason_name: str | None = None
    left_by: str | None
    leave_note: str | None
    created_at: datetime
    definition_version_id: int | None = Field(
        default=None,
        description="入库时依据的培育库定义版本（GET /api/v1/pools/definitions）；之后发布的新版本不改变它",
    )


class MemberRow(BaseModel):
    membership: MembershipRead
    enterprise_name: str
    uscc: str
    township: str
    above_scale: bool
    size: str
    revenue_yuan: int | None = Field(description="所选年度营业收入（元）")
    main_revenue_yuan: int | None = Field(description="所选年度主营业务收入（元）")
    candidacy: CandidacyCode = Field(
        description="按其入库类别和所选年度数据：met 仍符合、judgement 待人工判断、missing 数据不全、failed 不再符合"
    )
    mu_class: MuClass | None = Field(
        description="所选年度的亩产效益类别（已评价优先，其次暂定，再次企业登记）"
    )
    mu_class_source: Literal["entered", "imported", "provisional", "registry"] | None


class MemberPage(BaseModel):
    items: list[MemberRow]
    next_cursor: str | None
    year: int


# --- candidates


class CandidateRow(BaseModel):
    enterprise_id: int
    enterprise_name: str
    uscc: str
    township: str
    above_scale: bool
    size: str
    industry: str | None
    revenue_yuan: int | None
    main_revenue_yuan: int | None
    candidacy: Literal["met", "judgement"] = Field(
        description="met 符合；judgement 可核查的条件均符合，其余待人工判断"
    )
    classes: dict[str, CandidacyCode] = Field(description="入库类别代码 → 判断结果")
    mu_class: MuClass | None
    mu_class_source: Literal["entered", "imported", "provisional", "registry"] | None


class TownshipCount(BaseModel):
    met: int
    judgement: int


class CandidatePage(BaseModel):
    items: list[CandidateRow]
    next_cursor: str | None
    year: int
    counts: dict[str, TownshipCount] = Field(
        description="乡镇代码 → 候选企业数（符合筛选条件的全部，而非本页）"
    )


# --- yearly review


class ReviewLeaving(BaseModel):
    enterprise_id: int
    enterprise_name: str
    township: str
    membership_id: int
    entry_class: str
    entered_date: date
    candidacy: CandidacyCode = Field(description="按其入库类别的判断")
    proposed_reason: str
    proposed_reason_name: str
    deleted: bool
    other_classes: list[str] = Field(description="仍符合（或待人工判断）的其他入库类别：可改按该类别保留")


class ReviewEntering(BaseModel):
    enterprise_id: int
    enterprise_name: str
    township: str
    candidacy: Literal["met", "judgement"]
    entry_class: str = Field(description="建议的入库类别")
    previous_candidacy: CandidacyCode = Field(description="上一年度的判断结果")
    revenue_yuan: int | None
    main_revenue_yuan: int | None


class ReviewPlan(BaseModel):
    pool: str
    year: int
    kept: int = Field(description="仍符合（或待人工判断）而保留的成员数")
    leaving: list[ReviewLeaving] = Field(description="不再符合（或已达成目标、已注销）的成员，建议出库")
    missing_data: list[ReviewLeaving] = Field(
        description="缺少数据、无法判断的成员（不建议出库，请补录数据）"
    )
    entering: list[ReviewEntering] = Field(description="本年度新符合条件的企业，建议入库")
    entering_total: int
    truncated: bool = Field(description="新符合条件的企业超过 limit 时为 true")


class ReviewLeaveItem(_In):
    enterprise_id: int
    reason: str = "not_eligible"
    note: str | None = Field(default=None, max_length=2000)


class ReviewEnterItem(_In):
    enterprise_id: int
    entry_class: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class ReviewConfirm(_In):
    """一次确认本年度的全部调整：全部成功或全部不写入。"""

    year: int = Field(ge=2000, le=2100)
    review_date: IsoDate | None = Field(default=None, description="调整日期（入库、出库日期），默认今天")
    note: str | None = Field(default=None, max_length=2000)
    leave: list[ReviewLeaveItem] = Field(default_factory=list, max_length=5000)
    enter: list[ReviewEnterItem] = Field(default_factory=list, max_length=5000)


class ReviewResult(BaseModel):
    review_id: int
    entered: int
    left: int


# --- graduation


class GraduationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    membership_id: int
    enterprise_id: int
    enterprise_name: str | None = None
    township: str | None = None
    pool: str
    trigger: Literal["above_scale", "honour"]
    honour_id: int | None
    event_date: date
    goal_text: str
    status: Literal["pending", "confirmed", "dismissed"]
    proposed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    next_pool: str | None
    note: str | None
    next_pools: list[str] = Field(default_factory=list, description="可转入的下一级培育库")


class GraduationConfirm(_In):
    left_date: IsoDate | None = Field(default=None, description="出库日期，默认为达成目标的日期")
    next_pool: str | None = Field(default=None, description="同时转入的培育库代码（可选）")
    next_entry_class: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class GraduationDismiss(_In):
    note: str | None = Field(default=None, max_length=2000)


# --- per enterprise


class EntryClassStatus(BaseModel):
    entry_class: str
    name: str
    clause: str
    status: Literal["met", "failed", "unknown"]
    candidacy: CandidacyCode
    summary: str
    criteria: list[CriterionRead]


class EnterprisePoolRead(BaseModel):
    code: str
    name: str
    document: str
    clause: str
    member: MembershipRead | None = Field(description="现在的入库记录")
    history: list[MembershipRead] = Field(description="全部入库、出库记录（新的在前）")
    candidacy: CandidacyCode
    classes: list[EntryClassStatus]
    graduations: list[GraduationRead]


class MuYearRead(BaseModel):
    year: int
    mu_class: MuClass | None
    source: Literal["entered", "imported", "provisional", "registry"] | None
    provisional_class: MuClass | None = None
    provisional_rank: int | None = None
    provisional_ranked: int | None = None
    provisional_score: float | None = None
    indicators: dict[str, Any] = Field(default_factory=dict, description="指标代码 → [数值, 百分位, 权重%]")
    notes: list[str] = []


class EnterprisePoolStatus(BaseModel):
    enterprise_id: int
    year: int | None = Field(description="判断入库条件所用的年度数据")
    pools: list[EnterprisePoolRead]
    mu: MuYearRead | None
    mu_records: list[dict[str, Any]] = Field(description="各年度已评价的亩产效益类别")


# --- 亩产效益


class MuClassIn(_In):
    mu_class: MuClass
    note: str | None = Field(default=None, max_length=2000)


class MuClassRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    enterprise_id: int
    year: int
    mu_class: MuClass
    source: Literal["entered", "imported"]
    note: str | None
    recorded_by: str
    recorded_at: datetime


class EnterpriseMuRead(BaseModel):
    items: list[MuClassRead]
    next_cursor: str | None = Field(description="下一页游标；为空表示已是最后一页")


class MuImportResult(BaseModel):
    year: int
    recorded: int
    changed: int


class MuBandIn(_In):
    mu_class: MuClass
    percent: float = Field(gt=0, le=100)


class MuSchemeIn(_In):
    """管理员调整权重和分档；未给出的指标保持默认权重。"""

    weights: dict[str, float] = Field(
        default_factory=dict, description="指标代码 → 权重", examples=[{"tax_per_mu": 40}]
    )
    bands: list[MuBandIn] | None = Field(
        default=None, description="各类别所占比例（%），按 A、B、C、D 顺序，合计 100"
    )


class MuSchemeRead(BaseModel):
    code: str
    name: str
    source: str
    customised: bool = Field(description="是否为管理员调整后的方案")
    updated_by: str | None
    updated_at: datetime | None
    indicators: list[dict[str, Any]]
    bands: list[dict[str, Any]]
    defaults: dict[str, Any] = Field(description="definitions.yaml 中的默认权重与分档")


class MuProvisionalResult(BaseModel):
    year: int
    ranked: int = Field(description="参与排名的企业数")
    unranked: int = Field(description="数据不足、未分类的企业数")
    classes: dict[str, int]
    weights: dict[str, float]
    notes: list[str]


class MuRow(BaseModel):
    enterprise_id: int
    enterprise_name: str
    uscc: str
    township: str
    recorded_class: MuClass | None
    recorded_source: Literal["entered", "imported"] | None
    provisional_class: MuClass | None
    provisional_rank: int | None
    provisional_score: float | None
    ranked: int | None
    indicators: dict[str, Any]
    notes: list[str]
    mu_class: MuClass | None = Field(description="生效的类别：已评价优先，其次暂定，再次企业登记")


class MuPage(BaseModel):
    items: list[MuRow]
    next_cursor: str | None
    year: int
