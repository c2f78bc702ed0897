"""Monthly filings (月度填报): FilingIn / FilingRowIn / FilingBatchIn / FilingRead / FilingPage and the reports."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import Whole  # an integer, never true/false

_NONNEG = {"minimum": 0}  # checked by the service, with a message naming the field
_MAX = 10**15  # far beyond any enterprise's month; exact in a JSON number (below 2**53)


class FilingIn(BaseModel):
    """One enterprise's figures for one month, in integer 元 (electricity in 千瓦时)."""

    model_config = ConfigDict(extra="forbid")

    rd_spend_yuan: Whole = Field(le=_MAX, description="研发投入（元），不能为负数", json_schema_extra=_NONNEG)
    output_value_yuan: Whole = Field(
        le=_MAX, description="工业产值（元），不能为负数", json_schema_extra=_NONNEG
    )
    revenue_yuan: Whole | None = Field(
        default=None, le=_MAX, description="营业收入（元）", json_schema_extra=_NONNEG
    )
    electricity_kwh: Whole | None = Field(
        default=None, le=_MAX, description="用电量（千瓦时）", json_schema_extra=_NONNEG
    )


class FilingRowIn(FilingIn):
    """A row of a batch: the enterprise by id or by 统一社会信用代码."""

    enterprise_id: int | None = None
    uscc: str | None = Field(default=None, max_length=18)


class FilingBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[FilingRowIn] = Field(min_length=1, max_length=20000)


class FilingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    enterprise_id: int
    enterprise_name: str | None = None
    township: str | None = None
    month: str = Field(examples=["2023-05"])
    rd_spend_yuan: int
    output_value_yuan: int
    revenue_yuan: int | None
    electricity_kwh: int | None
    filed_at: datetime
    filed_by: str
    filed_late: bool = Field(description="首次填报晚于截止日")
    updated_at: datetime
    updated_by: str
    corrected_late: bool = Field(description="截止日后有过更正")
    revisions: int
    rd_mom_pct: float | None = Field(
        default=None, description="研发投入环比增长（%），上月未填报或为 0 时为空"
    )
    rd_yoy_pct: float | None = Field(default=None, description="研发投入同比增长（%）")
    output_mom_pct: float | None = None
    output_yoy_pct: float | None = None


class FilingPage(BaseModel):
    items: list[FilingRead]
    next_cursor: str | None


class SubmitResult(BaseModel):
    month: str
    deadline: date
    saved: int = Field(description="写入的填报条数")
    late: int = Field(description="其中截止日后写入（逾期填报或更正）的条数")


class TownshipFilingStatus(BaseModel):
    township: str
    township_name: str
    enterprises: int = Field(description="应填报企业数（本乡镇全部在册企业）")
    filed: int
    filed_late: int
    missing: int


class OverdueEnterprise(BaseModel):
    enterprise_id: int
    name: str
    uscc: str
    township: str


class OverdueRead(BaseModel):
    month: str
    deadline: date
    as_of: date
    overdue: bool = Field(description="截止日已过（as_of 晚于截止日）：未填报即为逾期")
    townships: list[TownshipFilingStatus]
    enterprises: list[OverdueEnterprise] = Field(description="未填报的企业（最多 limit 家）")
    missing_total: int


class GrowthRow(BaseModel):
    township: str | None = Field(description="乡镇代码；全县合计为 null")
    name: str
    filed: int
    rd_spend_yuan: int
    rd_mom_pct: float | None = Field(description="研发投入环比（%）：两个月都填报的企业合计相比")
    rd_yoy_pct: float | None
    output_value_yuan: int
    output_mom_pct: float | None
    output_yoy_pct: float | None
    rd_target_pct: float | None = Field(description="研发投入月度增长目标（%）")
    rd_reading: Literal["year_on_year", "month_on_month"] = Field(
        description="判断目标所用的增长口径：目标表中该指标的设定（默认 year_on_year 同比；month_on_month 环比）。两种增长率都列出"
    )
    rd_target_met: bool | None = Field(
        description="按 rd_reading 口径的增长率（rd_yoy_pct 或 rd_mom_pct）是否达到目标；无可比数据为 null"
    )


class GrowthRead(BaseModel):
    month: str
    townships: list[GrowthRow]
    county: GrowthRow | None
