"""Awards: reading events (with errors that name the event's fields) and the facts the registry holds
about an enterprise just before an event — what the pure engine (`app.awards.engine.compute`) computes from.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards.event_models import EVENT_TYPE_NAMES, EVENT_TYPES, EnterpriseFacts, Event, parse_event
from app.awards.models import AwardLine
from app.enterprises import service as enterprise_service
from app.enterprises import snapshot
from app.enterprises.models import EnterpriseFigure
from app.enterprises.snapshot import EnterpriseSnapshot
from app.errors import FieldError, ValidationFailed, translate
from app.reference import LEVEL_NAMES, OUTCOME_NAMES, honours

# Event types recorded through POST /enterprises/{id}/events (honours go through the registry).
RECORDABLE_TYPES = tuple(t for t in EVENT_TYPES if t not in ("honour", "strong_town"))
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
                FieldError(
                    f"{prefix}.type", f"{prefix}.type：未知的事件类型“{data.get('type')}”（可选：{types}）"
                )
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
class StoredEvent:
    """An event as the proposer needs it, whether it comes from the ORM or a bulk query."""

    id: int
    enterprise_id: int
    event_date: date
    data: dict
    facts: dict | None


@dataclass
class EnterpriseState:
    """What the award proposer knows of one enterprise: its registry snapshot and its award lines so far."""

    enterprise: EnterpriseSnapshot
    lines: list[tuple[str, int | None, str, int]] = field(default_factory=list)  # (rule, event, status, yuan)
    revenue: dict[int, int] = field(default_factory=dict)  # year -> 年销售收入 (registry figures)

    def facts(
        self, event_date: date, *, event_id: int | None = None, extra: Mapping | None = None
    ) -> EnterpriseFacts:
        prior: dict[str, int] = defaultdict(int)
        for rule_id, ev, status, yuan in self.lines:
            if status != "rejected" and (event_id is None or ev != event_id):
                prior[rule_id] += yuan
        ent = self.enterprise
        known = {
            "size": ent.size,
            "ownership": ent.ownership,
            "above_scale": ent.above_scale,
            "honours": sorted(ent.held(before=event_date)),
            "prior_grants_yuan": dict(prior),
            # 首次突破 is judged against every recorded year before the event's
            "revenue_by_year": {y: r for y, r in self.revenue.items() if y < event_date.year},
        }
        return EnterpriseFacts(**{**known, **{k: v for k, v in (extra or {}).items() if v is not None}})

    def has_line(self, rule_id: str, event_id: int) -> bool:
        return any(r == rule_id and ev == event_id for r, ev, _, _ in self.lines)

    def granted_before(self, rule_id: str, event_id: int) -> bool:
        return any(r == rule_id and ev != event_id and st != "rejected" for r, ev, st, _ in self.lines)


def enterprise_states(session: Session, enterprise_ids: Iterable[int]) -> dict[int, EnterpriseState]:
    """Registry snapshots (without figures), yearly revenue and award lines for many enterprises: four queries."""
    ids = list(set(enterprise_ids))
    states = {i: EnterpriseState(snap) for i, snap in snapshot.load(session, ids, figures=False).items()}
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        for eid, rule_id, event_id, status, yuan in session.execute(
            select(
                AwardLine.enterprise_id,
                AwardLine.rule_id,
                AwardLine.event_id,
                AwardLine.status,
                func.coalesce(AwardLine.amount_yuan, AwardLine.computed_yuan),
            ).where(AwardLine.enterprise_id.in_(chunk))
        ):
            states[eid].lines.append((rule_id, event_id, status, int(yuan)))
        for eid, year, revenue in session.execute(
            select(
                EnterpriseFigure.enterprise_id, EnterpriseFigure.year, EnterpriseFigure.revenue_yuan
            ).where(EnterpriseFigure.enterprise_id.in_(chunk), EnterpriseFigure.revenue_yuan.is_not(None))
        ):
            states[eid].revenue[year] = int(revenue)
    return states


def enterprise_facts(
    session: Session, *, actor: Principal, enterprise_id: int, event_date: date, extra: Mapping | None = None
) -> EnterpriseFacts:
    """The facts of a stored enterprise just before `event_date` (404 outside the actor's township)."""
    enterprise_service.get(session, actor=actor, enterprise_id=enterprise_id, with_details=False)
    return enterprise_states(session, [enterprise_id])[enterprise_id].facts(event_date, extra=extra)
