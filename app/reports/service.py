"""Monthly filings (月度填报): submit, correct, list, growth and the overdue list.

Each month township staff file every enterprise's R&D spend and output (and revenue,
electricity) for the previous month, by the filing day of the target table's rate row
(研发投入月度增长率: 每月18日前完成填报). "By the 18th" means on or before it: a filing on
the 19th is late, and on the 19th a month not yet filed is overdue. Every save is audited;
a save after the deadline is flagged late (filing or correction). Which enterprises must file:
every enterprise registered in the township (not deregistered).

Dates are passed in (`today`, `as_of`), so every deadline rule is testable without a clock.
Growth is computed in SQL over the enterprises that filed both months (like for like).
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from app import bulk
from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.enterprises.uscc import normalise
from app.enterprises.visibility import visible_to
from app.errors import FieldError, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.reference import township_names, township_order
from app.reference.targets import DEFAULT_RD_READING, rd_reading
from app.reports import plausibility
from app.reports.models import FILING_FIELDS, REQUIRED_FIELDS, MonthlyFiling
from app.reports.schemas import FilingIn, FilingRowIn
from app.targets.models import TargetFigure, TargetIndicator, TargetSet

F = MonthlyFiling


# --- months ----------------------------------------------------------------------------------


def period_of(year: int, month: int) -> int:
    return year * 12 + month - 1


def year_month(period: int) -> tuple[int, int]:
    return period // 12, period % 12 + 1


def month_text(period: int) -> str:
    y, m = year_month(period)
    return f"{y:04d}-{m:02d}"


def month_label(period: int) -> str:
    y, m = year_month(period)
    return f"{y}年{m}月"


def parse_month(text: str | None, field: str = "month") -> int:
    """ "2023-05" → period; anything else is a 422 naming the field."""
    s = (text or "").strip()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", s):  # 2023-05, not 2023-5
            raise ValueError
        y, m = s.split("-")
        year, month = int(y), int(m)
        if not 1 <= month <= 12 or not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        raise ValidationFailed.one(field, f"月份“{s}”格式应为 YYYY-MM，如 2023-05") from None
    return period_of(year, month)


def filing_day(session: Session, year: int) -> int:
    """The day of the month by which last month's figures are due: the rate row's 填报日 of the year's table
    (or of the latest table before it); the 2023 table's if there is none."""
    stmt = (
        select(TargetIndicator.filing_day)
        .join(TargetSet, TargetSet.id == TargetIndicator.set_id)
        .where(TargetSet.kind == "annual", TargetSet.year <= year, TargetIndicator.filing_day.is_not(None))
        .order_by(TargetSet.year.desc())
        .limit(1)
    )
    day = session.scalar(stmt)
    if day is None:
        from app.reference.targets import load_targets_2023

        day = next(t.filing_day for t in load_targets_2023().indicators if t.filing_day)
    return day


def deadline(session: Session, period: int) -> date:
    """Figures for `period` are due on the filing day of the following month (inclusive)."""
    y, m = year_month(period + 1)
    return date(y, m, filing_day(session, y))


def report_period(session: Session, as_of: date) -> int:
    """The latest month whose filing deadline is on or before `as_of`."""
    p = period_of(as_of.year, as_of.month) - 1
    return p if deadline(session, p) <= as_of else p - 1


def last_month(today: date) -> int:
    return period_of(today.year, today.month) - 1


# --- validation -----------------------------------------------------------------------------


def value_errors(values: dict, *, label: str = "", row: int | None = None) -> list[FieldError]:
    """Missing required figures and negative figures, each message naming the field (and the row)."""
    errors = []
    for field, (name, unit) in FILING_FIELDS.items():
        v = values.get(field)
        if v is None:
            if field in REQUIRED_FIELDS:
                errors.append(FieldError(field, f"{label}{name}（{field}）：必填", row=row))
        elif v < 0:
            errors.append(FieldError(field, f"{label}{name}（{field}）：{v:,} {unit}不能为负数", row=row))
    return errors


def _check_month_closed(period: int, today: date) -> None:
    if period >= period_of(today.year, today.month):
        raise ValidationFailed.one("month", f"{month_label(period)}尚未结束，只能填报已结束月份的数据")


# --- writes ---------------------------------------------------------------------------------


@dataclass
class Saved:
    filing: MonthlyFiling | None  # None from a batch (written in bulk, not loaded)
    created: bool
    late: bool


class NeedsConfirmation(ValidationFailed):
    """Implausible figures saved from a page: shown beside the fields; saved once a person confirms them with a
    note (what the firm said). Files and the API save them flagged instead, to be confirmed later."""

    def __init__(self, found: list[dict]):
        super().__init__(
            [FieldError(c["field"], c["message"]) for c in found],
            detail="数据明显异常，请与企业核实：确认无误后填写说明再保存",
        )
        self.checks = found


def _confirm(row: MonthlyFiling, actor: Principal, note: str, now) -> None:
    row.checks_confirmed_at, row.checks_confirmed_by, row.checks_note = now, actor.name, note


def _save(
    session: Session,
    actor: Principal,
    ent: Enterprise,
    period: int,
    data: FilingIn,
    due: date,
    today: date,
    *,
    confirm_note: str | None = None,
    require_confirmation: bool = False,
) -> Saved:
    values = data.model_dump(include=set(FILING_FIELDS))
    late = today > due
    row = session.scalar(select(F).where(F.enterprise_id == ent.id, F.period == period))
    now = utcnow()
    found = plausibility.checks(session, enterprise_id=ent.id, period=period, values=values)
    confirm_note = (confirm_note or "").strip() or None
    unchanged = row is not None and all(getattr(row, k) == v for k, v in values.items())
    if found and require_confirmation and confirm_note is None and (not unchanged or row.flagged):
        raise NeedsConfirmation(found)
    if row is None:
        y, m = year_month(period)
        row = F(
            enterprise_id=ent.id,
            year=y,
            month=m,
            period=period,
            filed_at=now,
            filed_by=actor.name,
            filed_late=late,
            updated_at=now,
            updated_by=actor.name,
            corrected_late=False,
            revisions=1,
            **values,
        )
        session.add(row)
        before: dict = {}
        action, created = "create", True
    else:
        before = audit.snapshot(row, list(FILING_FIELDS))
        if all(before[k] == v for k, v in values.items()):
            if found and confirm_note and row.flagged:  # the same figures, now confirmed
                confirm_checks(session, actor=actor, enterprise_id=ent.id, period=period, note=confirm_note)
            return Saved(row, False, False)  # nothing changed: no revision, no audit entry
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at, row.updated_by = now, actor.name
        row.revisions += 1
        if late:
            row.corrected_late = True
        action, created = "update", False
    row.checks = found or None
    if found and confirm_note:
        _confirm(row, actor, confirm_note, now)
    else:
        row.checks_confirmed_at = row.checks_confirmed_by = row.checks_note = None
    session.flush()
    changes = audit.diff(before, audit.snapshot(row, list(FILING_FIELDS)))
    changes["late"] = late
    if found:
        changes["checks"] = [c["message"] for c in found]
    note = f"{month_label(period)}月度填报"
    if late:
        note += f"（截止日 {due.isoformat()} 之后{'填报' if created else '更正'}，逾期）"
    if found:
        note += f"；数据异常已核实：{confirm_note}" if confirm_note else "；数据异常，待核实"
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="monthly_filing",
        entity_id=f"{ent.id}:{month_text(period)}",
        enterprise_id=ent.id,
        township=ent.township,
        changes=changes,
        note=note,
    )
    return Saved(row, created, late)


def confirm_checks(
    session: Session, *, actor: Principal, enterprise_id: int, period: int, note: str
) -> MonthlyFiling:
    """Confirm a saved month's implausible figures after checking them with the firm (audited, note required)."""
    actor.require("filings:write")
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed.one("confirm_note", "确认说明：请写明与企业核实的情况")
    row = session.scalar(select(F).where(F.enterprise_id == ent.id, F.period == period))
    if row is None or not row.checks:
        raise ValidationFailed.one("month", f"{month_label(period)}该企业没有待核实的数据")
    _confirm(row, actor, note, utcnow())
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="confirm",
        entity_type="monthly_filing",
        entity_id=f"{ent.id}:{month_text(period)}",
        enterprise_id=ent.id,
        township=ent.township,
        changes={"checks": [c["message"] for c in row.checks], "confirm_note": note},
        note=f"{month_label(period)}月度填报：确认数据异常已核实",
    )
    return row


def submit(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    period: int,
    data: FilingIn,
    today: date,
    confirm_note: str | None = None,
    require_confirmation: bool = False,
) -> Saved:
    """File (or correct) one enterprise's month. Another township's enterprise is a 404.

    With `require_confirmation` (a page), implausible figures are refused with NeedsConfirmation until a
    `confirm_note` is given; otherwise (files, the API) they are saved flagged, to be confirmed later."""
    actor.require("filings:write")
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    _check_month_closed(period, today)
    errors = value_errors(data.model_dump())
    if errors:
        raise ValidationFailed(errors)
    return _save(
        session,
        actor,
        ent,
        period,
        data,
        deadline(session, period),
        today,
        confirm_note=confirm_note,
        require_confirmation=require_confirmation,
    )


def submit_many(
    session: Session,
    *,
    actor: Principal,
    period: int,
    rows: list[FilingRowIn],
    today: date,
    first_row: int = 1,
    row_numbers: list[int] | None = None,
) -> list[Saved]:
    """File many enterprises' month at once: every row is checked first, and one bad row writes nothing.

    An enterprise outside the actor's township (or unknown) is a 422 naming the row.
    """
    fields = list(FILING_FIELDS)
    return submit_rows(
        session,
        actor=actor,
        period=period,
        rows=[(r.enterprise_id, r.uscc, tuple(getattr(r, f) for f in fields)) for r in rows],
        today=today,
        row_numbers=row_numbers or list(range(first_row, first_row + len(rows))),
    )


class _Firm(NamedTuple):
    """What a batch needs of an enterprise: the checks name it, the audit entry its township."""

    id: int
    uscc: str
    name: str
    township: str


BatchRow = tuple[int | None, str | None, tuple]  # (enterprise_id, uscc, the FILING_FIELDS values in order)


def unknown_codes(
    session: Session, *, actor: Principal, rows: list[BatchRow], row_numbers: list[int]
) -> list[FieldError]:
    """The rows whose 统一社会信用代码 names no enterprise the actor may file for, with `submit_rows`' message."""
    codes = {normalise(uscc) for eid, uscc, _ in rows if eid is None and uscc}
    if not codes:
        return []
    with bulk.exact_lookup(session):
        known = set(
            session.scalars(
                select(Enterprise.uscc).where(
                    bulk.among(session, Enterprise.uscc, list(codes)), visible_to(actor)
                )
            )
        )
    scope = "不属于本乡镇或" if actor.township_filter() else ""
    return [
        FieldError("enterprise", f"第 {n} 行，统一社会信用代码 {normalise(uscc)}{scope}未登记", row=n)
        for (eid, uscc, _), n in zip(rows, row_numbers, strict=True)
        if eid is None and uscc and normalise(uscc) not in known
    ]


def submit_rows(
    session: Session,
    *,
    actor: Principal,
    period: int,
    rows: list[BatchRow],
    today: date,
    row_numbers: list[int],
) -> list[Saved]:
    """`submit_many` for rows as plain tuples (a file's 100,000 rows: no model object per row)."""
    actor.require("filings:write")
    _check_month_closed(period, today)
    ids = {eid for eid, _, _ in rows if eid is not None}
    # each row's code as looked up (None where the row names its firm by id or names none), normalised once
    codes = [normalise(uscc) if eid is None and uscc else None for eid, uscc, _ in rows]
    usccs = set(codes)
    usccs.discard(None)
    conds = [visible_to(actor)]
    fields = list(FILING_FIELDS)
    # (id, uscc, name, township) rows — what the checks and the audit need, not whole entities — each with
    # the month's filing when there is one (its id and figures): one statement finds the firm and what it
    # filed, where a second read would send the 100,000 ids back and look each up again.
    found = []
    t = F.__table__
    session.flush()
    cols = (
        Enterprise.id,
        Enterprise.uscc,
        Enterprise.name,
        Enterprise.township,
        t.c.id.label("filing_id"),
        *[t.c[f] for f in fields],
    )
    month = and_(t.c.enterprise_id == Enterprise.id, t.c.period == period)
    if ids:
        found += session.execute(
            select(*cols)
            .outerjoin(t, month)
            .where(bulk.among(session, Enterprise.id, list(ids), Integer), *conds)
        ).all()
    if usccs:
        with bulk.exact_lookup(session):  # by uq_enterprise_uscc, not the trigram index
            found += session.execute(
                select(*cols)
                .outerjoin(t, month)
                .where(bulk.among(session, Enterprise.uscc, list(usccs)), *conds)
            ).all()
    # plain named tuples from here on: a row's fields are read several times each, 100,000 rows over
    current = {e[0]: (e[4], tuple(e[5:])) for e in found if e[4] is not None}
    found = [_Firm(e[0], e[1], e[2], e[3]) for e in found]
    by_id = {e.id: e for e in found}
    by_uscc = {e.uscc: e for e in found}
    required = [f in REQUIRED_FIELDS for f in fields]
    n_required = sum(required)
    assert required == [True] * n_required + [False] * (len(fields) - n_required)  # the required come first
    errors: list[FieldError] = []
    resolved: list[tuple[Any, tuple]] = []
    seen: dict[int, int] = {}
    scope = "不属于本乡镇或" if actor.township_filter() else ""
    for (eid, uscc, values), code, n in zip(rows, codes, row_numbers, strict=True):
        if eid is not None:
            ent = by_id.get(eid)
        elif uscc:
            ent = by_uscc.get(code or "")
        else:
            errors.append(
                FieldError("enterprise", f"第 {n} 行，缺少企业（enterprise_id 或统一社会信用代码）", row=n)
            )
            continue
        if ent is None:
            who = f"企业 ID {eid}" if eid is not None else f"统一社会信用代码 {normalise(uscc or '')}"
            errors.append(FieldError("enterprise", f"第 {n} 行，{who}{scope}未登记", row=n))
            continue
        if ent.id in seen:
            errors.append(FieldError("enterprise", f"第 {n} 行，{ent.name}与第 {seen[ent.id]} 行重复", row=n))
            continue
        seen[ent.id] = n
        # a missing required figure or a negative one: named by value_errors (the usual row, every figure
        # present and none negative, passes two C-level checks)
        if None in values[:n_required] or (
            min(values) < 0 if None not in values else any(v < 0 for v in values if v is not None)
        ):
            errors.extend(
                value_errors(dict(zip(fields, values, strict=True)), label=f"第 {n} 行，{ent.name}，", row=n)
            )
            continue
        resolved.append((ent, values))
    if errors:
        raise ValidationFailed(
            errors,
            detail=f"填报有 {len(errors)} 处错误，全部未写入：" + "；".join(e.message for e in errors[:3]),
        )
    return _save_many(session, actor, period, resolved, current, deadline(session, period), today)


def _save_many(
    session: Session,
    actor: Principal,
    period: int,
    resolved: list,
    current: dict[int, tuple[int, tuple]],
    due: date,
    today: date,
) -> list[Saved]:
    """What `_save` does row by row, for a whole batch: `current` is the month's filings already saved
    (enterprise id → (filing id, figures in FILING_FIELDS order)); new rows by COPY, changed rows by one
    executemany UPDATE, audit entries by COPY (app/bulk.py) — in the caller's transaction."""
    fields = list(FILING_FIELDS)
    late = today > due
    now = utcnow()
    y, m = year_month(period)
    t = F.__table__
    note = f"{month_label(period)}月度填报"
    late_note = f"（截止日 {due.isoformat()} 之后{{}}，逾期）"
    server_audit = bulk.is_postgres(session)
    saved: list[Saved] = []
    new_rows, updates, entries, new_towns = [], [], [], []
    # Implausible figures from a file or the API are saved flagged, to be confirmed on the grid (`failing`:
    # only the firms that fail a check; the rows travel as tuples, a dictionary made only for an audit entry).
    failing = plausibility.failed_rows(
        session, period=period, ids=[ent.id for ent, _ in resolved], rows=[r for _, r in resolved]
    )
    flags: list[dict] = []
    for ent, r in resolved:
        row = current.get(ent.id)
        if row is None:
            new_rows.append((ent.id, y, m, period, *r, now, actor.name, late, now, actor.name, False, 1))
            new_towns.append(ent.township)
            if ent.id in failing:
                flags.append({"eid": ent.id, "checks": failing[ent.id]})
            if server_audit:
                saved.append(Saved(None, True, late))
                continue  # its audit entry is written below, by PostgreSQL from the row itself
            values = dict(zip(fields, r, strict=True))
            before: dict = {}
            action, created = "create", True
        else:
            if tuple(row[1]) == tuple(r):
                saved.append(Saved(None, False, False))  # nothing changed: no revision, no audit entry
                continue
            values = dict(zip(fields, r, strict=True))
            before = dict(zip(fields, row[1], strict=True))
            updates.append({"fid": row[0], **values})
            action, created = "update", False
        if not created:
            flags.append({"eid": ent.id, "checks": failing.get(ent.id) or None})
        changes = audit.diff(before, values)
        changes["late"] = late
        entries.append(
            {
                "action": action,
                "entity_type": "monthly_filing",
                "entity_id": f"{ent.id}:{month_text(period)}",
                "enterprise_id": ent.id,
                "township": ent.township,
                "changes": changes,
                "note": note + (late_note.format("填报" if created else "更正") if late else ""),
            }
        )
        saved.append(Saved(None, created, late))
    bulk.copy_rows(
        session,
        "monthly_filing",
        (
            "enterprise_id",
            "year",
            "month",
            "period",
            *fields,
            "filed_at",
            "filed_by",
            "filed_late",
            "updated_at",
            "updated_by",
            "corrected_late",
            "revisions",
        ),
        new_rows,
    )
    if updates:
        session.execute(
            t.update()
            .where(t.c.id == bindparam("fid"))
            .values(
                **{f: bindparam(f) for f in fields},
                updated_at=now,
                updated_by=actor.name,
                revisions=t.c.revisions + 1,
                **({"corrected_late": True} if late else {}),
            ),
            updates,
        )
        changed = {u["fid"] for u in updates}
        for obj in list(session.identity_map.values()):  # rows changed underneath a loaded filing
            if isinstance(obj, F) and obj.id in changed:
                session.expire(obj)
    if flags:
        session.execute(
            t.update()
            .where(t.c.enterprise_id == bindparam("eid"), t.c.period == period)
            .values(
                checks=bindparam("checks", type_=t.c.checks.type),
                checks_confirmed_at=None,
                checks_confirmed_by=None,
                checks_note=None,
            ),
            flags,
        )
        for obj in list(session.identity_map.values()):
            if isinstance(obj, F) and obj.period == period and obj.enterprise_id in {f["eid"] for f in flags}:
                session.expire(obj)
    bulk.audit_many(session, actor, entries, plain=True)
    if server_audit and new_rows:
        month = month_text(period)
        bulk.audit_created(
            session,
            actor,
            entity_type="monthly_filing",
            entity_ids=[f"{r[0]}:{month}" for r in new_rows],
            enterprise_ids=[r[0] for r in new_rows],
            townships=new_towns,
            fields={f: ("bigint", [r[4 + i] for r in new_rows]) for i, f in enumerate(fields)},
            extra={"late": late},
            note=note + (late_note.format("填报") if late else ""),
        )
    return saved


# --- reads ----------------------------------------------------------------------------------


def _scope(stmt, actor: Principal, township: str | None = None):
    stmt = stmt.where(visible_to(actor))
    if township:
        if township not in township_names():
            raise ValidationFailed.one("township", f"未知的乡镇代码“{township}”")
        stmt = stmt.where(Enterprise.township == township)
    return stmt


def _pct(cur, prev):
    """SQL: growth in % of cur over prev; NULL when prev is NULL or 0."""
    return (cast(cur, Float) - cast(prev, Float)) * literal(100.0) / func.nullif(cast(prev, Float), 0.0)


@dataclass
class GridRow:
    enterprise_id: int
    name: str
    uscc: str
    township: str
    filing: MonthlyFiling | None
    prev_rd: int | None
    rd_mom_pct: float | None
    rd_yoy_pct: float | None
    output_mom_pct: float | None
    output_yoy_pct: float | None


def _rows_stmt(period: int):
    """Enterprises with the month's filing (or none), last month's R&D, and growth computed in SQL."""
    c, p, y = aliased(F), aliased(F), aliased(F)
    stmt = (
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.uscc,
            Enterprise.township,
            c,
            p.rd_spend_yuan,
            _pct(c.rd_spend_yuan, p.rd_spend_yuan),
            _pct(c.rd_spend_yuan, y.rd_spend_yuan),
            _pct(c.output_value_yuan, p.output_value_yuan),
            _pct(c.output_value_yuan, y.output_value_yuan),
        )
        .outerjoin(c, and_(c.enterprise_id == Enterprise.id, c.period == period))
        .outerjoin(p, and_(p.enterprise_id == Enterprise.id, p.period == period - 1))
        .outerjoin(y, and_(y.enterprise_id == Enterprise.id, y.period == period - 12))
    )
    return stmt, c


GRID_STATUSES = {
    "missing": "未填报",
    "filed": "已填报",
    "late": "逾期填报或更正",
    "flagged": "数据异常待核实",
}


def _grid_status(stmt, c, status: str | None):
    if status is None:
        return stmt
    if status not in GRID_STATUSES:
        raise ValidationFailed.one("status", f"状态应为 {'、'.join(GRID_STATUSES.values())} 之一")
    return stmt.where(
        {
            "missing": c.id.is_(None),
            "filed": c.id.is_not(None),
            "late": or_(c.filed_late.is_(True), c.corrected_late.is_(True)),
            "flagged": and_(c.checks.is_not(None), c.checks_confirmed_at.is_(None)),
        }[status]
    )


def grid(
    session: Session,
    *,
    actor: Principal,
    period: int,
    township: str | None = None,
    only_missing: bool = False,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[GridRow], str | None]:
    """One row per enterprise of the township for the month, filed or not, with growth (SQL); keyset by name.
    `status` keeps only the rows not filed, filed, late, or flagged (implausible and not yet confirmed)."""
    actor.require("filings:read")
    if not 1 <= limit <= 1000:
        raise ValidationFailed.one("limit", "每页条数须在 1–1000 之间")
    stmt, c = _rows_stmt(period)
    stmt = _grid_status(_scope(stmt, actor, township), c, "missing" if only_missing else status)
    if cursor:
        name, last_id = decode_cursor(cursor, "name")
        stmt = stmt.where(tuple_(Enterprise.name, Enterprise.id) > tuple_(name, last_id))
    rows = session.execute(stmt.order_by(Enterprise.name, Enterprise.id).limit(limit + 1)).all()
    more = len(rows) > limit
    out = [GridRow(*r) for r in rows[:limit]]
    return out, (encode_cursor("name", out[-1].name, out[-1].enterprise_id) if more and out else None)


def grid_counts(session: Session, *, actor: Principal, period: int, township: str) -> dict[str, int]:
    """How many of the township's enterprises are in each grid status for the month (one query)."""
    actor.require("filings:read")
    c = aliased(F)
    stmt = (
        select(
            func.count(Enterprise.id),
            func.count(c.id),
            func.count(case((or_(c.filed_late.is_(True), c.corrected_late.is_(True)), 1))),
            func.count(case((and_(c.checks.is_not(None), c.checks_confirmed_at.is_(None)), 1))),
        )
        .select_from(Enterprise)
        .outerjoin(c, and_(c.enterprise_id == Enterprise.id, c.period == period))
    )
    row = session.execute(_scope(stmt, actor, township)).one()
    total, filed, late, flagged = row
    return {"all": total, "missing": total - filed, "filed": filed, "late": late, "flagged": flagged}


def grid_row(session: Session, *, actor: Principal, enterprise_id: int, period: int) -> GridRow:
    """One enterprise's grid row for the month (re-rendered after a save); 404 outside the actor's township."""
    actor.require("filings:read")
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    stmt, _ = _rows_stmt(period)
    return GridRow(*session.execute(stmt.where(Enterprise.id == ent.id)).one())


def enterprise_history(
    session: Session, *, actor: Principal, enterprise_id: int, limit: int = 36
) -> tuple[Enterprise, list[tuple]]:
    """An enterprise's filings, newest first, with month-on-month and year-on-year growth (SQL)."""
    actor.require("filings:read")
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    c, p, y = aliased(F), aliased(F), aliased(F)
    stmt = (
        select(
            c,
            _pct(c.rd_spend_yuan, p.rd_spend_yuan),
            _pct(c.rd_spend_yuan, y.rd_spend_yuan),
            _pct(c.output_value_yuan, p.output_value_yuan),
            _pct(c.output_value_yuan, y.output_value_yuan),
        )
        .outerjoin(p, and_(p.enterprise_id == c.enterprise_id, p.period == c.period - 1))
        .outerjoin(y, and_(y.enterprise_id == c.enterprise_id, y.period == c.period - 12))
        .where(c.enterprise_id == ent.id)
        .order_by(c.period.desc())
        .limit(limit)
    )
    return ent, [tuple(r) for r in session.execute(stmt)]


@dataclass
class FilingRow:
    filing: MonthlyFiling
    name: str
    uscc: str
    township: str
    rd_mom_pct: float | None
    rd_yoy_pct: float | None
    output_mom_pct: float | None
    output_yoy_pct: float | None


def list_filings(
    session: Session,
    *,
    actor: Principal,
    period: int,
    township: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[FilingRow], str | None, int]:
    """The month's filings (filed only), keyset by enterprise id, with growth (SQL); and how many there are."""
    actor.require("filings:read")
    if not 1 <= limit <= 1000:
        raise ValidationFailed.one("limit", "每页条数须在 1–1000 之间")
    c, p, y = aliased(F), aliased(F), aliased(F)
    stmt = (
        select(
            c,
            Enterprise.name,
            Enterprise.uscc,
            Enterprise.township,
            _pct(c.rd_spend_yuan, p.rd_spend_yuan),
            _pct(c.rd_spend_yuan, y.rd_spend_yuan),
            _pct(c.output_value_yuan, p.output_value_yuan),
            _pct(c.output_value_yuan, y.output_value_yuan),
        )
        .join(Enterprise, Enterprise.id == c.enterprise_id)
        .outerjoin(p, and_(p.enterprise_id == c.enterprise_id, p.period == period - 1))
        .outerjoin(y, and_(y.enterprise_id == c.enterprise_id, y.period == period - 12))
        .where(c.period == period)
    )
    stmt = _scope(stmt, actor, township)
    total = session.scalar(
        _scope(
            select(func.count(c.id))
            .join(Enterprise, Enterprise.id == c.enterprise_id)
            .where(c.period == period),
            actor,
            township,
        )
    )
    if cursor:
        _, last_id = decode_cursor(cursor, "enterprise_id")
        stmt = stmt.where(c.enterprise_id > last_id)
    rows = [FilingRow(*r) for r in session.execute(stmt.order_by(c.enterprise_id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return (
        rows,
        (encode_cursor("enterprise_id", None, rows[-1].filing.enterprise_id) if more and rows else None),
        int(total or 0),
    )


# --- growth by township -------------------------------------------------------------------------


@dataclass
class Growth:
    township: str | None  # None: the county
    filed: int
    rd: int  # the month's R&D spend of all filers
    rd_mom_cur: int  # … of the filers who also filed the previous month
    rd_prev: int
    rd_yoy_cur: int
    rd_ly: int
    output: int
    out_mom_cur: int
    out_prev: int
    out_yoy_cur: int
    out_ly: int
    rd_mom_pct: float | None
    rd_yoy_pct: float | None
    output_mom_pct: float | None
    output_yoy_pct: float | None

    @property
    def name(self) -> str:
        return township_names()[self.township] if self.township else "全县"


def _ratio(cur: int, prev: int) -> float | None:
    return (cur - prev) * 100.0 / prev if prev else None


def township_growth(
    session: Session, *, actor: Principal, period: int, township: str | None = None
) -> tuple[dict[str, Growth], Growth]:
    """The month's R&D spend and output growth per township in ONE query, like for like; and the county's.

    Month on month compares the enterprises that filed both this month and the previous one;
    year on year those that filed this month and the same month last year.
    """
    c, p, y = aliased(F), aliased(F), aliased(F)
    matched_p = case((p.id.is_not(None), c.rd_spend_yuan))
    matched_y = case((y.id.is_not(None), c.rd_spend_yuan))
    out_p = case((p.id.is_not(None), c.output_value_yuan))
    out_y = case((y.id.is_not(None), c.output_value_yuan))
    z = func.coalesce
    stmt = (
        select(
            Enterprise.township,
            func.count(c.id),
            z(func.sum(c.rd_spend_yuan), 0),
            z(func.sum(matched_p), 0),
            z(func.sum(p.rd_spend_yuan), 0),
            z(func.sum(matched_y), 0),
            z(func.sum(y.rd_spend_yuan), 0),
            z(func.sum(c.output_value_yuan), 0),
            z(func.sum(out_p), 0),
            z(func.sum(p.output_value_yuan), 0),
            z(func.sum(out_y), 0),
            z(func.sum(y.output_value_yuan), 0),
            _pct(func.sum(matched_p), func.sum(p.rd_spend_yuan)),
            _pct(func.sum(matched_y), func.sum(y.rd_spend_yuan)),
            _pct(func.sum(out_p), func.sum(p.output_value_yuan)),
            _pct(func.sum(out_y), func.sum(y.output_value_yuan)),
        )
        .select_from(c)
        .join(Enterprise, Enterprise.id == c.enterprise_id)
        .outerjoin(p, and_(p.enterprise_id == c.enterprise_id, p.period == period - 1))
        .outerjoin(y, and_(y.enterprise_id == c.enterprise_id, y.period == period - 12))
        .where(c.period == period)
        .group_by(Enterprise.township)
    )
    rows = {
        r[0]: Growth(r[0], *(int(v) for v in r[1:12]), *r[12:])
        for r in session.execute(_scope(stmt, actor, township))
    }
    sums = [
        sum(getattr(g, f) for g in rows.values())
        for f in (
            "filed",
            "rd",
            "rd_mom_cur",
            "rd_prev",
            "rd_yoy_cur",
            "rd_ly",
            "output",
            "out_mom_cur",
            "out_prev",
            "out_yoy_cur",
            "out_ly",
        )
    ]
    county = Growth(
        None,
        *sums,
        _ratio(sums[2], sums[3]),
        _ratio(sums[4], sums[5]),
        _ratio(sums[7], sums[8]),
        _ratio(sums[9], sums[10]),
    )
    return rows, county


def rd_targets(session: Session, year: int) -> tuple[float | None, dict[str, float], str]:
    """The R&D growth rate target (%) of the year's table: the county's, each township's, and the reading the
    indicator is judged by (year_on_year or month_on_month, the indicator's setting)."""
    ind = session.scalar(
        select(TargetIndicator)
        .join(TargetSet, TargetSet.id == TargetIndicator.set_id)
        .where(TargetSet.kind == "annual", TargetSet.year == year, TargetIndicator.kind == "rate")
        .limit(1)
    )
    if ind is None:
        return None, {}, DEFAULT_RD_READING
    figs = session.execute(
        select(TargetFigure.township, TargetFigure.value).where(TargetFigure.indicator_id == ind.id)
    )
    return float(ind.total), {t: float(v) for t, v in figs}, rd_reading(ind.measure)


@dataclass
class GrowthReport:
    period: int
    townships: list[Growth]  # in the attachment's order
    county: Growth | None  # None for township staff, or when one township was asked for
    target: float | None  # the county's R&D growth target (%) of the year's table
    targets: dict[str, float]  # each township's
    reading: str = DEFAULT_RD_READING  # the indicator's reading: year_on_year (同比) or month_on_month (环比)

    def target_for(self, township: str | None) -> float | None:
        return self.targets.get(township, self.target) if township else self.target

    def rate_judged(self, g: "Growth | None") -> float | None:
        """The R&D growth rate the target is judged by, in the indicator's reading."""
        if g is None:
            return None
        return g.rd_yoy_pct if self.reading == "year_on_year" else g.rd_mom_pct

    def met(self, g: "Growth | None", target: float | None) -> bool | None:
        rate = self.rate_judged(g)
        return None if target is None or rate is None else float(rate) >= target


def growth_report(
    session: Session, *, actor: Principal, period: int, township: str | None = None
) -> GrowthReport:
    """The month's growth by township and county, with the year's R&D growth targets to check them against."""
    actor.require("filings:read")
    by_town, county = township_growth(session, actor=actor, period=period, township=township)
    target, targets, reading = rd_targets(session, year_month(period)[0])
    order = township_order()
    rows = sorted(by_town.values(), key=lambda g: order[g.township])
    return GrowthReport(
        period, rows, county if actor.is_county and not township else None, target, targets, reading
    )


@dataclass
class TrendPoint:
    period: int
    filed: int
    rd: int
    rd_mom_pct: float | None
    rd_yoy_pct: float | None
    output_mom_pct: float | None

    @property
    def month(self) -> str:
        return month_text(self.period)


def trend(
    session: Session,
    *,
    actor: Principal,
    end_period: int,
    months: int = 12,
    township: str | None = None,
    yoy: bool = True,
) -> list[TrendPoint]:
    """Monthly growth of R&D spend (and output) over the `months` months ending at `end_period`: one query.

    `yoy=False` leaves out the year-on-year comparison (one self-join fewer) where a chart shows none.
    """
    actor.require("filings:read")
    c, p, y = aliased(F), aliased(F), aliased(F)
    start = end_period - months + 1
    matched_p = case((p.id.is_not(None), c.rd_spend_yuan))
    out_p = case((p.id.is_not(None), c.output_value_yuan))
    if yoy:
        rd_yoy = _pct(func.sum(case((y.id.is_not(None), c.rd_spend_yuan))), func.sum(y.rd_spend_yuan))
    else:
        rd_yoy = cast(null(), Float)
    stmt = (
        select(
            c.period,
            func.count(c.id),
            func.coalesce(func.sum(c.rd_spend_yuan), 0),
            _pct(func.sum(matched_p), func.sum(p.rd_spend_yuan)),
            rd_yoy,
            _pct(func.sum(out_p), func.sum(p.output_value_yuan)),
        )
        .select_from(c)
        .outerjoin(
            p, and_(p.enterprise_id == c.enterprise_id, p.period == c.period - 1, p.period >= start - 1)
        )
        .where(c.period.between(start, end_period))
        .group_by(c.period)
    )
    if yoy:
        stmt = stmt.outerjoin(
            y, and_(y.enterprise_id == c.enterprise_id, y.period == c.period - 12, y.period >= start - 12)
        )
    if township or actor.township_filter():
        stmt = _scope(stmt.join(Enterprise, Enterprise.id == c.enterprise_id), actor, township)
    else:  # the county: only deregistered firms are left out, without joining the whole registry
        stmt = stmt.where(
            ~exists().where(Enterprise.id == c.enterprise_id, Enterprise.deleted_at.is_not(None))
        )
    got = {r[0]: TrendPoint(r[0], int(r[1]), int(r[2]), *r[3:]) for r in session.execute(stmt)}
    return [got.get(pp) or TrendPoint(pp, 0, 0, None, None, None) for pp in range(start, end_period + 1)]


# --- who has not filed ----------------------------------------------------------------------------


@dataclass
class TownshipStatus:
    township: str
    enterprises: int
    filed: int
    filed_late: int

    @property
    def missing(self) -> int:
        return self.enterprises - self.filed

    @property
    def name(self) -> str:
        return township_names()[self.township]


@dataclass
class Overdue:
    period: int
    deadline: date
    as_of: date
    townships: list[TownshipStatus]
    missing: list[Enterprise]
    missing_total: int

    @property
    def overdue(self) -> bool:
        return self.as_of > self.deadline


def overdue(
    session: Session,
    *,
    actor: Principal,
    period: int,
    as_of: date,
    township: str | None = None,
    limit: int = 200,
) -> Overdue:
    """Who has not filed `period`: per township (one query) and the enterprises (first `limit`, by township and name).

    They are overdue once `as_of` is after the deadline (the 19th for a deadline on the 18th).
    """
    actor.require("filings:read")
    c = aliased(F)
    joined = and_(c.enterprise_id == Enterprise.id, c.period == period)
    stmt = (
        select(
            Enterprise.township,
            func.count(Enterprise.id),
            func.count(c.id),
            func.coalesce(func.sum(case((c.filed_late.is_(True), 1), else_=0)), 0),
        )
        .outerjoin(c, joined)
        .group_by(Enterprise.township)
    )
    rows = {
        t: TownshipStatus(t, int(n), int(f), int(late))
        for t, n, f, late in session.execute(_scope(stmt, actor, township))
    }
    order = township_order()
    towns = sorted(rows.values(), key=lambda r: order[r.township])
    missing_stmt = _scope(select(Enterprise).outerjoin(c, joined).where(c.id.is_(None)), actor, township)
    whens = {code: i for code, i in order.items()}
    missing = list(
        session.scalars(
            missing_stmt.order_by(
                case(whens, value=Enterprise.township), Enterprise.name, Enterprise.id
            ).limit(limit)
        )
    )
    return Overdue(period, deadline(session, period), as_of, towns, missing, sum(t.missing for t in towns))


def flagged_counts(session: Session, *, actor: Principal, period: int) -> dict[str, int]:
    """Per township, the month's filings with implausible figures nobody has confirmed yet (flagged in reports)."""
    actor.require("filings:read")
    stmt = (
        select(Enterprise.township, func.count())
        .select_from(F)
        .join(Enterprise, Enterprise.id == F.enterprise_id)
        .where(F.period == period, F.checks.is_not(None), F.checks_confirmed_at.is_(None))
        .group_by(Enterprise.township)
    )
    return dict(session.execute(_scope(stmt, actor)).all())
