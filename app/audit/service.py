"""The append-only change log, written in the caller's transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit.models import AuditEntry


def _plain(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields that changed."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: Any,
    changes: dict[str, Any] | None = None,
    enterprise_id: int | None = None,
    township: str | None = None,
    note: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        enterprise_id=enterprise_id,
        township=township,
        changes={
            k: [_plain(x) for x in v] if isinstance(v, list) else _plain(v)
            for k, v in (changes or {}).items()
        },
        note=note,
    )
    session.add(entry)
    session.flush()
    return entry


def for_enterprise(session: Session, enterprise_id: int, *, limit: int = 200) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.enterprise_id == enterprise_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )
