"""The policy catalogue: every policy document, its rules in Chinese, whether it is in force today."""

from datetime import date

from sqlalchemy.orm import Session

from app.awards.event_models import EVENT_TYPE_NAMES
from app.errors import NotFound
from app.money import wan_text
from app.policies import store as policy_store
from app.policies.loader import load_policies

# --- the rule catalogue -----------------------------------------------------------------------


def amount_text(rule) -> str:
    """The rule's amount in Chinese, as the clause states it."""
    a = rule.amount
    if a is None:
        return "非货币待遇"
    shape = a.shape
    if shape == "fixed":
        return ("一次性 " if a.one_off else "") + wan_text(a.yuan)
    if shape == "up_to":
        return ("一次性" if a.one_off else "") + "最高 " + wan_text(a.yuan)
    if shape == "percent":
        parts = [f"{'不超过 ' if a.ceiling else ''}{a.percent.normalize():f}%"]
        if a.cap_yuan is not None:
            parts.append(("单户累计" if a.cap_scope == "enterprise" else "") + "最高 " + wan_text(a.cap_yuan))
        return "，".join(parts)
    if shape == "share":
        of = load_policies().rules.get(a.of_rule)
        return f"按“{of.subject if of else a.of_rule}”（{of.clause if of else ''}）金额的 {a.percent.normalize():f}%"
    if shape == "range":
        return f"{a.percent.normalize():f}% 配套，{wan_text(a.min_yuan)}—{wan_text(a.max_yuan)}"
    return f"未定金额（{a.reason}）"


def _doc_summary(doc, today: date) -> dict:
    spec = doc.spec
    return {
        "code": spec.code,
        "number": spec.number,
        "title": spec.title,
        "issuer": spec.issuer,
        "issue_date": spec.issue_date,
        "in_force_start": spec.in_force.start,
        "in_force_end": spec.in_force.end,
        "in_force_today": spec.in_force.contains(today),
        "lapsed": today > spec.in_force.end,
        "lapses_on": spec.in_force.end,
        "version": doc.version,
        "rules": len(spec.rules),
        "in_force_note": spec.in_force_note,
        "funds": [
            {
                "id": f.id,
                "funder": f.funder,
                "clause": f.clause,
                "clause_text": f.clause_text,
                "amount_yuan": f.amount_yuan,
                "period_start": f.period.start,
                "period_end": f.period.end,
                "yearly": f.yearly,
                "note": f.note,
            }
            for f in spec.funds
        ],
    }


def catalogue(session: Session, today: date | None = None) -> list[dict]:
    """Every published policy document, whether it is in force today and when it lapses."""
    today = today or date.today()
    return [_doc_summary(doc, today) for doc in policy_store.current(session).documents.values()]


def policy_document(session: Session, code: str, today: date | None = None) -> dict:
    """One published document with every rule: clause and its text, funder, amount, conditions, supersession."""
    today = today or date.today()
    ps = policy_store.current(session)
    doc = ps.documents.get(code)
    if doc is None:
        raise NotFound(f"未找到政策文件 {code}")
    superseded_by = {r.supersedes: r.id for r in ps.rules.values() if r.supersedes}
    out = _doc_summary(doc, today)
    out["rules"] = [
        {
            "id": r.id,
            "clause": r.clause,
            "clause_text": r.clause_text,
            "kind": r.kind,
            "event": r.event,
            "event_name": EVENT_TYPE_NAMES.get(r.event, r.event),
            "funder": r.funder,
            "label": r.label,
            "subject": r.subject,
            "amount": r.amount.model_dump(mode="json") if r.amount else None,
            "amount_text": amount_text(r),
            "conditions": r.conditions.model_dump(mode="json", exclude_defaults=True),
            "supersedes": r.supersedes,
            "superseded_by": superseded_by.get(r.id),
            "review": r.review,
            "note": r.note,
            "outlives_period": r.outlives_period,
            "split_funders": r.split_funders,
            "fund_id": (ps.fund_for(r.id).id if r.funder and ps.fund_for(r.id) else None),
        }
        for r in doc.spec.rules
    ]
    return out
