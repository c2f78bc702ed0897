import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from app import reference

Size = Literal["micro", "small", "medium", "large"]
Ownership = Literal["private", "state", "foreign", "other"]
MuClass = Literal["A", "B", "C", "D"]
Outcome = Literal["new", "renewed", "rejected"]
Level = Literal["national", "provincial", "city"]

Yuan = Field(default=None, ge=0, description="整数元")


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic alone would also read 0 or "0" as 1970-01-01."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("日期格式应为 YYYY-MM-DD")


def _no_bool(value: Any, info: ValidationInfo) -> Any:
    """An integer sent as true/false is a mistake, not 1 or 0; in JSON it is a number, never a string
    ("100"). A page's form sends text, so pages validate with context {"form": True}."""
    if isinstance(value, bool):
        raise ValueError("应为数字，不能是 true 或 false")
    if isinstance(value, str) and not (info.context or {}).get("form"):
        raise ValueError("应为 JSON 数字（不加引号），不能是字符串")
    return value


# Input types shared by every domain's request schemas.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Whole = Annotated[int, BeforeValidator(_no_bool)]


class FigureIn(BaseModel):
    """One year's figures. Money in integer 元."""

    model_config = ConfigDict(extra="forbid")

    year: Whole = Field(ge=2000, le=2100, examples=[2024])
    revenue_yuan: Whole | None = Field(
        default=None, ge=0, description="营业收入（元）", examples=[16_500_000]
    )
    main_revenue_yuan: Whole | None = Field(default=None, ge=0, description="主营业务收入（元）")
    output_value_yuan: Whole | None = Field(default=None, ge=0, description="工业总产值（元）")
    rd_spend_yuan: Whole | None = Field(default=None, ge=0, description="研发经费支出（元）")
    tax_yuan: Whole | None = Field(default=None, ge=0, description="税收（元）")
    employees: Whole | None = Field(default=None, ge=0, description="从业人员（人）")
    land_mu: Decimal | None = Field(
        default=None, ge=0, max_digits=12, decimal_places=2, description="用地面积（亩）"
    )
    energy_tce: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, description="综合能耗（吨标准煤）"
    )


class FigureRead(FigureIn):
    model_config = ConfigDict(from_attributes=True)


def _honour_codes_schema(schema: dict[str, Any]) -> None:
    """The honour codes, and the levels each one has, as JSON Schema (checked by the service)."""
    honours = reference.honours()
    schema["properties"]["code"]["enum"] = list(honours)
    schema["anyOf"] = [
        {"properties": {"code": {"const": code}, "level": {"enum": list(spec["levels"])}}}
        for code, spec in honours.items()
    ]


class HonourIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_honour_codes_schema)

    code: str = Field(description="认定代码，见 DOMAIN.md，如 specialized_sme", examples=["specialized_sme"])
    level: Level = Field(examples=["provincial"])
    outcome: Outcome = Field(default="new", description="new 新认定 / renewed 复审通过 / rejected 申报未通过")
    honour_date: IsoDate = Field(description="认定或未通过的日期，不能晚于今天", examples=["2023-06-30"])
    certificate_no: str | None = Field(default=None, max_length=100)

    @field_validator("honour_date")
    @classmethod
    def _not_in_the_future(cls, v: date) -> date:
        # A day's grace: the county's today (UTC+8) may be the server's tomorrow.
        if v > date.today() + timedelta(days=1):
            raise ValueError(f"认定日期 {v} 晚于今天：只能记录已经作出的认定（或未通过的结果）")
        return v


class HonourRead(HonourIn):
    model_config = ConfigDict(from_attributes=True, json_schema_extra=None)

    id: int
    level: str


class HonourRecordedRead(HonourRead):
    warnings: list[str] = Field(
        default_factory=list,
        description="不能按政策生成奖补的原因（如认定日期不在任何有效政策文件的有效期内，说明最近的文件及其失效日期）",
    )


class EnterpriseBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200, description="企业名称", examples=["冠县示例机械有限公司"])
    township: str = Field(description="乡镇（街道）代码，见 DOMAIN.md", examples=["qingquan"])
    chain: str | None = Field(default=None, max_length=50, description="产业链", examples=["高端装备"])
    industry: str | None = Field(default=None, max_length=50, description="行业", examples=["工业"])
    size: Size = Field(description="企业规模", examples=["small"])
    ownership: Ownership = Field(default="private", description="所有制")
    above_scale: StrictBool = Field(default=False, description="是否规上")
    mu_class: MuClass | None = Field(default=None, description="亩产效益评价类别")
    platform_registered_date: IsoDate | None = Field(default=None, description="聊城企业政策通平台注册日期")


class EnterpriseCreate(EnterpriseBase):
    uscc: str = Field(
        min_length=18, max_length=18, description="统一社会信用代码", examples=["91371525MA3C0F0X4D"]
    )
    figures: list[FigureIn] = Field(default_factory=list)
    honours: list[HonourIn] = Field(default_factory=list)


class EnterpriseUpdate(BaseModel):
    """Partial update: only the fields sent change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: str | None = Field(default=None, min_length=18, max_length=18)
    name: str | None = Field(default=None, min_length=2, max_length=200)
    township: str | None = None
    chain: str | None = Field(default=None, max_length=50)
    industry: str | None = Field(default=None, max_length=50)
    size: Size | None = None
    ownership: Ownership | None = None
    above_scale: StrictBool | None = None
    mu_class: MuClass | None = None
    platform_registered_date: IsoDate | None = None


class EnterpriseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uscc: str
    name: str
    township: str
    chain: str | None
    industry: str | None
    size: str
    ownership: str
    above_scale: bool
    mu_class: str | None
    platform_registered_date: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    figures: list[FigureRead] = []
    honours: list[HonourRead] = []


class EnterpriseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uscc: str
    name: str
    township: str
    size: str
    ownership: str
    above_scale: bool
    mu_class: str | None
    revenue_yuan: int | None = Field(default=None, description="所选年度营业收入（元）")


class EnterprisePage(BaseModel):
    items: list[EnterpriseSummary]
    next_cursor: str | None = Field(description="下一页游标；为空表示已是最后一页")
    year: int | None = Field(description="营业收入所取的年度")


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_kind: str
    actor_name: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict
    note: str | None


SORTS = ("name", "-name", "revenue", "-revenue", "created_at", "-created_at", "id", "-id")
