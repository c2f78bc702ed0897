"""In-process domain events: a domain announces what happened; others subscribe.

The enterprise registry publishes `honour_recorded`; the awards domain turns it
into proposed award lines (免申即享) in the same transaction.
"""

from collections import defaultdict
from collections.abc import Callable

_subscribers: dict[str, list[Callable]] = defaultdict(list)


def subscribe(name: str, fn: Callable) -> None:
    if fn not in _subscribers[name]:
        _subscribers[name].append(fn)


def publish(name: str, **kw) -> None:
    for fn in _subscribers[name]:
        fn(**kw)
