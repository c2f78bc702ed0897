"""Pools: graduation (毕业) — proposals raised by honours and 升规, confirmed or dismissed by staff."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises.models import Enterprise, Honour
from app.enterprises.visibility import in_township_of
from app.errors import AppError, Conflict, FieldError, NotFound, ValidationFailed
from app.labels import quoted
from app.pools import store as pool_store
from app.pools.common import M, get_pool_def
from app.pools.definitions import AboveScaleGoal, HonourGoal, PoolDefinition
from app.pools.membership import current_membership, enter, leave
from app.pools.models import PoolGraduation, PoolMembership
from app.pools.schemas import EnterIn, GraduationConfirm, LeaveIn

# --- graduation ------------------------------------------------------------------------------


def _matching_goal(pool_def: PoolDefinition, trigger: str, honour: Honour | None):
    for g in pool_def.goals:
        if trigger == "above_scale" and isinstance(g, AboveScaleGoal):
            return g
        if (
            trigger == "honour"
            and isinstance(g, HonourGoal)
            and honour is not None
            and honour.outcome == "new"
            and honour.code in g.honours
            and (g.levels is None or honour.level in g.levels)
        ):
            return g
    return None


def propose_graduations(
    session: Session, *, actor: Principal, enterprise: Enterprise, trigger: str, honour: Honour | None = None
) -> list[PoolGraduation]:
    """A member reached its pool's goal (升规, 认定): record a proposal to leave and move on."""
    proposals = []
    for m in session.scalars(select(M).where(M.enterprise_id == enterprise.id, M.left_date.is_(None))):
        # the goals of the definitions the member entered under (a later version does not move its goalposts)
        pools = pool_store.version(session, m.definition_version_id).pools
        pool_def = pools.get(m.pool)
        goal = _matching_goal(pool_def, trigger, honour) if pool_def else None
        if goal is None:
            continue
        dup = select(PoolGraduation.id).where(
            PoolGraduation.membership_id == m.id,
            PoolGraduation.trigger == trigger,
            PoolGraduation.status == "pending",
        )
        if honour is not None:
            dup = dup.where(PoolGraduation.honour_id == honour.id)
        if session.scalar(dup) is not None:
            continue
        g = PoolGraduation(
            membership_id=m.id,
            enterprise_id=enterprise.id,
            pool=m.pool,
            trigger=trigger,
            honour_id=honour.id if honour is not None else None,
            event_date=honour.honour_date if honour is not None else date.today(),
            goal_text=goal.text,
            status="pending",
        )
        session.add(g)
        session.flush()
        proposals.append(g)
        audit.record(
            session,
            actor=actor,
            action="graduation_propose",
            entity_type="pool_graduation",
            entity_id=g.id,
            enterprise_id=enterprise.id,
            township=enterprise.township,
            changes={"pool": m.pool, "trigger": trigger, "status": [None, "pending"]},
            note=f"达成{quoted(pool_def.name)}培育目标：{goal.text}，建议出库"
            + (
                f"并转入{'、'.join(pools[n].name for n in pool_def.next_pools)}"
                if pool_def.next_pools
                else ""
            ),
        )
    return proposals


@dataclass
class GraduationRow:
    graduation: PoolGraduation
    enterprise: Enterprise
    membership: PoolMembership


def graduations(
    session: Session,
    *,
    actor: Principal,
    pool_code: str | None = None,
    status: str | None = "pending",
    enterprise_id: int | None = None,
) -> list[GraduationRow]:
    actor.require("pools:read")
    if pool_code is not None:
        get_pool_def(session, pool_code)
    if status is not None and status not in ("pending", "confirmed", "dismissed"):
        raise ValidationFailed.one("status", "状态应为 pending、confirmed、dismissed 之一")
    stmt = (
        select(PoolGraduation, Enterprise, M)
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .join(M, M.id == PoolGraduation.membership_id)
        .where(Enterprise.deleted_at.is_(None))
        .order_by(PoolGraduation.proposed_at.desc(), PoolGraduation.id.desc())
    )
    if pool_code is not None:
        stmt = stmt.where(PoolGraduation.pool == pool_code)
    if status is not None:
        stmt = stmt.where(PoolGraduation.status == status)
    if enterprise_id is not None:
        stmt = stmt.where(PoolGraduation.enterprise_id == enterprise_id)
    return [GraduationRow(*r) for r in session.execute(stmt.where(in_township_of(actor)).limit(1000))]


def _graduation(session: Session, actor: Principal, proposal_id: int) -> tuple[PoolGraduation, Enterprise]:
    stmt = (
        select(PoolGraduation, Enterprise)
        .join(Enterprise, Enterprise.id == PoolGraduation.enterprise_id)
        .where(PoolGraduation.id == proposal_id)
    )
    row = session.execute(stmt.where(in_township_of(actor))).first()
    if row is None:
        raise NotFound("未找到该毕业提议")
    g, ent = row
    if g.status != "pending":
        done = {"confirmed": "已确认", "dismissed": "已驳回"}[g.status]
        raise Conflict(
            f"该毕业提议{done}，不能再次处理", errors=[FieldError("proposal_id", f"该毕业提议{done}")]
        )
    return g, ent


def confirm_graduation(
    session: Session, *, actor: Principal, proposal_id: int, data: GraduationConfirm
) -> tuple[PoolGraduation, PoolMembership | None]:
    """Leave the pool for the goal reached; optionally enter the next pool. All or nothing."""
    actor.require("pools:write")
    with session.begin_nested():
        return _confirm_graduation(session, actor, proposal_id, data)


def _confirm_graduation(
    session: Session, actor: Principal, proposal_id: int, data: GraduationConfirm
) -> tuple[PoolGraduation, PoolMembership | None]:
    g, ent = _graduation(session, actor, proposal_id)
    pool_def = get_pool_def(session, g.pool)
    if data.next_pool is not None and data.next_pool not in pool_store.pools(session):
        raise ValidationFailed.one("next_pool", f"未知的培育库“{data.next_pool}”")
    if data.next_pool == g.pool:
        raise ValidationFailed.one("next_pool", "不能转入同一个培育库")
    m = session.get(M, g.membership_id)
    today = date.today()
    left = data.left_date or min(max(g.event_date, m.entered_date), today)
    reason = "above_scale" if g.trigger == "above_scale" else "honoured"
    leave(
        session,
        actor=actor,
        pool_code=g.pool,
        enterprise_id=ent.id,
        data=LeaveIn(reason=reason, left_date=left, note=data.note),
    )
    g.status = "confirmed"
    g.decided_at = utcnow()
    g.decided_by = actor.name
    g.note = data.note
    entered = None
    if data.next_pool:
        next_def = get_pool_def(session, data.next_pool)
        if current_membership(session, ent.id, data.next_pool) is None:
            start = max(left, next_def.in_force.start)
            try:
                entered = enter(
                    session,
                    actor=actor,
                    pool_code=data.next_pool,
                    data=EnterIn(
                        enterprise_id=ent.id,
                        entry_class=data.next_entry_class,
                        entered_date=min(start, today),
                        note=f"由{quoted(pool_def.name)}毕业转入" + (f"；{data.note}" if data.note else ""),
                    ),
                )
            except AppError as e:
                named = "next_entry_class" if data.next_entry_class else "next_pool"
                e.errors = [
                    FieldError(named if x.field == "entry_class" else "next_pool", x.message)
                    for x in e.errors
                ]
                raise
        g.next_pool = data.next_pool
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="graduation_confirm",
        entity_type="pool_graduation",
        entity_id=g.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"status": ["pending", "confirmed"], "next_pool": [None, data.next_pool]},
        note=f"确认毕业：{pool_def.name}（{g.goal_text}）",
    )
    return g, entered


def dismiss_graduation(
    session: Session, *, actor: Principal, proposal_id: int, note: str | None
) -> PoolGraduation:
    actor.require("pools:write")
    g, ent = _graduation(session, actor, proposal_id)
    g.status = "dismissed"
    g.decided_at = utcnow()
    g.decided_by = actor.name
    g.note = note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="graduation_dismiss",
        entity_type="pool_graduation",
        entity_id=g.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"status": ["pending", "dismissed"]},
        note=note,
    )
    return g
