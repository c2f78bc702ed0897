"""Awards: compute, record events, propose lines (免申即享), review them, recompute, 公示 and the ledger.

Every line is computed by the pure engine (`app.awards.engine.compute`) from one event and the
facts the registry holds about the enterprise just before it; this module only gathers those
facts, stores the result with its receipt and moves lines through their states:

    proposed → approved (amount ≤ cap, comment, draws on a fund) → paid (date, voucher)
    proposed | approved → rejected (reason; an approved line gives its money back to the fund)

Every write is audited with the enterprise and its township, so it shows in the enterprise's history.
"""

import hashlib
import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, extract, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.api.problems import translate
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.awards import funds as fund_service
from app.awards.engine import Result, compute
from app.awards.events import EVENT_TYPES, EnterpriseFacts, Event, parse_event
from app.awards.models import AwardLine, EnterpriseEvent, PolicySnapshot
from app.db import utcnow
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise, Honour
from app.errors import AppError, Conflict, FieldError, NotFound, ValidationFailed
from app.pagination import decode_cursor, encode_cursor
from app.policies import coverage
from app.policies.loader import PolicySet, load_policies, read_policies
from app.policies.schema import FUNDER_NAMES
from app.reference import LEVEL_NAMES, OUTCOME_NAMES, honours

EVENT_TYPE_NAMES = {
    "honour": "认定",
    "first_above_scale": "首次升规",
    "sales_milestone": "年销售收入突破",
    "loan_interest": "科技成果转化贷款贴息",
    "equipment_purchase": "技改、智能化改造设备购置",
    "design_prize": "工业设计大赛获奖",
    "skills_contest": "承办职工技能大赛",
    "talent_program": "入选重点人才工程",
    "talent_loan_interest": "领军人才创办企业贷款贴息",
    "output_growth": "一季度新增产值",
    "strong_town": "民营经济高质量发展强镇",
}
# Event types recorded through POST /enterprises/{id}/events (honours go through the registry).
RECORDABLE_TYPES = tuple(t for t in EVENT_TYPES if t not in ("honour", "strong_town"))
LINE_FIELDS = ("status", "amount_yuan", "fund_id", "paid_date", "voucher_no")


class InvalidTransition(AppError):
    def __init__(self, detail: str):
        super().__init__(detail=detail, status_code=409, code="invalid_transition", title="Conflict")


def policies() -> PolicySet:
    return load_policies()


# --- events ---------------------------------------------------------------------------------


def parse_event_data(data: Any, *, prefix: str = "event") -> Event:
    """The event model for `data`, or a 422 whose errors name the event's own fields (`event.level`)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed.one(prefix, f"{prefix}：应为 JSON 对象")
    try:
        return parse_event(dict(data))
    except ValidationError as e:
        raise ValidationFailed(_event_errors(e, data, prefix)) from None


def _event_errors(exc: ValidationError, data: Mapping, prefix: str) -> list[FieldError]:
    types = "、".join(EVENT_TYPES)
    errors = []
    for err in exc.errors():
        kind = err["type"]
        if kind == "union_tag_not_found":
            errors.append(FieldError(f"{prefix}.type", f"{prefix}.type：缺少事件类型（可选：{types}）"))
        elif kind == "union_tag_invalid":
            errors.append(
                FieldError(f"{prefix}.type", f"{prefix}.type：未知的事件类型“{data.get('type')}”（可选：{types}）")
            )
        else:
            rest = [str(p) for p in err["loc"][1:]]  # the first element is the union's tag
            if kind == "value_error":
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                if not rest:  # a whole-event check (an honour's code or level)
                    rest = ["level"] if "级别" in msg else ["honour"]
                name = ".".join([prefix, *rest])
                errors.append(FieldError(name, f"{name}：{msg}"))
            else:
                errors.append(translate({**err, "loc": (prefix, *rest)}))
    return errors


def event_key(event: Event) -> str:
    """The identity of an event for one enterprise: recording it again is a duplicate."""
    raw = json.dumps(event.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def describe_event(data: Mapping[str, Any]) -> str:
    """A short Chinese description of a stored event (for lists, the 公示 and the ledger)."""
    kind = data.get("type")
    if kind == "honour":
        spec = honours().get(data.get("honour"), {})
        return (
            f"{LEVEL_NAMES.get(data.get('level'), '')}{spec.get('name', data.get('honour'))}"
            f"（{OUTCOME_NAMES.get(data.get('outcome'), '')}）"
        )
    return EVENT_TYPE_NAMES.get(kind, str(kind))


# --- facts ----------------------------------------------------------------------------------


@dataclass
class _Ev:
    """An event as the proposer needs it, whether it comes from the ORM or a bulk query."""

    id: int
    enterprise_id: int
    event_date: date
    data: dict
    facts: dict | None


@dataclass
class _EntState:
    """What the database knows of one enterprise: its fields, honours and award lines so far."""

    id: int
    name: str
    township: str
    size: str | None
    ownership: str | None
    above_scale: bool | None
    honours: list[tuple[str, str, date]] = field(default_factory=list)  # (code, level, date), new/renewed
    lines: list[tuple[str, int | None, str, int]] = field(default_factory=list)  # (rule, event, status, yuan)

    def facts(self, event_date: date, *, event_id: int | None = None, extra: Mapping | None = None) -> EnterpriseFacts:
        held = sorted({(code, level) for code, level, day in self.honours if day < event_date})
        prior: dict[str, int] = defaultdict(int)
        for rule_id, ev, status, yuan in self.lines:
            if status != "rejected" and (event_id is None or ev != event_id):
                prior[rule_id] += yuan
        return EnterpriseFacts(
            size=self.size,
            ownership=self.ownership,
            above_scale=self.above_scale,
            honours=held,
            prior_grants_yuan=dict(prior),
            **{k: v for k, v in (extra or {}).items() if v is not None},
        )

    def has_line(self, rule_id: str, event_id: int) -> bool:
        return any(r == rule_id and ev == event_id for r, ev, _, _ in self.lines)

    def granted_before(self, rule_id: str, event_id: int) -> bool:
        return any(r == rule_id and ev != event_id and st != "rejected" for r, ev, st, _ in self.lines)


def _states(session: Session, enterprise_ids: Iterable[int]) -> dict[int, _EntState]:
    """Enterprise fields, honours and lines for many enterprises: three queries."""
    ids = list(set(enterprise_ids))
    states: dict[int, _EntState] = {}
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        for row in session.execute(
            select(
                Enterprise.id, Enterprise.name, Enterprise.township, Enterprise.size, Enterprise.ownership,
                Enterprise.above_scale,
            ).where(Enterprise.id.in_(chunk))
        ):
            states[row.id] = _EntState(*row)
        for eid, code, level, day in session.execute(
            select(Honour.enterprise_id, Honour.code, Honour.level, Honour.honour_date).where(
                Honour.enterprise_id.in_(chunk), Honour.outcome.in_(("new", "renewed"))
            )
        ):
            states[eid].honours.append((code, level, day))
        for eid, rule_id, event_id, status, yuan in session.execute(
            select(
                AwardLine.enterprise_id, AwardLine.rule_id, AwardLine.event_id, AwardLine.status,
                func.coalesce(AwardLine.amount_yuan, AwardLine.computed_yuan),
            ).where(AwardLine.enterprise_id.in_(chunk))
        ):
            states[eid].lines.append((rule_id, event_id, status, int(yuan)))
    return states


def enterprise_facts(
    session: Session, *, actor: Principal, enterprise_id: int, event_date: date, extra: Mapping | None = None
) -> EnterpriseFacts:
    """The facts of a stored enterprise just before `event_date` (404 outside the actor's township)."""
    enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    return _states(session, [enterprise_id])[enterprise_id].facts(event_date, extra=extra)


# --- computing without saving ---------------------------------------------------------------


def preview(
    session: Session,
    *,
    actor: Principal,
    event: Any,
    enterprise: EnterpriseFacts | None = None,
    enterprise_id: int | None = None,
    extra_facts: Mapping | None = None,
) -> tuple[Result, EnterpriseFacts]:
    """The award lines an event would earn; nothing is written."""
    actor.require("awards:read")
    parsed = parse_event_data(event)
    if enterprise_id is not None:
        facts = enterprise_facts(
            session, actor=actor, enterprise_id=enterprise_id, event_date=parsed.date, extra=extra_facts
        )
    else:
        facts = enterprise or EnterpriseFacts()
    return compute(parsed, facts, policies()), facts


@dataclass
class BatchOutcome:
    results: list[Result]

    @property
    def total_by_funder(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for r in self.results:
            for line in r.lines:
                totals[line.funder] += line.amount_yuan
        return dict(totals)


def batch_preview(session: Session, *, actor: Principal, items: list[Mapping[str, Any]]) -> BatchOutcome:
    """Compute many events at once (nothing saved). Every bad event is reported, by its index."""
    actor.require("awards:read")
    parsed: list[tuple[Event, EnterpriseFacts | None, int | None]] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        try:
            event = parse_event_data(item.get("event"), prefix=f"events[{i}].event")
        except ValidationFailed as e:
            errors.extend(e.errors)
            continue
        parsed.append((event, item.get("enterprise"), item.get("enterprise_id")))
    if errors:
        raise ValidationFailed(errors)
    wanted = {eid for _, _, eid in parsed if eid is not None}
    states: dict[int, _EntState] = {}
    if wanted:
        visible = set(
            session.scalars(
                select(Enterprise.id).where(Enterprise.id.in_(wanted), enterprise_service._visible(actor))
            )
        )
        missing = sorted(wanted - visible)
        if missing:
            raise NotFound(f"未找到企业 {'、'.join(map(str, missing[:20]))}")
        states = _states(session, wanted)
    ps = policies()
    results = []
    for event, facts, eid in parsed:
        if eid is not None:
            facts = states[eid].facts(event.date)
        results.append(compute(event, facts, ps))
    return BatchOutcome(results)


# --- proposing lines (免申即享) ----------------------------------------------------------------


@dataclass
class Proposal:
    event_id: int
    result: Result
    line_ids: list[int] = field(default_factory=list)
    existing: int = 0
    skipped: list[str] = field(default_factory=list)  # one-off rules already granted; amounts of 0


def _store_snapshots(session: Session, ps: PolicySet) -> None:
    """Keep the text of the policy files the lines were computed with."""
    versions = {doc.version: doc for doc in ps.documents.values()}
    stored = set(session.scalars(select(PolicySnapshot.version).where(PolicySnapshot.version.in_(versions))))
    for version, doc in versions.items():
        if version not in stored:
            session.add(
                PolicySnapshot(
                    version=version, document_code=doc.code, file_name=doc.path.name,
                    content=doc.path.read_text(encoding="utf-8"),
                )
            )
    session.flush()


def _audit_rows(actor: Principal, rows: list[dict]) -> list[dict]:
    now = utcnow()
    return [
        {
            "at": now, "actor_kind": actor.kind, "actor_id": actor.id, "actor_name": actor.name,
            "note": None, **r, "entity_id": str(r["entity_id"]),
        }
        for r in rows
    ]


def _propose(session: Session, *, actor: Principal, events: list[_Ev], note: str) -> list[Proposal]:
    """Compute every event and store the lines it does not have yet, as `proposed`.

    Never two lines for one enterprise, rule and event (also a unique constraint), and never a
    second line under a one-off rule (一次性奖励) that the enterprise was already granted.
    Events of one enterprise are taken in date order, so a cumulative cap (单户累计) counts the
    lines proposed a moment before.
    """
    if not events:
        return []
    ps = policies()
    versions = {code: doc.version for code, doc in ps.documents.items()}
    states = _states(session, {e.enterprise_id for e in events})
    now = utcnow()
    proposals: list[Proposal] = []
    rows: list[dict] = []
    owners: list[Proposal] = []
    for ev in sorted(events, key=lambda e: (e.enterprise_id, e.event_date, e.id)):
        state = states[ev.enterprise_id]
        event = parse_event(ev.data)
        facts = state.facts(ev.event_date, event_id=ev.id, extra=ev.facts)
        result = compute(event, facts, ps)
        proposal = Proposal(event_id=ev.id, result=result)
        proposals.append(proposal)
        for line in result.lines:
            if state.has_line(line.rule_id, ev.id):
                proposal.existing += 1
                continue
            if getattr(ps.rules[line.rule_id].amount, "one_off", False) and state.granted_before(line.rule_id, ev.id):
                proposal.skipped.append(line.rule_id)
                continue
            if line.amount_yuan == 0:  # a cumulative cap used up: nothing to grant (yet)
                proposal.skipped.append(line.rule_id)
                continue
            state.lines.append((line.rule_id, ev.id, "proposed", line.amount_yuan))
            rows.append(
                {
                    "enterprise_id": ev.enterprise_id, "event_id": ev.id, "event_type": event.type,
                    "event_date": event.date, "rule_id": line.rule_id, "document_code": line.document_code,
                    "document": line.document, "document_version": line.document_version, "clause": line.clause,
                    "funder": line.funder, "kind": line.kind, "ceiling": line.ceiling,
                    "computed_yuan": line.amount_yuan, "amount_yuan": None, "explanation": line.explanation,
                    "status": "proposed", "created_at": now, "updated_at": now,
                    "receipt": {
                        "rule_id": line.rule_id,
                        "document_version": line.document_version,
                        "policy_versions": versions,
                        "event": event.model_dump(mode="json"),
                        "facts": facts.model_dump(mode="json"),
                        "line": line.model_dump(mode="json"),
                        "computed_at": now.isoformat(),
                    },
                }
            )
            owners.append(proposal)
    if rows:
        _store_snapshots(session, ps)
        ids = _insert_lines(session, rows)
        audit_rows = []
        for line_id, row, owner in zip(ids, rows, owners, strict=True):
            owner.line_ids.append(line_id)
            audit_rows.append(
                {
                    "action": "propose", "entity_type": "award_line", "entity_id": line_id,
                    "enterprise_id": row["enterprise_id"], "township": states[row["enterprise_id"]].township,
                    "changes": {
                        "rule_id": [None, row["rule_id"]], "computed_yuan": [None, row["computed_yuan"]],
                        "status": [None, "proposed"],
                    },
                    "note": note,
                }
            )
        for i in range(0, len(audit_rows), 2000):
            session.execute(insert(AuditEntry), _audit_rows(actor, audit_rows[i : i + 2000]))
    return proposals


def _insert_lines(session: Session, rows: list[dict]) -> list[int]:
    """Insert award lines, returning their ids in order.

    On PostgreSQL the ids are drawn from the sequence first, so the rows go in as a plain
    executemany (psycopg's pipeline) instead of one huge multi-row INSERT … RETURNING per batch,
    several times faster for a year's lines with their receipts.
    """
    ids: list[int] = []
    if session.get_bind().dialect.name == "postgresql":
        for i in range(0, len(rows), 5000):
            chunk = rows[i : i + 5000]
            new = list(session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('award_line', 'id')) FROM generate_series(1, :n)"),
                {"n": len(chunk)},
            ))
            session.execute(insert(AwardLine), [{**r, "id": n} for r, n in zip(chunk, new, strict=True)])
            ids.extend(new)
        return ids
    for i in range(0, len(rows), 2000):
        ids.extend(
            session.scalars(insert(AwardLine).returning(AwardLine.id, sort_by_parameter_order=True), rows[i : i + 2000])
        )
    return ids


def _ev(row: EnterpriseEvent) -> _Ev:
    return _Ev(row.id, row.enterprise_id, row.event_date, row.data, row.facts)


def lines_by_id(session: Session, ids: list[int]) -> list[AwardLine]:
    if not ids:
        return []
    return list(session.scalars(select(AwardLine).where(AwardLine.id.in_(ids)).order_by(AwardLine.id)))


@dataclass
class Recorded:
    event: EnterpriseEvent
    proposal: Proposal
    lines: list[AwardLine]
    warnings: list[str] = field(default_factory=list)  # why no award could be proposed, when known


def record_event(
    session: Session,
    *,
    actor: Principal,
    enterprise_id: int,
    event: Any,
    facts: Mapping | None = None,
    note: str | None = None,
) -> Recorded:
    """Record a non-honour event on an enterprise and propose the award lines it earns."""
    actor.require("enterprises:write")
    ent = enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    parsed = parse_event_data(event)
    if parsed.type == "honour":
        raise ValidationFailed.one(
            "event.type", "event.type：认定请在企业的“认定”中记录（POST /api/v1/enterprises/{id}/honours），系统会自动生成奖补"
        )
    if parsed.type == "strong_town":
        raise ValidationFailed.one("event.type", "event.type：强镇评选是乡镇（街道）的事件，不能记在企业上")
    if parsed.type == "first_above_scale":
        earlier = session.scalar(
            select(EnterpriseEvent.event_date).where(
                EnterpriseEvent.enterprise_id == ent.id, EnterpriseEvent.type == "first_above_scale"
            )
        )
        if earlier is not None:
            raise Conflict(
                f"该企业已于 {earlier} 记录首次升规，不能再次记录",
                errors=[FieldError("event.type", f"该企业已于 {earlier} 记录首次升规")],
                code="duplicate_event",
            )
    key = event_key(parsed)
    if session.scalar(select(EnterpriseEvent.id).where(EnterpriseEvent.enterprise_id == ent.id, EnterpriseEvent.event_key == key)):
        raise Conflict(
            "该事件已记录过（类型、日期和各项数值均相同）",
            errors=[FieldError("event", "同一企业的相同事件已记录")],
            code="duplicate_event",
        )
    row = _new_event(session, actor=actor, ent=ent, event=parsed, key=key, facts=facts, note=note)
    proposal = _propose(session, actor=actor, events=[_ev(row)], note="记录事件后按政策自动生成（免申即享）")[0]
    warnings = coverage.event_warnings(policies(), parsed.type, parsed.date, EVENT_TYPE_NAMES.get(parsed.type))
    return Recorded(row, proposal, lines_by_id(session, proposal.line_ids), warnings)


def _new_event(session, *, actor, ent, event: Event, key: str, facts=None, note=None, honour_id=None) -> EnterpriseEvent:
    row = EnterpriseEvent(
        enterprise_id=ent.id, type=event.type, event_date=event.date, data=event.model_dump(mode="json"),
        facts={k: v for k, v in (facts or {}).items() if v is not None} or None, event_key=key,
        honour_id=honour_id, note=note, recorded_by=actor.name,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor=actor, action="record", entity_type="enterprise_event", entity_id=row.id,
        enterprise_id=ent.id, township=ent.township,
        changes={"type": [None, row.type], "event_date": [None, row.event_date], "data": [None, row.data]},
        note=describe_event(row.data),
    )
    return row


def _honour_event_data(honour: Honour) -> dict:
    return {"type": "honour", "honour": honour.code, "level": honour.level, "outcome": honour.outcome,
            "date": honour.honour_date}


def on_honour_recorded(session: Session, *, actor: Principal, enterprise: Enterprise, honour: Honour) -> Recorded | None:
    """An honour was recorded: record its event and propose its lines (免申即享)."""
    try:
        parsed = parse_event(_honour_event_data(honour))
    except ValidationError:
        return None  # a code or level the rules do not know earns nothing; the honour still stands
    key = event_key(parsed)
    row = session.scalar(
        select(EnterpriseEvent).where(EnterpriseEvent.enterprise_id == enterprise.id, EnterpriseEvent.event_key == key)
    )
    if row is None:
        row = _new_event(session, actor=actor, ent=enterprise, event=parsed, key=key, honour_id=honour.id)
    elif row.honour_id is None:  # the same honour deleted and recorded again: its lines stay its lines
        row.honour_id = honour.id
        session.flush()
    proposal = _propose(session, actor=actor, events=[_ev(row)], note="记录认定后按政策自动生成（免申即享）")[0]
    return Recorded(row, proposal, lines_by_id(session, proposal.line_ids))


def on_became_above_scale(session: Session, *, actor: Principal, enterprise: Enterprise) -> Recorded | None:
    """The registry marked the enterprise 规上 for the first time: record 首次升规 dated today."""
    if session.scalar(
        select(EnterpriseEvent.id).where(
            EnterpriseEvent.enterprise_id == enterprise.id, EnterpriseEvent.type == "first_above_scale"
        )
    ):
        return None
    parsed = parse_event({"type": "first_above_scale", "date": date.today()})
    row = _new_event(
        session, actor=actor, ent=enterprise, event=parsed, key=event_key(parsed), note="企业登记为规上时自动记录"
    )
    proposal = _propose(session, actor=actor, events=[_ev(row)], note="首次升规后按政策自动生成（免申即享）")[0]
    return Recorded(row, proposal, lines_by_id(session, proposal.line_ids))


def enterprise_events(session: Session, *, actor: Principal, enterprise_id: int) -> list[EnterpriseEvent]:
    enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    return list(
        session.scalars(
            select(EnterpriseEvent)
            .where(EnterpriseEvent.enterprise_id == enterprise_id)
            .order_by(EnterpriseEvent.event_date.desc(), EnterpriseEvent.id.desc())
        )
    )


# --- a year's events at once ------------------------------------------------------------------


@dataclass
class YearOutcome:
    year: int
    events: int = 0
    created_lines: int = 0
    existing_lines: int = 0
    honour_events_created: int = 0
    total_by_funder: dict[str, int] = field(default_factory=dict)
    lines: int = 0

    @property
    def total_yuan(self) -> int:
        return sum(self.total_by_funder.values())


def _year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _ensure_honour_events(session: Session, *, actor: Principal, year: int) -> int:
    """Give every honour of the year an event (honours loaded in bulk have none yet)."""
    start, end = _year_bounds(year)
    rows = session.execute(
        select(Honour, Enterprise.township)
        .join(Enterprise, Enterprise.id == Honour.enterprise_id)
        .outerjoin(EnterpriseEvent, EnterpriseEvent.honour_id == Honour.id)
        .where(
            Honour.honour_date.between(start, end), EnterpriseEvent.id.is_(None), Enterprise.deleted_at.is_(None)
        )
    ).all()
    if not rows:
        return 0
    existing: dict[tuple[int, str], tuple[int, int | None]] = {}
    ent_ids = list({h.enterprise_id for h, _ in rows})
    for i in range(0, len(ent_ids), 5000):
        for eid, key, ev_id, hid in session.execute(
            select(EnterpriseEvent.enterprise_id, EnterpriseEvent.event_key, EnterpriseEvent.id, EnterpriseEvent.honour_id)
            .where(EnterpriseEvent.enterprise_id.in_(ent_ids[i : i + 5000]), EnterpriseEvent.type == "honour")
        ):
            existing[(eid, key)] = (ev_id, hid)
    new_rows, townships = [], []
    now = utcnow()
    for honour, township in rows:
        try:
            parsed = parse_event(_honour_event_data(honour))
        except ValidationError:
            continue
        key = event_key(parsed)
        if (honour.enterprise_id, key) in existing:
            ev_id, hid = existing[(honour.enterprise_id, key)]
            if hid is None:
                session.execute(update(EnterpriseEvent).where(EnterpriseEvent.id == ev_id).values(honour_id=honour.id))
            continue
        existing[(honour.enterprise_id, key)] = (0, honour.id)
        new_rows.append(
            {
                "enterprise_id": honour.enterprise_id, "type": "honour", "event_date": parsed.date,
                "data": parsed.model_dump(mode="json"), "facts": None, "event_key": key, "honour_id": honour.id,
                "note": None, "recorded_by": actor.name, "created_at": now,
            }
        )
        townships.append(township)
    for i in range(0, len(new_rows), 2000):
        chunk = new_rows[i : i + 2000]
        ids = session.scalars(
            insert(EnterpriseEvent).returning(EnterpriseEvent.id, sort_by_parameter_order=True), chunk
        ).all()
        session.execute(
            insert(AuditEntry),
            _audit_rows(
                actor,
                [
                    {"action": "record", "entity_type": "enterprise_event", "entity_id": ev_id,
                     "enterprise_id": r["enterprise_id"], "township": t,
                     "changes": {"type": [None, "honour"], "event_date": [None, r["data"]["date"]]},
                     "note": describe_event(r["data"])}
                    for ev_id, r, t in zip(ids, chunk, townships[i : i + 2000], strict=True)
                ],
            ),
        )
    return len(new_rows)


def compute_year(session: Session, *, actor: Principal, year: int) -> YearOutcome:
    """Propose the lines of every recorded event of `year` that it does not have yet (idempotent)."""
    actor.require("awards:write")
    out = YearOutcome(year=year)
    out.honour_events_created = _ensure_honour_events(session, actor=actor, year=year)
    start, end = _year_bounds(year)
    in_year = and_(
        EnterpriseEvent.event_date.between(start, end),
        EnterpriseEvent.enterprise_id == Enterprise.id,
        Enterprise.deleted_at.is_(None),
    )
    ent_ids = list(session.scalars(select(EnterpriseEvent.enterprise_id).join(Enterprise).where(in_year).distinct()))
    totals: dict[str, int] = defaultdict(int)
    for i in range(0, len(ent_ids), 2000):
        chunk = ent_ids[i : i + 2000]
        events = [
            _Ev(*row)
            for row in session.execute(
                select(
                    EnterpriseEvent.id, EnterpriseEvent.enterprise_id, EnterpriseEvent.event_date,
                    EnterpriseEvent.data, EnterpriseEvent.facts,
                ).join(Enterprise).where(in_year, EnterpriseEvent.enterprise_id.in_(chunk))
            )
        ]
        out.events += len(events)
        for p in _propose(session, actor=actor, events=events, note=f"按 {year} 年已记录事件批量生成"):
            out.created_lines += len(p.line_ids)
            out.existing_lines += p.existing
            out.lines += len(p.result.lines)
            for line in p.result.lines:
                totals[line.funder] += line.amount_yuan
    out.total_by_funder = dict(totals)
    return out


# --- reading lines ----------------------------------------------------------------------------


@dataclass
class LineFilters:
    status: list[str] | None = None
    funder: str | None = None
    township: str | None = None
    enterprise_id: int | None = None
    rule_id: str | None = None
    document_code: str | None = None
    year: int | None = None
    q: str | None = None


def _visible_lines(actor: Principal):
    conds = [AwardLine.enterprise_id == Enterprise.id]
    if actor.township_filter():
        conds.append(Enterprise.township == actor.township_filter())
    return and_(*conds)


def _filtered(actor: Principal, f: LineFilters):
    stmt = select(AwardLine, Enterprise.name, Enterprise.township).join(Enterprise, _visible_lines(actor))
    if f.status:
        bad = [s for s in f.status if s not in ("proposed", "approved", "paid", "rejected")]
        if bad:
            raise ValidationFailed.one("status", f"状态“{bad[0]}”无效，应为 proposed、approved、paid、rejected 之一")
        stmt = stmt.where(AwardLine.status.in_(f.status))
    if f.funder:
        if f.funder not in FUNDER_NAMES:
            raise ValidationFailed.one("funder", "出资层级应为 province、city、county 之一")
        stmt = stmt.where(AwardLine.funder == f.funder)
    if f.township:
        stmt = stmt.where(Enterprise.township == f.township)
    if f.enterprise_id:
        stmt = stmt.where(AwardLine.enterprise_id == f.enterprise_id)
    if f.rule_id:
        stmt = stmt.where(AwardLine.rule_id == f.rule_id)
    if f.document_code:
        stmt = stmt.where(AwardLine.document_code == f.document_code)
    if f.year:
        start, end = _year_bounds(f.year)
        stmt = stmt.where(AwardLine.event_date.between(start, end))
    if f.q:
        pattern = "%" + f.q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Enterprise.name.ilike(pattern, escape="\\"))
    return stmt


def list_lines(
    session: Session, *, actor: Principal, filters: LineFilters, cursor: str | None = None, limit: int = 50
) -> tuple[list[tuple[AwardLine, str, str]], str | None]:
    """Lines newest first, keyset-paginated on id."""
    actor.require("awards:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "每页条数须在 1–500 之间")
    stmt = _filtered(actor, filters)
    if cursor:
        _, last_id = decode_cursor(cursor, "-id")
        stmt = stmt.where(AwardLine.id < last_id)
    rows = session.execute(stmt.order_by(AwardLine.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = [tuple(r) for r in rows[:limit]]
    return rows, (encode_cursor("-id", None, rows[-1][0].id) if more and rows else None)


def get_line(session: Session, *, actor: Principal, line_id: int, lock: bool = False) -> tuple[AwardLine, Enterprise]:
    """The line and its enterprise; 404 if it does not exist or lies outside the actor's township."""
    actor.require("awards:read")
    stmt = select(AwardLine, Enterprise).join(Enterprise, _visible_lines(actor)).where(AwardLine.id == line_id)
    if lock:
        stmt = stmt.with_for_update(of=AwardLine).execution_options(populate_existing=True)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound("未找到该奖补")
    return row[0], row[1]


def enterprise_lines(session: Session, *, actor: Principal, enterprise_id: int) -> list[AwardLine]:
    enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    actor.require("awards:read")
    return list(
        session.scalars(
            select(AwardLine)
            .where(AwardLine.enterprise_id == enterprise_id)
            .order_by(AwardLine.event_date.desc(), AwardLine.id.desc())
        )
    )


# --- the workflow ---------------------------------------------------------------------------

STATE_NAMES = {"proposed": "待审核", "approved": "已批准", "paid": "已拨付", "rejected": "已驳回"}


def _transition_audit(session, actor, line: AwardLine, ent: Enterprise, action: str, before: dict, note: str | None):
    after = audit.snapshot(line, LINE_FIELDS)
    audit.record(
        session, actor=actor, action=action, entity_type="award_line", entity_id=line.id,
        enterprise_id=ent.id, township=ent.township, changes=audit.diff(before, after), note=note,
    )


def approve(
    session: Session,
    *,
    actor: Principal,
    line_id: int,
    comment: str,
    amount_yuan: int | None = None,
    fund_id: int | None = None,
) -> AwardLine:
    """Approve a proposed line for an amount no higher than its cap, drawing on a fund."""
    actor.require("awards:approve")
    if not comment or not comment.strip():
        raise ValidationFailed.one("comment", "请填写审核意见")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status != "proposed":
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，只有待审核的奖补可以批准")
    amount = line.computed_yuan if amount_yuan is None else amount_yuan
    cite = f"{line.document} {line.clause}"
    if amount > line.computed_yuan:
        raise ValidationFailed.one(
            "amount_yuan", f"批准金额 {amount:,} 元超过{cite}规定的上限 {line.computed_yuan:,} 元"
        )
    if not line.ceiling and amount != line.computed_yuan:
        raise ValidationFailed.one(
            "amount_yuan", f"{cite}规定的金额为 {line.computed_yuan:,} 元（不是上限），批准金额须与之相同"
        )
    if amount <= 0:
        raise ValidationFailed.one("amount_yuan", "批准金额须大于 0；不予奖补请驳回")
    fund = fund_service.choose(session, line, fund_id)
    before = audit.snapshot(line, LINE_FIELDS)
    if fund is not None:
        fund_service.draw(session, actor=actor, fund=fund, amount=amount, line=line)
    line.status = "approved"
    line.amount_yuan = amount
    line.fund_id = fund.id if fund is not None else None
    line.decision_comment = comment.strip()
    line.decided_by = actor.name
    line.decided_at = utcnow()
    line.updated_at = line.decided_at
    session.flush()
    _transition_audit(session, actor, line, ent, "approve", before, comment.strip())
    return line


def pay(session: Session, *, actor: Principal, line_id: int, paid_date: date, voucher_no: str) -> AwardLine:
    """Record the payment of an approved line."""
    actor.require("awards:approve")
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        raise ValidationFailed.one("voucher_no", "请填写凭证号")
    if paid_date > date.today():
        raise ValidationFailed.one("paid_date", "拨付日期不能晚于今天")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status != "approved":
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，只有已批准的奖补可以登记拨付")
    if line.decided_at is not None and paid_date < line.decided_at.date():
        raise ValidationFailed.one("paid_date", f"拨付日期不能早于批准日期 {line.decided_at.date()}")
    before = audit.snapshot(line, LINE_FIELDS)
    line.status = "paid"
    line.paid_date = paid_date
    line.voucher_no = voucher_no
    line.paid_by = actor.name
    line.updated_at = utcnow()
    session.flush()
    _transition_audit(session, actor, line, ent, "pay", before, f"凭证号 {voucher_no}")
    return line


def reject(session: Session, *, actor: Principal, line_id: int, reason: str) -> AwardLine:
    """Reject a proposed or approved (not yet paid) line; an approved line's money returns to its fund."""
    actor.require("awards:approve")
    if not reason or not reason.strip():
        raise ValidationFailed.one("reason", "请填写驳回原因")
    line, ent = get_line(session, actor=actor, line_id=line_id, lock=True)
    if line.status not in ("proposed", "approved"):
        raise InvalidTransition(f"该奖补当前为“{STATE_NAMES[line.status]}”，不能驳回")
    before = audit.snapshot(line, LINE_FIELDS)
    if line.status == "approved" and line.fund_id is not None and line.amount_yuan:
        fund_service.release(
            session, actor=actor, fund_id=line.fund_id, amount=line.amount_yuan, line=line, note=f"驳回奖补 {line.id}"
        )
    line.status = "rejected"
    line.rejected_reason = reason.strip()
    line.decided_by = actor.name
    line.decided_at = utcnow()
    line.updated_at = line.decided_at
    session.flush()
    _transition_audit(session, actor, line, ent, "reject", before, reason.strip())
    return line


# --- recomputing from the receipt -----------------------------------------------------------


def _policy_set_for(session: Session, versions: Mapping[str, str]) -> PolicySet | None:
    """The rules exactly as they were: the current files, or the stored text of older versions."""
    ps = policies()
    if {code: doc.version for code, doc in ps.documents.items()} == dict(versions):
        return ps
    snaps = {s.version: s for s in session.scalars(select(PolicySnapshot).where(PolicySnapshot.version.in_(versions.values())))}
    if set(snaps) != set(versions.values()):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for snap in snaps.values():
            Path(tmp, snap.file_name).write_text(snap.content, encoding="utf-8")
        return read_policies(tmp)


def recompute(session: Session, *, actor: Principal, line_id: int) -> dict:
    """Recompute a stored line from its receipt with the rules it was computed with."""
    line, _ = get_line(session, actor=actor, line_id=line_id)
    receipt = line.receipt
    versions = receipt.get("policy_versions", {})
    current = {code: doc.version for code, doc in policies().documents.items()}
    ps = _policy_set_for(session, versions)
    recomputed, explanation = None, None
    if ps is not None:
        result = compute(parse_event(receipt["event"]), EnterpriseFacts.model_validate(receipt["facts"]), ps)
        match = next((x for x in result.lines if x.rule_id == line.rule_id), None)
        if match is not None:
            recomputed, explanation = match.amount_yuan, match.explanation
    return {
        "line_id": line.id,
        "rule_id": line.rule_id,
        "stored_yuan": line.computed_yuan,
        "recomputed_yuan": recomputed,
        "matches": recomputed == line.computed_yuan,
        "policy_versions": versions,
        "current_versions": current,
        "rules_changed_since": versions != current,
        "explanation": explanation,
    }


# --- 公示 and the ledger ----------------------------------------------------------------------


def subject_of(line: AwardLine) -> str:
    """What the line rewards, in the rule's words (新认定省级专精特新企业)."""
    rule = policies().rules.get(line.rule_id)
    return rule.subject if rule is not None else EVENT_TYPE_NAMES.get(line.event_type, line.event_type)


def notice_rows(session: Session, *, actor: Principal, year: int | None = None) -> list[tuple[AwardLine, str, str]]:
    """Approved (and paid) awards for public notice (公示), by township order then enterprise."""
    rows, _ = _all(session, actor, LineFilters(status=["approved", "paid"], year=year))
    return rows


def _all(session, actor, filters: LineFilters):
    actor.require("awards:read")
    stmt = _filtered(actor, filters).order_by(Enterprise.township, Enterprise.name, AwardLine.id)
    return [tuple(r) for r in session.execute(stmt)], None


def ledger_rows(session: Session, *, actor: Principal, filters: LineFilters) -> list[tuple[AwardLine, str, str]]:
    return _all(session, actor, filters)[0]


def ledger_totals(session: Session, *, actor: Principal, filters: LineFilters | None = None) -> dict[str, int]:
    """Totals of the ledger by state, in one query: proposed at their caps, the rest at the granted amount."""
    stmt = _filtered(actor, filters or LineFilters()).subquery()
    rows = session.execute(
        select(
            stmt.c.status,
            func.count(),
            func.coalesce(func.sum(stmt.c.computed_yuan), 0),
            func.coalesce(func.sum(stmt.c.amount_yuan), 0),
        ).group_by(stmt.c.status)
    ).all()
    out = {f"{s}_{k}": 0 for s in ("proposed", "approved", "paid", "rejected") for k in ("count", "yuan")}
    for status, count, computed, granted in rows:
        out[f"{status}_count"] = count
        out[f"{status}_yuan"] = int(computed if status in ("proposed", "rejected") else granted)
    return out


def totals_by_year_funder(session: Session, *, actor: Principal) -> list[tuple[int, str, str, int]]:
    """(year, funder, status, yuan) for the chart: one query."""
    actor.require("awards:read")
    year = extract("year", AwardLine.event_date)
    stmt = (
        select(year, AwardLine.funder, AwardLine.status, func.sum(func.coalesce(AwardLine.amount_yuan, AwardLine.computed_yuan)))
        .join(Enterprise, _visible_lines(actor))
        .group_by(year, AwardLine.funder, AwardLine.status)
        .order_by(year)
    )
    return [(int(y), f, s, int(v)) for y, f, s, v in session.execute(stmt)]


# --- the rule catalogue -----------------------------------------------------------------------


def _yuan_text(yuan: int) -> str:
    return f"{yuan / 10000:g} 万元"


def amount_text(rule) -> str:
    """The rule's amount in Chinese, as the clause states it."""
    a = rule.amount
    if a is None:
        return "非货币待遇"
    shape = a.shape
    if shape == "fixed":
        return ("一次性 " if a.one_off else "") + _yuan_text(a.yuan)
    if shape == "up_to":
        return ("一次性" if a.one_off else "") + "最高 " + _yuan_text(a.yuan)
    if shape == "percent":
        parts = [f"{'不超过 ' if a.ceiling else ''}{a.percent.normalize():f}%"]
        if a.cap_yuan is not None:
            parts.append(("单户累计" if a.cap_scope == "enterprise" else "") + "最高 " + _yuan_text(a.cap_yuan))
        return "，".join(parts)
    if shape == "share":
        return f"按 {a.of_rule} 金额的 {a.percent.normalize():f}%"
    if shape == "range":
        return f"{a.percent.normalize():f}% 配套，{_yuan_text(a.min_yuan)}—{_yuan_text(a.max_yuan)}"
    return f"未定金额（{a.reason}）"


def _doc_summary(doc, today: date) -> dict:
    spec = doc.spec
    return {
        "code": spec.code,
        "number": spec.number,
        "title": spec.title,
        "issuer": spec.issuer,
        "issue_date": spec.issue_date,
        "in_force_start": spec.in_force.start,
        "in_force_end": spec.in_force.end,
        "in_force_today": spec.in_force.contains(today),
        "lapsed": today > spec.in_force.end,
        "lapses_on": spec.in_force.end,
        "version": doc.version,
        "rules": len(spec.rules),
        "funds": [
            {"id": f.id, "funder": f.funder, "clause": f.clause, "clause_text": f.clause_text,
             "amount_yuan": f.amount_yuan, "period_start": f.period.start, "period_end": f.period.end}
            for f in spec.funds
        ],
    }


def catalogue(today: date | None = None) -> list[dict]:
    """Every policy document, whether it is in force today and when it lapses."""
    today = today or date.today()
    return [_doc_summary(doc, today) for doc in policies().documents.values()]


def policy_document(code: str, today: date | None = None) -> dict:
    """One document with every rule: clause and its text, funder, amount, conditions, supersession."""
    today = today or date.today()
    ps = policies()
    doc = ps.documents.get(code)
    if doc is None:
        raise NotFound(f"未找到政策文件 {code}")
    superseded_by = {r.supersedes: r.id for r in ps.rules.values() if r.supersedes}
    out = _doc_summary(doc, today)
    out["rules"] = [
        {
            "id": r.id,
            "clause": r.clause,
            "clause_text": r.clause_text,
            "kind": r.kind,
            "event": r.event,
            "event_name": EVENT_TYPE_NAMES.get(r.event, r.event),
            "funder": r.funder,
            "label": r.label,
            "subject": r.subject,
            "amount": r.amount.model_dump(mode="json") if r.amount else None,
            "amount_text": amount_text(r),
            "conditions": r.conditions.model_dump(mode="json", exclude_defaults=True),
            "supersedes": r.supersedes,
            "superseded_by": superseded_by.get(r.id),
            "review": r.review,
            "fund_id": (ps.fund_for(r.id).id if r.funder and ps.fund_for(r.id) else None),
        }
        for r in doc.spec.rules
    ]
    return out


# --- .xlsx ------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _workbook(buf):
    import xlsxwriter

    # Strings stay strings: nothing a user typed can become a formula, a number or a link.
    return xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )


def notice_xlsx(session: Session, *, actor: Principal, year: int | None = None) -> bytes:
    """公示 list as .xlsx: enterprise, township, honour or event, rule, amount (万元), funder."""
    import io

    from app.reference import township_names

    rows = notice_rows(session, actor=actor, year=year)
    buf = io.BytesIO()
    wb = _workbook(buf)
    ws = wb.add_worksheet("公示")
    bold = wb.add_format({"bold": True})
    wan = wb.add_format({"num_format": "#,##0.00"})
    title = f"{year} 年" if year else ""
    ws.write_string(0, 0, f"{title}奖补资金拟拨付企业名单（公示）", bold)
    headers = ["序号", "企业名称", "乡镇（街道）", "认定或事件", "奖补事项", "政策依据", "出资层级", "金额（万元）"]
    for i, h in enumerate(headers):
        ws.write_string(2, i, h, bold)
    names = township_names()
    total = 0
    for n, (line, ent_name, township) in enumerate(rows, start=1):
        r = n + 2
        ws.write_number(r, 0, n)
        ws.write_string(r, 1, ent_name)
        ws.write_string(r, 2, names.get(township, township))
        ws.write_string(r, 3, describe_event(line.receipt.get("event", {"type": line.event_type})))
        ws.write_string(r, 4, subject_of(line))
        ws.write_string(r, 5, f"{line.document} {line.clause}")
        ws.write_string(r, 6, FUNDER_NAMES[line.funder])
        ws.write_number(r, 7, (line.amount_yuan or 0) / 10000, wan)
        total += line.amount_yuan or 0
    r = len(rows) + 3
    ws.write_string(r, 1, "合计", bold)
    ws.write_number(r, 7, total / 10000, wan)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 6, 18)
    ws.set_column(7, 7, 14)
    wb.close()
    return buf.getvalue()


LEDGER_HEADERS = [
    "编号", "企业名称", "乡镇（街道）", "事件", "事件日期", "奖补事项", "规则", "政策依据", "出资层级", "计算金额（元）",
    "批准金额（元）", "状态", "资金", "审核意见", "拨付日期", "凭证号", "驳回原因", "计算说明",
]


def ledger_xlsx(session: Session, *, actor: Principal, filters: LineFilters) -> bytes:
    """The award ledger (奖补台账): every line with its state; amounts in integer 元; totals by state."""
    import io

    from app.awards.models import Fund
    from app.reference import township_names

    rows = ledger_rows(session, actor=actor, filters=filters)
    fund_names = dict(session.execute(select(Fund.id, Fund.name)).all())
    buf = io.BytesIO()
    wb = _workbook(buf)
    ws = wb.add_worksheet("奖补台账")
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0"})
    for i, h in enumerate(LEDGER_HEADERS):
        ws.write_string(0, i, h, bold)
    names = township_names()
    for r, (line, ent_name, township) in enumerate(rows, start=1):
        ws.write_number(r, 0, line.id)
        ws.write_string(r, 1, ent_name)
        ws.write_string(r, 2, names.get(township, township))
        ws.write_string(r, 3, describe_event(line.receipt.get("event", {"type": line.event_type})))
        ws.write_string(r, 4, line.event_date.isoformat())
        ws.write_string(r, 5, subject_of(line))
        ws.write_string(r, 6, line.rule_id)
        ws.write_string(r, 7, f"{line.document} {line.clause}")
        ws.write_string(r, 8, FUNDER_NAMES[line.funder])
        ws.write_number(r, 9, line.computed_yuan, money)
        if line.amount_yuan is not None:
            ws.write_number(r, 10, line.amount_yuan, money)
        ws.write_string(r, 11, STATE_NAMES[line.status])
        ws.write_string(r, 12, fund_names.get(line.fund_id, "") if line.fund_id else "")
        ws.write_string(r, 13, line.decision_comment or "")
        ws.write_string(r, 14, line.paid_date.isoformat() if line.paid_date else "")
        ws.write_string(r, 15, line.voucher_no or "")
        ws.write_string(r, 16, line.rejected_reason or "")
        ws.write_string(r, 17, line.explanation)
    ws.autofilter(0, 0, max(len(rows), 1), len(LEDGER_HEADERS) - 1)
    ws.set_column(1, 1, 32)
    ws.set_column(3, 8, 16)
    ws.set_column(17, 17, 60)
    totals = ledger_totals(session, actor=actor, filters=filters)
    summary = wb.add_worksheet("合计")
    summary.write_string(0, 0, "状态", bold)
    summary.write_string(0, 1, "笔数", bold)
    summary.write_string(0, 2, "金额（元）", bold)
    for r, status in enumerate(("proposed", "approved", "paid", "rejected"), start=1):
        summary.write_string(r, 0, STATE_NAMES[status] + ("（按计算金额）" if status in ("proposed", "rejected") else ""))
        summary.write_number(r, 1, totals[f"{status}_count"])
        summary.write_number(r, 2, totals[f"{status}_yuan"], money)
    summary.set_column(0, 0, 24)
    summary.set_column(2, 2, 16)
    wb.close()
    return buf.getvalue()
