"""Bulk writes for the importers: COPY into a table in the session's own transaction.

An import of 100,000 rows is validated in full first (all-or-nothing); what is then written goes in by
COPY, which PostgreSQL loads several times faster than INSERT ... VALUES, through the very connection
and transaction of the session, so a failure anywhere still rolls every row back. Triggers fire as for
INSERT (the audit log's statement trigger records its transaction ids). Ids that the caller needs
before writing (to link figures and audit entries to new enterprises) are drawn from the table's
sequence in one statement.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from types import NoneType
from typing import Any

from sqlalchemy import ColumnElement, String, Text, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.db import utcnow


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def next_ids(session: Session, table: str, n: int) -> list[int]:
    """n fresh ids from the sequence behind `table`.id."""
    if n == 0:
        return []
    return list(
        session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n},
        )
    )


@contextmanager
def exact_lookup(session: Session) -> Iterator[None]:
    """Statements in the block find rows by exact value through b-tree indexes, never by a bitmap scan.

    `uscc = v` can be served by the unique b-tree on uscc and by the trigram (GIN) index kept for searching,
    and the planner may price the trigram index lower. But a county's codes share their leading trigrams
    ("91" and the region code), so each such probe reads posting lists as long as the table: looking up a
    file's 100,000 codes right after importing them ran past the statement timeout, on one fill and not on
    the next (the choice turns on the table's statistics). Bitmap scans are switched off for the block only
    (SET LOCAL, the previous setting restored after it); a failure inside leaves the transaction to be rolled
    back, which restores the setting too."""
    if not is_postgres(session):
        yield
        return
    old = session.execute(
        text("SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)")
    ).scalar_one()
    yield
    session.execute(text("SELECT set_config('enable_bitmapscan', :v, true)"), {"v": old})


def among(session: Session, column, values: Sequence, item_type=String) -> ColumnElement[bool]:
    """`column IN values` for thousands of values: on PostgreSQL one array parameter, unnested (an IN list of
    100,000 bound values is slow to build and send, and `= ANY(array)` may be planned on a trigram index)."""
    if not is_postgres(session):
        return column.in_(list(values))
    arr = cast(bindparam(None, array_literal(values), type_=Text), ARRAY(item_type))  # one text parameter
    return column.in_(select(func.unnest(arr)))


def existing(session: Session, table: str, column: str, values: list) -> list:
    """Which of `values` are already in `table`.`column`: one statement however many (a join to the unnested
    array: `= ANY(array)` lets the planner pick a trigram index and take minutes)."""
    if not values:
        return []
    if not is_postgres(session):
        found = []
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            marks = ", ".join(f":v{j}" for j in range(len(chunk)))
            found += session.scalars(
                text(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})"),
                {f"v{j}": v for j, v in enumerate(chunk)},
            )
        return found
    with exact_lookup(session):
        return list(
            session.scalars(
                text(
                    f"SELECT t.{column} FROM {table} t JOIN unnest(CAST(:v AS varchar[])) AS u(v) ON t.{column} = u.v"
                ),
                {"v": array_literal(values)},
            )
        )


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY `rows` (tuples in the order of `columns`) into `table` within the session's transaction."""
    session.flush()
    if not is_postgres(session):  # SQLite (a developer's quick start): plain executemany
        cols = ", ".join(columns)
        marks = ", ".join(f":{c}" for c in columns)
        data = [dict(zip(columns, r, strict=True)) for r in rows]
        if data:
            session.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({marks})"), data)
        return
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)


def _plain(v: Any) -> Any:
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


AUDIT_COLUMNS = (
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "entity_type",
    "entity_id",
    "enterprise_id",
    "township",
    "changes",
    "note",
)


def audit_many(session: Session, actor, entries: Iterable[dict], *, plain: bool = False) -> int:
    """Audit entries (keys: action, entity_type, entity_id, enterprise_id, township, changes, note) by COPY;
    the same record as app.audit.service.record writes one at a time. `plain`: the changes hold only JSON
    values already (no dates or decimals to convert)."""
    now = utcnow()
    count = 0

    def rows():
        nonlocal count
        for e in entries:
            count += 1
            changes = (
                e["changes"]
                if plain
                else {
                    k: [_plain(x) for x in v] if isinstance(v, list) else _plain(v)
                    for k, v in e["changes"].items()
                }
            )
            yield (
                now,
                actor.kind,
                actor.id,
                actor.name,
                e["action"],
                e["entity_type"],
                str(e["entity_id"]),
                e.get("enterprise_id"),
                e.get("township"),
                json.dumps(changes, ensure_ascii=False),
                e.get("note"),
            )

    copy_rows(session, "audit_entry", AUDIT_COLUMNS, rows())
    return count


_INT_KINDS = frozenset((int, NoneType))
_TEXT_KINDS = frozenset((str, NoneType))


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal ('{1,NULL,"a \\"b\\""}') of whole numbers, booleans and text-like values, for
    CAST(:p AS type[]): built by one join, where adapting a Python list of 100,000 values element by element
    costs seconds. Every non-number element is double-quoted with backslash and quote escaped, so any text
    (commas, braces, "NULL") arrives as written."""
    values = values if isinstance(values, list) else list(values)
    # The common cases in one join each: whole numbers (and nulls), or text with no quote or backslash.
    kinds = set(map(type, values))
    if kinds <= _INT_KINDS:
        if NoneType not in kinds:
            return "{" + ",".join(map(str, values)) + "}"
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    if kinds <= _TEXT_KINDS:
        present = [v for v in values if v is not None]
        plain = "".join(present)
        if '"' not in plain and "\\" not in plain:
            if len(present) == len(values):
                return '{"' + '","'.join(values) + '"}'
            return "{" + ",".join("NULL" if v is None else '"' + v + '"' for v in values) + "}"
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif v is True or v is False:
            out.append("t" if v else "f")
        elif type(v) is int:
            out.append(str(v))
        else:
            out.append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def audit_created(
    session: Session,
    actor,
    *,
    entity_type: str,
    entity_ids: Sequence[str],
    enterprise_ids: Sequence[int],
    townships: Sequence[str | None],
    fields: dict[str, tuple[str, Sequence[Any]]],
    note: str,
    extra: dict | None = None,
) -> int:
    """Audit entries of created rows, built by PostgreSQL from arrays: for each row i, changes are
    {field: [null, value]} for every field whose value is not null (`fields`: name → (SQL type, values)),
    plus `extra` — the entries `audit.record` would write one at a time. For a 100,000-row import this spares
    building and sending 100,000 JSON documents from Python (on SQLite: `audit_many`)."""
    names = list(fields)
    if not is_postgres(session):
        return audit_many(
            session,
            actor,
            (
                {
                    "action": "create",
                    "entity_type": entity_type,
                    "entity_id": entity_ids[i],
                    "enterprise_id": enterprise_ids[i],
                    "township": townships[i],
                    "note": note,
                    "changes": {
                        **{f: [None, fields[f][1][i]] for f in names if fields[f][1][i] is not None},
                        **(extra or {}),
                    },
                }
                for i in range(len(entity_ids))
            ),
        )
    if not entity_ids:
        return 0
    session.flush()
    args = ["CAST(:eid AS text[])", "CAST(:ent AS integer[])", "CAST(:town AS text[])"]
    args += [f"CAST(:f{i} AS {fields[f][0]}[])" for i, f in enumerate(names)]
    if extra is None or all(v is not None for v in extra.values()):
        # Built as json directly (no jsonb and cast back): the absent fields' nulls stripped, `extra` has none.
        pairs = ", ".join(
            [
                *(
                    f"'{f}', CASE WHEN u.f{i} IS NOT NULL THEN json_build_array(NULL, u.f{i}) END"
                    for i, f in enumerate(names)
                ),
                *(f"CAST(:xk{j} AS text), CAST(:xv{j} AS json)" for j in range(len(extra or {}))),
            ]
        )
        changes = f"json_strip_nulls(json_build_object({pairs}))"
    else:
        pairs = ", ".join(
            f"'{f}', CASE WHEN u.f{i} IS NOT NULL THEN jsonb_build_array(NULL, u.f{i}) END"
            for i, f in enumerate(names)
        )
        changes = f"jsonb_strip_nulls(jsonb_build_object({pairs})) || CAST(:extra AS jsonb)"
    params = {
        "eid": array_literal(entity_ids),
        "ent": array_literal(enterprise_ids),
        "town": array_literal(townships),
        **{f"f{i}": array_literal(fields[f][1]) for i, f in enumerate(names)},
        "extra": json.dumps(extra or {}),
        **{f"xk{j}": k for j, k in enumerate(extra or {})},
        **{f"xv{j}": json.dumps(v, ensure_ascii=False) for j, v in enumerate((extra or {}).values())},
        "etype": entity_type,
        "note": note,
        "at": utcnow(),
        "kind": actor.kind,
        "aid": actor.id,
        "aname": actor.name,
    }
    result = session.execute(
        text(
            f"INSERT INTO audit_entry ({', '.join(AUDIT_COLUMNS)}) "
            f"SELECT :at, :kind, :aid, :aname, 'create', :etype, u.eid, u.ent, u.town, CAST({changes} AS json), :note "
            f"FROM unnest({', '.join(args)}) AS u(eid, ent, town, {', '.join(f'f{i}' for i in range(len(names)))})"
        ),
        params,
    )
    return result.rowcount
