"""Pool definitions (培育库: classes, criteria, document and clause) as versions in the database.

    current(session, day=None) -> Version    # the published version in force on `day` (default today)
    pools(session, day=None) -> {code: PoolDefinition}
    get_pool(session, code, day=None)
    version(session, version_id) -> Version  # the version a member entered under
    parse(text) -> PoolCatalogue              # the YAML exchange format; ValidationFailed in Chinese
    copy_as_draft / put_draft / save_pool / save_class / publish / discard_draft
    last_known() -> PoolCatalogue | None      # for labels on pages that have no session

A version is the whole of definitions.yaml (every pool with its entry classes, and the 亩产效益
scheme). Published versions take effect on a date: the one in force on a day is the latest whose
`effective_from` is on or before it. The shipped definitions.yaml is the first published version
(loaded by a migration); every member records the version it entered under, so a later version
never changes what an earlier entry was judged by. Parsed versions are cached per content hash,
and which versions are published is asked of the database once per transaction (app.versioning),
as for policy documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import versioning
from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.pools.definitions import HERE, PoolCatalogue, PoolDefinition
from app.pools.models import PoolDefinitionVersion, PoolMembership

MAX_BYTES = 512 * 1024
WRITE_SCOPE = "policies:write"  # the county's 工信局 staff who publish policy documents publish pools too
_TXN_KEY = "pool_store.published"
_LOCK_KEY = "pool_definition_version"
_PARSED: versioning.Parsed[PoolCatalogue] = versioning.Parsed()
_LAST: list[PoolCatalogue] = []


@dataclass(frozen=True)
class Version:
    id: int
    content_hash: str
    effective_from: date | None
    catalogue: PoolCatalogue

    @cached_property
    def pools(self) -> dict[str, PoolDefinition]:
        return self.catalogue.by_code()


# --- the exchange format --------------------------------------------------------------------------

FIELD_NAMES = {
    "pools": "培育库",
    "code": "代码",
    "name": "名称",
    "document": "依据文件",
    "clause": "条款",
    "tier": "层级",
    "in_force": "有效期",
    "start": "起始日期",
    "end": "截止日期",
    "review": "动态调整",
    "cadence": "频次",
    "criteria_note": "条件说明",
    "goals": "培育目标",
    "next_pools": "升入的培育库",
    "entry_classes": "入库类别",
    "criteria": "入库条件",
    "text": "条款原文",
    "kind": "类型",
    "figure": "指标",
    "min_yuan": "下限（元）",
    "max_yuan": "上限（元）",
    "above_scale": "是否规上",
    "sizes": "企业规模",
    "sections": "行业门类",
    "codes": "认定代码",
    "levels": "认定级别",
    "valid_years": "有效年数",
    "outcomes": "认定结果",
    "basis": "依据",
    "note": "说明",
    "honours": "认定",
    "type": "事件类型",
    "level": "级别",
    "mu_scheme": "亩产效益评价方案",
    "indicators": "指标",
    "bands": "分档",
    "weight": "权重",
    "percent": "比例",
    "numerator": "分子",
    "denominator": "分母",
    "unit": "单位",
    "scale": "倍数",
    "available": "是否可用",
    "reason": "原因",
    "mu_class": "类别",
    "source": "来源",
    "admin_settable": "管理员可调",
}


def _message(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "缺少该字段"
    if kind == "extra_forbidden":
        return "不是可用的字段"
    if kind == "union_tag_invalid":
        return f"未知的类型“{ctx.get('tag')}”（可选：{ctx.get('expected_tags')}）"
    if kind == "union_tag_not_found":
        return "缺少类型（kind）"
    if kind == "literal_error":
        return f"取值“{err.get('input')}”无效（可选：{ctx.get('expected')}）"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"“{err.get('input')}”不是整数"
    if kind in {"float_parsing", "float_type"}:
        return f"“{err.get('input')}”不是数字"
    if kind in {"bool_parsing", "bool_type"}:
        return f"“{err.get('input')}”应为 true 或 false"
    if kind in {"date_parsing", "date_type", "date_from_datetime_parsing"}:
        return f"“{err.get('input')}”不是日期（YYYY-MM-DD）"
    if kind in {"string_type"}:
        return "应为文字"
    if kind in {"list_type"}:
        return "应为列表"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return "应为键值对"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length')} 项"
    if kind == "string_pattern_mismatch":
        return f"“{err.get('input')}”格式不对（小写字母开头，只用小写字母、数字和下划线）"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        word = "不能小于" if kind.startswith("greater") else "不能大于"
        return f"{err.get('input')} {word} {bound}"
    if kind == "value_error":
        return str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    return err["msg"]


def _describe(raw: Any, err: dict) -> FieldError:
    """One validation error as "培育库“…”，入库类别“…”，第 n 项入库条件，字段 min_yuan（下限（元））：…"."""
    loc = list(err["loc"])
    where: list[str] = []
    path: list[str] = []
    node: Any = raw
    field_name: str | None = None
    i = 0
    while i < len(loc):
        part = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if (
            isinstance(part, str)
            and isinstance(nxt, int)
            and isinstance(node, dict)
            and isinstance(node.get(part), list)
        ):
            items = node[part]
            item = items[nxt] if nxt < len(items) else None
            code = item.get("code") if isinstance(item, dict) else None
            name = item.get("name") if isinstance(item, dict) else None
            if part == "pools":
                where.append(
                    f"培育库“{name or code or f'第 {nxt + 1} 个'}”" + (f"（{code}）" if code and name else "")
                )
                path.append(f"pools.{code or nxt}")
            elif part == "entry_classes":
                where.append(
                    f"入库类别“{name or code or f'第 {nxt + 1} 个'}”"
                    + (f"（{code}）" if code and name else "")
                )
                path.append(f"entry_classes.{code or nxt}")
            else:
                where.append(f"{FIELD_NAMES.get(part, part)}第 {nxt + 1} 项")
                path.append(f"{part}[{nxt}]")
            node = item
            i += 2
            # a discriminated union puts the chosen kind into the location: skip it
            if i < len(loc) and isinstance(node, dict) and loc[i] == node.get("kind"):
                i += 1
            continue
        if isinstance(part, str):
            field_name = part if field_name is None else f"{field_name}.{part}"
            path.append(part)
            node = node.get(part) if isinstance(node, dict) else None
        i += 1
    text = "，".join(where) or "文件"
    if field_name:
        last = field_name.split(".")[-1]
        text += f"，字段 {field_name}（{FIELD_NAMES.get(last, last)}）"
    return FieldError(".".join(path) or "yaml", f"{text}：{_message(err)}")


def parse(content: str) -> PoolCatalogue:
    """The YAML text as a validated catalogue, or ValidationFailed listing every error in Chinese."""
    if len(content.encode("utf-8")) > MAX_BYTES:
        raise ValidationFailed.one("yaml", f"文件过大（上限 {MAX_BYTES // 1024} KB）")
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        raise ValidationFailed.one(
            "yaml", f"YAML 格式错误{where}：{getattr(e, 'problem', None) or e}"
        ) from None
    if not isinstance(raw, dict):
        raise ValidationFailed.one(
            "yaml", "文件应为键值对，含 pools（培育库）和 mu_scheme（亩产效益评价方案）"
        )
    try:
        return PoolCatalogue.model_validate(raw)
    except ValidationError as e:
        raise ValidationFailed([_describe(raw, err) for err in e.errors()]) from None


def dump(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _parsed(content_hash: str, content: str | None, session: Session | None = None) -> PoolCatalogue:
    cat = _PARSED.get(content_hash)
    if cat is None:
        if content is None:
            assert session is not None
            content = session.scalar(
                select(PoolDefinitionVersion.content)
                .where(PoolDefinitionVersion.content_hash == content_hash)
                .limit(1)
            )
            if content is None:
                raise NotFound(f"未找到培育库定义版本 {content_hash[:12]}")
        cat = _PARSED.put(content_hash, parse(content))
    return cat


# --- reading what is published --------------------------------------------------------------------


def _published(session: Session) -> list[tuple[int, str, date | None]]:
    """(id, hash, effective from) of every published version, latest effective date first."""
    return versioning.per_transaction(
        session, _TXN_KEY, lambda: [(i, h, eff) for i, h, eff in session.execute(_PUBLISHED)]
    )


_V = PoolDefinitionVersion
_PUBLISHED = (
    select(_V.id, _V.content_hash, _V.effective_from)
    .where(_V.status == "published")
    .order_by(_V.effective_from.desc(), _V.id.desc())
)


def published_json():
    """A scalar subquery (PostgreSQL): the rows `_published` asks for, as a JSON array of [id, hash, effective
    from] (NULL when none), so a caller can ask them within a statement it makes anyway; `seed_published`
    then takes its value."""
    row = func.json_build_array(_V.id, _V.content_hash, _V.effective_from)
    return (
        select(func.json_agg(aggregate_order_by(row, _V.effective_from.desc(), _V.id.desc())))
        .where(_V.status == "published")
        .scalar_subquery()
    )


def seed_published(session: Session, rows: list[list] | None) -> None:
    """What is published, as `published_json()` read it in this transaction: `current` asks no more."""
    versioning.per_transaction(
        session,
        _TXN_KEY,
        lambda: [(i, h, None if eff is None else date.fromisoformat(eff)) for i, h, eff in rows or ()],
    )


def current(session: Session, day: date | None = None) -> Version:
    """The published version in force on `day` (today by default): the latest that took effect by then,
    else the earliest (a day before the first version is judged by it)."""
    day = day or date.today()
    rows = _published(session)
    if not rows:
        raise NotFound("尚无已发布的培育库定义")
    vid, digest, eff = next((r for r in rows if r[2] is None or r[2] <= day), rows[-1])
    v = Version(vid, digest, eff, _parsed(digest, None, session))
    _LAST[:] = [v.catalogue]
    return v


def pools(session: Session, day: date | None = None) -> dict[str, PoolDefinition]:
    return current(session, day).pools


def version(session: Session, version_id: int | None) -> Version:
    """A version by id (the one a member entered under); the version in force today when None."""
    if version_id is None:
        return current(session)
    row = session.get(PoolDefinitionVersion, version_id)
    if row is None:
        raise NotFound(f"未找到培育库定义版本 {version_id}")
    return Version(row.id, row.content_hash, row.effective_from, _parsed(row.content_hash, row.content))


def last_known() -> PoolCatalogue | None:
    """The catalogue this process read last (None before the first read); for labels on pages only."""
    return _LAST[0] if _LAST else None


def known_catalogues() -> list[PoolCatalogue]:
    """Every version parsed by this process, for the names of pools and classes a newer version dropped."""
    return _PARSED.values()


def clear_cache() -> None:
    _PARSED.clear()
    _LAST.clear()


# --- versions ---------------------------------------------------------------------------------------


def versions(session: Session) -> list[PoolDefinitionVersion]:
    return list(session.scalars(select(PoolDefinitionVersion).order_by(PoolDefinitionVersion.id.desc())))


def draft(session: Session, *, lock: bool = False) -> PoolDefinitionVersion | None:
    q = select(PoolDefinitionVersion).where(PoolDefinitionVersion.status == "draft")
    return session.scalar(q.with_for_update() if lock else q)


def published_row(session: Session, day: date | None = None) -> PoolDefinitionVersion:
    return session.get(PoolDefinitionVersion, current(session, day).id)


def document_yaml(session: Session, *, actor: Principal, status: str = "published") -> PoolDefinitionVersion:
    """The version in force today (or the draft), whose `content` uploads again unchanged."""
    actor.require("pools:read")
    if status == "draft":
        v = draft(session)
        if v is None:
            raise NotFound("培育库定义没有草稿")
        return v
    return published_row(session)


def _require(actor: Principal) -> None:
    actor.require(WRITE_SCOPE)


def _check_members(session: Session, cat: PoolCatalogue) -> list[FieldError]:
    """A pool with current members cannot disappear from the definitions."""
    codes = set(cat.by_code())
    in_use = session.scalars(select(PoolMembership.pool).where(PoolMembership.left_date.is_(None)).distinct())
    return [
        FieldError(f"pools.{code}", f"培育库“{code}”仍有在库企业，新版本不能删除它（可改名或调整入库类别）")
        for code in in_use
        if code not in codes
    ]


def _audit(
    session: Session, actor: Principal, action: str, v: PoolDefinitionVersion, changes: dict, note: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="pool_definition_version",
        entity_id=v.id,
        changes=changes,
        note=note,
    )


def put_draft(session: Session, *, actor: Principal, content: str) -> PoolDefinitionVersion:
    """Store `content` as the draft (replacing the draft there is). Writes nothing on error."""
    _require(actor)
    cat = parse(content)
    errors = _check_members(session, cat)
    if errors:
        raise ValidationFailed(errors)
    versioning.lock(session, _LOCK_KEY)
    d = draft(session, lock=True)
    digest = versioning.content_hash(content)
    _PARSED.put(digest, cat)
    if d is None:
        base = published_row(session)
        d = PoolDefinitionVersion(
            status="draft",
            origin="edited",
            content=content,
            content_hash=digest,
            source_id=base.id,
            created_by=actor.name,
        )
        session.add(d)
        session.flush()
        _audit(session, actor, "create_draft", d, {"content_hash": [None, digest]}, "新建培育库定义草稿")
        return d
    before = d.content_hash
    if before != digest:
        d.content, d.content_hash, d.updated_at = content, digest, utcnow()
        session.flush()
        _audit(session, actor, "update_draft", d, {"content_hash": [before, digest]}, "修改培育库定义草稿")
    return d


def copy_as_draft(session: Session, *, actor: Principal) -> PoolDefinitionVersion:
    """The version in force today as the draft to edit (409 when a draft already exists)."""
    _require(actor)
    versioning.lock(session, _LOCK_KEY)
    if draft(session, lock=True) is not None:
        raise Conflict(
            "已有培育库定义草稿：请先编辑或删除它",
            errors=[FieldError("status", "已有草稿")],
            code="draft_exists",
        )
    return put_draft(session, actor=actor, content=published_row(session).content)


def _draft_data(session: Session) -> tuple[PoolDefinitionVersion, dict]:
    d = draft(session, lock=True)
    if d is None:
        raise NotFound("培育库定义没有草稿：请先复制现行定义为草稿")
    return d, yaml.safe_load(d.content)


def _pool_of(data: dict, pool_code: str) -> dict:
    pool = next(
        (p for p in data.get("pools", []) if isinstance(p, dict) and p.get("code") == pool_code), None
    )
    if pool is None:
        raise NotFound(f"草稿中没有培育库“{pool_code}”")
    return pool


def save_pool(
    session: Session, *, actor: Principal, pool_code: str, fields: dict[str, Any]
) -> PoolDefinitionVersion:
    """A pool's own fields in the draft: name, document, clause, period (in_force)."""
    _require(actor)
    _, data = _draft_data(session)
    pool = _pool_of(data, pool_code)
    for k in ("name", "document", "clause"):
        if k in fields:
            pool[k] = fields[k]
    if "start" in fields or "end" in fields:
        pool["in_force"] = {
            "start": fields.get("start", pool["in_force"]["start"]),
            "end": fields.get("end", pool["in_force"]["end"]),
        }
    return put_draft(session, actor=actor, content=dump(data))


def save_class(
    session: Session, *, actor: Principal, pool_code: str, class_code: str, fields: dict[str, Any]
) -> PoolDefinitionVersion:
    """One entry class of the draft (a new code adds it): name, clause, text and criteria (a YAML list)."""
    _require(actor)
    _, data = _draft_data(session)
    pool = _pool_of(data, pool_code)
    classes = pool.setdefault("entry_classes", [])
    entry = next((c for c in classes if isinstance(c, dict) and c.get("code") == class_code), None)
    if entry is None:
        entry = {"code": class_code}
        classes.append(entry)
    for k in ("name", "clause", "text"):
        if k in fields:
            entry[k] = fields[k] if fields[k] not in ("", None) or k != "text" else None
    if entry.get("text") is None:
        entry.pop("text", None)
    if "criteria" in fields:
        criteria = fields["criteria"]
        if isinstance(criteria, str):
            try:
                criteria = yaml.safe_load(criteria)
            except yaml.YAMLError as e:
                name = entry.get("name") or class_code
                raise ValidationFailed.one(
                    f"pools.{pool_code}.entry_classes.{class_code}.criteria",
                    f"培育库“{pool.get('name', pool_code)}”，入库类别“{name}”，字段 criteria（入库条件）：YAML 格式错误：{e}",
                ) from None
        entry["criteria"] = criteria
    return put_draft(session, actor=actor, content=dump(data))


def remove_class(
    session: Session, *, actor: Principal, pool_code: str, class_code: str
) -> PoolDefinitionVersion:
    _require(actor)
    _, data = _draft_data(session)
    pool = _pool_of(data, pool_code)
    pool["entry_classes"] = [c for c in pool.get("entry_classes", []) if c.get("code") != class_code]
    return put_draft(session, actor=actor, content=dump(data))


def publish(session: Session, *, actor: Principal, effective_from: date) -> PoolDefinitionVersion:
    """The draft takes effect on `effective_from`. Two publishes at once leave one published version (409)."""
    _require(actor)
    versioning.lock(session, _LOCK_KEY)
    versioning.forget(session, _TXN_KEY)
    d = draft(session, lock=True)
    if d is None:
        raise Conflict(
            "培育库定义没有待发布的草稿（可能已被他人发布）",
            errors=[FieldError("status", "没有草稿")],
            code="no_draft",
        )
    try:
        cat = parse(d.content)
    except ValidationFailed as e:
        raise Conflict("草稿不合规，不能发布：" + e.detail, errors=e.errors, code="invalid_draft") from None
    errors = _check_members(session, cat)
    latest = max((r[2] for r in _published(session) if r[2] is not None), default=None)
    if latest is not None and effective_from < latest:
        errors.append(
            FieldError("effective_from", f"生效日期 {effective_from} 早于现行版本的生效日期 {latest}")
        )
    if errors:
        raise Conflict(
            "不能发布：" + "；".join(e.message for e in errors[:5]), errors=errors, code="publish_refused"
        )
    now = utcnow()
    d.status, d.effective_from, d.published_by, d.published_at, d.updated_at = (
        "published",
        effective_from,
        actor.name,
        now,
        now,
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("培育库定义已由他人同时发布", code="concurrent_publish") from None
    _audit(
        session,
        actor,
        "publish",
        d,
        {"status": ["draft", "published"], "effective_from": [None, effective_from]},
        f"发布培育库定义（{len(cat.pools)} 个培育库），自 {effective_from} 起生效",
    )
    versioning.forget(session, _TXN_KEY)
    return d


def discard_draft(session: Session, *, actor: Principal) -> None:
    _require(actor)
    d = draft(session, lock=True)
    if d is None:
        raise NotFound("培育库定义没有草稿")
    _audit(session, actor, "discard_draft", d, {"content_hash": [d.content_hash, None]}, "删除培育库定义草稿")
    session.delete(d)
    session.flush()


def shipped_content() -> str:
    return (HERE / "definitions.yaml").read_text(encoding="utf-8")


def install_shipped(session: Session) -> bool:
    """definitions.yaml as the first published version when no version is stored (the migration does the same)."""
    if session.scalar(select(PoolDefinitionVersion.id).limit(1)) is not None:
        return False
    content = shipped_content()
    cat = parse(content)
    now = utcnow()
    session.add(
        PoolDefinitionVersion(
            status="published",
            origin="shipped",
            effective_from=min(p.in_force.start for p in cat.pools),
            content=content,
            content_hash=versioning.content_hash(content),
            created_by="system",
            created_at=now,
            updated_at=now,
            published_by="system",
            published_at=now,
        )
    )
    session.flush()
    versioning.forget(session, _TXN_KEY)
    return True
