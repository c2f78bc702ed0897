"""The registers: training participants, 数字化测评 and projects — entry, lists, .xlsx import (all-or-nothing,
every error naming its cell) and export. Township staff enter and see only their township's enterprises;
every write is audited with the enterprise, so the change feed carries it.

The three registers share one shape: a `Register` names its model, its audit entity and its columns
(header, field, parser), and the same parser checks a form, an API body and a sheet row.
"""

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.db import utcnow
from app.enterprises.models import Enterprise
from app.enterprises.uscc import normalise
from app.errors import FieldError, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.reference import township_names
from app.registers.labels import COURSE_NAMES, LEVEL_NAMES, PROJECT_KIND_NAMES, STAGE_NAMES
from app.registers.models import DigitalAssessment, Project, TrainingRecord
from app.xlsx import XLSX as XLSX
from app.xlsx import notes, read_rows, workbook


class Bad(ValueError):
    """A value a parser refuses; the message is Chinese and says what is expected."""


# --- parsers: raw (form text, JSON value or sheet cell) → value ---------------------------------


def _text(n: int, required: bool = True) -> Callable[[Any], str | None]:
    def parse(v):
        s = "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip()
        if not s:
            if required:
                raise Bad("必填")
            return None
        if s.startswith(("=", "+", "@")) and len(s) > 1 and not s[1:].replace(".", "").isdigit():
            raise Bad("不接受公式")
        if len(s) > n:
            raise Bad(f"不超过 {n} 字")
        return s

    return parse


def _date(required: bool = True) -> Callable[[Any], date | None]:
    def parse(v):
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                raise Bad("必填")
            return None
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
        m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", str(v).strip())
        if not m:
            raise Bad(f"“{v}”不是日期，请填写如 2023-06-30")
        try:
            d = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise Bad(f"“{v}”不是有效日期") from None
        if not 2000 <= d.year <= 2100:
            raise Bad(f"“{v}”年份不合理")
        return d

    return parse


def _choice(names: dict, what: str) -> Callable[[Any], Any]:
    lookup = {str(k): k for k in names} | {v: k for k, v in names.items()}

    def parse(v):
        s = "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip()
        if s in lookup:
            return lookup[s]
        raise Bad(
            f"“{s}”不是有效的{what}，应为：{'、'.join(str(x) for x in names.values())}" if s else "必填"
        )

    return parse


def _int(lo: int, hi: int, required: bool = True) -> Callable[[Any], int | None]:
    def parse(v):
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                raise Bad("必填")
            return None
        if isinstance(v, bool):
            raise Bad(f"“{v}”不是整数")
        if isinstance(v, float):
            if not v.is_integer():
                raise Bad(f"“{v}”不是整数")
            v = int(v)
        if isinstance(v, str):
            try:
                v = int(v.strip().replace(",", ""))
            except ValueError:
                raise Bad(f"“{v}”不是整数") from None
        if not lo <= v <= hi:
            raise Bad(f"{v} 超出范围 {lo}–{hi:,}")
        return v

    return parse


def _uscc(v):
    s = normalise(str(v or ""))
    if not s:
        raise Bad("必填")
    return s


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    parse: Callable[[Any], Any]


@dataclass(frozen=True)
class Register:
    code: str  # training | assessments | projects
    name: str
    model: type
    entity: str  # audit entity type
    date_field: str
    columns: tuple[Column, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.columns if c.field != "uscc")


USCC = Column("统一社会信用代码", "uscc", _uscc)
REGISTERS = {
    "training": Register(
        "training",
        "培训登记",
        TrainingRecord,
        "training_record",
        "training_date",
        (
            USCC,
            Column("培训类别", "course_kind", _choice(COURSE_NAMES, "培训类别")),
            Column("课程名称", "course_name", _text(200)),
            Column("学员姓名", "participant", _text(50)),
            Column("职务", "position", _text(50, required=False)),
            Column("培训日期", "training_date", _date()),
        ),
    ),
    "assessments": Register(
        "assessments",
        "数字化测评",
        DigitalAssessment,
        "digital_assessment",
        "assessment_date",
        (
            USCC,
            Column("测评日期", "assessment_date", _date()),
            Column("测评等级", "level", _choice(LEVEL_NAMES, "测评等级")),
            Column("测评得分", "score", _int(0, 100, required=False)),
            Column("测评机构", "assessor", _text(100, required=False)),
        ),
    ),
    "projects": Register(
        "projects",
        "项目库",
        Project,
        "enterprise_project",
        "start_date",
        (
            USCC,
            Column("项目名称", "name", _text(200)),
            Column("项目类型", "kind", _choice(PROJECT_KIND_NAMES, "项目类型")),
            Column("建设阶段", "stage", _choice(STAGE_NAMES, "建设阶段")),
            Column("计划总投资（元）", "investment_yuan", _int(0, 10**13)),
            Column("开工日期", "start_date", _date()),
            Column("竣工日期", "completion_date", _date(required=False)),
        ),
    ),
}


def get_register(code: str) -> Register:
    if code not in REGISTERS:
        raise NotFound(f"未知的登记簿“{code}”")
    return REGISTERS[code]


def _required(c: Column) -> bool:
    try:
        c.parse(None)
    except Bad:
        return True
    return False


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _check_row(
    reg: Register, values: dict, today: date, where: Callable[[Column], tuple[str, str]]
) -> tuple[dict, list[FieldError]]:
    """Parse one row; `where(column)` gives (field path, place) for messages, e.g. ("rows.3.uscc", "第 3 行“…”（A3）")."""
    out, errors = {}, []
    for col in reg.columns:
        try:
            out[col.field] = col.parse(values.get(col.field))
        except Bad as e:
            field, place = where(col)
            errors.append(FieldError(field, f"{place}：{e}"))
    d = out.get(reg.date_field)
    if isinstance(d, date) and d > today and reg.code != "projects":
        field, place = where(next(c for c in reg.columns if c.field == reg.date_field))
        errors.append(FieldError(field, f"{place}：{d} 晚于今天"))
    if (
        reg.code == "projects"
        and out.get("completion_date")
        and out.get("start_date")
        and out["completion_date"] < out["start_date"]
    ):
        field, place = where(next(c for c in reg.columns if c.field == "completion_date"))
        errors.append(FieldError(field, f"{place}：竣工日期早于开工日期"))
    if (
        reg.code == "projects"
        and out.get("stage") == "completed"
        and out.get("start_date")
        and not out.get("completion_date")
    ):
        field, place = where(next(c for c in reg.columns if c.field == "completion_date"))
        errors.append(FieldError(field, f"{place}：已竣工的项目须填写竣工日期"))
    return out, errors


def _enterprises(session: Session, actor: Principal, usccs: set[str]) -> dict[str, Enterprise]:
    if not usccs:
        return {}
    stmt = select(Enterprise).where(Enterprise.uscc.in_(usccs), Enterprise.deleted_at.is_(None))
    if actor.township_filter():
        stmt = stmt.where(Enterprise.township == actor.township_filter())
    return {e.uscc: e for e in session.scalars(stmt)}


def _write(
    session: Session, actor: Principal, reg: Register, rows: list[tuple[Enterprise, dict]], note: str | None
) -> list[int]:
    """Insert the rows and one audit entry each (with the enterprise, for the change feed)."""
    now = utcnow()
    data = [
        {**{f: r[f] for f in reg.fields}, "enterprise_id": e.id, "created_by": actor.name, "created_at": now}
        | ({"updated_at": now} if reg.model is Project else {})
        for e, r in rows
    ]
    ids = list(session.scalars(insert(reg.model).returning(reg.model.id, sort_by_parameter_order=True), data))
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": now,
                "actor_kind": actor.kind,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": "import" if note else "create",
                "entity_type": reg.entity,
                "entity_id": str(i),
                "enterprise_id": e.id,
                "township": e.township,
                "changes": {k: [None, audit.plain(v)] for k, v in r.items() if v is not None and k != "uscc"},
                "note": note,
            }
            for i, (e, r) in zip(ids, rows, strict=True)
        ],
    )
    session.flush()
    return ids


def create(session: Session, *, actor: Principal, register: str, values: dict, today: date | None = None):
    """One record from a form or an API body (the enterprise by `uscc`, or `enterprise_id`)."""
    actor.require("registers:write")
    reg = get_register(register)
    today = today or date.today()
    labels = {c.field: c.header for c in reg.columns}
    values = dict(values)
    if values.get("enterprise_id") and not values.get("uscc"):
        eid = values["enterprise_id"]
        ent = session.get(Enterprise, eid) if isinstance(eid, int) and 0 < eid < 2**31 else None
        if ent is None or ent.deleted_at is not None or not actor.sees_township(ent.township):
            raise NotFound("未找到该企业")
        values["uscc"] = ent.uscc
    out, errors = _check_row(reg, values, today, lambda c: (c.field, labels[c.field]))
    if errors:
        raise ValidationFailed(errors)
    ent = _enterprises(session, actor, {out["uscc"]}).get(out["uscc"])
    if ent is None:
        raise NotFound(
            f"未找到统一社会信用代码为 {out['uscc']} 的企业"
            + ("（或不属于本乡镇）" if actor.township_filter() else "")
        )
    rid = _write(session, actor, reg, [(ent, out)], None)[0]
    return session.get(reg.model, rid)


@dataclass
class ImportResult:
    register: str
    created: int


def import_xlsx(
    session: Session, *, actor: Principal, register: str, data: bytes, today: date | None = None
) -> ImportResult:
    """All-or-nothing: every cell is checked first; any error (naming its row, column and cell) writes nothing."""
    actor.require("registers:write")
    reg = get_register(register)
    today = today or date.today()
    rows = read_rows(data)  # the project's safe reader: size, zip-bomb and formula checks first
    if not rows:
        raise ValidationFailed.one("file", "文件没有内容")
    header = [str(c).strip() if c is not None else "" for c in rows[0]]
    index = {c.field: header.index(c.header) for c in reg.columns if c.header in header}
    missing = [c.header for c in reg.columns if c.field not in index and _required(c)]
    if missing:
        raise ValidationFailed.one("file", f"缺少列：{'、'.join(missing)}（请使用下载的{reg.name}模板）")
    errors: list[FieldError] = []
    parsed: list[tuple[int, dict]] = []
    for n, r in enumerate(rows[1:], start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in r):
            continue
        values = {
            f: (r[j] if j < len(r) else None) for f, j in index.items()
        }  # optional columns may be absent

        def where(c: Column, n=n) -> tuple[str, str]:
            return f"rows.{n}.{c.field}", f"第 {n} 行“{c.header}”（{_col_letter(index[c.field])}{n}）"

        out, errs = _check_row(reg, values, today, where)
        errors += errs
        for e in errs:
            e.row = n
        if not errs:
            parsed.append((n, out))
    found = _enterprises(session, actor, {o["uscc"] for _, o in parsed})
    col = _col_letter(index["uscc"])
    for n, o in parsed:
        if o["uscc"] not in found:
            why = "未登记或不属于本乡镇" if actor.township_filter() else "未在企业名录中登记"
            errors.append(
                FieldError(
                    f"rows.{n}.uscc", f"第 {n} 行“统一社会信用代码”（{col}{n}）：{o['uscc']} {why}", row=n
                )
            )
    if errors:
        errors.sort(key=lambda e: e.row or 0)
        raise ValidationFailed(
            errors,
            detail=f"文件有 {len(errors)} 处错误，全部未写入：" + "；".join(e.message for e in errors[:3]),
        )
    if not parsed:
        raise ValidationFailed.one("file", "文件中没有数据行")
    _write(
        session, actor, reg, [(found[o["uscc"]], o) for _, o in parsed], f"{reg.name}导入 {len(parsed)} 条"
    )
    return ImportResult(reg.code, len(parsed))


# --- reads ------------------------------------------------------------------------------------


@dataclass
class Row:
    record: Any
    enterprise_name: str
    uscc: str
    township: str


def _scoped(reg: Register, actor: Principal, township: str | None, start: date | None, end: date | None):
    m = reg.model
    stmt = (
        select(m, Enterprise.name, Enterprise.uscc, Enterprise.township)
        .join(Enterprise, Enterprise.id == m.enterprise_id)
        .where(Enterprise.deleted_at.is_(None))
    )
    if actor.township_filter():
        stmt = stmt.where(Enterprise.township == actor.township_filter())
    if township:
        stmt = stmt.where(Enterprise.township == township)
    d = getattr(m, reg.date_field)
    if start:
        stmt = stmt.where(d >= start)
    if end:
        stmt = stmt.where(d <= end)
    return stmt


def list_records(
    session: Session,
    *,
    actor: Principal,
    register: str,
    township: str | None = None,
    start: date | None = None,
    end: date | None = None,
    enterprise_id: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[Row], str | None, int]:
    """A keyset page (latest first) of one register, scoped to the actor's township."""
    actor.require("registers:read")
    reg = get_register(register)
    if not 1 <= limit <= 1000:
        raise ValidationFailed.one("limit", "limit：每页条数须在 1–1000 之间")
    m = reg.model
    stmt = _scoped(reg, actor, township, start, end)
    if enterprise_id is not None:
        stmt = stmt.where(m.enterprise_id == enterprise_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    d = getattr(m, reg.date_field)
    if cursor:
        key, last = decode_cursor(cursor, reg.code)
        try:
            stmt = stmt.where(tuple_(d, m.id) < tuple_(date.fromisoformat(str(key)), last))
        except ValueError:
            raise ValidationFailed.one("cursor", "分页游标无效") from None
    rows = session.execute(stmt.order_by(d.desc(), m.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    out = [Row(*r) for r in rows[:limit]]
    nxt = (
        encode_cursor(reg.code, getattr(out[-1].record, reg.date_field).isoformat(), out[-1].record.id)
        if more and out
        else None
    )
    return out, nxt, int(total)


@dataclass
class Totals:
    digital_officers: int
    modern_managers: int
    entrepreneurs: int
    assessed_firms: int
    assessments: int
    projects: int
    key_projects: int
    investment_yuan: int


def totals(session: Session, *, actor: Principal, start: date, end: date) -> Totals:
    """The registers' figures for [start, end]: participants per course kind, assessed firms, projects started."""
    actor.require("registers:read")
    T, D, P = TrainingRecord, DigitalAssessment, Project
    t = session.execute(
        _scoped(REGISTERS["training"], actor, None, start, end).with_only_columns(
            func.count(T.id).filter(T.course_kind == "digital_officer"),
            func.count(T.id).filter(T.course_kind == "modern_manager"),
            func.count(T.id).filter(T.course_kind == "entrepreneur"),
        )
    ).one()
    a = session.execute(
        _scoped(REGISTERS["assessments"], actor, None, start, end).with_only_columns(
            func.count(func.distinct(D.enterprise_id)), func.count(D.id)
        )
    ).one()
    p = session.execute(
        _scoped(REGISTERS["projects"], actor, None, start, end).with_only_columns(
            func.count(P.id),
            func.count(P.id).filter(P.kind == "key_chain"),
            func.coalesce(func.sum(P.investment_yuan), 0),
        )
    ).one()
    return Totals(int(t[0]), int(t[1]), int(t[2]), int(a[0]), int(a[1]), int(p[0]), int(p[1]), int(p[2]))


# --- .xlsx --------------------------------------------------------------------------------------


def _cell(v, names: dict | None = None) -> str | int:
    if v is None:
        return ""
    if names is not None:
        return names.get(v, str(v))
    if isinstance(v, date):
        return v.isoformat()
    return v


NAMES_OF = {
    "course_kind": COURSE_NAMES,
    "level": LEVEL_NAMES,
    "kind": PROJECT_KIND_NAMES,
    "stage": STAGE_NAMES,
}


def template_xlsx(register: str) -> bytes:
    reg = get_register(register)
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet(reg.name)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for i, c in enumerate(reg.columns):
        ws.write_string(0, i, c.header, head)
        ws.set_column(i, i, max(14, len(c.header) * 2))
    lines = [
        f"{reg.name}：每行一条记录，按统一社会信用代码识别企业（须已在企业名录中登记；乡镇工作人员只能登记本乡镇企业）。",
        "日期填写如 2023-06-30；金额以元为单位填写整数。",
    ]
    for f, names in NAMES_OF.items():
        if f in {c.field for c in reg.columns}:
            header = next(c.header for c in reg.columns if c.field == f)
            lines.append(f"{header}填：{'、'.join(str(v) for v in names.values())}。")
    lines.append("任何一处有误，整个文件都不会写入，并列出每个错误的行、列和单元格。")
    notes(wb, lines)
    wb.close()
    return buf.getvalue()


def export_xlsx(
    session: Session,
    *,
    actor: Principal,
    register: str,
    start: date | None = None,
    end: date | None = None,
    public: bool = False,
) -> bytes:
    """The register as the import template's columns plus the enterprise's name and township (re-importable)."""
    reg = get_register(register)
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet(reg.name)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    cols = [c for c in reg.columns if not (public and c.field == "participant")]
    headers = [c.header for c in cols] + ["企业名称", "乡镇（街道）"]
    for i, h in enumerate(headers):
        ws.write_string(0, i, h, head)
    names = township_names()
    r, cursor = 0, None
    while True:
        rows, cursor, _ = list_records(
            session, actor=actor, register=register, start=start, end=end, cursor=cursor, limit=1000
        )
        for row in rows:
            r += 1
            for i, c in enumerate(cols):
                v = (
                    row.uscc
                    if c.field == "uscc"
                    else _cell(getattr(row.record, c.field), NAMES_OF.get(c.field))
                )
                if isinstance(v, int) and not isinstance(v, bool):
                    ws.write_number(r, i, v)
                else:
                    ws.write_string(r, i, str(v))
            ws.write_string(r, len(cols), row.enterprise_name)
            ws.write_string(r, len(cols) + 1, names.get(row.township, row.township))
        if cursor is None:
            break
    ws.set_column(0, len(headers) - 1, 16)
    wb.close()
    return buf.getvalue()
