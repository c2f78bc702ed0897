"""The change feed: the audit trail as a stream the platform can follow with a cursor.

Order and the commit-order gap
------------------------------
Audit ids come from a sequence when the row is inserted, not when its transaction commits, so a
reader that pages by id alone can skip an entry: transaction A takes id 5, B takes id 6 and
commits, a reader serves 6 and moves its cursor past 5, then A commits 5 — behind the cursor.

On PostgreSQL every audit entry's writing transaction id is recorded (table audit_entry_xid, filled
by a trigger; see migration 0005) and the feed is ordered by (xid, id). A page serves only entries
whose xid is below a horizon: the oldest transaction still running in this database (the current
snapshot's running xids that pg_stat_activity / pg_prepared_xacts place here; the snapshot's xmax
when none). Every transaction below it has ended, so no entry can appear later behind the cursor.
A long transaction delays the feed (entries wait until it ends); it never makes it lose an entry.
Transactions in other databases of the cluster do not hold it back (pg_snapshot_xmin would). Every
writer must run as the application's database role, or the role must see the others' activity
(pg_read_all_stats). SQLite has a single writer, so there id order is commit order and the xid is 0.

The cursor is the (xid, id) of the last entry served, opaque to clients and stable across restarts
(both are stored). `next_cursor` is always returned: when nothing more is ready it moves past the
horizon, so filtered-out entries are not read again.
"""

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    bindparam,
    false,
    func,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.accounts.permissions import Principal
from app.accounts.service import key_checked, take_key_check
from app.audit.models import AuditEntry
from app.enterprises.models import Enterprise
from app.errors import Conflict, ValidationFailed
from app.integration.models import AuditEntryXid
from app.pagination import decode_cursor, encode_cursor

SORT = "changes"
MAX_ID = 2**63 - 1
# Entries about accounts and webhooks stay internal: they say nothing about enterprises.
HIDDEN_TYPES = frozenset(
    {
        "user",
        "app_user",
        "api_key",
        "user_session",
        "login_attempt",
        "webhook_subscription",
        "webhook_delivery",
    }
)


@dataclass(frozen=True, order=True)
class Position:
    xid: int
    id: int

    def cursor(self) -> str:
        return encode_cursor(SORT, self.xid, self.id)


START = Position(0, 0)


def decode(cursor: str | None, field: str = "cursor") -> Position:
    if not cursor:
        return START
    try:
        xid, last_id = decode_cursor(cursor, SORT)
    except ValidationFailed:
        raise ValidationFailed.one(
            field, f"{field}：变更游标无效，请使用此前响应中的 next_cursor，或省略以从头读取"
        ) from None
    if (
        not isinstance(xid, int)
        or isinstance(xid, bool)
        or not 0 <= xid <= MAX_ID
        or not 0 <= last_id <= MAX_ID
    ):
        raise ValidationFailed.one(
            field, f"{field}：变更游标无效，请使用此前响应中的 next_cursor，或省略以从头读取"
        )
    return Position(xid, last_id)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# The oldest transaction still running *in this database* (pg_snapshot_xmin would also wait for every
# other database of the cluster): the snapshot's running xids (64-bit) that belong to a backend or a
# prepared transaction of this database (32-bit there, so matched modulo 2^32). Below it, every
# transaction that could write here has ended. The request's API key is checked by the same statement
# (KEY_VALID's test: true when no key is to be checked), one round trip less.
_HORIZON = text(
    """
    WITH snap AS (SELECT pg_current_snapshot() AS s),
    here AS (
        SELECT backend_xid::text::bigint AS x FROM pg_stat_activity
        WHERE datname = current_database() AND backend_xid IS NOT NULL
        UNION ALL
        SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
    )
    SELECT coalesce(
               (SELECT min(x::text::bigint) FROM pg_snapshot_xip(snap.s) AS x
                WHERE x::text::bigint % 4294967296 IN (SELECT x FROM here)),
               pg_snapshot_xmax(snap.s)::text::bigint),
           pg_snapshot_xmax(snap.s)::text::bigint,
           CAST(:check_key_id AS integer) IS NULL
               OR EXISTS (SELECT 1 FROM api_key WHERE id = :check_key_id AND revoked_at IS NULL)
    FROM snap
    """
).bindparams(bindparam("check_key_id", type_=Integer))

_ACTIVITY_READ = "changes.activity_read"


def _snapshot(session: Session) -> tuple[int, int]:
    """(horizon, xmax): every transaction of this database with an xid below the horizon has ended;
    xmax is the next xid to be assigned."""
    # PostgreSQL takes its view of pg_stat_activity at the first look in a transaction and keeps it to the
    # end: a second horizon in the same transaction (the webhook worker's loop) must drop it first. The first
    # look — every request: the API's reads run each statement in a transaction of its own — sees it fresh.
    txn = session.get_transaction()
    if txn is not None and session.info.get(_ACTIVITY_READ) is txn:
        session.execute(text("SELECT pg_stat_clear_snapshot()"))
    key_id = take_key_check(session)  # the request's key, checked by the same statement
    row = session.connection().execute(_HORIZON, {"check_key_id": key_id}).one()
    key_checked(session, key_id, row[2])
    session.info[_ACTIVITY_READ] = session.get_transaction()
    return int(row[0]), int(row[1])


def head(session: Session) -> Position:
    """The position just past everything committed and settled now (a new follower starts here)."""
    if _is_pg(session):
        xmin, _ = _snapshot(session)
        return Position(xmin - 1, MAX_ID)
    return Position(0, session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0))))


@dataclass
class Change:
    position: Position
    entry: Any  # a row with AuditEntry's attributes: id, at, action, entity_type, entity_id, enterprise_id,
    # township, changes, note
    uscc: str | None

    def fields(self) -> dict[str, Any]:
        """The change as the feed and the webhooks show it (ChangeRead's fields in its order)."""
        e = self.entry
        return {
            "id": e.id,
            "cursor": self.position.cursor(),
            "at": e.at,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "enterprise_id": e.enterprise_id,
            "uscc": self.uscc,
            "township": e.township,
            "changes": e.changes,
            "note": e.note,
        }


@dataclass
class FeedPage:
    items: list[Change]
    next_position: Position
    has_more: bool


# The hidden types written into the SQL, not sent as parameters: the read path's statements are prepared, and
# the plan PostgreSQL keeps for parameters took "entity_type NOT IN ($4 … $10)" for a filter few rows pass,
# joining every audit entry to every page row (11 ms for a page of 100 at a few thousand entries, and growing
# with the log); with the types in the SQL the statistics see that nearly every row passes.
_SHOWN = literal_column(
    "audit_entry.entity_type NOT IN (" + ", ".join(f"'{t}'" for t in sorted(HIDDEN_TYPES)) + ")", Boolean
)
_A, _X, _E = AuditEntry.__table__, AuditEntryXid.__table__, Enterprise.__table__
# What a change shows (Change.entry): plain rows, not entities — the feed only reads them.
_ENTRY_NAMES = [
    "id",
    "at",
    "action",
    "entity_type",
    "entity_id",
    "enterprise_id",
    "township",
    "changes",
    "note",
]
_ENTRY_COLUMNS = tuple(_A.c[name] for name in _ENTRY_NAMES)


@functools.cache
def _page_statement(pg: bool, town: str, typed: bool, one_firm: bool):
    """A page of the feed for one shape of request, built once (its SQL then comes from the compiled cache):
    `town` is "all", "none" (no entry is visible) or "town" (the entries of :town); `typed`: only :types;
    `one_firm`: only :enterprise_id. On PostgreSQL in (xid, id) order below :horizon, elsewhere in id order up
    to :top."""
    conds: list[ColumnElement[bool]] = [_SHOWN]
    if typed:
        conds.append(_A.c.entity_type.in_(bindparam("types", expanding=True)))
    if town == "none":
        conds.append(false())
    elif town == "town":
        conds.append(_A.c.township == bindparam("town", type_=String))
    if one_firm:
        conds.append(_A.c.enterprise_id == bindparam("enterprise_id", type_=Integer))
    after_xid, after_id = bindparam("after_xid", type_=BigInteger), bindparam("after_id", type_=BigInteger)
    if pg:
        stmt = (
            select(*_ENTRY_COLUMNS, _X.c.xid, _E.c.uscc)
            .select_from(
                _A.join(_X, _X.c.audit_entry_id == _A.c.id).outerjoin(_E, _E.c.id == _A.c.enterprise_id)
            )
            .where(
                tuple_(_X.c.xid, _X.c.audit_entry_id) > tuple_(after_xid, after_id),
                _X.c.xid < bindparam("horizon", type_=BigInteger),
                *conds,
            )
            .order_by(_X.c.xid, _X.c.audit_entry_id)
        )
    else:
        stmt = (
            select(*_ENTRY_COLUMNS, literal_column("0", BigInteger).label("xid"), _E.c.uscc)
            .select_from(_A.outerjoin(_E, _E.c.id == _A.c.enterprise_id))
            .where(_A.c.id > after_id, _A.c.id <= bindparam("top", type_=BigInteger), *conds)
            .order_by(_A.c.id)
        )
    return stmt.limit(bindparam("limit", type_=Integer))


def check_types(entity_types: list[str] | None, field: str = "entity_type") -> list[str]:
    types = [t.strip() for t in entity_types or [] if t.strip()]
    bad = [t for t in types if len(t) > 40 or not t.replace("_", "").isalnum() or not t.isascii()]
    if bad:
        raise ValidationFailed.one(
            field, f"{field}：实体类型“{bad[0][:40]}”无效，应为小写字母与下划线，如 honour"
        )
    if len(types) > 20:
        raise ValidationFailed.one(field, f"{field}：最多 20 个实体类型")
    return types


def read(
    session: Session,
    *,
    actor: Principal,
    after: Position = START,
    limit: int = 100,
    entity_types: list[str] | None = None,
    enterprise_id: int | None = None,
) -> FeedPage:
    """Up to `limit` changes after `after`, in commit-safe order, that the actor may see."""
    actor.require("changes:read")
    if not 1 <= limit <= 500:
        raise ValidationFailed.one("limit", "limit：每页条数须在 1–500 之间")
    types = check_types(entity_types)
    params: dict[str, Any] = {"after_xid": after.xid, "after_id": after.id, "limit": limit + 1}
    # The entries the actor sees (as in_township_of: county users and keys all, township staff their
    # township's, department staff none — an entry is known only by its township).
    if actor.department is not None:
        town = "none"
    elif (params_town := actor.township_filter()) is None:
        town = "all"
    else:
        town, params["town"] = "town", params_town
    if types:
        params["types"] = types
    if enterprise_id is not None:
        params["enterprise_id"] = enterprise_id
    pg = _is_pg(session)
    if pg:
        xmin, xmax = _snapshot(session)
        if after.xid >= xmax:
            raise Conflict(
                "变更游标超前于本数据库（数据库可能已从备份恢复到另一台服务器）：请省略 cursor 从头读取，按条目 id 去重",
                code="cursor_ahead",
            )
        params["horizon"] = xmin
        settled = Position(xmin - 1, MAX_ID)
    else:
        top = session.scalar(select(func.coalesce(func.max(_A.c.id), 0)))
        params["top"] = top
        settled = Position(0, top)
    stmt = _page_statement(pg, town, bool(types), enterprise_id is not None)
    rows = session.connection().execute(stmt, params).all()
    has_more = len(rows) > limit
    items = [Change(Position(int(r.xid), r.id), r, r.uscc) for r in rows[:limit]]
    nxt = items[-1].position if items else after
    if not has_more:  # everything up to the horizon has been looked at: skip what the filters left out
        nxt = max(nxt, settled)
    return FeedPage(items, nxt, has_more)
