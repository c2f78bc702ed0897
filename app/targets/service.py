"""Target tables: read them, enter next year's (form, .xlsx, API), load the reference tables, compute progress.

A table is data with a year (or a period). A new table is validated as a whole by
app.reference.targets.parse_target_table — rows not summing to 总数, unknown townships or
indicators, negative figures — and an error names every bad cell and writes nothing.
"""

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session, selectinload

from app import datacache
from app.accounts.permissions import SYSTEM, Principal
from app.audit import service as audit
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.reference.targets import Target, load_goals, load_targets_2023, parse_target_table
from app.targets import progress
from app.targets.models import TargetFigure, TargetIndicator, TargetSet


def _num(v):
    return progress.num(v)


# --- reads ----------------------------------------------------------------------------------


def list_sets(session: Session, *, actor: Principal) -> list[TargetSet]:
    """Every table, the latest period first (annual tables and multi-year goals together)."""
    actor.require("targets:read")
    return list(session.scalars(select(TargetSet).order_by(TargetSet.period_end.desc(), TargetSet.id.desc())))


def list_page(
    session: Session, *, actor: Principal, cursor: str | None = None, limit: int = 50
) -> tuple[list[TargetSet], str | None]:
    """The tables a page at a time, latest period first (keyset on period end and id)."""
    actor.require("targets:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    stmt = select(TargetSet)
    if cursor:
        end, last_id = decode_cursor(cursor, "-period_end")
        try:
            end = date.fromisoformat(end)
        except (TypeError, ValueError):
            raise ValidationFailed.one("cursor", "分页游标无效") from None
        stmt = stmt.where(tuple_(TargetSet.period_end, TargetSet.id) < tuple_(end, last_id))
    rows = list(
        session.scalars(stmt.order_by(TargetSet.period_end.desc(), TargetSet.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (
        encode_cursor("-period_end", rows[-1].period_end.isoformat(), rows[-1].id) if more and rows else None
    )


def get_set(session: Session, *, actor: Principal, key: str) -> TargetSet:
    """The table with its indicators and figures, or 404."""
    actor.require("targets:read")
    ts = session.scalar(
        select(TargetSet)
        .where(TargetSet.key == key)
        .options(selectinload(TargetSet.indicators).selectinload(TargetIndicator.figures))
    )
    if ts is None:
        raise NotFound(f"没有“{key}”的目标表")
    return ts


def get_indicator(ts: TargetSet, code: str) -> TargetIndicator:
    ind = next((i for i in ts.indicators if i.code == code), None)
    if ind is None:
        raise NotFound(f"{ts.key} 目标表中没有指标“{code}”")
    return ind


def default_key(session: Session, today: date) -> str | None:
    """The table to show first: this year's, else the latest annual one before it, else the latest of all
    (published tables only: a draft is shown when asked for by name)."""
    published = TargetSet.status == "published"
    year = session.scalar(
        select(func.max(TargetSet.year)).where(
            TargetSet.kind == "annual", TargetSet.year <= today.year, published
        )
    ) or session.scalar(select(func.max(TargetSet.year)).where(TargetSet.kind == "annual", published))
    if year is not None:
        return str(year)
    return session.scalar(
        select(TargetSet.key).where(published).order_by(TargetSet.period_end.desc()).limit(1)
    )


def township_figures(ind: TargetIndicator) -> dict[str, int | float] | None:
    if ind.county_only:
        return None
    return {f.township: _num(f.value) for f in ind.figures}


def as_target(ind: TargetIndicator) -> Target:
    """An annual table's row as the reference model (the catalogue an upload is checked against)."""
    return Target.model_validate(
        {
            "no": ind.no,
            "code": ind.code,
            "name": ind.name,
            "clause": ind.clause,
            "unit": ind.unit,
            "kind": ind.kind,
            "townships": township_figures(ind),
            "county_only": ind.county_only,
            "at_least": ind.at_least,
            "parts": ind.parts,
            "total": _num(ind.total),
            "deadline": ind.deadline,
            "deadline_text": ind.deadline_text,
            "filing_day": ind.filing_day,
            "responsible": ind.responsible,
            "measure": ind.measure,
        }
    )


def catalogue(session: Session) -> dict[str, Target]:
    """Indicators a new table may use: the latest annual table's, and the 2023 attachment's for any it lacks."""
    cat = dict(load_targets_2023().by_code())
    latest = session.scalar(
        select(TargetSet)
        .where(TargetSet.kind == "annual", TargetSet.status == "published")
        .order_by(TargetSet.year.desc())
        .limit(1)
        .options(selectinload(TargetSet.indicators).selectinload(TargetIndicator.figures))
    )
    if latest is not None:
        cat.update({i.code: as_target(i) for i in latest.indicators})
    return cat


# --- writes ---------------------------------------------------------------------------------


def new_indicator(t: Target) -> TargetIndicator:
    ind = TargetIndicator(
        no=t.no,
        code=t.code,
        name=t.name,
        clause=t.clause,
        unit=t.unit,
        kind=t.kind,
        county_only=t.county_only,
        at_least=t.at_least,
        approx=False,
        total=t.total,
        deadline=t.deadline,
        deadline_text=t.deadline_text,
        filing_day=t.filing_day,
        measure=t.measure.model_dump(exclude_none=True),
        parts=[p.model_dump(exclude_none=True) for p in t.parts] if t.parts else None,
        responsible=t.responsible.model_dump() if t.responsible else None,
    )
    ind.figures = [TargetFigure(township=code, value=v) for code, v in (t.townships or {}).items()]
    return ind


def save_table(
    session: Session,
    *,
    actor: Principal,
    year: int,
    document: str,
    title: str,
    rows: list[dict[str, Any]],
    issued_date: date | None = None,
    source: str = "form",
    replace: bool = False,
    first_row: int = 1,
) -> TargetSet:
    """Enter a year's table. Every cell is checked first; any error names its cells and nothing is written.

    An existing year is replaced only when `replace` is set (409 otherwise).
    """
    actor.require("targets:write")  # county administrators and keys with the scope; never township staff
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("year", f"年度 {year} 无效")
    if not rows:
        raise ValidationFailed.one("rows", "目标表至少要有一行指标")
    cat = catalogue(session)
    # a row given by its code alone takes the indicator's name (项目名称) from the catalogue
    rows = [
        {**r, "name": cat[r["code"]].name} if not r.get("name") and r.get("code") in cat else r for r in rows
    ]
    targets = parse_target_table(rows, catalogue=cat, first_row=first_row)
    key = str(year)
    old = session.scalar(
        select(TargetSet).where(TargetSet.key == key).options(selectinload(TargetSet.indicators))
    )
    before: dict[str, Any] = {}
    if old is not None:
        if not replace:
            raise Conflict(
                f"已有 {year} 年目标表",
                errors=[FieldError("year", f"已有 {year} 年目标表；如需替换，请勾选“替换已有目标表”")],
                code="target_table_exists",
            )
        before = {i.code: _num(i.total) for i in old.indicators}
        session.execute(delete(TargetSet).where(TargetSet.id == old.id))
        session.expunge(old)
        session.flush()
    ts = TargetSet(
        key=key,
        kind="annual",
        year=year,
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        document=document.strip(),
        title=title.strip(),
        issued_date=issued_date,
        source=source,
        created_by=actor.name,
    )
    ts.indicators = [new_indicator(t) for t in targets]
    session.add(ts)
    session.flush()
    after = {t.code: _num(t.total) for t in targets}
    audit.record(
        session,
        actor=actor,
        action="update" if old is not None else "create",
        entity_type="target_set",
        entity_id=key,
        changes={
            code: [before.get(code), after.get(code)]
            for code in {**before, **after}
            if before.get(code) != after.get(code)
        },
        note=f"{year} 年目标表（{document.strip()}，{len(targets)} 项指标，{'替换' if old is not None else '新录入'}）",
    )
    return ts


def install_reference(session: Session) -> list[str]:
    """Load the 2023 table and the 2022–2024 goals from app/reference if absent (the migration does the same)."""
    added = []
    table = load_targets_2023()
    if session.scalar(select(TargetSet.id).where(TargetSet.key == str(table.year))) is None:
        ts = TargetSet(
            key=str(table.year),
            kind="annual",
            year=table.year,
            period_start=date(table.year, 1, 1),
            period_end=date(table.year, 12, 31),
            document=table.document,
            title=table.title,
            issued_date=table.issued,
            source="reference",
            created_by=SYSTEM.name,
        )
        ts.indicators = [new_indicator(t) for t in table.indicators]
        session.add(ts)
        added.append(ts.key)
    goals = load_goals()
    key = f"{goals.period.start.year}-{goals.period.end.year}"
    if session.scalar(select(TargetSet.id).where(TargetSet.key == key)) is None:
        ts = TargetSet(
            key=key,
            kind="period",
            year=None,
            period_start=goals.period.start,
            period_end=goals.period.end,
            document=goals.document,
            title=goals.title,
            issued_date=goals.issued,
            note=goals.period.note,
            source="reference",
            created_by=SYSTEM.name,
        )
        ts.indicators = [
            TargetIndicator(
                no=i,
                code=g.code,
                name=g.name,
                clause=g.clause,
                text=g.text,
                unit=g.unit,
                kind="count",
                county_only=True,
                at_least=g.at_least,
                approx=g.approx,
                total=g.total,
                deadline=goals.period.end,
                deadline_text=f"{goals.period.start.year}—{goals.period.end.year}年",
                filing_day=None,
                measure=g.measure.model_dump(exclude_none=True),
                parts=None,
                responsible=None,
            )
            for i, g in enumerate(goals.goals, start=1)
        ]
        session.add(ts)
        added.append(key)
    session.flush()
    return added


# --- progress -------------------------------------------------------------------------------


def progress_matrix(session: Session, *, actor: Principal, key: str, as_of: date) -> progress.Matrix:
    """The table's matrix on a day, as the actor may see it; cached per data version (app/datacache.py)."""
    ts = get_set(session, actor=actor, key=key)
    return datacache.cached(
        session,
        "progress_matrix",
        (ts.id, as_of, actor.township_filter()),
        lambda: progress.compute(session, actor=actor, target_set=ts, as_of=as_of),
    )


def indicator_progress(
    session: Session, *, actor: Principal, key: str, code: str, as_of: date
) -> tuple[TargetSet, progress.IndicatorProgress]:
    ts = get_set(session, actor=actor, key=key)
    ind = get_indicator(ts, code)
    m = progress.compute(session, actor=actor, target_set=ts, as_of=as_of, indicators=[ind])
    return ts, m.rows[0]


def cell_enterprises(
    session: Session,
    *,
    actor: Principal,
    key: str,
    code: str,
    township: str | None,
    as_of: date,
    part: str | None = None,
    cursor: str | None = None,
    limit: int = 500,
) -> tuple[TargetSet, TargetIndicator, progress.CellPage]:
    """The enterprises counted in a cell, a page at a time."""
    ts = get_set(session, actor=actor, key=key)
    ind = get_indicator(ts, code)
    page = progress.cell_rows(
        session,
        actor=actor,
        target_set=ts,
        ind=ind,
        township=township,
        as_of=as_of,
        part=part,
        cursor=cursor,
        limit=limit,
    )
    return ts, ind, page


# --- settings of an indicator ---------------------------------------------------------------


def set_rd_reading(
    session: Session, *, actor: Principal, key: str, code: str, reading: str
) -> TargetIndicator:
    """Choose how the R&D growth rate is read: year on year or month on month (both stay shown)."""
    from app.errors import Forbidden
    from app.reference.targets import RD_READINGS, rd_reading

    actor.require("targets:write")
    if not actor.is_county:
        raise Forbidden("增长口径由县级设定")
    if reading not in RD_READINGS:
        raise ValidationFailed.one(
            "reading", f"未知的增长口径“{reading}”（可选：year_on_year 同比、month_on_month 环比）"
        )
    ts = get_set(session, actor=actor, key=key)
    ind = get_indicator(ts, code)
    if ind.measure.get("kind") != "rd_growth":
        raise ValidationFailed.one("reading", f"指标“{ind.name}”不是研发投入增长率，不能设定同比或环比口径")
    before = rd_reading(ind.measure)
    if before != reading:
        ind.measure = {**ind.measure, "reading": reading}
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="target_indicator",
            entity_id=ind.id,
            changes={"measure.reading": [before, reading]},
            note=f"{ts.key} 目标表“{ind.name}”改按{RD_READINGS[reading]}判断",
        )
    return ind
