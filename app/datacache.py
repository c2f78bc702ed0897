"""Heavy aggregates (the county matrix, the R&D trend, a pool's candidates) cached per process, keyed on the
data version.

`data_version.v` (migration 1401) goes up by one in every transaction that changes a table they read —
enterprises, their figures and honours, pool stays and graduations, 亩产效益 classes, monthly filings, target
tables — and the bump commits together with the data. So:

- a result is served from the cache only for the version it was computed at: any committed change since makes
  the version differ and the result is computed afresh — nothing stale is ever shown;
- a result is stored only when the version read before computing equals the one read after it: then no change
  committed while it was computed, and every statement saw the data of that one version;
- a request whose own transaction has written (an xid is assigned) neither reads nor stores the cache: it must
  see its own uncommitted changes.

Why a cache and not aggregates maintained by triggers: the matrix counts honours, pool stays and registrations in
date windows that depend on the table's period and the day asked for, per township and indicator; keeping every
such count current would put the indicators' rules into triggers and a hot counter row into every write. A
county's data changes a few hundred times a day and is read all day: the first view after a change pays the
full computation (bench/growth.md shows both), every other view costs one primary-key read.

Each uvicorn worker has its own cache (at most MAX_ENTRIES results, least recently used dropped first).
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import TypeVar

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base

T = TypeVar("T")
MAX_ENTRIES = 256


class DataVersion(Base):
    """One row (id 1): the version of the data the dashboards count."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    v: Mapped[int] = mapped_column(BigInteger)


_cache: OrderedDict[tuple, object] = OrderedDict()
_lock = Lock()
stats = {"hits": 0, "misses": 0}


def current(session: Session) -> int | None:
    """The data version as this transaction sees it, or None when the cache must not be used (SQLite, or the
    transaction has written: its own changes are not counted in the version yet)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    row = session.execute(
        text("SELECT v, pg_current_xact_id_if_assigned() IS NULL FROM data_version WHERE id = 1")
    ).first()
    return row[0] if row is not None and row[1] else None


def cached(session: Session, name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """compute(), or its result for this same (name, key) at the current data version."""
    v = current(session)
    if v is None:
        return compute()
    k = (name, key, v)
    with _lock:
        if k in _cache:
            _cache.move_to_end(k)
            stats["hits"] += 1
            return _cache[k]  # type: ignore[return-value]
    stats["misses"] += 1
    result = compute()
    if current(session) == v:
        with _lock:
            _cache[k] = result
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
    return result


def clear() -> None:
    with _lock:
        _cache.clear()
