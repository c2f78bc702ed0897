"""What every kind of versioned county data shares (policy documents, pool definitions).

    Parsed(size)                         # parsed versions by content hash, least recently used dropped
    per_transaction(session, key, read)  # asked of the database once per transaction
    forget(session, key)                 # after a publish in this session: ask again
    lock(session, key)                   # serialise writers of one thing until the transaction ends

A version is stored as its text in the exchange format with the sha256 of that text; what is in
force is asked of the database once per transaction (one indexed query), so several workers
agree the moment one of them publishes, while the parsing is done once per process and version.
"""

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

T = TypeVar("T")


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class Parsed(Generic[T]):
    """A small LRU map (content hash → parsed version), safe to share between request threads."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = Lock()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: T) -> T:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def values(self) -> list[T]:
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def per_transaction(session: Session, key: str, read: Callable[[], T]) -> T:
    """`read()` once per transaction of `session`: a request sees one consistent answer."""
    txn = session.get_transaction()
    known = session.info.get(key)
    if known is not None and txn is not None and known[0] is txn:
        return known[1]
    value = read()
    if txn is not None:
        session.info[key] = (txn, value)
    return value


def forget(session: Session, key: str) -> None:
    session.info.pop(key, None)


def lock(session: Session, key: str) -> None:
    """A PostgreSQL advisory lock held until the transaction ends (SQLite serialises writers anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
