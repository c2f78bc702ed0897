"""Targets: TargetSetSummary / TargetSetRead / TableIn / ProgressRead / CellEnterprisesRead."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import IsoDate  # YYYY-MM-DD only, not 0 or "0"


class TargetSetSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(examples=["2023", "2022-2024"], description="年度表为年份，多年目标为“起始年-结束年”")
    kind: str = Field(description="annual（年度目标表）或 period（多年目标）")
    year: int | None
    period_start: date
    period_end: date
    document: str = Field(examples=["冠政办发〔2023〕7号"])
    title: str
    issued_date: date | None
    source: str = Field(description="reference（文件载入）/ form / upload / api")
    status: str = Field(description="draft（草稿，只在按名查看时显示）/ published（已发布）")
    copied_from: str | None = Field(default=None, description="复制自哪一年的目标表")
    published_by: str | None = None
    published_at: datetime | None = None


class TargetSetList(BaseModel):
    items: list[TargetSetSummary]
    next_cursor: str | None


class IndicatorRead(BaseModel):
    no: int
    code: str
    name: str
    clause: str | None
    text: str | None
    unit: str
    kind: str = Field(description="count（数量）或 rate（比率，%）")
    county_only: bool = Field(description="县级指标：无乡镇分解")
    at_least: bool = Field(description="“以上”：目标为下限")
    approx: bool = Field(description="“左右”")
    total: float = Field(description="总数；比率指标为全县目标（%）")
    deadline: date | None
    deadline_text: str
    filing_day: int | None = Field(description="比率指标每月填报截止日")
    measure: dict[str, Any] = Field(description="统计口径（数据定义）")
    measure_text: str = Field(description="统计口径的中文说明")
    parts: list[dict[str, Any]] | None
    responsible: dict[str, Any] | None
    townships: dict[str, float] | None = Field(description="各乡镇目标数（乡镇代码 → 数值）")


class TargetSetRead(TargetSetSummary):
    indicators: list[IndicatorRead]


class TargetRowIn(BaseModel):
    """One row as in the attachment: 项目名称 (or its code), the townships' figures, 总数, 完成时限."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, description="指标代码；省略时按项目名称匹配指标目录")
    name: str | None = Field(default=None, description="项目名称")
    townships: dict[str, float | str] | None = Field(
        default=None, description="乡镇代码、全称或简称 → 目标数；县级指标省略"
    )
    total: float | str | None = Field(default=None, description="总数（须等于各乡镇之和）")
    deadline: IsoDate | None = Field(
        default=None, description="完成时限（日期）；省略时按 deadline_text 推算"
    )
    deadline_text: str | None = Field(default=None, examples=["2024年9月"])
    clause: str | None = None
    unit: str | None = None


class TableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: str = Field(min_length=1, max_length=60, examples=["冠政办发〔2024〕X号"])
    title: str = Field(min_length=1, max_length=200, examples=["2024年冠县优质企业培育计划"])
    issued_date: IsoDate | None = None
    rows: list[TargetRowIn] = Field(min_length=1, max_length=200)


class CellRead(BaseModel):
    actual: float | None = Field(description="完成数（比率指标为增长率 %）；数据尚未接入时为空")
    target: float | None
    status: str = Field(description="met / on_track / behind / overdue / not_available / no_target")
    status_name: str
    percent: int | None = Field(description="完成数占目标的百分比")


class PartRead(BaseModel):
    code: str
    name: str
    cell: CellRead


class ProgressRow(BaseModel):
    code: str
    name: str
    unit: str
    kind: str
    measure_kind: str
    deadline: date | None
    available: bool
    reason: str | None = Field(description="无法统计的原因（如“数据尚未接入”）")
    report_month: str | None = Field(description="比率指标：据以判断的月份")
    county: CellRead | None = Field(description="全县；乡镇工作人员不可见")
    townships: dict[str, CellRead]
    parts: list[PartRead]


class ProgressRead(BaseModel):
    key: str
    as_of: date
    status_rules: str
    townships: list[str]
    rows: list[ProgressRow]


class CellEnterprise(BaseModel):
    enterprise_id: int
    name: str
    uscc: str
    township: str
    basis: str = Field(description="计入的依据（认定记录、入库日期、注册日期或填报数）")


class CellEnterprisesRead(BaseModel):
    key: str
    indicator: str
    township: str | None
    as_of: date
    total: int = Field(description="计入该单元格的企业数")
    reason: str | None = Field(description="无法统计的原因；此时 items 为空")
    items: list[CellEnterprise]
    next_cursor: str | None


class CopyIn(BaseModel):
    """复制上年目标表为下年草稿."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100, examples=[2027], description="新目标表的年度")
    document: str = Field(min_length=1, max_length=60, examples=["冠政办发〔2027〕X号"])
    title: str | None = Field(default=None, max_length=200, examples=["2027年冠县优质企业培育计划"])
    issued_date: IsoDate | None = None


class IndicatorPatch(BaseModel):
    """A draft row's changes; fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=10)
    clause: str | None = Field(default=None, max_length=40)
    total: float | None = Field(default=None, description="总数（须等于各乡镇之和、各分项之和）")
    townships: dict[str, float] | None = Field(default=None, description="乡镇代码 → 目标数")
    county_only: bool | None = Field(default=None, description="县级指标：无乡镇分解")
    at_least: bool | None = None
    deadline: IsoDate | None = None
    deadline_text: str | None = Field(default=None, max_length=60, examples=["2027年9月"])
    filing_day: int | None = None
    measure: dict[str, Any] | None = Field(
        default=None, description="统计口径：系统已知的口径之一（见 GET /api/v1/targets/{key}/measures）"
    )
    not_measured_reason: str | None = Field(
        default=None, max_length=500, description="不统计：写明原因（代替 measure）"
    )
    parts: dict[str, int] | None = Field(
        default=None, description="分项代码 → 目标数（如特色产业集群 市级 2 / 省级 1 / 国家级 1）"
    )


class IndicatorNew(IndicatorPatch):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60, examples=["green_factory"])
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=10)
    total: float
    deadline_text: str = Field(min_length=1, max_length=60)


class MeasureRead(BaseModel):
    measure: dict[str, Any]
    text: str
