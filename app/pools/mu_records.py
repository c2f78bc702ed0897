"""Pools: 亩产效益 classes recorded by the county — entered one by one or imported from Excel."""

from sqlalchemy import Integer, bindparam, select, text, update
from sqlalchemy.orm import Session

from app import bulk
from app.accounts.permissions import Principal
from app.audit import service as audit
from app.db import utcnow
from app.enterprises.models import Enterprise
from app.enterprises.uscc import normalise, uscc_error
from app.errors import FieldError, Forbidden, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.pools.common import load_enterprise
from app.pools.models import MuClassRecord
from app.reference import MU_CLASSES

# --- 亩产效益: recorded classes --------------------------------------------------------------


def require_county_writer(actor: Principal) -> None:
    actor.require("pools:write")
    if not actor.is_county:
        raise Forbidden("亩产效益评价类别由县级录入或导入")


def _sync_registry_class(session: Session, actor: Principal, pairs: dict[int, str], year: int) -> int:
    """Enterprise.mu_class is the current class: set it from a year's records unless a later year is recorded."""
    if not pairs:
        return 0
    session.flush()
    later = set(
        session.scalars(
            select(MuClassRecord.enterprise_id).where(
                bulk.among(session, MuClassRecord.enterprise_id, list(pairs), Integer),
                MuClassRecord.year > year,
            )
        )
    )
    current = dict(
        session.execute(
            select(Enterprise.id, Enterprise.mu_class).where(
                bulk.among(session, Enterprise.id, list(pairs), Integer)
            )
        ).all()
    )
    changes = [
        {"eid": eid, "cls": cls} for eid, cls in pairs.items() if eid not in later and current.get(eid) != cls
    ]
    if not changes:
        return 0
    t = Enterprise.__table__
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":  # one statement, however many firms
        session.execute(
            text(
                "UPDATE enterprise e SET mu_class = u.cls, version = e.version + 1, updated_at = :now "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:classes AS varchar[])) AS u(eid, cls) WHERE e.id = u.eid"
            ),
            {
                "ids": bulk.array_literal([c["eid"] for c in changes]),
                "classes": bulk.array_literal([c["cls"] for c in changes]),
                "now": now,
            },
        )
    else:
        session.execute(
            update(t)
            .where(t.c.id == bindparam("eid"))
            .values(mu_class=bindparam("cls"), version=t.c.version + 1, updated_at=now),
            changes,
        )
    changed = {c["eid"] for c in changes}
    for obj in list(session.identity_map.values()):  # their rows changed underneath (new versions)
        if isinstance(obj, Enterprise) and obj.id in changed:
            session.expire(obj, ["mu_class", "version", "updated_at"])
    return len(changes)


def record_mu_class(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    year: int,
    mu_class: str,
    note: str | None = None,
) -> MuClassRecord:
    require_county_writer(actor)
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("year", "年度应在 2000–2100 之间")
    if mu_class not in MU_CLASSES:
        raise ValidationFailed.one("mu_class", f"亩产效益类别“{mu_class}”无效，应为 A、B、C、D 之一")
    ent = load_enterprise(session, actor, enterprise_id, details=False)
    rec = session.scalar(
        select(MuClassRecord).where(MuClassRecord.enterprise_id == ent.id, MuClassRecord.year == year)
    )
    before = rec.mu_class if rec else None
    if rec is None:
        rec = MuClassRecord(
            enterprise_id=ent.id,
            year=year,
            mu_class=mu_class,
            source="entered",
            note=note,
            recorded_by=actor.name,
        )
        session.add(rec)
    else:
        rec.mu_class, rec.source, rec.note, rec.recorded_by, rec.recorded_at = (
            mu_class,
            "entered",
            note,
            actor.name,
            utcnow(),
        )
    session.flush()
    township = ent.township
    synced = _sync_registry_class(session, actor, {ent.id: mu_class}, year)
    audit.record(
        session,
        actor=actor,
        action="create" if before is None else "update",
        entity_type="mu_class_record",
        entity_id=f"{enterprise_id}:{year}",
        enterprise_id=enterprise_id,
        township=township,
        changes={
            "year": year,
            "mu_class": [before, mu_class],
            **({"enterprise.mu_class": [None, mu_class]} if synced else {}),
        },
        note=f"{year} 年亩产效益评价类别" + (f"；{note}" if note else ""),
    )
    return rec


MU_IMPORT_HEADERS = {
    "统一社会信用代码": "uscc",
    "亩产效益类别": "mu_class",
    "类别": "mu_class",
    "评价类别": "mu_class",
    "亩产效益评价类别": "mu_class",
    "企业名称": "name",
}


def import_mu_classes(session: Session, *, actor: Principal, year: int, data: bytes) -> tuple[int, int]:
    """The county's evaluation list (.xlsx: USCC + class) for a year; every row checked, all written or none."""
    from app.xlsx import ImportRejected, read_rows
    from app.xlsx import cell_text as text

    require_county_writer(actor)
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("year", "年度应在 2000–2100 之间")
    rows = read_rows(data)
    if not rows:
        raise ImportRejected([FieldError("file", "工作表为空")])

    header = [text(c) for c in rows[0]]
    cols = {MU_IMPORT_HEADERS[h]: i for i, h in enumerate(header) if h in MU_IMPORT_HEADERS}
    errors: list[FieldError] = []
    for need, label in (("uscc", "统一社会信用代码"), ("mu_class", "亩产效益类别")):
        if need not in cols:
            errors.append(FieldError(label, f"缺少必需的列“{label}”", row=1))
    if errors:
        raise ImportRejected(errors, detail="导入被拒绝：表头不符，未写入任何数据")
    parsed: dict[str, tuple[str, int]] = {}
    for rownum, row in enumerate(rows[1:], start=2):
        cells = [text(c) for c in row]
        if not any(cells):
            continue
        code = normalise(cells[cols["uscc"]] if cols["uscc"] < len(cells) else "")
        cls = (cells[cols["mu_class"]] if cols["mu_class"] < len(cells) else "").upper().removesuffix("类")
        if not code:
            errors.append(
                FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：必填", row=rownum)
            )
        elif reason := uscc_error(code):
            errors.append(
                FieldError("统一社会信用代码", f"第 {rownum} 行“统一社会信用代码”：{reason}", row=rownum)
            )
        elif code in parsed:
            errors.append(
                FieldError(
                    "统一社会信用代码",
                    f"第 {rownum} 行“统一社会信用代码”：与第 {parsed[code][1]} 行重复",
                    row=rownum,
                )
            )
        if cls not in MU_CLASSES:
            errors.append(
                FieldError("亩产效益类别", f"第 {rownum} 行“亩产效益类别”：应为 A、B、C、D 之一", row=rownum)
            )
        if code and code not in parsed:
            parsed[code] = (cls, rownum)
    if not parsed and not errors:
        errors.append(FieldError("file", "文件中没有数据行"))
    stmt = select(Enterprise.uscc, Enterprise.id, Enterprise.township).where(
        bulk.among(session, Enterprise.uscc, list(parsed)), Enterprise.deleted_at.is_(None)
    )
    with bulk.exact_lookup(session):  # by uq_enterprise_uscc, not the trigram index
        ids: dict[str, tuple[int, str]] = {u: (eid, t) for u, eid, t in session.execute(stmt)}
    bad_rows = {e.row for e in errors}
    for code, (_, rownum) in parsed.items():
        if code not in ids and rownum not in bad_rows:
            errors.append(
                FieldError(
                    "统一社会信用代码",
                    f"第 {rownum} 行“统一社会信用代码”：{code} 未在企业名录中登记",
                    row=rownum,
                )
            )
    if errors:
        errors.sort(key=lambda e: e.row or 0)
        raise ImportRejected(errors, detail=f"导入被拒绝：共 {len(errors)} 处错误，未写入任何数据")

    # Written in bulk (app/bulk.py): one read of the year's records, new ones by COPY, changed ones by one
    # executemany UPDATE, the audit entries by COPY.
    rt = MuClassRecord.__table__
    session.flush()
    existing = {
        eid: (rid, cls)
        for rid, eid, cls in session.execute(
            select(rt.c.id, rt.c.enterprise_id, rt.c.mu_class).where(
                rt.c.year == year,
                bulk.among(session, rt.c.enterprise_id, [v[0] for v in ids.values()], Integer),
            )
        )
    }
    now = utcnow()
    new_rows, updates, entries, pairs = [], [], [], {}
    server_audit = bulk.is_postgres(session)
    for code, (cls, _) in parsed.items():
        eid, township = ids[code]
        pairs[eid] = cls
        rid, before = existing.get(eid, (None, None))
        if rid is None:
            new_rows.append((eid, year, cls, "imported", "县亩产效益评价名单导入", actor.name, now))
        else:
            updates.append({"rid": rid, "cls": cls})
        if before != cls and not (rid is None and server_audit):  # new records: audited below, in SQL
            entries.append(
                {
                    "action": "create" if before is None else "update",
                    "entity_type": "mu_class_record",
                    "entity_id": f"{eid}:{year}",
                    "enterprise_id": eid,
                    "township": township,
                    "changes": {"year": year, "mu_class": [before, cls]},
                    "note": f"{year} 年亩产效益评价名单导入",
                }
            )
    bulk.copy_rows(
        session,
        "mu_class_record",
        ("enterprise_id", "year", "mu_class", "source", "note", "recorded_by", "recorded_at"),
        new_rows,
    )
    if updates:
        session.execute(
            rt.update()
            .where(rt.c.id == bindparam("rid"))
            .values(mu_class=bindparam("cls"), source="imported", recorded_by=actor.name, recorded_at=now),
            updates,
        )
        for obj in list(session.identity_map.values()):  # records changed underneath
            if isinstance(obj, MuClassRecord) and obj.year == year and obj.enterprise_id in pairs:
                session.expire(obj)
    changed = bulk.audit_many(session, actor, entries, plain=True)
    if server_audit and new_rows:
        towns = {eid: t for eid, t in ids.values()}
        changed += bulk.audit_created(
            session,
            actor,
            entity_type="mu_class_record",
            entity_ids=[f"{r[0]}:{year}" for r in new_rows],
            enterprise_ids=[r[0] for r in new_rows],
            townships=[towns[r[0]] for r in new_rows],
            fields={"mu_class": ("varchar", [r[2] for r in new_rows])},
            extra={"year": year},
            note=f"{year} 年亩产效益评价名单导入",
        )
    _sync_registry_class(session, actor, pairs, year)
    session.flush()
    return len(parsed), changed


def mu_records(
    session: Session, *, actor: Principal, enterprise_id: int, cursor: str | None = None, limit: int = 50
) -> tuple[list[MuClassRecord], str | None]:
    """An enterprise's recorded classes, latest year first, by keyset on the year."""
    actor.require("pools:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    load_enterprise(session, actor, enterprise_id, details=False)
    stmt = select(MuClassRecord).where(MuClassRecord.enterprise_id == enterprise_id)
    if cursor:
        year, _ = decode_cursor(cursor, "mu_year")
        if not isinstance(year, int):
            raise ValidationFailed.one("cursor", "分页游标无效，请从第一页重新开始")
        stmt = stmt.where(MuClassRecord.year < year)
    rows = list(session.scalars(stmt.order_by(MuClassRecord.year.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor("mu_year", rows[-1].year, rows[-1].id) if more and rows else None
