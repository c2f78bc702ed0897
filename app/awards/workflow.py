"""Awards: reading lines, moving them through their states, and recomputing one from its receipt.

    proposed → approved (amount ≤ cap, comment, draws on a fund) → paid (date, voucher)
    proposed | approved → rejected (reason; an approved line gives its money back to the fund)

Every write is audited with the enterprise and its township, so it shows in the enterprise's history.
"""

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.awards import funds as fund_service
from app.awards.engine import compute
from app.awards.event_models import EnterpriseFacts, parse_event
from app.awards.models import AwardLine, PolicySnapshot
from app.awards.proposals import year_bounds
from app.db import utcnow
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.enterprises.visibility import in_township_of
from app.errors import AppError, FieldError, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.policies import store as policy_store
from app.policies.loader import PolicySet, read_policies
from app.policies.schema import FUNDER_NAMES
from app.reference import township_names

LINE_FIELDS = ("status", "amount_yuan", "fund_id", "funder_split", "paid_date", "voucher_no")


class InvalidTransition(AppError):
    def __init__(self, detail: str):
        super().__init__(detail=detail, status_code=409, code="invalid_transition", title="Conflict")


# --- reading lines ----------------------------------------------------------------------------


@dataclass
class LineFilters:
    status: Sequence[str] | None = None
    funder: str | None = None
    township: str | None = None
    enterprise_id: int | None = None
    rule_id: str | None = None
    document_code: str | None = None
    year: int | None = None
    q: str | None = None


def visible_lines(actor: Principal):
    """The join condition of award lines to their enterprise, limited to what the actor sees."""
    return and_(AwardLine.enterprise_id == Enterprise.id, in_township_of(actor))


def filtered_lines(actor: Principal, f: LineFilters):
    stmt = select(AwardLine, Enterprise.name, Enterprise.township).join(Enterprise, visible_lines(actor))
    if f.status:
        bad = [s for s in f.status if s not in ("proposed", "approved", "paid", "rejected")]
        if bad:
            raise ValidationFailed.one(
                "status", f"状态“{bad[0]}”无效，应为 proposed、approved、paid、rejected 之一"
            )
        stmt = stmt.where(AwardLine.status.in_(f.status))
    if f.funder:
        if f.funder not in FUNDER_NAMES:
            raise ValidationFailed.one("funder", "出资层级应为 province、city、county 之一")
        stmt = stmt.where(AwardLine.funder == f.funder)
    if f.township:
        stmt = stmt.where(Enterprise.township == f.township)
    if f.enterprise_id:
        stmt = stmt.where(AwardLine.enterprise_id == f.enterprise_id)
    if f.rule_id:
        stmt = stmt.where(AwardLine.rule_id == f.rule_id)
    if f.document_code:
        stmt = stmt.where(AwardLine.document_code == f.document_code)
    if f.year:
        start, end = year_bounds(f.year)
        stmt = stmt.where(AwardLine.event_date.between(start, end))
    if f.q:
        pattern = "%" + f.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Enterprise.name.ilike(pattern, escape="\\"))
    return stmt


def list_lines(
    session: Session, *, actor: Principal, filters: LineFilters, cursor: str | None = None, limit: int = 50
) -> tuple[list[tuple[AwardLine, str, str]], str | None]:
    """Lines newest first, keyset-paginated on id."""
    actor.require("awards:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    if filters.township is not None and filters.township not in township_names():
        raise ValidationFailed.one("township", f"未知的乡镇代码“{filters.township}”")
    stmt = filtered_lines(actor, filters)
    if cursor:
        _, last_id = decode_cursor(cursor, "-id")
        stmt = stmt.where(AwardLine.id < last_id)
    rows = session.execute(stmt.order_by(AwardLine.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = [tuple(r) for r in rows[:limit]]
    return rows, (encode_cursor("-id", None, rows[-1][0].id) if more and rows else None)


def get_line(
    session: Session, *, actor: Principal, line_id: int, lock: bool = False
) -> tuple[AwardLine, Enterprise]:
    """The line and its enterprise; 404 if it does not exist or lies outside the actor's township."""
    actor.require("awards:read")
    stmt = select(AwardLine, Enterprise).join(Enterprise, visible_lines(actor)).where(AwardLine.id == line_id)
    if lock:
        stmt = stmt.with_for_update(of=AwardLine).execution_options(populate_existing=True)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("未找到该奖补")
    return row[0], row[1]


def enterprise_lines(session: Session, *, actor: Principal, enterprise_id: int) -> list[AwardLine]:
    enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    actor.require("awards:read")
    return list(
        session.scalars(
            select(AwardLine)
            .where(AwardLine.enterprise_id == enterprise_id)
            .order_by(AwardLine.event_date.desc(), AwardLine.id.desc())
        )
    )


# --- the workflow ---------------------------------------------------------------------------

STATE_NAMES = {"proposed": "待审核", "approved": "已批准", "paid": "已拨付", "rejected": "已驳回"}


def _transition_audit(
    session, actor, line: AwardLine, ent: Enterprise, action: str, before: dict, note: str | None
):
    after = audit.snapshot(line, LINE_FIELDS)
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="award_line",
        entity_id=line.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes=audit.diff(before, after),
        note=note,
    )


def approve(
    session: Session,
    *,
    actor: Principal,
    line_id: int,
    comment: str,
    amount_yuan: int | None = None,
    fund_id: int | None = None,
    split: Mapping[str, int] | None = None,
) -> AwardLine:
    """Approve a proposed line for an amount no higher than its cap, drawing on a fund.

    A line whose rule has `split_funders` (技改 ≤10%, a ceiling for 省、市、县 together) needs `split`,
    each funder's share entered by the approver: together no more than the cap, and the fund draws
    only the line's own funder's share, which becomes the line's approved amount.
    """
    actor.require("awards:approve")
    if not comment or not comment.strip():
        raise ValidationFailed.one("comment", "请填写审核意见")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status != "proposed":
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，只有待审核的奖补可以批准")
    cite = f"{line.document} {line.clause}"
    shares = _split_shares(session, line, split, amount_yuan, cite)
    amount = line.computed_yuan if amount_yuan is None else amount_yuan
    if shares is not None:
        amount = shares[line.funder]
    if shares is None and amount > line.computed_yuan:
        raise ValidationFailed.one(
            "amount_yuan", f"批准金额 {amount:,} 元超过{cite}规定的上限 {line.computed_yuan:,} 元"
        )
    if not line.ceiling and amount != line.computed_yuan:
        raise ValidationFailed.one(
            "amount_yuan", f"{cite}规定的金额为 {line.computed_yuan:,} 元（不是上限），批准金额须与之相同"
        )
    if shares is None and amount <= 0:
        raise ValidationFailed.one("amount_yuan", "批准金额须大于 0；不予奖补请驳回")
    fund = fund_service.choose(session, line, fund_id) if amount > 0 else None
    before = audit.snapshot(line, LINE_FIELDS)
    if fund is not None:
        fund_service.draw(session, actor=actor, fund=fund, amount=amount, line=line)
    line.funder_split = shares
    line.status = "approved"
    line.amount_yuan = amount
    line.fund_id = fund.id if fund is not None else None
    line.decision_comment = comment.strip()
    line.decided_by = actor.name
    line.decided_at = utcnow()
    line.updated_at = line.decided_at
    session.flush()
    _transition_audit(session, actor, line, ent, "approve", before, comment.strip())
    return line


def _split_shares(
    session: Session, line: AwardLine, split: Mapping[str, int] | None, amount_yuan: int | None, cite: str
) -> dict | None:
    """Each funder's share of a line that stands for several funders, checked; None for other lines."""
    rule = policy_store.current(session).rules.get(line.rule_id)
    funders = rule.split_funders if rule is not None else None
    if not funders:
        if split:
            raise ValidationFailed.one(
                "split", f"{cite}的奖补由{FUNDER_NAMES[line.funder]}单独承担，不分列份额"
            )
        return None
    names = "、".join(FUNDER_NAMES[f] for f in funders)
    if not split:
        raise ValidationFailed.one(
            "split", f"{cite}的上限为{names}合计：请按各级政策录入{names}各自的份额（split，整数元）"
        )
    errors = []
    for funder, value in split.items():
        if funder not in funders:
            errors.append(FieldError(f"split.{funder}", f"split.{funder}：该奖补只分列{names}的份额"))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(FieldError(f"split.{funder}", f"split.{funder}：份额须为不小于 0 的整数元"))
    if errors:
        raise ValidationFailed(errors)
    shares = {f: int(split.get(f, 0)) for f in funders}
    total = sum(shares.values())
    if total <= 0:
        raise ValidationFailed.one("split", "各级份额合计须大于 0；不予奖补请驳回")
    if total > line.computed_yuan:
        raise ValidationFailed.one(
            "split", f"{names}份额合计 {total:,} 元超过{cite}规定的合计上限 {line.computed_yuan:,} 元"
        )
    if amount_yuan is not None and amount_yuan != shares[line.funder]:
        raise ValidationFailed.one(
            "amount_yuan",
            f"批准金额应为{FUNDER_NAMES[line.funder]}份额 {shares[line.funder]:,} 元（合计 {total:,} 元中由本级资金支出的部分）",
        )
    return shares


def pay(session: Session, *, actor: Principal, line_id: int, paid_date: date, voucher_no: str) -> AwardLine:
    """Record the payment of an approved line."""
    actor.require("awards:approve")
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        raise ValidationFailed.one("voucher_no", "请填写凭证号")
    if paid_date > date.today():
        raise ValidationFailed.one("paid_date", "拨付日期不能晚于今天")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status != "approved":
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，只有已批准的奖补可以登记拨付")
    if line.decided_at is not None and paid_date < line.decided_at.date():
        raise ValidationFailed.one("paid_date", f"拨付日期不能早于批准日期 {line.decided_at.date()}")
    before = audit.snapshot(line, LINE_FIELDS)
    line.status = "paid"
    line.paid_date = paid_date
    line.voucher_no = voucher_no
    line.paid_by = actor.name
    line.updated_at = utcnow()
    session.flush()
    _transition_audit(session, actor, line, ent, "pay", before, f"凭证号 {voucher_no}")
    return line


def reject(session: Session, *, actor: Principal, line_id: int, reason: str) -> AwardLine:
    """Reject a proposed or approved (not yet paid) line; an approved line's money returns to its fund."""
    actor.require("awards:approve")
    if not reason or not reason.strip():
        raise ValidationFailed.one("reason", "请填写驳回原因")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status not in ("proposed", "approved"):
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，不能驳回")
    before = audit.snapshot(line, LINE_FIELDS)
    if line.status == "approved" and line.fund_id is not None and line.amount_yuan:
        fund_service.release(
            session,
            actor=actor,
            fund_id=line.fund_id,
            amount=line.amount_yuan,
            line=line,
            note=f"驳回奖补 {line.id}",
        )
    line.status = "rejected"
    line.rejected_reason = reason.strip()
    line.decided_by = actor.name
    line.decided_at = utcnow()
    line.updated_at = line.decided_at
    session.flush()
    _transition_audit(session, actor, line, ent, "reject", before, reason.strip())
    return line


# --- recomputing from the receipt -----------------------------------------------------------


def _policy_set_for(session: Session, versions: Mapping[str, str]) -> PolicySet | None:
    """The rules exactly as they were: the versions the receipt cites (kept in the database), or the
    stored text of a version computed before documents were versioned there."""
    ps = policy_store.for_versions(session, dict(versions))
    if ps is not None:
        return ps
    snaps = {
        s.version: s
        for s in session.scalars(select(PolicySnapshot).where(PolicySnapshot.version.in_(versions.values())))
    }
    if set(snaps) != set(versions.values()):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps.values():
            Path(tmp, snap.file_name).write_text(snap.content, encoding="utf-8")
        return read_policies(tmp)


def recompute(session: Session, *, actor: Principal, line_id: int) -> dict:
    """Recompute a stored line from its receipt with the rules it was computed with."""
    line, _ = get_line(session, actor=actor, line_id=line_id)
    receipt = line.receipt
    versions = receipt.get("policy_versions", {})
    current = {code: doc.version for code, doc in policy_store.current(session).documents.items()}
    ps = _policy_set_for(session, versions)
    recomputed, explanation = None, None
    if ps is not None:
        result = compute(parse_event(receipt["event"]), EnterpriseFacts.model_validate(receipt["facts"]), ps)
        match = next((x for x in result.lines if x.rule_id == line.rule_id), None)
        if match is not None:
            recomputed, explanation = match.amount_yuan, match.explanation
    return {
        "line_id": line.id,
        "rule_id": line.rule_id,
        "stored_yuan": line.computed_yuan,
        "recomputed_yuan": recomputed,
        "matches": recomputed == line.computed_yuan,
        "policy_versions": versions,
        "current_versions": current,
        "rules_changed_since": versions != current,
        "explanation": explanation,
    }
