"""Input and output of the cluster API."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import IsoDate

ClusterLevel = Literal["city", "provincial", "national"]


class ClusterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200, description="集群名称")
    level: ClusterLevel = Field(description="认定级别：city 市级 / provincial 省级 / national 国家级")
    recognised_date: IsoDate = Field(description="评选认定日期")
    lead_enterprise_id: int = Field(ge=1, description="牵头企业")
    member_enterprise_ids: list[int] = Field(
        default_factory=list, max_length=500, description="成员企业（牵头企业自动计入）"
    )
    recipient_enterprise_id: int | None = Field(
        default=None, ge=1, description="奖励的受领企业（按认定文件登记）；不填即牵头企业"
    )
    certificate_no: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class ClusterFirm(BaseModel):
    id: int
    name: str
    township: str


class ClusterRead(BaseModel):
    id: int
    name: str
    level: str
    level_name: str
    recognised_date: date
    lead: ClusterFirm
    recipient: ClusterFirm
    members: list[ClusterFirm]
    honour_id: int | None
    certificate_no: str | None
    note: str | None
    created_by: str
    created_at: datetime
