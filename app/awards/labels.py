"""Chinese names of the awards domain's codes: states, funders, event types, policy rules and funds."""

from app.awards.event_models import CONTEST_NAMES, EVENT_TYPE_NAMES, FIELD_LABELS, PURPOSE_NAMES, RANK_NAMES
from app.awards.models import FUND_ENTRY_NAMES, STATUS_NAMES
from app.policies.loader import load_policies
from app.policies.schema import FUNDER_NAMES

FIELDS = {
    "type": "事件类型",
    "event_date": "事件日期",
    "date": "日期",
    "data": "事件内容",
    "rule_id": "政策规则",
    "status": "状态",
    "amount_yuan": "批准金额",
    "computed_yuan": "计算金额",
    "funder": "出资层级",
    "fund_id": "资金",
    "decision_comment": "审核意见",
    "decided_by": "审核人",
    "paid_date": "拨付日期",
    "voucher_no": "凭证号",
    "rejected_reason": "驳回原因",
    "budget_yuan": "预算",
    "funder_name": "出资层级",
    "document_code": "政策文件",
    "clause": "条款",
    "period_start": "起始日期",
    "period_end": "截止日期",
    "explanation": "计算说明",
    "enterprise_event.amount_yuan": "设备及软硬件购置费用",
    "purpose": "用途",
    "contest": "大赛",
    "rank": "奖项",
    "year": "年度",
    "year_budget_yuan": "该年额度",
    "yearly": "按年设额度",
    "reason": "理由",
    "participants": "参赛人数",
    "city_rank": "全市复合排名",
    "growth_rate": "增速",
    "kind": "类型",
    "honour": "认定",
    **{k: v for k, v in FIELD_LABELS.items() if k != "amount_yuan"},
}
# Where the event form says more than the field's name.
EVENT_FORM_LABELS = {"growth_rate": "增速（小数，0.15 即 15%）", "level": "级别"}

VALUES = {
    "status": STATUS_NAMES,
    "funder": FUNDER_NAMES,
    "type": EVENT_TYPE_NAMES,
    "event_type": EVENT_TYPE_NAMES,
    "contest": CONTEST_NAMES,
    "rank": RANK_NAMES,
    "purpose": PURPOSE_NAMES,
    "kind": FUND_ENTRY_NAMES,
}


def rule_names() -> dict[str, str]:
    """Policy rule id → what it rewards, with its document and clause."""
    ps = load_policies()
    return {rid: f"{r.subject}（{ps.document_of(rid).number} {r.clause}）" for rid, r in ps.rules.items()}


def fund_names() -> dict[str, str]:
    """A policy fund's code → the name its fund is given (app.awards.funds.ensure_policy_funds)."""
    return {
        f.id: f"{FUNDER_NAMES[f.funder]}财政 {doc.number} {f.clause}"
        for doc in load_policies().documents.values()
        for f in doc.spec.funds
    }


def codes() -> dict[str, str]:
    return {**rule_names(), **fund_names(), **EVENT_TYPE_NAMES, **STATUS_NAMES}


VALUES["rule_id"] = rule_names()


TEMPLATE_GLOBALS = {
    "AWARD_STATUS_NAMES": STATUS_NAMES,
    "FUNDER_NAMES": FUNDER_NAMES,
    "AWARD_EVENT_NAMES": EVENT_TYPE_NAMES,
}
