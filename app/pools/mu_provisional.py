"""Pools: the 亩产效益 scheme as set by the administrator, and the provisional classes it computes."""

from collections import Counter
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises.models import FIGURE_FIELDS, Enterprise, EnterpriseFigure
from app.errors import FieldError, Forbidden, ValidationFailed
from app.pagination import encode_cursor
from app.pools.common import plain_number, resolve_year
from app.pools.definitions import MuScheme, load_mu_scheme
from app.pools.listing import MuJoin, PoolFilters, apply_filters, check_filters, keyset_page
from app.pools.models import MuClassRecord, MuProvisional, MuSchemeSetting
from app.pools.mu_records import require_county_writer
from app.pools.mu_scheme import MuFirm, classify
from app.pools.schemas import MuSchemeIn
from app.reference import MU_CLASSES

# --- 亩产效益: the scheme and provisional classes ----------------------------------------------


def effective_scheme(session: Session) -> tuple[MuScheme, MuSchemeSetting | None]:
    """definitions.yaml's scheme with the administrator's weights and bands over it."""
    default = load_mu_scheme()
    setting = session.get(MuSchemeSetting, default.code)
    if setting is None:
        return default, None
    return _merge_scheme(default, setting.weights, setting.bands), setting


def _merge_scheme(default: MuScheme, weights: dict, bands: list | None) -> MuScheme:
    data = default.model_dump()
    for ind in data["indicators"]:
        if ind["code"] in weights:
            ind["weight"] = weights[ind["code"]]
    if bands:
        data["bands"] = bands
    return MuScheme.model_validate(data)


def set_scheme(session: Session, *, actor: Principal, data: MuSchemeIn) -> MuScheme:
    if not actor.is_admin:
        raise Forbidden("只有县工信局管理员可以调整亩产效益评价的权重和分档")
    default = load_mu_scheme()
    known = {i.code: i for i in default.indicators}
    errors = []
    for code, w in data.weights.items():
        if code not in known:
            errors.append(FieldError(f"weights.{code}", f"未知的指标“{code}”（可选：{'、'.join(known)}）"))
        elif not 0 <= w <= 100:
            errors.append(FieldError(f"weights.{code}", f"{known[code].name}的权重须在 0–100 之间"))
    if errors:
        raise ValidationFailed(errors)
    previous, setting = effective_scheme(session)
    weights = {**(setting.weights if setting else {}), **data.weights}
    bands = (
        [b.model_dump() for b in data.bands]
        if data.bands is not None
        else (setting.bands if setting else None)
    )
    try:
        scheme = _merge_scheme(default, weights, bands)
    except ValidationError as e:
        msgs = [str(x.get("msg", "")).removeprefix("Value error, ") for x in e.errors()]
        field_name = "bands" if any("档" in m for m in msgs) else "weights"
        raise ValidationFailed([FieldError(field_name, m) for m in msgs]) from None
    if setting is None:
        setting = MuSchemeSetting(
            code=default.code, weights=weights, bands=bands or [], updated_by=actor.name
        )
        session.add(setting)
    else:
        setting.weights, setting.bands, setting.updated_by, setting.updated_at = (
            weights,
            bands or [],
            actor.name,
            utcnow(),
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="mu_scheme",
        entity_id=default.code,
        changes={
            "weights": [
                {i.code: i.weight for i in previous.indicators},
                {i.code: i.weight for i in scheme.indicators},
            ],
            "bands": [[b.model_dump() for b in previous.bands], [b.model_dump() for b in scheme.bands]],
        },
        note="调整亩产效益评价权重与分档",
    )
    return scheme


def reset_scheme(session: Session, *, actor: Principal) -> MuScheme:
    if not actor.is_admin:
        raise Forbidden("只有县工信局管理员可以调整亩产效益评价的权重和分档")
    default = load_mu_scheme()
    setting = session.get(MuSchemeSetting, default.code)
    if setting is not None:
        session.delete(setting)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="delete",
            entity_type="mu_scheme",
            entity_id=default.code,
            note="亩产效益评价方案恢复为默认值",
        )
    return default


@dataclass
class ProvisionalSummary:
    year: int
    ranked: int
    unranked: int
    classes: dict[str, int]
    weights: dict[str, float]
    notes: list[str]


def compute_provisional(session: Session, *, actor: Principal, year: int) -> ProvisionalSummary:
    """Rank every enterprise with the year's figures and store its provisional class (replacing the last run)."""
    require_county_writer(actor)
    year = resolve_year(session, year)
    scheme, _ = effective_scheme(session)
    fig = EnterpriseFigure
    figure_names = [n for n in FIGURE_FIELDS]
    stmt = (
        select(Enterprise.id, *[getattr(fig, n) for n in figure_names])
        .join(fig, and_(fig.enterprise_id == Enterprise.id, fig.year == year))
        .where(Enterprise.deleted_at.is_(None))
        .order_by(Enterprise.id)
    )
    firms = [
        MuFirm(str(r[0]), {n: plain_number(v) for n, v in zip(figure_names, r[1:], strict=True)})
        for r in session.execute(stmt)
    ]
    result = classify(firms, scheme)
    ranked = sum(1 for f in result.firms if f.mu_class is not None)
    session.execute(delete(MuProvisional).where(MuProvisional.year == year))
    now = utcnow()
    rows = [
        {
            "enterprise_id": int(f.key),
            "year": year,
            "score": f.score,
            "rank": f.rank,
            "ranked": ranked,
            "mu_class": f.mu_class,
            "indicators": {
                i.code: [i.value, i.percentile, i.weight] for i in f.indicators if i.value is not None
            },
            "notes": list(f.notes),
            "computed_at": now,
        }
        for f in result.firms
    ]
    for i in range(0, len(rows), 5000):
        session.execute(insert(MuProvisional), rows[i : i + 5000])
    classes = Counter(f.mu_class for f in result.firms if f.mu_class)
    summary = ProvisionalSummary(
        year,
        ranked,
        len(rows) - ranked,
        {c: classes.get(c, 0) for c in MU_CLASSES},
        result.weights,
        list(result.notes),
    )
    audit.record(
        session,
        actor=actor,
        action="compute",
        entity_type="mu_provisional",
        entity_id=year,
        changes={"ranked": ranked, "classes": summary.classes, "weights": result.weights},
        note=f"按 {year} 年数据测算亩产效益暂定分类",
    )
    session.flush()
    return summary


@dataclass
class MuRowData:
    enterprise: Enterprise
    record: MuClassRecord | None
    provisional: MuProvisional | None
    mu_class: str | None


def mu_page(
    session: Session,
    *,
    actor: Principal,
    year: int | None,
    township: list[str] | None = None,
    mu_class: list[str] | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[MuRowData], str | None, int]:
    """Each firm's recorded and provisional class for the year, its indicator values and rank (best first)."""
    actor.require("pools:read")
    year = resolve_year(session, year)
    f = PoolFilters(year=year, township=township, mu_class=mu_class, q=q)
    check_filters(f)
    mu = MuJoin(year)
    rank_key = func.coalesce(mu.prov.rank, 1_000_000_000)
    stmt = select(Enterprise, mu.rec, mu.prov, mu.cls, rank_key).select_from(Enterprise)
    stmt = apply_filters(mu.join(stmt).where(Enterprise.deleted_at.is_(None)), actor, f, mu)
    sort = "mu_rank"
    rows, more = keyset_page(session, stmt, rank_key, Enterprise.id, cursor, limit, sort)
    items = [MuRowData(e, rec, prov, cls) for e, rec, prov, cls, _ in rows]
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor(sort, rows[-1][4], rows[-1][0].id)
    return items, next_cursor, year


def mu_count(
    session: Session,
    *,
    actor: Principal,
    year: int | None,
    township: list[str] | None = None,
    mu_class: list[str] | None = None,
    q: str | None = None,
) -> int:
    """How many firms the 亩产效益 list holds under these filters (its total)."""
    actor.require("pools:read")
    year = resolve_year(session, year)
    f = PoolFilters(year=year, township=township, mu_class=mu_class, q=q)
    check_filters(f)
    mu = MuJoin(year)
    stmt = select(func.count(Enterprise.id)).select_from(Enterprise)
    return (
        session.scalar(apply_filters(mu.join(stmt).where(Enterprise.deleted_at.is_(None)), actor, f, mu)) or 0
    )


def provisional_status(session: Session, year: int) -> tuple[int, object | None]:
    """(enterprises classed, when) of the stored provisional run for a year."""
    n, at = session.execute(
        select(func.count(), func.max(MuProvisional.computed_at)).where(MuProvisional.year == year)
    ).one()
    return n, at
