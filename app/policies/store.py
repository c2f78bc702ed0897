"""Policy documents as versions in the database: read what is in force, store drafts, publish.

    current(session) -> PolicySet            # the published versions (cached per set of versions)
    with_drafts(session, codes) -> PolicySet # the same with the named drafts in place of their published version
    for_versions(session, {code: hash})      # the versions a receipt cites, for recompute
    parse(text) -> LoadedDocument            # the YAML exchange format; ValidationFailed in Chinese
    put_draft / publish / withdraw / copy_as_draft / put_cases
    sync_shipped(session)                    # the YAML files of this package as published versions

The engine stays pure: it is handed the PolicySet built here. Every call of `current` asks the
database which versions are published (one indexed query), so several workers agree the moment
one of them publishes; the parsed documents are cached by content hash, the sets by their list
of hashes (app.versioning: the same helpers serve the pool definitions). Drafts never reach awards, matching or forecasts unless a caller names them
(`with_drafts`).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import versioning
from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.policies.loader import DEFAULT_DIR, LoadedDocument, PolicySet, build_set
from app.policies.models import STATUS_NAMES, PolicyVersion
from app.policies.validation import MAX_BYTES, content_hash, cross_check, parse  # noqa: F401 (store.parse for callers)

# --- reading what is published ----------------------------------------------------------------

_DOCS: versioning.Parsed[LoadedDocument] = versioning.Parsed()  # content hash -> parsed document
_SETS: versioning.Parsed[PolicySet] = versioning.Parsed()  # hashes -> set
_LAST: list[PolicySet] = []  # the set last read by this process (for page hints that have no session)
_SESSION_KEY = "policy_store.current"


def _document(session: Session, version_hash: str) -> LoadedDocument:
    doc = _DOCS.get(version_hash)
    if doc is None:
        content = session.scalar(
            select(PolicyVersion.content).where(PolicyVersion.content_hash == version_hash).limit(1)
        )
        if content is None:
            raise NotFound(f"未找到政策文件版本 {version_hash[:12]}")
        doc = parse(content)
        _DOCS.put(version_hash, doc)
    return doc


def _set_of(session: Session, hashes: tuple[str, ...]) -> PolicySet:
    ps = _SETS.get(hashes)
    if ps is None:
        docs = [_document(session, h) for h in hashes]
        docs.sort(key=lambda d: (d.spec.issue_date, d.code))
        ps = build_set(docs)
        _SETS.put(hashes, ps)
    return ps


def current(session: Session) -> PolicySet:
    """The published versions: what awards, matching and forecasts use.

    Asked of the database once per transaction (a request sees one consistent set, and the next
    request of any worker sees a publish); publishing in this session forgets the answer."""

    return versioning.per_transaction(
        session, _SESSION_KEY, lambda: _published_set(session, tuple(session.scalars(_PUBLISHED)))
    )


_PUBLISHED = (
    select(PolicyVersion.content_hash).where(PolicyVersion.status == "published").order_by(PolicyVersion.code)
)


def _published_set(session: Session, hashes: tuple[str, ...]) -> PolicySet:
    ps = _set_of(session, hashes)
    _LAST[:] = [ps]
    return ps


def published_json():
    """A scalar subquery (PostgreSQL): the hashes `current` asks for, as a JSON array (NULL when none), so a
    caller can ask them within a statement it makes anyway; `seed_published` then takes its value."""
    return (
        select(func.json_agg(aggregate_order_by(PolicyVersion.content_hash, PolicyVersion.code)))
        .where(PolicyVersion.status == "published")
        .scalar_subquery()
    )


def seed_published(session: Session, hashes: list[str] | None) -> None:
    """What is published, as `published_json()` read it in this transaction: `current` asks no more."""
    versioning.per_transaction(session, _SESSION_KEY, lambda: _published_set(session, tuple(hashes or ())))


def forget(session: Session) -> None:
    """After a change to what is published in this session: the next `current` asks again."""
    versioning.forget(session, _SESSION_KEY)


def last_known() -> PolicySet | None:
    """The set this process read last (None before the first read); for hints on pages only."""
    return _LAST[0] if _LAST else None


def with_drafts(session: Session, codes: list[str] | tuple[str, ...]) -> PolicySet:
    """The published versions with the drafts of `codes` in place of their published versions."""
    rows = {
        v.code: v.content_hash
        for v in session.scalars(select(PolicyVersion).where(PolicyVersion.status == "published"))
    }
    for code in codes:
        draft = _draft(session, code)
        if draft is None:
            raise NotFound(f"政策文件 {code} 没有草稿")
        rows[code] = draft.content_hash
    return _set_of(session, tuple(rows[c] for c in sorted(rows)))


def for_versions(session: Session, versions: dict[str, str]) -> PolicySet | None:
    """The documents exactly as a receipt cites them ({code: content hash}); None if one is unknown."""
    try:
        return _set_of(session, tuple(versions[c] for c in sorted(versions)))
    except NotFound:
        return None


def rule_seen(rule_id: str):
    """The rule with this id in the set last read (else in any version parsed so far), for labels."""
    for ps in _LAST:
        if rule_id in ps.rules:
            return ps.rules[rule_id]
    for doc in reversed(_DOCS.values()):
        for rule in doc.spec.rules:
            if rule.id == rule_id:
                return rule
    return None


def clear_cache() -> None:
    _DOCS.clear()
    _SETS.clear()
    _LAST.clear()


# --- versions ---------------------------------------------------------------------------------


def _draft(session: Session, code: str, *, lock: bool = False) -> PolicyVersion | None:
    q = select(PolicyVersion).where(PolicyVersion.code == code, PolicyVersion.status == "draft")
    return session.scalar(q.with_for_update() if lock else q)


def _published(session: Session, code: str, *, lock: bool = False) -> PolicyVersion | None:
    q = select(PolicyVersion).where(PolicyVersion.code == code, PolicyVersion.status == "published")
    return session.scalar(q.with_for_update() if lock else q)


def versions(session: Session, code: str | None = None) -> list[PolicyVersion]:
    q = select(PolicyVersion).order_by(PolicyVersion.code, PolicyVersion.id.desc())
    if code is not None:
        q = q.where(PolicyVersion.code == code)
    return list(session.scalars(q))


def get_version(session: Session, version_id: int) -> PolicyVersion:
    v = session.get(PolicyVersion, version_id)
    if v is None:
        raise NotFound("未找到该政策文件版本")
    return v


def document_yaml(
    session: Session, *, actor: Principal, code: str, status: str = "published"
) -> PolicyVersion:
    """The published version of `code` (or its draft), whose `content` uploads again unchanged."""
    actor.require("policies:read")
    v = _draft(session, code) if status == "draft" else _published(session, code)
    if v is None:
        what = "草稿" if status == "draft" else "已发布的版本"
        raise NotFound(f"政策文件 {code} 没有{what}")
    return v


def _lock_code(session: Session, code: str) -> None:
    """Serialise writers of one document code (PostgreSQL advisory lock until the transaction ends)."""
    forget(session)
    versioning.lock(session, f"policy_version:{code}")


def _audit(
    session: Session, actor: Principal, action: str, v: PolicyVersion, changes: dict, note: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="policy_version",
        entity_id=v.id,
        changes=changes,
        note=note,
    )


def put_draft(
    session: Session, *, actor: Principal, code: str, content: str, source_id: int | None = None
) -> PolicyVersion:
    """Store `content` as the draft of `code` (replacing the draft there is). Writes nothing on error."""
    actor.require("policies:write")
    doc = parse(content)
    errors: list[FieldError] = []
    if doc.code != code:
        errors.append(
            FieldError(
                "code", f"文件：code（文件代码）：应为 {code}（与地址中的代码一致），而不是 {doc.code}"
            )
        )
    errors += cross_check(doc, current(session))
    if errors:
        raise ValidationFailed(errors)
    _lock_code(session, code)
    draft = _draft(session, code, lock=True)
    spec = doc.spec
    fields = {
        "number": spec.number,
        "title": spec.title,
        "issue_date": spec.issue_date,
        "in_force_start": spec.in_force.start,
        "in_force_end": spec.in_force.end,
        "content": content,
        "content_hash": doc.version,
    }
    if draft is None:
        base = session.get(PolicyVersion, source_id) if source_id else _published(session, code)
        draft = PolicyVersion(
            code=code,
            status="draft",
            origin="edited",
            created_by=actor.name,
            source_id=base.id if base else None,
            cases=base.cases if base else None,
            **fields,
        )
        session.add(draft)
        session.flush()
        _audit(
            session,
            actor,
            "create_draft",
            draft,
            {"content_hash": [None, doc.version], "number": [None, spec.number]},
            f"新建政策文件草稿 {spec.number}（{code}）",
        )
        return draft
    before = draft.content_hash
    if before == doc.version:
        return draft
    for k, val in fields.items():
        setattr(draft, k, val)
    draft.updated_at = utcnow()
    session.flush()
    _audit(
        session,
        actor,
        "update_draft",
        draft,
        {"content_hash": [before, doc.version]},
        f"修改政策文件草稿 {spec.number}（{code}）",
    )
    return draft


def copy_as_draft(
    session: Session,
    *,
    actor: Principal,
    source_code: str,
    code: str,
    number: str,
    start: date,
    end: date,
    issue_date: date | None = None,
    title: str | None = None,
) -> PolicyVersion:
    """以现有文件为底稿新建: the published `source_code` as a draft of a new code with new 文号 and dates.

    Rule and fund ids take the new code; funds take the new period; every figure, clause and
    condition is kept for the admin to edit. The rule cases are copied with the new ids.
    """
    actor.require("policies:write")
    src = _published(session, source_code)
    if src is None:
        raise NotFound(f"政策文件 {source_code} 没有已发布的版本")
    errors = []
    if not re.fullmatch(r"[a-z0-9-]+", code or ""):
        errors.append(FieldError("code", "code（文件代码）：只能用小写字母、数字和短横线，如 gzb2024-3"))
    elif session.scalar(select(PolicyVersion.id).where(PolicyVersion.code == code).limit(1)):
        errors.append(FieldError("code", f"code（文件代码）：{code} 已被使用"))
    if not number.strip():
        errors.append(FieldError("number", "number（文号）：不能为空"))
    if end < start:
        errors.append(FieldError("end", "截止日期早于起始日期"))
    if errors:
        raise ValidationFailed(errors)
    content = rewrite(
        src.content,
        src.code,
        code,
        number=number.strip(),
        start=start,
        end=end,
        issue_date=issue_date or start,
        title=title,
        old_start=src.in_force_start,
    )
    cases = None
    if src.cases:  # the same cases, one period later: the new ids and the events moved with the period
        own = _cases_in_period(src.cases, src.in_force_start, src.in_force_end)
        moved = own.replace(f"{src.code}.", f"{code}.").replace(src.number, number.strip())
        cases = shift_dates(moved, start.year - src.in_force_start.year)
    draft = put_draft(session, actor=actor, code=code, content=content, source_id=src.id)
    draft.cases = cases
    session.flush()
    return draft


def rewrite(
    content: str,
    old_code: str,
    new_code: str,
    *,
    number: str,
    start: date,
    end: date,
    issue_date: date,
    title: str | None = None,
    old_start: date | None = None,
) -> str:
    """The YAML text with a new code (and ids), 文号, dates and fund periods; comments are kept."""
    out = content.replace(f"{old_code}.", f"{new_code}.")

    def line(key: str, value: str, s: str) -> str:
        return re.sub(rf"(?m)^{key}:.*$", lambda _m: f"{key}: {value}", s, count=1)

    out = line("code", new_code, out)
    out = line("number", number, out)
    if title:
        out = line("title", title, out)
    out = line("issue_date", issue_date.isoformat(), out)
    out = line("in_force", f"{{start: {start.isoformat()}, end: {end.isoformat()}}}", out)
    out = re.sub(
        r"(?m)^(\s+)period:.*$",
        lambda m: f"{m.group(1)}period: {{start: {start.isoformat()}, end: {end.isoformat()}}}",
        out,
    )
    years = start.year - (old_start.year if old_start else start.year)
    if years:  # a date condition (一季度 2023-01-01..03-31) moves with the period
        out = re.sub(
            r"(?m)^(\s+date_(?:from|to): )(\d{4}-\d{2}-\d{2})",
            lambda m: m.group(1) + shift_dates(m.group(2), years),
            out,
        )
    return out


def _cases_in_period(cases: str, start: date, end: date) -> str:
    """The cases whose event falls in the period (the others check other documents' periods)."""
    from app.policies.editing import _dump, _load

    data = _load(cases)
    if not isinstance(data, list):
        return cases
    kept = [
        c
        for c in data
        if isinstance(c, dict)
        and isinstance(c.get("event"), dict)
        and start <= date.fromisoformat(str(c["event"].get("date"))) <= end
    ]
    for i in reversed(range(len(data))):
        if data[i] not in kept:
            del data[i]
    return _dump(data)


def shift_dates(content: str, years: int) -> str:
    """Every ISO date in `content` moved by `years` (29 February becomes the 28th)."""

    def move(m: re.Match) -> str:
        y, mo, d = int(m.group(1)) + years, int(m.group(2)), int(m.group(3))
        try:
            return date(y, mo, d).isoformat()
        except ValueError:
            return date(y, mo, 28).isoformat()

    return re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", move, content)


def publish(session: Session, *, actor: Principal, code: str, today: date | None = None) -> PolicyVersion:
    """Publish the draft of `code`: it becomes the version in force for its period; the previous
    published version is superseded; its funds are created. 409 with the reasons when the draft is
    not valid or one of its cases fails. Two publishes at once leave one published version."""
    from app.policies import cases as case_runner

    actor.require("policies:write")
    _lock_code(session, code)
    draft = _draft(session, code, lock=True)
    if draft is None:
        raise Conflict(
            f"政策文件 {code} 没有待发布的草稿（可能已被他人发布）",
            errors=[FieldError("status", "没有草稿")],
            code="no_draft",
        )
    reasons: list[FieldError] = []
    try:
        doc = parse(draft.content)
    except ValidationFailed as e:
        raise Conflict("草稿不合规，不能发布：" + e.detail, errors=e.errors, code="invalid_draft") from None
    reasons += cross_check(doc, current(session))
    if not reasons:
        report = case_runner.run(session, code=code, draft=True)
        if report.error:
            reasons.append(FieldError("cases", f"测试用例：{report.error}"))
        for r in report.results:
            if not r.passed:
                reasons.append(
                    FieldError(f"cases[{r.name}]", f"测试用例“{r.name}”未通过：{'；'.join(r.problems)}")
                )
    if reasons:
        raise Conflict(
            "不能发布：" + "；".join(e.message for e in reasons[:5]), errors=reasons, code="publish_refused"
        )
    now = utcnow()
    old = _published(session, code, lock=True)
    if old is not None:
        old.status, old.ended_by, old.ended_at = "superseded", actor.name, now
        session.flush()
        _audit(
            session,
            actor,
            "supersede",
            old,
            {"status": ["published", "superseded"]},
            f"{old.number}（{code}）被新版本取代",
        )
    draft.status, draft.published_by, draft.published_at, draft.updated_at = "published", actor.name, now, now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"政策文件 {code} 已由他人同时发布", code="concurrent_publish") from None
    _audit(
        session,
        actor,
        "publish",
        draft,
        {"status": ["draft", "published"], "content_hash": [None, draft.content_hash]},
        f"发布政策文件 {draft.number}（{code}），有效期 {draft.in_force_start} 至 {draft.in_force_end}",
    )
    _create_funds(session, actor, doc)
    forget(session)
    return draft


def _create_funds(session: Session, actor: Principal, doc: LoadedDocument) -> None:
    from app.awards import funds as fund_service
    from app.awards.models import Fund
    from app.policies.schema import FUNDER_NAMES

    existing = set(session.scalars(select(Fund.code).where(Fund.code.in_([f.id for f in doc.spec.funds]))))
    for f in doc.spec.funds:
        if f.id in existing:
            continue
        fund = fund_service.open_fund(
            session,
            actor,
            code=f.id,
            name=f"{FUNDER_NAMES[f.funder]}财政 {doc.number} {f.clause}",
            funder=f.funder,
            document_code=doc.code,
            clause=f.clause,
            period_start=f.period.start,
            period_end=f.period.end,
            amount_yuan=f.amount_yuan,
            yearly=f.yearly,
            note=f"{doc.number} {f.clause}：{f.clause_text}",
        )
        audit.record(
            session,
            actor=actor,
            action="create",
            entity_type="fund",
            entity_id=fund.id,
            changes={"budget_yuan": [None, fund.budget_yuan], "code": [None, f.id]},
            note=f"发布 {doc.number} 时按其资金条款设立",
        )


def withdraw(session: Session, *, actor: Principal, code: str, reason: str) -> PolicyVersion:
    """Withdraw the published version of `code`: from now on no event is matched against it."""
    actor.require("policies:write")
    if not reason.strip():
        raise ValidationFailed.one("reason", "reason（撤回原因）：不能为空")
    _lock_code(session, code)
    v = _published(session, code, lock=True)
    if v is None:
        raise Conflict(f"政策文件 {code} 没有已发布的版本", code="not_published")
    v.status, v.ended_by, v.ended_at = "withdrawn", actor.name, utcnow()
    session.flush()
    _audit(
        session,
        actor,
        "withdraw",
        v,
        {"status": ["published", "withdrawn"]},
        f"撤回 {v.number}：{reason.strip()}",
    )
    forget(session)
    return v


def discard_draft(session: Session, *, actor: Principal, code: str) -> None:
    actor.require("policies:write")
    draft = _draft(session, code, lock=True)
    if draft is None:
        raise NotFound(f"政策文件 {code} 没有草稿")
    _audit(
        session,
        actor,
        "discard_draft",
        draft,
        {"content_hash": [draft.content_hash, None]},
        f"删除政策文件草稿 {draft.number}（{code}）",
    )
    session.delete(draft)
    session.flush()


def put_cases(session: Session, *, actor: Principal, code: str, content: str) -> PolicyVersion:
    """Store the rule cases (YAML list) of the draft of `code`. Writes nothing on error."""
    from app.policies import cases as case_runner

    actor.require("policies:write")
    case_runner.parse_cases(content)
    draft = _draft(session, code, lock=True)
    if draft is None:
        raise NotFound(f"政策文件 {code} 没有草稿：先新建草稿再编辑测试用例")
    before = content_hash(draft.cases or "")
    draft.cases = content
    draft.updated_at = utcnow()
    session.flush()
    _audit(
        session,
        actor,
        "update_cases",
        draft,
        {"cases_hash": [before, content_hash(content)]},
        f"修改 {draft.number}（{code}）的测试用例",
    )
    return draft


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


# --- the shipped files --------------------------------------------------------------------------

SHIPPED_CASES = Path(__file__).parent / "cases"


def shipped_cases(code: str) -> str | None:
    """The rule cases shipped with a document (app/policies/cases/<code>*.yaml, joined), if any."""
    parts = sorted(SHIPPED_CASES.glob(f"{code}*.yaml")) if SHIPPED_CASES.is_dir() else []
    if not parts:
        return None
    return "\n".join(p.read_text(encoding="utf-8") for p in parts)


def sync_shipped(
    session: Session, actor: Principal | None = None, directory: Path | None = None
) -> list[str]:
    """Make each YAML file of this package a published version.

    A code not in the database is inserted as published. A file whose text changed since its
    last shipped version is published as a new version — unless someone has stored a version of
    that code through the API or the pages (then the database is theirs, and the file is left
    alone). Returns one line per change.
    """
    from app.accounts.permissions import SYSTEM
    from app.policies.loader import read_policies

    actor = actor or SYSTEM
    folder = directory or DEFAULT_DIR
    files = read_policies(folder)  # validated together; raises PolicyError on any problem
    done: list[str] = []
    for doc in sorted(files.documents.values(), key=lambda d: (d.spec.issue_date, d.code)):
        content = doc.text
        digest = content_hash(content)
        rows = versions(session, doc.code)
        if any(v.content_hash == digest for v in rows):
            continue
        if any(v.origin == "edited" for v in rows):
            done.append(f"{doc.code}: 已有人在系统中编辑过该文件，未用安装包中的新版本覆盖")
            continue
        _lock_code(session, doc.code)
        now = utcnow()
        old = _published(session, doc.code, lock=True)
        if old is not None:
            old.status, old.ended_by, old.ended_at = "superseded", actor.name, now
            session.flush()
        spec = doc.spec
        v = PolicyVersion(
            code=doc.code,
            status="published",
            origin="shipped",
            number=spec.number,
            title=spec.title,
            issue_date=spec.issue_date,
            in_force_start=spec.in_force.start,
            in_force_end=spec.in_force.end,
            content=content,
            content_hash=digest,
            cases=shipped_cases(doc.code) or (old.cases if old else None),
            source_id=old.id if old else None,
            created_by=actor.name,
            published_by=actor.name,
            published_at=now,
        )
        session.add(v)
        session.flush()
        _audit(
            session,
            actor,
            "publish",
            v,
            {"content_hash": [old.content_hash if old else None, digest]},
            f"安装包中的政策文件 {spec.number}（{doc.code}）发布为新版本",
        )
        _create_funds(session, actor, LoadedDocument(spec=spec, version=digest, content=content))
        done.append(f"{doc.code}: 发布安装包中的版本 {digest[:12]}")
    forget(session)
    return done
