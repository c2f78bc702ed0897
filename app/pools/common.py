"""Cultivation pools (培育库): what every pools module shares — pool definitions, the criteria's view of
one enterprise, the figures year a list is judged on, and the enterprise lookup.

Pool definitions are versioned data the county publishes (app/pools/store.py); criteria are evaluated purely (criteria.py) for one
firm and in SQL (sql.py) for lists. Every change is audited with the enterprise and township so it
appears in the enterprise's history; nothing in this package commits.
"""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, selectinload

from app.accounts.permissions import Principal
from app.enterprises import snapshot
from app.enterprises.models import Enterprise, EnterpriseFigure
from app.enterprises.visibility import visible_to
from app.errors import FieldError, NotFound, ValidationFailed
from app.labels import quoted
from app.pools import store as pool_store
from app.pools.criteria import CriterionResult, FirmFacts, needs_judgement
from app.pools.definitions import EntryClass, PoolDefinition, load_catalogue, load_pools
from app.pools.models import PoolMembership

M = PoolMembership
MU_SOURCE_NAMES = {
    "entered": "录入",
    "imported": "导入",
    "provisional": "暂定（按数据测算）",
    "registry": "企业登记",
}
CANDIDACY_LABELS = {"met": "符合", "judgement": "待人工判断", "missing": "数据不全", "failed": "不符合"}


class PoolNotFound(NotFound):
    def __init__(self, code: str, options: Iterable[str] | None = None):
        super().__init__(f"未知的培育库“{code}”")
        self.errors = [
            FieldError("pool", f"未知的培育库“{code}”（可选：{'、'.join(options or load_pools())}）")
        ]


# --- definitions -----------------------------------------------------------------------------


def get_pool_def(session: Session, code: str, day: date | None = None) -> PoolDefinition:
    """The pool as the published definitions in force on `day` (today) define it (app.pools.store)."""
    pools = pool_store.pools(session, day)
    pool_def = pools.get(code)
    if pool_def is None:
        raise PoolNotFound(code, pools)
    return pool_def


def entry_class_of(
    pool_def: PoolDefinition, code: str | None, field: str = "entry_class"
) -> EntryClass | None:
    if code is None:
        return None
    try:
        return pool_def.entry_class(code)
    except KeyError:
        options = "、".join(f"{e.code}（{e.name}）" for e in pool_def.entry_classes)
        raise ValidationFailed.one(
            field, f"{quoted(pool_def.name)}没有入库类别“{code}”（可选：{options}）"
        ) from None


def class_name(pool_code: str, entry_code: str) -> str | None:
    """The entry class's name: in the definitions read last, else in any version this process has read."""
    for cat in (load_catalogue(), *reversed(pool_store.known_catalogues())):
        pool_def = cat.by_code().get(pool_code)
        name = (
            next((e.name for e in pool_def.entry_classes if e.code == entry_code), None) if pool_def else None
        )
        if name is not None:
            return name
    return None


def member_clause(pool_code: str, enterprise_id) -> ColumnElement[bool]:
    """SQL: the enterprise is a current member of the pool (used by the registry's `pool` filter)."""
    if pool_code not in load_pools():
        raise ValidationFailed.one("pool", f"未知的培育库“{pool_code}”")
    return exists().where(M.enterprise_id == enterprise_id, M.pool == pool_code, M.left_date.is_(None))


# --- facts -----------------------------------------------------------------------------------


def plain_number(v):
    return float(v) if v is not None and not isinstance(v, int) else v


def facts_for(ent: Enterprise) -> FirmFacts:
    """The criteria's view of one enterprise (figures and honours must be loaded)."""
    return FirmFacts.from_snapshot(snapshot.of(ent))


def criterion_dict(r: CriterionResult) -> dict:
    return {
        "kind": r.kind,
        "status": r.status.value,
        "explanation": r.explanation,
        "basis": r.basis,
        "needs_judgement": needs_judgement(r),
        "children": [criterion_dict(c) for c in r.children],
    }


def latest_figures_year(session: Session) -> int | None:
    return session.scalar(select(func.max(EnterpriseFigure.year)))


def resolve_year(session: Session, year: int | None) -> int:
    """The figures year a list is judged on: the one asked for, which must have figures, else the latest."""
    if year is None:
        latest = latest_figures_year(session)
        if latest is None:
            raise ValidationFailed.one("year", "还没有任何企业的年度数据，无法按年度判断入库条件")
        return latest
    if session.scalar(select(EnterpriseFigure.id).where(EnterpriseFigure.year == year).limit(1)) is None:
        raise ValidationFailed.one("year", f"{year} 年没有任何企业的年度数据，请先录入或导入该年度数据")
    return year


def load_enterprise(
    session: Session,
    actor: Principal,
    enterprise_id: int,
    *,
    details: bool = True,
    allow_deleted: bool = False,
) -> Enterprise:
    stmt = select(Enterprise).where(
        Enterprise.id == enterprise_id, visible_to(actor, include_deleted=allow_deleted)
    )
    if details:
        stmt = stmt.options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
    ent = session.scalar(stmt)
    if ent is None:
        raise NotFound("未找到该企业")
    return ent
