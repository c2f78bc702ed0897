"""The enterprise registry: every read and write of enterprises, their yearly figures and honours."""

import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as cast_type

from sqlalchemy import (
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app import events
from app.accounts.permissions import Principal
from app.accounts.service import KEY_VALID, key_checked, take_key_check
from app.audit import service as audit
from app.bulk import is_postgres
from app.db import utcnow
from app.enterprises.models import FIGURE_FIELDS, Enterprise, EnterpriseFigure, Honour
from app.enterprises.schemas import SORTS, EnterpriseCreate, EnterpriseUpdate, FigureIn, HonourIn
from app.enterprises.snapshot import json_rows
from app.enterprises.uscc import normalise, uscc_error
from app.enterprises.visibility import visibility_kind, visible_clause, visible_to
from app.errors import Conflict, FieldError, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.reference import honours as honour_codes
from app.reference import township_names

ENTERPRISE_FIELDS = (
    "uscc",
    "name",
    "township",
    "chain",
    "industry",
    "size",
    "ownership",
    "above_scale",
    "mu_class",
    "platform_registered_date",
)


SHORT_SEARCH = 3  # characters: a shorter search has no trigram (ix_enterprise_name_trgm) to use

# --- validation shared by the API, the pages and the Excel importer -------------------------


def field_errors(data: dict, *, prefix: str = "") -> list[FieldError]:
    """Domain checks a schema cannot express, with Chinese messages naming the field."""
    errors: list[FieldError] = []
    if "uscc" in data and data["uscc"] is not None:
        reason = uscc_error(normalise(data["uscc"]))
        if reason:
            errors.append(FieldError(prefix + "uscc", reason))
    if "township" in data and data["township"] is not None and data["township"] not in township_names():
        errors.append(FieldError(prefix + "township", f"未知的乡镇代码“{data['township']}”"))
    return errors


# 特色产业集群 is an entity of its own (app.clusters): one cluster, one award recipient, one count.
CLUSTER_CODE = "cluster"


def honour_errors(h: HonourIn, prefix: str = "") -> list[FieldError]:
    spec = honour_codes().get(h.code)
    if spec is None:
        return [FieldError(prefix + "code", f"未知的认定代码“{h.code}”")]
    if h.code == CLUSTER_CODE:
        return [
            FieldError(
                prefix + "code",
                "特色产业集群不作为企业认定登记：请在“特色产业集群”中登记（名称、级别、牵头企业、成员企业，POST /api/v1/clusters）",
            )
        ]
    if h.level not in spec["levels"]:
        names = "、".join(spec["levels"])
        return [FieldError(prefix + "level", f"{spec['name']}没有该级别（可选：{names}）")]
    return []


def _check_township_write(actor: Principal, township: str) -> None:
    if not actor.sees_township(township):
        raise Forbidden("乡镇工作人员只能登记和修改本乡镇的企业")


# --- reads ----------------------------------------------------------------------------------


def get(session: Session, *, actor: Principal, enterprise_id: int, with_details: bool = True) -> Enterprise:
    """The enterprise, or 404 if it does not exist, was deleted, or lies outside the actor's township."""
    if not 0 < enterprise_id < 2**31:  # no such id can exist (and the database would refuse the number)
        raise NotFound("未找到该企业")
    stmt = select(Enterprise).where(Enterprise.id == enterprise_id, visible_to(actor))
    if with_details:
        stmt = stmt.options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
    ent = first_entity_checked(session, stmt)
    if ent is None:
        raise NotFound("未找到该企业")
    return ent


def first_entity_checked(session: Session, stmt) -> Any:
    """The first entity `stmt` selects (or None), with the request's API key checked by the same statement when
    it is the transaction's first (`KEY_VALID`; a write request's path lookup): one round trip less."""
    key_id = take_key_check(session)
    if key_id is None:
        return session.scalar(stmt)
    row = session.execute(stmt.add_columns(KEY_VALID), {"check_key_id": key_id}).first()
    key_checked(session, key_id, None if row is None else row[1])
    return None if row is None else row[0]


_FIGURES_JSON = json_rows(
    EnterpriseFigure.__table__, ("year", *FIGURE_FIELDS), (EnterpriseFigure.__table__.c.year.desc(),)
)
_HONOURS_JSON = json_rows(
    Honour.__table__,
    ("id", "code", "level", "outcome", "honour_date", "certificate_no"),
    (Honour.__table__.c.honour_date.desc(),),
)


@functools.cache
def _read_statement(kind: str):
    """`read`'s statement for one kind of actor, built once (its SQL and cache key are then reused)."""
    e = Enterprise.__table__
    return (
        select(KEY_VALID, e, _FIGURES_JSON.label("figures"), _HONOURS_JSON.label("honours"))
        .select_from(e)
        .where(e.c.id == bindparam("enterprise_id"), visible_clause(kind))
    )


def read(session: Session, *, actor: Principal, enterprise_id: int) -> dict:
    """The enterprise with its yearly figures and honours as plain values (what EnterpriseRead shows), no
    entities loaded into the session: on PostgreSQL one statement (the figures and honours aggregated as JSON
    arrays beside the enterprise's row), elsewhere three indexed reads. 404 as `get`."""
    if not 0 < enterprise_id < 2**31:
        raise NotFound("未找到该企业")
    e, f, h = Enterprise.__table__, EnterpriseFigure.__table__, Honour.__table__
    if session.get_bind().dialect.name == "postgresql":
        kind, params = visibility_kind(actor)
        key_id = take_key_check(session)  # checked by the same statement
        row = (
            session.connection()  # plain rows, no entities: the Core statement, not the ORM's
            .execute(
                _read_statement(kind), {"enterprise_id": enterprise_id, "check_key_id": key_id, **params}
            )
            .mappings()
            .first()
        )
        key_checked(session, key_id, None if row is None else row["key_valid"])
        if row is None:
            raise NotFound("未找到该企业")
        out = dict(row)
        del out["key_valid"]
        return out
    row = session.execute(select(e).where(e.c.id == enterprise_id, visible_to(actor))).mappings().first()
    if row is None:
        raise NotFound("未找到该企业")
    out = dict(row)
    out["figures"] = [
        dict(r)
        for r in session.execute(
            select(f.c.year, *[f.c[k] for k in FIGURE_FIELDS])
            .where(f.c.enterprise_id == enterprise_id)
            .order_by(f.c.year.desc())
        ).mappings()
    ]
    out["honours"] = [
        dict(r)
        for r in session.execute(
            select(h.c.id, h.c.code, h.c.level, h.c.outcome, h.c.honour_date, h.c.certificate_no)
            .where(h.c.enterprise_id == enterprise_id)
            .order_by(h.c.honour_date.desc())
        ).mappings()
    ]
    return out


def get_by_uscc(session: Session, *, actor: Principal, uscc: str, with_details: bool = True) -> Enterprise:
    stmt = select(Enterprise).where(Enterprise.uscc == normalise(uscc), visible_to(actor))
    if with_details:
        stmt = stmt.options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
    ent = first_entity_checked(session, stmt)
    if ent is None:
        raise NotFound("未找到该统一社会信用代码对应的企业")
    return ent


def latest_figures_year(session: Session) -> int | None:
    return session.scalar(select(func.max(EnterpriseFigure.year)))


# The latest figures year inside a statement (PostgreSQL computes an uncorrelated subquery once).
_LATEST_YEAR = select(func.max(EnterpriseFigure.year)).scalar_subquery()


@dataclass
class ListFilters:
    q: str | None = None
    township: list[str] | None = None
    size: list[str] | None = None
    ownership: list[str] | None = None
    above_scale: bool | None = None
    mu_class: list[str] | None = None
    honour: str | None = None
    honour_level: str | None = None
    pool: str | None = None
    year: int | None = None
    revenue_min: int | None = None
    revenue_max: int | None = None


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_query(
    session: Session, *, actor: Principal, filters: ListFilters, sort: str = "name", year_in_sql: bool = False
):
    """The filtered query (without order and limit) and the figures year it uses.

    Returns (select of (Enterprise, revenue_yuan), year, sort key expression). With `year_in_sql` and no year in
    the filters, the latest year is not asked first: the query finds it itself (FIGURES_YEAR, a value computed
    once per statement) and the year returned is None.
    """
    if sort not in SORTS:
        raise ValidationFailed.one("sort", f"排序方式须为 {', '.join(SORTS)} 之一")
    year = filters.year or (None if year_in_sql else latest_figures_year(session))
    fig = EnterpriseFigure
    stmt = (
        select(Enterprise, fig.revenue_yuan)
        .outerjoin(
            fig,
            and_(
                fig.enterprise_id == Enterprise.id,
                fig.year == (_LATEST_YEAR if year is None and year_in_sql else year),
            ),
        )
        .where(visible_to(actor))
    )
    f = filters
    if f.q:
        q = f.q.strip()
        if len(q) < SHORT_SEARCH and is_postgres(session):
            # One or two characters (机械, 轴承): no trigram of the index can answer them, and PostgreSQL's
            # estimate for ILIKE '%机械%' is a handful of rows, so it scanned every enterprise, joined every
            # match's figures and sorted them all for one page (150 ms on 100k rows, a sixth of them matching).
            # The same test as strpos() has the planner's default estimate (a third of the rows): it walks the
            # list's own order and stops at the page (4 ms). ILIKE lower-cases both sides, as lower() does.
            name_hit = func.strpos(func.lower(Enterprise.name), func.lower(literal(q, Text))) > 0
        else:
            name_hit = Enterprise.name.ilike(f"%{_escape_like(q)}%", escape="\\")
        stmt = stmt.where(or_(name_hit, Enterprise.uscc.like(f"%{_escape_like(q.upper())}%", escape="\\")))
    if f.township:
        unknown = [t for t in f.township if t not in township_names()]
        if unknown:
            raise ValidationFailed.one("township", f"未知的乡镇代码“{unknown[0]}”")
        stmt = stmt.where(Enterprise.township.in_(f.township))
    if f.size:
        stmt = stmt.where(Enterprise.size.in_(f.size))
    if f.ownership:
        stmt = stmt.where(Enterprise.ownership.in_(f.ownership))
    if f.above_scale is not None:
        stmt = stmt.where(Enterprise.above_scale.is_(f.above_scale))
    if f.mu_class:
        stmt = stmt.where(Enterprise.mu_class.in_(f.mu_class))
    if f.honour:
        if f.honour not in honour_codes():
            raise ValidationFailed.one("honour", f"未知的认定代码“{f.honour}”")
        h = [
            Honour.enterprise_id == Enterprise.id,
            Honour.code == f.honour,
            Honour.outcome.in_(("new", "renewed")),
        ]
        if f.honour_level:
            h.append(Honour.level == f.honour_level)
        stmt = stmt.where(exists().where(*h))
    if f.pool:
        from app.pools import common

        stmt = stmt.where(common.member_clause(f.pool, Enterprise.id))
    if f.revenue_min is not None and f.revenue_max is not None and f.revenue_min > f.revenue_max:
        raise ValidationFailed.one("revenue_min", "营业收入下限不能大于上限")
    if f.revenue_min is not None:
        stmt = stmt.where(fig.revenue_yuan >= f.revenue_min)
    if f.revenue_max is not None:
        stmt = stmt.where(fig.revenue_yuan <= f.revenue_max)

    # With a revenue bound no row lacks a revenue: ordered by the column itself, a page by revenue walks the
    # (year, revenue) index from the bound and stops at the page, where coalesce() sorted every row in range.
    bounded = f.revenue_min is not None or f.revenue_max is not None
    return stmt, year, _sort_key(sort, revenue_known=bounded)


def _sort_key(sort: str, *, revenue_known: bool = False):
    """The expression a list is ordered by (then by id); a missing revenue sorts as -1, as its cursor says
    (`revenue_known`: the rows all have one, so the column itself orders them the same)."""
    field = sort.lstrip("-")
    if field == "revenue" and revenue_known:
        return EnterpriseFigure.revenue_yuan
    return {
        "name": Enterprise.name,
        "revenue": func.coalesce(EnterpriseFigure.revenue_yuan, -1),
        "created_at": Enterprise.created_at,
        "id": Enterprise.id,
    }[field]


def list_page(
    session: Session,
    *,
    actor: Principal,
    filters: ListFilters,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
    columns: tuple[str, ...] | None = None,
):
    """One keyset page: rows after the cursor in (sort key, id) order, so any depth costs the same.

    With `columns`, each row's first element is a plain row of those enterprise columns (attribute access like
    an entity's) instead of an Enterprise loaded into the session: what a JSON list needs, at less cost."""
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    if sort not in SORTS:
        raise ValidationFailed.one("sort", f"排序方式须为 {', '.join(SORTS)} 之一")
    after = None
    if cursor:
        k, last_id = decode_cursor(cursor, sort)
        if sort.lstrip("-") == "created_at":
            try:
                k = datetime.fromisoformat(k)
            except (TypeError, ValueError) as e:
                raise ValidationFailed.one("cursor", "分页游标无效") from e
        after = (k, last_id)
    if columns is not None and _unfiltered(filters) and is_postgres(session):
        return _plain_page(session, actor, filters.year, sort, after, limit, columns)
    pg_columns = columns is not None and is_postgres(session)
    # On PostgreSQL a JSON page asks for the latest figures year and checks the request's key in its own
    # statement (two round trips less); the export and the pages build on list_query as before.
    stmt, year, key = list_query(session, actor=actor, filters=filters, sort=sort, year_in_sql=pg_columns)
    desc = sort.startswith("-")
    if after is not None:
        k, last_id = after
        cmp = (
            tuple_(key, Enterprise.id) < tuple_(k, last_id)
            if desc
            else tuple_(key, Enterprise.id) > tuple_(k, last_id)
        )
        stmt = stmt.where(cmp)
    order = (key.desc(), Enterprise.id.desc()) if desc else (key.asc(), Enterprise.id.asc())
    if columns is not None:
        wanted = dict.fromkeys((*columns, "id", "name", "created_at"))
        extra: list[Any] = []
        params: dict[str, Any] = {}
        if pg_columns:
            key_id = take_key_check(session)  # checked by the same statement
            extra = [
                KEY_VALID,
                (_LATEST_YEAR if year is None else literal(year, Integer)).label("figures_year"),
            ]
            params["check_key_id"] = key_id
        stmt = stmt.with_only_columns(
            *[Enterprise.__table__.c[c] for c in wanted], EnterpriseFigure.revenue_yuan, *extra
        )
        # On the connection, not the session: plain rows need none of the ORM's result handling (a quarter of
        # the page's time).
        found = session.connection().execute(stmt.order_by(*order).limit(limit + 1), params).all()
        if pg_columns:
            key_checked(session, key_id, found[0].key_valid if found else None)
            if year is None:
                year = found[0].figures_year if found else latest_figures_year(session)
        rows = [(r, r.revenue_yuan) for r in found]
    else:
        rows = session.execute(stmt.order_by(*order).limit(limit + 1)).all()
    return _finish_page(rows, limit, sort, year)


def _finish_page(rows, limit: int, sort: str, year: int | None):
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        ent, rev = rows[-1]
        field = sort.lstrip("-")
        kval = {
            "name": ent.name,
            "revenue": rev if rev is not None else -1,
            "created_at": ent.created_at.isoformat() if ent.created_at else None,
            "id": ent.id,
        }[field]
        next_cursor = encode_cursor(sort, kval, ent.id)
    return rows, next_cursor, year


def _unfiltered(f: ListFilters) -> bool:
    """No filter but perhaps the year: the registry's plain pages (what the platform walks)."""
    return not any(getattr(f, name) for name in _FILTER_FIELDS)


_FILTER_FIELDS = tuple(f.name for f in dataclasses.fields(ListFilters) if f.name != "year")


@functools.cache
def _plain_page_statement(kind: str, sort: str, after: bool, columns: tuple[str, ...]):
    """One page of the unfiltered registry for one kind of viewer, sort and shape, built once: the figures year
    (the latest unless given), the request's key check and the page in one statement."""
    e, fig = Enterprise.__table__, EnterpriseFigure.__table__
    year = func.coalesce(bindparam("year", type_=Integer), select(func.max(fig.c.year)).scalar_subquery())
    key = _sort_key(sort)
    wanted = dict.fromkeys((*columns, "id", "name", "created_at"))
    stmt = (
        select(KEY_VALID, year.label("figures_year"), *[e.c[c] for c in wanted], fig.c.revenue_yuan)
        .select_from(e.outerjoin(fig, and_(fig.c.enterprise_id == e.c.id, fig.c.year == year)))
        .where(visible_clause(kind))
    )
    desc = sort.startswith("-")
    if after:
        here = tuple_(key, e.c.id)
        there = tuple_(bindparam("after_key", type_=key.type), bindparam("after_id", type_=Integer))
        stmt = stmt.where(here < there if desc else here > there)
    order = (key.desc(), e.c.id.desc()) if desc else (key.asc(), e.c.id.asc())
    return stmt.order_by(*order).limit(bindparam("limit", type_=Integer))


def _plain_page(session: Session, actor: Principal, year: int | None, sort: str, after, limit: int, columns):
    kind, visible = visibility_kind(actor)
    key_id = take_key_check(session)  # checked by the same statement
    params: dict[str, object] = {**visible, "year": year, "limit": limit + 1, "check_key_id": key_id}
    if after is not None:
        params |= {"after_key": after[0], "after_id": after[1]}
    stmt = _plain_page_statement(kind, sort, after is not None, tuple(columns))
    found = session.connection().execute(stmt, params).all()
    key_checked(session, key_id, found[0].key_valid if found else None)
    if found:
        year = found[0].figures_year
    elif year is None:
        year = latest_figures_year(session)
    return _finish_page([(r, r.revenue_yuan) for r in found], limit, sort, year)


def history(session: Session, *, actor: Principal, enterprise_id: int):
    get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    return audit.for_enterprise(session, enterprise_id)


# --- writes ---------------------------------------------------------------------------------


def _ensure_unique_uscc(session: Session, uscc: str, exclude_id: int | None = None) -> None:
    stmt = select(Enterprise.id).where(Enterprise.uscc == uscc)
    if exclude_id:
        stmt = stmt.where(Enterprise.id != exclude_id)
    if session.scalar(stmt):
        raise Conflict(
            "该统一社会信用代码已登记",
            errors=[FieldError("uscc", f"统一社会信用代码 {uscc} 已登记")],
            code="duplicate_uscc",
        )


def create(session: Session, *, actor: Principal, data: EnterpriseCreate) -> Enterprise:
    actor.require("enterprises:write")
    payload = data.model_dump(exclude={"figures", "honours"})
    errors = field_errors(payload)
    years = [f.year for f in data.figures]
    if len(years) != len(set(years)):
        errors.append(FieldError("figures", "同一年度的数据只能有一条"))
    for i, h in enumerate(data.honours):
        errors.extend(honour_errors(h, prefix=f"honours[{i}]."))
    if errors:
        raise ValidationFailed(errors)
    _check_township_write(actor, data.township)
    payload["uscc"] = normalise(payload["uscc"])
    _ensure_unique_uscc(session, payload["uscc"])
    ent = Enterprise(**payload)
    session.add(ent)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="enterprise",
        entity_id=ent.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={k: [None, v] for k, v in audit.snapshot(ent, ENTERPRISE_FIELDS).items() if v is not None},
    )
    for f in data.figures:
        _upsert_figures(session, actor, ent, f)
    for h in data.honours:
        _add_honour(session, actor, ent, h)
    return ent


def update(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    data: EnterpriseUpdate,
    if_match: int | None,
    enterprise: Enterprise | None = None,
) -> Enterprise:
    """Partial update guarded by the version the client last saw (If-Match). `enterprise`: the same enterprise
    as `get` found it for this actor earlier in this session (the request's path dependency), not looked up
    again."""
    actor.require("enterprises:write")
    ent = _resolved(session, actor, enterprise_id, enterprise)
    if if_match is not None and if_match != ent.version:
        raise PreconditionFailed()
    changes = data.model_dump(exclude_unset=True)
    for k in ("name", "township", "size", "ownership", "above_scale", "uscc"):
        if k in changes and changes[k] is None:
            raise ValidationFailed.one(k, f"字段 {k} 不能为空")
    errors = field_errors(changes)
    if errors:
        raise ValidationFailed(errors)
    if "township" in changes:
        _check_township_write(actor, changes["township"])
    if "uscc" in changes:
        changes["uscc"] = normalise(changes["uscc"])
        _ensure_unique_uscc(session, changes["uscc"], exclude_id=ent.id)
    before = audit.snapshot(ent, ENTERPRISE_FIELDS)
    delta = audit.diff(before, {**before, **{k: audit.plain(v) for k, v in changes.items()}})
    if not delta:
        return ent
    if not write_changes(session, ent, {k: changes[k] for k in delta}):
        raise PreconditionFailed()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="enterprise",
        entity_id=ent.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes=delta,
    )
    if delta.get("above_scale") == [False, True]:
        events.publish(events.BecameAboveScale(session=session, actor=actor, enterprise=ent))
    return ent


def write_changes(session: Session, ent: Enterprise, values: dict[str, Any]) -> bool:
    """The enterprise's changed columns written by one prebuilt UPDATE guarded by the version it was read at,
    bumping the version (the ETag) and updated_at, as the entity's flush did without the unit of work's
    bookkeeping. False, with nothing written, when a concurrent writer committed first (no row had that
    version): the caller answers 412."""
    values = {**values, "version": ent.version + 1, "updated_at": utcnow()}
    session.flush()  # the session's pending changes first
    done = session.connection().execute(
        _ENTERPRISE_UPDATE, {"enterprise_id": ent.id, "seen_version": ent.version, **values}
    )
    if done.rowcount != 1:
        return False
    for k, v in values.items():  # the entity as written, with no change left for a flush to write again
        set_committed_value(ent, k, v)
    return True


# SET: the columns given with the statement.
_ENTERPRISE_UPDATE = sql_update(cast_type(Table, Enterprise.__table__)).where(
    Enterprise.__table__.c.id == bindparam("enterprise_id"),
    Enterprise.__table__.c.version == bindparam("seen_version"),
)


def delete(session: Session, *, actor: Principal, enterprise_id: int, if_match: int | None = None) -> None:
    actor.require("enterprises:write")
    ent = get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    if if_match is not None and if_match != ent.version:
        raise PreconditionFailed()
    ent.deleted_at = utcnow()
    try:
        session.flush()
    except StaleDataError as e:
        raise PreconditionFailed() from e
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity_type="enterprise",
        entity_id=ent.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"deleted_at": [None, ent.deleted_at.isoformat()]},
    )


def _upsert_figures(session: Session, actor: Principal, ent: Enterprise, f: FigureIn) -> EnterpriseFigure:
    row = session.scalar(
        select(EnterpriseFigure).where(
            EnterpriseFigure.enterprise_id == ent.id, EnterpriseFigure.year == f.year
        )
    )
    new_values = f.model_dump(exclude={"year"})
    if row is None:
        row = EnterpriseFigure(enterprise_id=ent.id, year=f.year, **new_values)
        session.add(row)
        before = {}
        action = "create"
    else:
        before = audit.snapshot(row, FIGURE_FIELDS)
        for k, v in new_values.items():
            setattr(row, k, v)
        action = "update"
    session.flush()
    delta = audit.diff(before, audit.snapshot(row, FIGURE_FIELDS))
    _audit_figures(session, actor, ent, f.year, action, delta)
    return row


def set_figures(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    figures: FigureIn,
    enterprise: Enterprise | None = None,
) -> dict[str, Any]:
    """The year's figures replaced (`enterprise` as for `update`); returns them as written (year and figures).

    Written as plain statements, not through entities (one of the most frequent writes: the unit of work's
    bookkeeping was a fifth of its time), with what the entity path did: only changed columns are updated, the
    audit entry holds every field whose written form changed, and a figures row or collection the session had
    loaded is expired so that it is read again."""
    actor.require("enterprises:write")
    ent = _resolved(session, actor, enterprise_id, enterprise)
    new_values = figures.model_dump(exclude={"year"})
    session.flush()  # the session's pending changes first, as a flush before the figures' own did
    conn = session.connection()
    old = conn.execute(_FIGURE_ROW, {"enterprise_id": ent.id, "year": figures.year}).first()
    if old is None:
        before: dict[str, Any] = {}
        action = "create"
        conn.execute(_FIGURE_INSERT, {"enterprise_id": ent.id, "year": figures.year, **new_values})
        if "figures" in ent.__dict__:  # a loaded collection no longer has every row
            session.expire(ent, ["figures"])
    else:
        before = audit.snapshot(old, FIGURE_FIELDS)
        action = "update"
        # The columns whose value differs (as the entity's attribute history compares: ==).
        changed = {k: v for k, v in new_values.items() if v != old._mapping[k]}
        if changed:
            conn.execute(_FIGURE_UPDATE, {"figure_id": old.id, **changed})
        loaded = session.identity_map.get(session.identity_key(EnterpriseFigure, old.id))
        if loaded is not None:
            session.expire(loaded)
    delta = audit.diff(before, audit.snapshot(figures, FIGURE_FIELDS))
    _audit_figures(session, actor, ent, figures.year, action, delta)
    return {"year": figures.year, **new_values}


def _audit_figures(
    session: Session, actor: Principal, ent: Enterprise, year: int, action: str, delta: dict
) -> None:
    """The audit entry of a year's figures written (none when nothing changed)."""
    if delta:
        audit.record(
            session,
            actor=actor,
            action=action,
            entity_type="enterprise_figure",
            entity_id=f"{ent.id}:{year}",
            enterprise_id=ent.id,
            township=ent.township,
            changes=delta,
            note=f"{year} 年度数据",
        )


_FIGURES = cast_type(Table, EnterpriseFigure.__table__)
_FIGURE_INSERT = insert(_FIGURES)
# SET: the columns given with the statement
_FIGURE_UPDATE = sql_update(_FIGURES).where(_FIGURES.c.id == bindparam("figure_id"))
_FIGURE_ROW = select(_FIGURES.c.id, *[_FIGURES.c[k] for k in FIGURE_FIELDS]).where(
    _FIGURES.c.enterprise_id == bindparam("enterprise_id"), _FIGURES.c.year == bindparam("year")
)


def _resolved(session: Session, actor: Principal, enterprise_id: int, known: Enterprise | None) -> Enterprise:
    """`known` when it is that enterprise, still registered (a second SELECT in the same transaction would
    return the same object unchanged: loaded attributes are not overwritten), else `get`."""
    if known is not None and known.id == enterprise_id and known.deleted_at is None and known in session:
        return known
    return get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)


def _add_honour(session: Session, actor: Principal, ent: Enterprise, h: HonourIn) -> Honour:
    honour = Honour(enterprise_id=ent.id, **h.model_dump())
    session.add(honour)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="honour",
        entity_id=honour.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={k: [None, v] for k, v in audit.snapshot(honour, list(HonourIn.model_fields)).items()},
    )
    events.publish(events.HonourRecorded(session=session, actor=actor, enterprise=ent, honour=honour))
    return honour


def record_cluster_honour(
    session: Session, *, actor: Principal, enterprise: Enterprise, honour: HonourIn
) -> Honour:
    """The honour of a cluster's recognition on the firm that receives its award (app.clusters only)."""
    return _add_honour(session, actor, enterprise, honour)


def add_honour(session: Session, *, actor: Principal, enterprise_id: int, honour: HonourIn) -> Honour:
    actor.require("enterprises:write")
    errors = honour_errors(honour)
    if errors:
        raise ValidationFailed(errors)
    ent = get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    dup = session.scalar(
        select(Honour.id).where(
            Honour.enterprise_id == ent.id,
            Honour.code == honour.code,
            Honour.level == honour.level,
            Honour.outcome == honour.outcome,
            Honour.honour_date == honour.honour_date,
        )
    )
    if dup:
        raise Conflict(
            "该认定记录已存在", errors=[FieldError("code", "同一认定、级别、结果和日期的记录已存在")]
        )
    return _add_honour(session, actor, ent, honour)


def delete_honour(session: Session, *, actor: Principal, enterprise_id: int, honour_id: int) -> None:
    actor.require("enterprises:write")
    ent = get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    honour = session.scalar(select(Honour).where(Honour.id == honour_id, Honour.enterprise_id == ent.id))
    if honour is None:
        raise NotFound("未找到该认定记录")
    snap = audit.snapshot(honour, list(HonourIn.model_fields))
    session.delete(honour)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity_type="honour",
        entity_id=honour_id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={k: [v, None] for k, v in snap.items()},
    )
