"""In-process domain events: a domain announces what happened; others subscribe.

An event is a typed record of what happened, published inside the publisher's transaction: the
enterprise registry publishes `HonourRecorded` and `BecameAboveScale`; the awards domain turns them
into proposed award lines (免申即享) and the pools domain into graduation proposals, in the same
transaction, so a refused change proposes nothing. Subscribers are connected by `app.wiring`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.accounts.permissions import Principal
    from app.enterprises.models import Enterprise, Honour


@dataclass(frozen=True)
class HonourRecorded:
    """An honour (认定) was recorded on an enterprise."""

    session: Session
    actor: Principal
    enterprise: Enterprise
    honour: Honour


@dataclass(frozen=True)
class BecameAboveScale:
    """An enterprise became 规上 (above designated size) in the registry."""

    session: Session
    actor: Principal
    enterprise: Enterprise


DomainEvent = HonourRecorded | BecameAboveScale
E = TypeVar("E", HonourRecorded, BecameAboveScale)

_subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)


def subscribe(kind: type[E], fn: Callable[[E], None]) -> None:
    if fn not in _subscribers[kind]:
        _subscribers[kind].append(fn)


def publish(event: DomainEvent) -> None:
    for fn in _subscribers[type(event)]:
        fn(event)
