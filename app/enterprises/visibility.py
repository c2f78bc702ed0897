"""Who sees which enterprise: the one place that turns "township staff see only their township" into SQL.

Every query that lists or looks up enterprises — or rows that belong to one (pool members, award
lines, filings, audit entries) — adds `visible_to(actor)` or `in_township_of(actor, column)` to its
WHERE clause; nothing else filters on the actor's township. To township staff another township's
enterprise does not exist: a lookup finds nothing and the caller answers 404, never 403.
"""

from sqlalchemy import ColumnElement, and_, true

from app.accounts.permissions import Principal
from app.enterprises.models import Enterprise


def in_township_of(actor: Principal, column: ColumnElement[str] | None = None) -> ColumnElement[bool]:
    """SQL: the row lies in a township the actor sees (always true for county users and API keys).

    `column` is the row's township (default `Enterprise.township`), e.g. `AuditEntry.township`."""
    town = actor.township_filter()
    if town is None:
        return true()
    return (Enterprise.township if column is None else column) == town


def visible_to(actor: Principal, *, include_deleted: bool = False) -> ColumnElement[bool]:
    """SQL: the enterprises the actor sees — registered (not deleted, unless `include_deleted`) and
    in the actor's township when it has one."""
    if include_deleted:
        return in_township_of(actor)
    return and_(Enterprise.deleted_at.is_(None), in_township_of(actor))
