"""The 聊城企业政策通 integration: policy matching from the registry, and registrations the platform reports."""

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.accounts.service import KEY_VALID, key_checked, take_key_check
from app.audit import service as audit
from app.enterprises import service as enterprise_service
from app.enterprises import snapshot
from app.enterprises.models import Enterprise
from app.enterprises.uscc import normalise, uscc_error
from app.enterprises.visibility import visibility_kind, visible_clause, visible_to
from app.errors import FieldError, NotFound, PreconditionFailed, ValidationFailed
from app.integration import matching
from app.policies import coverage
from app.policies import store as policy_store
from app.policies.loader import LoadedDocument
from app.pools import store as pool_store

BATCH_MAX = 100


@dataclass
class Eligibility:
    enterprise: snapshot.EnterpriseSnapshot
    as_of: dt.date
    year: int | None  # the figures year the rules were judged on
    matches: list[matching.Match]
    documents: list[LoadedDocument] = field(default_factory=list)  # the policy documents in force on as_of
    message: str | None = None  # why no document is in force on as_of


def policy_coverage(session: Session, day: dt.date) -> tuple[list[LoadedDocument], str | None]:
    """The documents in force on `day` and, when there are none, the sentence that says why."""
    ps = policy_store.current(session)
    return coverage.documents_in_force(ps, day), coverage.lapse_message(ps, day)


def _filter(matches: list[matching.Match], statuses: list[str] | None, kinds: list[str] | None):
    return [m for m in matches if (not statuses or m.status in statuses) and (not kinds or m.kind in kinds)]


def eligible_policies(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int | None = None,
    uscc: str | None = None,
    as_of: dt.date | None = None,
    statuses: list[str] | None = None,
    kinds: list[str] | None = None,
) -> Eligibility:
    """The rules one enterprise meets now or is closest to meeting, closest first."""
    actor.require("policies:read")
    if uscc is not None:
        enterprise_id = enterprise_service.get_by_uscc(session, actor=actor, uscc=uscc, with_details=False).id
    assert enterprise_id is not None
    if session.get_bind().dialect.name == "postgresql":
        firms = _firms_in_one_statement(session, actor, [enterprise_id], [])
        if not firms:
            raise NotFound("未找到该企业")
        firm = firms[0]
    else:
        ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
        firm = snapshot.load(session, [ent], pools=True)[ent.id]
    day = as_of or dt.date.today()
    found = matching.match(
        firm, as_of=day, policy_set=policy_store.current(session), pools=pool_store.pools(session, day)
    )
    docs, message = policy_coverage(session, day)
    return Eligibility(firm, day, firm.year_for(day), _filter(found, statuses, kinds), docs, message)


@functools.cache
def _eligible_statement(kind: str):
    """The enterprises asked (by id or USCC) with their figures, honours and pool memberships, what policy
    documents and pool definitions are published, and whether the request's API key still holds, for one kind
    of actor: built once."""
    e = Enterprise.__table__
    return (
        select(
            KEY_VALID,
            *snapshot.json_columns(),
            policy_store.published_json().label("published_policies"),
            pool_store.published_json().label("published_pools"),
        )
        .select_from(e)
        .where(
            or_(
                e.c.id.in_(bindparam("ids", expanding=True)), e.c.uscc.in_(bindparam("codes", expanding=True))
            ),
            visible_clause(kind),
        )
    )


def _firms_in_one_statement(
    session: Session, actor: Principal, ids: list[int], codes: list[str]
) -> list[snapshot.EnterpriseSnapshot]:
    """On PostgreSQL, all a request for the enterprises asked reads, in one round trip instead of seven (the key
    check, the enterprises, their figures, honours and memberships, the published policies and pools): the same
    answers, read in one snapshot. Only the enterprises the actor sees."""
    kind, params = visibility_kind(actor)
    key_id = take_key_check(session)  # checked by the same statement
    rows = (
        session.connection()  # plain rows, no entities: the Core statement, not the ORM's
        .execute(
            _eligible_statement(kind),
            {"ids": [i for i in ids if 0 < i < 2**31], "codes": codes, "check_key_id": key_id, **params},
        )
        .all()
    )
    key_checked(session, key_id, rows[0].key_valid if rows else None)
    if rows:
        policy_store.seed_published(session, rows[0].published_policies)
        pool_store.seed_published(session, rows[0].published_pools)
    return [snapshot.from_json(r) for r in rows]


@dataclass
class BatchItem:
    ref: str  # the id or USCC as asked
    eligibility: Eligibility | None
    error: str | None  # Chinese, when the enterprise is not found


def eligible_policies_batch(
    session: Session,
    *,
    actor: Principal,
    enterprise_ids: list[int],
    usccs: list[str],
    as_of: dt.date | None = None,
    statuses: list[str] | None = None,
    kinds: list[str] | None = None,
) -> list[BatchItem]:
    """The same for up to BATCH_MAX enterprises at once, in the order asked; one not found is
    reported in its place, not as an error of the whole request."""
    actor.require("policies:read")
    errors: list[FieldError] = []
    if not enterprise_ids and not usccs:
        errors.append(FieldError("enterprise_ids", "enterprise_ids 与 usccs 至少填写一项"))
    if len(enterprise_ids) + len(usccs) > BATCH_MAX:
        errors.append(
            FieldError("enterprise_ids", f"一次最多查询 {BATCH_MAX} 家企业（enterprise_ids 与 usccs 合计）")
        )
    codes = []
    for i, raw in enumerate(usccs):
        code = normalise(raw)
        reason = uscc_error(code)
        if reason:
            errors.append(FieldError(f"usccs.{i}", f"usccs.{i}：{reason}"))
        codes.append(code)
    if len(set(enterprise_ids)) != len(enterprise_ids):
        errors.append(FieldError("enterprise_ids", "enterprise_ids 中有重复的企业"))
    if len(set(codes)) != len(codes):
        errors.append(FieldError("usccs", "usccs 中有重复的统一社会信用代码"))
    if errors:
        raise ValidationFailed(errors)
    day = as_of or dt.date.today()
    if session.get_bind().dialect.name == "postgresql":
        firms = _firms_in_one_statement(session, actor, enterprise_ids, codes)
    else:
        found: list[Enterprise] = []
        if enterprise_ids:
            found += session.scalars(
                select(Enterprise).where(Enterprise.id.in_(enterprise_ids), visible_to(actor))
            )
        if codes:
            found += session.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes), visible_to(actor)))
        firms = list(snapshot.load(session, found, pools=True).values())
    by_id = {f.id: f for f in firms}
    by_uscc = {f.uscc: f for f in firms}
    ps, pools = policy_store.current(session), pool_store.pools(session, day)
    items: list[BatchItem] = []
    asked = [(str(i), by_id.get(i)) for i in enterprise_ids] + [(c, by_uscc.get(c)) for c in codes]
    for ref, firm in asked:
        if firm is None:
            items.append(BatchItem(ref, None, "未找到该企业"))
            continue
        matches = matching.match(firm, as_of=day, policy_set=ps, pools=pools)
        items.append(
            BatchItem(
                ref, Eligibility(firm, day, firm.year_for(day), _filter(matches, statuses, kinds)), None
            )
        )
    return items


# --- registrations on 聊城企业政策通 (indicator 6 of the 2023 target table) ----------------------


def check_uscc(uscc: str, field: str = "uscc") -> str:
    """The normalised USCC, or a 422 naming the field with the checksum's reason."""
    code = normalise(uscc)
    reason = uscc_error(code)
    if reason:
        raise ValidationFailed.one(field, f"{field}：{reason}")
    return code


def enterprise_by_uscc(session: Session, *, actor: Principal, uscc: str) -> Enterprise:
    """The visible enterprise with this USCC (a malformed code is a 422, an unknown one a 404)."""
    code = check_uscc(uscc)
    ent = enterprise_service.first_entity_checked(
        session, select(Enterprise).where(Enterprise.uscc == code, visible_to(actor))
    )
    if ent is None:
        raise NotFound("未找到该统一社会信用代码对应的企业")
    return ent


def register_on_platform(
    session: Session, *, actor: Principal, uscc: str, registered_date: dt.date, today: dt.date | None = None
) -> tuple[Enterprise, bool]:
    """Record that the enterprise registered on 聊城企业政策通 on `registered_date`.

    Idempotent: the same date again changes nothing and writes no audit entry. A different date
    replaces the old one (audited, before → after). Returns (enterprise, changed).
    """
    actor.require("platform:write")
    code = check_uscc(uscc)
    limit = (today or dt.date.today()) + dt.timedelta(days=1)  # the platform's clock may be a day ahead
    if registered_date > limit:
        raise ValidationFailed.one("registered_date", f"registered_date：注册日期 {registered_date} 晚于今天")
    # Lock the row, so two identical reports at once still make one change and one audit entry.
    ent = session.scalar(
        select(Enterprise)
        .where(Enterprise.uscc == code, visible_to(actor))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if ent is None:
        raise NotFound("未找到该统一社会信用代码对应的企业")
    before = ent.platform_registered_date
    if before == registered_date:
        return ent, False
    if not enterprise_service.write_changes(session, ent, {"platform_registered_date": registered_date}):
        raise PreconditionFailed("企业记录正被他人修改，请重试")
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="enterprise",
        entity_id=ent.id,
        enterprise_id=ent.id,
        township=ent.township,
        changes={"platform_registered_date": [before, registered_date]},
        note="聊城企业政策通报送：企业已在平台注册",
    )
    return ent, True
