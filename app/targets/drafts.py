"""Next year's target table as a draft: copy last year's, edit it row by row, publish it.

    copy_as_draft(session, actor=, source_key=, year=, document=, title=)  # deadlines move with the year
    update_header / update_indicator / add_indicator / remove_indicator       # drafts only
    known_measures(session, target_set)                                      # what a row may be measured by
    publish(session, actor=, key=)                                           # draft → published, once
    discard(session, actor=, key=)

A row is checked as a whole on every edit (the same checks as an uploaded table: township
figures summing to 总数, parts summing to 总数, a measure the system knows or "not measured"
with its reason); an error names the row and field in Chinese and writes nothing. A draft is
shown on its own page and by the API, never as the dashboard's default table, and is published
by one county administrator: two publishing at once leave one published table and a 409.
"""

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.reference.targets import (
    TargetTableInvalid,
    check_rows,
    load_goals,
    load_targets_2023,
    shift_deadline_text,
)
from app.targets import progress
from app.targets.models import TargetFigure, TargetIndicator, TargetSet
from app.targets.service import as_target, new_indicator

NOT_MEASURED = "not_available"


def _require_admin(actor: Principal) -> None:
    actor.require("targets:write")
    if not actor.is_county:
        raise Forbidden("目标表由县级制定")


def _load(session: Session, key: str, *, lock: bool = False) -> TargetSet:
    q = select(TargetSet).where(TargetSet.key == key)
    if lock:
        # serialise writers of one table: the second publisher waits here, then finds it published
        q = q.with_for_update()
    ts = session.scalar(q.options(selectinload(TargetSet.indicators).selectinload(TargetIndicator.figures)))
    if ts is None:
        raise NotFound(f"没有“{key}”的目标表")
    return ts


def _draft(session: Session, key: str) -> TargetSet:
    ts = _load(session, key, lock=True)
    if ts.status != "draft":
        raise Conflict(
            f"{key} 年目标表已发布，不能再修改",
            errors=[FieldError("status", "目标表已发布，只有草稿可以修改")],
            code="target_table_published",
        )
    return ts


def _shift(d: date | None, years: int) -> date | None:
    if d is None:
        return None
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


# --- copy ---------------------------------------------------------------------------------------


def copy_as_draft(
    session: Session,
    *,
    actor: Principal,
    source_key: str,
    year: int,
    document: str,
    title: str | None = None,
    issued_date: date | None = None,
    source: str = "form",
) -> TargetSet:
    """复制上年目标表为下年草稿: every row, figure, measure and split of `source_key`, deadlines moved to `year`."""
    _require_admin(actor)
    errors: list[FieldError] = []
    if not 2000 <= year <= 2100:
        errors.append(FieldError("year", f"年度 {year} 无效"))
    if not document.strip():
        errors.append(FieldError("document", "请填写文号"))
    if errors:
        raise ValidationFailed(errors)
    src = _load(session, source_key)
    if src.kind != "annual" or src.year is None:
        raise ValidationFailed.one("source", f"{source_key} 不是年度目标表，不能复制为年度草稿")
    key = str(year)
    if session.scalar(select(TargetSet.id).where(TargetSet.key == key)) is not None:
        raise Conflict(
            f"已有 {year} 年目标表",
            errors=[FieldError("year", f"已有 {year} 年目标表（或其草稿）")],
            code="target_table_exists",
        )
    years = year - src.year
    ts = TargetSet(
        key=key,
        kind="annual",
        year=year,
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        document=document.strip(),
        title=(title or f"{year}年冠县优质企业培育计划").strip(),
        issued_date=issued_date,
        source=source,
        status="draft",
        copied_from=src.key,
        created_by=actor.name,
    )
    for i in src.indicators:
        new = TargetIndicator(
            no=i.no,
            code=i.code,
            name=i.name,
            clause=i.clause,
            text=i.text,
            unit=i.unit,
            kind=i.kind,
            county_only=i.county_only,
            at_least=i.at_least,
            approx=i.approx,
            total=i.total,
            deadline=_shift(i.deadline, years),
            deadline_text=shift_deadline_text(i.deadline_text, years),
            filing_day=i.filing_day,
            measure=dict(i.measure),
            parts=[dict(p) for p in i.parts] if i.parts else None,
            responsible=i.responsible,
        )
        new.figures = [TargetFigure(township=f.township, value=f.value) for f in i.figures]
        ts.indicators.append(new)
    session.add(ts)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create_draft",
        entity_type="target_set",
        entity_id=key,
        changes={"copied_from": [None, src.key], "status": [None, "draft"]},
        note=f"复制 {src.key} 年目标表为 {year} 年草稿（{len(ts.indicators)} 项指标）",
    )
    return ts


def update_header(
    session: Session, *, actor: Principal, key: str, document: str, title: str, issued_date: date | None
) -> TargetSet:
    _require_admin(actor)
    errors = [
        FieldError(f, f"请填写{label}")
        for f, label, v in (("document", "文号", document), ("title", "标题", title))
        if not v.strip()
    ]
    if errors:
        raise ValidationFailed(errors)
    ts = _draft(session, key)
    before = audit.snapshot(ts, ["document", "title", "issued_date"])
    ts.document, ts.title, ts.issued_date = document.strip(), title.strip(), issued_date
    session.flush()
    changes = audit.diff(before, audit.snapshot(ts, ["document", "title", "issued_date"]))
    if changes:
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="target_set",
            entity_id=key,
            changes=changes,
            note=f"修改 {key} 年目标表草稿的文号、标题或印发日期",
        )
    return ts


# --- rows ---------------------------------------------------------------------------------------


def _measure_from(changes: dict[str, Any]) -> dict | None:
    """The measure the edit asks for: `not_measured_reason` makes the row "not measured" with its reason."""
    reason = changes.pop("not_measured_reason", None)
    if reason is not None:
        if not str(reason).strip():
            raise ValidationFailed.one("not_measured_reason", "选择“不统计”时须写明原因")
        return {"kind": NOT_MEASURED, "reason": str(reason).strip()}
    m = changes.get("measure")
    if isinstance(m, str):
        try:
            m = json.loads(m)
        except ValueError:
            raise ValidationFailed.one("measure", "统计口径无法识别") from None
    return m


def _checked(ts: TargetSet, row: dict[str, Any]) -> Any:
    """The row validated as a Target, or ValidationFailed naming its fields (nothing written)."""
    targets, errors = check_rows([row], first_row=int(row.get("no") or 1))
    if not errors:
        t = targets[0]
        for m in [t.measure, *(p.measure for p in t.parts or [])]:
            if getattr(m, "kind", None) == "honour_count" and m.dated_in != "year":
                errors.append(
                    FieldError(
                        "measure",
                        f"第 {t.no} 行（{t.name}），统计口径：年度指标的认定计数应按本年度统计",
                        row=t.no,
                    )
                )
        if t.deadline is not None and not (ts.period_start.year <= t.deadline.year <= ts.period_end.year + 1):
            errors.append(
                FieldError(
                    "deadline",
                    f"第 {t.no} 行（{t.name}），完成时限 {t.deadline.isoformat()} 不在 {ts.key} 年度内",
                    row=t.no,
                )
            )
    if errors:
        raise TargetTableInvalid(errors)
    return targets[0]


def _row_of(ind: TargetIndicator) -> dict[str, Any]:
    return as_target(ind).model_dump(exclude_none=True)


_EDITABLE = {
    "name",
    "unit",
    "clause",
    "total",
    "townships",
    "county_only",
    "at_least",
    "deadline",
    "deadline_text",
    "filing_day",
    "measure",
    "parts",
}


def _apply(row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for k, v in changes.items():
        if k not in _EDITABLE:
            raise ValidationFailed.one(k, f"不能修改字段“{k}”")
        if k == "parts" and v is not None and out.get("parts"):
            # {code: total} or [{code, total}] edits the split's figures; the parts keep their measures
            totals = v if isinstance(v, dict) else {p["code"]: p.get("total") for p in v}
            out["parts"] = [{**p, "total": totals.get(p["code"], p["total"])} for p in out["parts"]]
            continue
        out[k] = v
    if out.get("county_only"):
        out.pop("townships", None)
    if "deadline_text" in changes and "deadline" not in changes:
        out.pop("deadline", None)  # read again from the text
    return out


def update_indicator(
    session: Session, *, actor: Principal, key: str, code: str, changes: dict[str, Any]
) -> TargetIndicator:
    """Change one row of a draft: its figures, deadline, split, or measure (a known one, or not measured with a reason)."""
    _require_admin(actor)
    changes = dict(changes)
    measure = _measure_from(changes)
    changes.pop("not_measured_reason", None)
    if measure is not None:
        changes["measure"] = measure
    ts = _draft(session, key)
    ind = next((i for i in ts.indicators if i.code == code), None)
    if ind is None:
        raise NotFound(f"{key} 年目标表草稿中没有指标“{code}”")
    before = _row_of(ind)
    t = _checked(ts, _apply(before, changes))
    new = new_indicator(t)
    new.text, new.approx = ind.text, ind.approx
    ts.indicators.remove(ind)
    session.flush()
    ts.indicators.append(new)
    session.flush()
    after = t.model_dump(mode="json", exclude_none=True)
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="target_indicator",
        entity_id=new.id,
        changes={
            k: [_plain(before.get(k)), after.get(k)]
            for k in set(before) | set(after)
            if _plain(before.get(k)) != after.get(k)
        },
        note=f"修改 {key} 年目标表草稿“{t.name}”",
    )
    return new


def _plain(v):
    return json.loads(json.dumps(v, default=str)) if v is not None else None


def add_indicator(session: Session, *, actor: Principal, key: str, row: dict[str, Any]) -> TargetIndicator:
    """A new row of a draft: its own code and name, and a measure the system knows (or not measured, with a reason)."""
    _require_admin(actor)
    row = dict(row)
    measure = _measure_from(row)
    row.pop("not_measured_reason", None)
    if measure is None:
        raise ValidationFailed.one("measure", "请选择统计口径，或选择“不统计”并写明原因")
    row["measure"] = measure
    ts = _draft(session, key)
    code = str(row.get("code") or "")
    if any(i.code == code for i in ts.indicators):
        raise ValidationFailed.one("code", f"指标代码“{code}”已在本表中")
    row["no"] = max((i.no for i in ts.indicators), default=0) + 1
    if row.get("county_only"):
        row.pop("townships", None)
    t = _checked(ts, row)
    ind = new_indicator(t)
    ts.indicators.append(ind)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="target_indicator",
        entity_id=ind.id,
        changes={"code": [None, t.code], "total": [None, t.total]},
        note=f"{key} 年目标表草稿新增指标“{t.name}”",
    )
    return ind


def remove_indicator(session: Session, *, actor: Principal, key: str, code: str) -> None:
    _require_admin(actor)
    ts = _draft(session, key)
    ind = next((i for i in ts.indicators if i.code == code), None)
    if ind is None:
        raise NotFound(f"{key} 年目标表草稿中没有指标“{code}”")
    if len(ts.indicators) == 1:
        raise ValidationFailed.one("code", "目标表至少要有一行指标")
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity_type="target_indicator",
        entity_id=ind.id,
        changes={"code": [code, None]},
        note=f"{key} 年目标表草稿删除指标“{ind.name}”",
    )
    ts.indicators.remove(ind)
    session.flush()


# --- measures a row may use ---------------------------------------------------------------------


def known_measures(session: Session, target_set: TargetSet) -> list[tuple[str, str]]:
    """(measure as JSON, its Chinese sentence) for every measure the system computes that a table uses:
    the 2023 attachment's, the three-year goals', and every table's in the database."""
    seen: dict[str, str] = {}

    def add(m: dict) -> None:
        if m.get("kind") == NOT_MEASURED:
            return
        k = json.dumps(m, ensure_ascii=False, sort_keys=True)
        if k not in seen:
            seen[k] = progress.describe_measure(m, target_set, None)

    for t in load_targets_2023().indicators:
        add(t.measure.model_dump(exclude_none=True))
        for p in t.parts or []:
            add(p.measure.model_dump(exclude_none=True))
    for m in session.scalars(select(TargetIndicator.measure)):
        add(m)
    for g in load_goals().goals:
        m = g.measure.model_dump(exclude_none=True)
        if m.get("dated_in") == "period":
            m = {**m, "dated_in": "year"}
        add(m)
    return sorted(seen.items(), key=lambda kv: (json.loads(kv[0])["kind"], kv[1]))


def measure_key(m: dict) -> str:
    return json.dumps(m, ensure_ascii=False, sort_keys=True)


# --- publish ------------------------------------------------------------------------------------


def publish(session: Session, *, actor: Principal, key: str) -> TargetSet:
    """The draft becomes the year's table. 409 when it is already published (by someone else, at the same time)."""
    _require_admin(actor)
    ts = _load(session, key, lock=True)
    if ts.status != "draft":
        raise Conflict(
            f"{key} 年目标表已发布（可能已被他人发布）",
            errors=[FieldError("status", "没有待发布的草稿")],
            code="target_table_published",
        )
    errors: list[FieldError] = []
    if not ts.indicators:
        errors.append(FieldError("indicators", "目标表至少要有一行指标"))
    for ind in ts.indicators:
        try:
            _checked(ts, _row_of(ind))
        except (ValidationFailed, ValueError) as e:
            errors += getattr(e, "errors", None) or [FieldError(ind.code, str(e))]
    if errors:
        raise Conflict(
            "不能发布：" + "；".join(e.message for e in errors[:5]), errors=errors, code="publish_refused"
        )
    ts.status, ts.published_by, ts.published_at = "published", actor.name, utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="publish",
        entity_type="target_set",
        entity_id=key,
        changes={"status": ["draft", "published"]},
        note=f"发布 {key} 年目标表（{ts.document}，{len(ts.indicators)} 项指标）",
    )
    return ts


def discard(session: Session, *, actor: Principal, key: str) -> None:
    _require_admin(actor)
    ts = _draft(session, key)
    audit.record(
        session,
        actor=actor,
        action="discard_draft",
        entity_type="target_set",
        entity_id=key,
        changes={"status": ["draft", None]},
        note=f"删除 {key} 年目标表草稿",
    )
    session.delete(ts)
    session.flush()
