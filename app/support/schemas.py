"""Request and response bodies of the 助企服务 API (/api/v1/support)."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import IsoDate, Whole

Category = Literal["labour", "energy", "project", "funding", "policy", "other"]
ProblemStatus = Literal["collected", "assigned", "in_progress", "resolved", "closed", "returned"]
ProblemStatusFilter = Literal[ProblemStatus, "open"]  # open: any status not yet resolved or closed
Channel = Literal["visit", "phone", "platform", "walk_in", "other"]
UnitKind = Literal["township", "department"]
Action = Literal["assign", "start", "progress", "resolve", "close", "reopen", "return"]


class ProblemIn(BaseModel):
    """A problem (诉求) of an enterprise, named by `enterprise_id` or by 统一社会信用代码 `uscc`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    enterprise_id: Whole | None = Field(
        default=None, ge=1, le=2**31 - 1, description="企业 id（与 uscc 二选一）"
    )
    uscc: str | None = Field(
        default=None, max_length=18, description="统一社会信用代码（与 enterprise_id 二选一）"
    )
    category: Category = Field(
        description="类别：labour 用工、energy 用能、project 项目建设、funding 资金、policy 政策、other 其他"
    )
    title: str = Field(min_length=1, max_length=200, description="问题摘要")
    description: str = Field(min_length=1, max_length=5000, description="问题描述")
    raised_by: str = Field(min_length=1, max_length=100, description="反映人（企业联系人）")
    channel: Channel | None = Field(
        default=None, description="反映渠道；API 提交默认为 platform（市级平台转办）"
    )
    raised_date: IsoDate | None = Field(default=None, description="反映日期，默认今天")
    unit_kind: UnitKind | None = Field(
        default=None, description="责任单位类型：township 乡镇、department 县直部门"
    )
    unit: str | None = Field(
        default=None, max_length=60, description="责任单位：乡镇代码或县直部门名称；填写即交办"
    )
    external_ref: str | None = Field(
        default=None, max_length=100, description="平台侧编号；同一编号只能提交一次（409）"
    )
    visit_id: Whole | None = Field(default=None, ge=1, le=2**31 - 1, description="来源走访记录 id")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Action = Field(
        description="assign 交办、start 开始办理、progress 办理进展、resolve 办结、close 销号、reopen 重新办理、return 退回"
    )
    note: str | None = Field(
        default=None, max_length=5000, description="办理情况；办结、退回、进展、重新办理时必填"
    )
    unit_kind: UnitKind | None = None
    unit: str | None = Field(default=None, max_length=60, description="交办时的责任单位")
    step_date: IsoDate | None = Field(default=None, description="办理日期，默认今天")


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str
    note: str | None
    step_date: date
    actor_name: str
    at: datetime


class ProblemRead(BaseModel):
    id: int
    enterprise_id: int
    uscc: str
    enterprise_name: str
    township: str
    category: str
    title: str
    description: str
    raised_by: str
    channel: str
    raised_date: date
    unit_kind: str
    unit: str
    deadline_date: date
    status: str
    status_name: str
    overdue: bool
    resolution: str | None
    return_reason: str | None
    resolved_date: date | None
    closed_date: date | None
    external_ref: str | None
    steps: list[StepRead] | None = None


class ProblemPage(BaseModel):
    items: list[ProblemRead]
    next_cursor: str | None
    total: int


class StatRead(BaseModel):
    key: str
    label: str
    total: int
    open: int
    overdue: int
    resolved: int
    closed: int
    returned: int
    late: int
    overdue_rate_pct: float | None
    mean_days_to_resolve: float | None
