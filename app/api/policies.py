"""JSON API for the rule catalogue: /api/v1/policies (policy documents and the rules read from them)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.deps import SessionDep, scoped
from app.policies import catalogue as award_catalogue
from app.policies.schema import Funder

router = APIRouter(prefix="/api/v1/policies", tags=["policies 政策"])


class PolicyFundRead(BaseModel):
    id: str
    funder: Funder
    clause: str
    clause_text: str
    amount_yuan: int
    period_start: date
    period_end: date
    yearly: bool
    note: str | None


class PolicySummary(BaseModel):
    code: str
    number: str = Field(description="文号")
    title: str
    issuer: str
    issue_date: date
    in_force_start: date
    in_force_end: date
    in_force_today: bool
    lapsed: bool
    lapses_on: date
    version: str = Field(description="文件 sha256")
    rules: int = Field(description="规则数")
    in_force_note: str | None
    funds: list[PolicyFundRead]


class PolicyRuleRead(BaseModel):
    id: str
    clause: str
    clause_text: str
    kind: str = Field(description="money 资金 / benefit 非货币待遇")
    event: str
    event_name: str
    funder: Funder | None
    label: str
    subject: str
    amount: dict[str, Any] | None = Field(
        description="金额规则（shape: fixed / up_to / percent / share / range / unspecified）"
    )
    amount_text: str
    conditions: dict[str, Any] = Field(description="条件（只列出给定的）")
    supersedes: str | None
    superseded_by: str | None
    review: str | None
    note: str | None
    outlives_period: bool
    split_funders: list[Funder] | None
    fund_id: str | None


class PolicyDocumentRead(PolicySummary):
    rules: list[PolicyRuleRead]  # type: ignore[assignment]  # the rules themselves, not their number


@router.get(
    "", summary="政策文件目录", response_model=list[PolicySummary], responses=responses(401, 403, 422)
)
def list_policies(session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """每个政策文件：文号、标题、有效期、今天是否有效（`in_force_today`）、何时失效（`lapses_on`）、
    版本（文件 sha256）、规则数和资金。"""
    return award_catalogue.catalogue(session)


@router.get(
    "/{code}",
    summary="政策文件及其全部规则",
    response_model=PolicyDocumentRead,
    responses=responses(401, 403, 404, 422),
)
def get_policy(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """每条规则：条款及原文、事件、出资层级、金额（及中文表述）、条件、取代关系、须人工核实的事项。"""
    return award_catalogue.policy_document(session, code)
