"""The append-only change log, written in the caller's transaction."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.audit.models import AuditEntry
from app.db import utcnow


def plain(v: Any) -> Any:
    """A value as the log writes it (dates in ISO 8601, decimals as text)."""
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {f: plain(getattr(obj, f)) for f in fields}


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
    values = {
        "at": utcnow(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_name": actor.name,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "enterprise_id": enterprise_id,
        "township": township,
        "changes": {
            k: [plain(x) for x in v] if isinstance(v, list) else plain(v) for k, v in (changes or {}).items()
        },
        "note": note,
    }
    # The session's pending changes first (as adding the entry and flushing did), then the entry as one
    # prebuilt INSERT: the log is append-only and never read back through the session, so the unit of work's
    # bookkeeping for it (about a tenth of a write request's time) bought nothing.
    session.flush()
    new_id = session.connection().execute(_INSERT, values).inserted_primary_key
    assert new_id is not None
    return AuditEntry(id=new_id[0], **values)  # not in the session: a record of the row


_INSERT = insert(cast(Table, AuditEntry.__table__))


def for_enterprise(session: Session, enterprise_id: int, *, limit: int = 200) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.enterprise_id == enterprise_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )
