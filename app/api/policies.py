"""JSON API for the rule catalogue: /api/v1/policies (policy documents and the rules read from them)."""

from typing import Annotated

from fastapi import APIRouter

from app.accounts.permissions import Principal
from app.api.problems import responses
from app.deps import SessionDep, scoped
from app.policies import catalogue as award_catalogue

router = APIRouter(prefix="/api/v1/policies", tags=["policies 政策"])


@router.get("", summary="政策文件目录", responses=responses(401, 403, 422))
def list_policies(session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """每个政策文件：文号、标题、有效期、今天是否有效（`in_force_today`）、何时失效（`lapses_on`）、
    版本（文件 sha256）、规则数和资金。"""
    return award_catalogue.catalogue(session)


@router.get("/{code}", summary="政策文件及其全部规则", responses=responses(401, 403, 404, 422))
def get_policy(code: str, session: SessionDep, principal: Annotated[Principal, scoped("policies:read")]):
    """每条规则：条款及原文、事件、出资层级、金额（及中文表述）、条件、取代关系、须人工核实的事项。"""
    return award_catalogue.policy_document(session, code)
