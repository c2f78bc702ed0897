"""Who sees which enterprise: the one place that turns "township staff see only their township" (and "a county
department sees the firms its 服务专员 look after") into SQL.

Every query that lists or looks up enterprises — or rows that belong to one (pool members, award
lines, filings, audit entries) — adds `visible_to(actor)` or `in_township_of(actor, column)` to its
WHERE clause; nothing else filters on the actor's township. To township staff another township's
enterprise does not exist: a lookup finds nothing and the caller answers 404, never 403.
"""

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    false,
    select,
    table,
    true,
)

from app.accounts.permissions import Principal
from app.enterprises.models import Enterprise

# The 助企服务 tables a department's firms are read from (named here, so the registry imports no other domain).
_officer = table("service_officer", Column("id", Integer), Column("department", String))
_assignment = table(
    "service_officer_assignment",
    Column("enterprise_id", Integer),
    Column("officer_id", Integer),
    Column("end_date", Date),
)


def department_firms(department: "str | ColumnElement[str]"):
    """SELECT of the enterprise ids whose current 服务专员 (assignment not ended) is from `department`."""
    return (
        select(_assignment.c.enterprise_id)
        .join(_officer, _officer.c.id == _assignment.c.officer_id)
        .where(_assignment.c.end_date.is_(None), _officer.c.department == department)
    )


def in_township_of(actor: Principal, column: ColumnElement[str] | None = None) -> ColumnElement[bool]:
    """SQL: the row lies in a township the actor sees (always true for county users and API keys).

    `column` is the row's township (default `Enterprise.township`), e.g. `AuditEntry.township`. For county
    department staff an enterprise row is visible when the firm's current 服务专员 is from their department;
    rows known only by their township (`column` given) are not."""
    if actor.department is not None:
        return Enterprise.id.in_(department_firms(actor.department)) if column is None else false()
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


# The same rule as `visible_to`, as one clause per kind of actor with the actor's township or department as
# a bind parameter: a statement built on it once serves every actor of that kind (SQLAlchemy computes its
# cache key once, not per request).
_VISIBLE_BY_KIND: dict[str, ColumnElement[bool]] = {
    "all": Enterprise.deleted_at.is_(None),
    "township": and_(Enterprise.deleted_at.is_(None), Enterprise.township == bindparam("visible_township")),
    "department": and_(
        Enterprise.deleted_at.is_(None),
        Enterprise.id.in_(department_firms(bindparam("visible_department"))),
    ),
}


def visibility_kind(actor: Principal) -> tuple[str, dict[str, str]]:
    """The kind of `visible_clause` that applies to the actor, and its parameters."""
    if actor.department is not None:
        return "department", {"visible_department": actor.department}
    town = actor.township_filter()
    if town is None:
        return "all", {}
    return "township", {"visible_township": town}


def visible_clause(kind: str) -> ColumnElement[bool]:
    """`visible_to` for every actor of a kind (`visibility_kind`), its values left as bind parameters."""
    return _VISIBLE_BY_KIND[kind]
