"""Connects the domains that react to others' events (app.events).

Called once by `create_app()` and by the CLI (and the test and benchmark set-ups); connecting
twice changes nothing. Every subscriber module is imported by name here, so a renamed or broken
one stops the start instead of silently switching its reactions off.
"""

from app.awards import subscribers as award_subscribers
from app.pools import subscribers as pool_subscribers


def connect() -> None:
    award_subscribers.subscribe()
    pool_subscribers.subscribe()
