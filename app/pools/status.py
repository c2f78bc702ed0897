"""Pools: one enterprise's standing in every pool (the enterprise page's panel and the API)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.enterprises.models import Enterprise
from app.errors import ValidationFailed
from app.pools import store as pool_store
from app.pools.common import M, facts_for, load_enterprise
from app.pools.criteria import Candidacy, class_candidacy, combine_candidacy, entry_rule_status
from app.pools.definitions import PoolDefinition
from app.pools.models import MuClassRecord, MuProvisional, PoolGraduation, PoolMembership

# --- per enterprise --------------------------------------------------------------------------


@dataclass
class EnterprisePool:
    pool_def: PoolDefinition
    member: PoolMembership | None
    history: list[PoolMembership]
    candidacy: str
    statuses: list  # criteria.EntryRuleStatus
    class_candidacy: dict[str, str]
    graduations: list[PoolGraduation]


@dataclass
class EnterpriseStatus:
    enterprise: Enterprise
    year: int | None
    pools: list[EnterprisePool]
    mu: dict | None
    mu_records: list[MuClassRecord]


def enterprise_status(
    session: Session, *, actor: Principal, enterprise_id: int, year: int | None = None
) -> EnterpriseStatus:
    """Every pool for one firm: membership and history, each entry rule's criteria with figures, proposals."""
    actor.require("pools:read")
    ent = load_enterprise(session, actor, enterprise_id)
    if year is not None and not any(f.year == year for f in ent.figures):
        have = "、".join(str(f.year) for f in sorted(ent.figures, key=lambda f: f.year)) or "无"
        raise ValidationFailed.one("year", f"该企业没有 {year} 年的年度数据（已有年度：{have}）")
    if year is None:
        year = max((f.year for f in ent.figures), default=None)
    facts = facts_for(ent)
    eval_year = year or date.today().year
    memberships = list(
        session.scalars(
            select(M).where(M.enterprise_id == ent.id).order_by(M.entered_date.desc(), M.id.desc())
        )
    )
    grads = list(
        session.scalars(
            select(PoolGraduation)
            .where(PoolGraduation.enterprise_id == ent.id, PoolGraduation.status == "pending")
            .order_by(PoolGraduation.id)
        )
    )
    pools = []
    for code, pool_def in pool_store.pools(session).items():
        statuses = entry_rule_status(pool_def, facts, eval_year)
        per_class = {s.entry_class: class_candidacy(s.results).value for s in statuses}
        hist = [m for m in memberships if m.pool == code]
        pools.append(
            EnterprisePool(
                pool_def,
                next((m for m in hist if m.left_date is None), None),
                hist,
                combine_candidacy([Candidacy(v) for v in per_class.values()]).value,
                statuses,
                per_class,
                [g for g in grads if g.pool == code],
            )
        )
    records = list(
        session.scalars(
            select(MuClassRecord)
            .where(MuClassRecord.enterprise_id == ent.id)
            .order_by(MuClassRecord.year.desc())
        )
    )
    return EnterpriseStatus(ent, year, pools, mu_for(session, ent, year, records), records)


def mu_for(session: Session, ent: Enterprise, year: int | None, records: list[MuClassRecord]) -> dict | None:
    if year is None:
        return None
    rec = next((r for r in records if r.year == year), None)
    prov = session.scalar(
        select(MuProvisional).where(MuProvisional.enterprise_id == ent.id, MuProvisional.year == year)
    )
    if rec is not None:
        cls, source = rec.mu_class, rec.source
    elif prov is not None and prov.mu_class is not None:
        cls, source = prov.mu_class, "provisional"
    elif ent.mu_class is not None:
        cls, source = ent.mu_class, "registry"
    else:
        cls, source = None, None
    return {
        "year": year,
        "mu_class": cls,
        "source": source,
        "provisional_class": prov.mu_class if prov else None,
        "provisional_rank": prov.rank if prov else None,
        "provisional_ranked": prov.ranked if prov else None,
        "provisional_score": prov.score if prov else None,
        "indicators": prov.indicators if prov else {},
        "notes": prov.notes if prov else [],
    }
