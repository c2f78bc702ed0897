"""Fixtures shared by the targets and filings tests: the reference tables, firms with exact honours, pool stays and filings."""

from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event

from app.accounts.permissions import SYSTEM


@pytest.fixture
def reference(db):
    """The 2023 table and the 2022–2024 goals (loaded by the migration; reloaded if a committed test emptied them)."""
    from app.targets import service

    service.install_reference(db)
    return service.get_set(db, actor=SYSTEM, key="2023")


@pytest.fixture
def firm(make):
    """`firm(township, honours=[(code, level, outcome, date)], **fields)`: an enterprise with exactly these honours."""

    def build(township="qingquan", honours=(), **kw):
        hs = [{"code": c, "level": lv, "outcome": o, "honour_date": d.isoformat()} for c, lv, o, d in honours]
        return make.enterprise(township=township, honours=hs, **kw)

    return build


@pytest.fixture
def stay(db):
    """`stay(ent, pool, entered, left=None)`: a pool membership row, written directly (the pools domain's table)."""
    from app.pools.models import PoolMembership

    def add(ent, pool, entered: date, left: date | None = None):
        m = PoolMembership(enterprise_id=ent.id, pool=pool, entry_class="test", entered_date=entered, entered_by="test",
                           left_date=left, leave_reason="other" if left else None)
        db.add(m)
        db.flush()
        return m

    return add


@pytest.fixture
def filed(db):
    """`filed(ent, "2023-05", rd, output)`: a filing written through the service, on time."""
    from app.reports import service
    from app.reports.schemas import FilingIn

    def add(ent, month: str, rd: int, output: int = 1_000_000, today: date | None = None):
        p = service.parse_month(month)
        return service.submit(db, actor=SYSTEM, enterprise_id=ent.id, period=p,
                              data=FilingIn(rd_spend_yuan=rd, output_value_yuan=output),
                              today=today or service.deadline(db, p)).filing

    return add


@pytest.fixture
def count_queries(engine):
    """`with count_queries() as n: ...`; then n[0] is the number of statements sent (savepoints not counted)."""

    @contextmanager
    def counting():
        n = [0]

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                n[0] += 1

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield n
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
