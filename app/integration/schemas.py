"""Request and response shapes of the integration API (policy matching, registrations, changes, webhooks)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.enterprises.schemas import IsoDate

UsccText = Annotated[str, Field(min_length=18, max_length=18, description="统一社会信用代码")]
EntityType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="实体类型，如 honour")]
CursorText = Annotated[str, Field(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")]

MatchStatus = Literal["met", "near", "unknown"]
MatchKind = Literal["award", "benefit", "pool_entry"]


# --- policy matching


class ConditionRead(BaseModel):
    key: str = Field(
        description="条件所看的事实：honour、main_revenue_yuan、revenue_yuan、above_scale、size、event…",
        examples=["main_revenue_yuan"],
    )
    status: Literal["met", "failed", "unknown"] = Field(
        description="met 满足 / failed 未满足 / unknown 待确认"
    )
    explanation: str = Field(
        examples=["2024 年主营业务收入 1,650 万元，差 350 万元达到 2,000 万元（规模以上工业企业标准）"]
    )
    current_yuan: int | None = Field(
        default=None, description="当前数值（元），金额类条件才有", examples=[16_500_000]
    )
    target_yuan: int | None = Field(default=None, description="须达到的数值（元）", examples=[20_000_000])
    gap_yuan: int | None = Field(default=None, description="差额（元）", examples=[3_500_000])


class AmountRead(BaseModel):
    kind: Literal["fixed", "up_to", "computed", "unspecified", "benefit"] = Field(
        description="fixed 定额 / up_to 最高（上限，实际金额由审核决定）/ computed 按比例计算 / unspecified 文件未定金额 / benefit 非资金待遇"
    )
    yuan: int | None = Field(
        description="可能的金额（元）；up_to 时为上限；按比例计算且缺少数据时为空", examples=[150_000]
    )
    ceiling: bool = Field(description="金额为上限，而非确定数额")
    funder: Literal["province", "city", "county"] | None = Field(description="出资层级")
    text: str = Field(
        description="金额的中文说明",
        examples=["县级奖励：新认定省级专精特新企业，一次性最高 150,000 元（冠政发〔2022〕9号 四（十））"],
    )


class EligiblePolicyRead(BaseModel):
    id: str = Field(
        description="规则编号（政策条款的 rule id，或 pool:<培育库>.<入库类别>）",
        examples=["gz2022-9.county.specialized_sme.provincial"],
    )
    kind: MatchKind = Field(description="award 奖补 / benefit 非资金待遇 / pool_entry 培育库入库")
    status: MatchStatus = Field(
        description="met 现已符合 / near 差条件可达 / unknown 待确认（缺数据、需人工判断或须企业申报事项）"
    )
    title: str = Field(examples=["新认定省级专精特新企业（县级奖励）"])
    document: str = Field(description="文号", examples=["冠政发〔2022〕9号"])
    clause: str = Field(description="条款", examples=["四（十）"])
    clause_text: str | None = Field(description="条款原文")
    funder: Literal["province", "city", "county"] | None
    amount: AmountRead | None = Field(description="可能的金额；入库类无金额")
    missing: list[ConditionRead] = Field(
        description="尚未满足或待确认的条件（conditions 中 status 不为 met 者）"
    )
    conditions: list[ConditionRead] = Field(description="检查过的全部条件")
    review: str | None = Field(default=None, description="须由审核人核实的事项")
    event_date: date | None = Field(default=None, description="现已符合时所依据的认定或事项日期")


class EnterpriseRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uscc: str
    name: str
    township: str


class DocumentInForce(BaseModel):
    code: str = Field(examples=["gzb2023-7"])
    number: str = Field(description="文号", examples=["冠政办发〔2023〕7号"])
    title: str
    start: date = Field(description="有效期起")
    end: date = Field(description="有效期止")
    version: str = Field(description="所用版本（内容 sha256）")


class EligiblePolicyPage(BaseModel):
    enterprise: EnterpriseRef
    as_of: date = Field(description="判断所依据的日期：这一天有效的政策文件和培育库")
    documents_in_force: list[DocumentInForce] = Field(
        description="as_of 当日有效的政策文件；为空时见 message"
    )
    message: str | None = Field(
        default=None,
        description="as_of 当日没有有效的政策文件时说明原因：最近的文件及其失效日期",
        examples=[
            "2026-11-30 没有有效的政策文件：最近的文件 冠政发〔2022〕9号（有效期 2022-04-09 至 2024-12-31）已于 2024-12-31 到期失效。"
        ],
    )
    year: int | None = Field(description="所用年度数据的年份（不晚于 as_of 的最近年度）")
    items: list[EligiblePolicyRead]
    next_cursor: str | None = Field(description="下一页游标；为空表示已是最后一页")


class EligibilityBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enterprise_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=100, description="企业 id", examples=[[12, 15]]
    )
    usccs: list[UsccText] = Field(
        default_factory=list,
        max_length=100,
        description="统一社会信用代码",
        examples=[["91371525MA3C0F0X4D"]],
    )
    as_of: IsoDate | None = Field(default=None, description="判断日期，默认今天")
    status: list[MatchStatus] | None = Field(default=None, description="只返回这些状态")
    kind: list[MatchKind] | None = Field(default=None, description="只返回这些类别")
    limit: int = Field(default=10, ge=1, le=50, description="每家企业最多返回的条数（最接近者在前）")


class EligibilityBatchItem(BaseModel):
    ref: str = Field(description="请求中的企业 id 或统一社会信用代码", examples=["12"])
    found: bool
    error: str | None = Field(description="未找到等原因", examples=[None])
    enterprise: EnterpriseRef | None
    year: int | None
    items: list[EligiblePolicyRead]
    more: bool = Field(description="还有更多条目（可用单个企业的接口分页获取）")


class EligibilityBatchOut(BaseModel):
    as_of: date
    documents_in_force: list[DocumentInForce] = Field(
        description="as_of 当日有效的政策文件；为空时见 message"
    )
    message: str | None = Field(default=None, description="as_of 当日没有有效的政策文件时说明原因")
    results: list[EligibilityBatchItem] = Field(description="与请求顺序一致：先 enterprise_ids，后 usccs")


# --- registrations on 聊城企业政策通


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registered_date: IsoDate = Field(
        ge=date(2000, 1, 1), description="企业在聊城企业政策通注册的日期", examples=["2023-05-06"]
    )


class RegistrationRead(BaseModel):
    enterprise_id: int
    uscc: str = Field(examples=["91371525MA3C0F0X4D"])
    name: str
    platform_registered_date: date = Field(examples=["2023-05-06"])


# --- change feed


class ChangeRead(BaseModel):
    id: int = Field(description="审计条目 id（单调递增，可用于去重）", examples=[1042])
    cursor: str = Field(description="此条之后的位置，可作为 cursor 从这里继续")
    at: datetime
    action: str = Field(description="create / update / delete 或业务动作", examples=["create"])
    entity_type: str = Field(
        description="实体类型：enterprise、enterprise_figure、honour、pool_membership…", examples=["honour"]
    )
    entity_id: str = Field(examples=["57"])
    enterprise_id: int | None
    uscc: str | None = Field(description="所涉企业的统一社会信用代码")
    township: str | None
    changes: dict[str, Any] = Field(
        description="字段的 [修改前, 修改后]", examples=[{"level": [None, "provincial"]}]
    )
    note: str | None


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_cursor: str = Field(description="下一次请求的 cursor；总是返回，保存它即可从这里继续")
    has_more: bool = Field(description="为真时可立即再取下一页；为假时稍后再来")


# --- webhooks


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["政策通-变更推送"])
    url: str = Field(
        min_length=1,
        max_length=500,
        description="接收 POST 的 http(s) 地址",
        examples=["https://zctd.liaocheng.example/hooks/yumiao"],
    )
    entity_types: list[EntityType] = Field(
        default_factory=list,
        max_length=20,
        description="只推送这些实体类型的变更；空表示全部",
        examples=[["honour", "pool_membership"]],
    )
    start: Literal["now", "beginning"] = Field(
        default="now", description="now 只推送此后的变更 / beginning 从头推送"
    )
    start_after: CursorText | None = Field(
        default=None, description="从变更接口的某个游标之后开始（优先于 start）"
    )


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    entity_types: list[str]
    active: bool
    created_by: str
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="签名密钥，只在创建时返回一次：X-Yumiao-Signature = sha256=HMAC-SHA256(密钥, 时间戳 + '.' + 请求体)"
    )


class WebhookPage(BaseModel):
    items: list[WebhookRead]
    next_cursor: str | None


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    change_count: int
    first_entry_id: int
    last_entry_id: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
