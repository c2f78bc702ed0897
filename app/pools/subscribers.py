"""Graduation (毕业): when a member reaches its pool's goal, record a proposal to move it on.

Connected by app.wiring; runs in the publisher's transaction, so a refused change proposes nothing.
"""

from app import events


def on_above_scale(e: events.BecameAboveScale) -> None:
    from app.pools import graduation

    graduation.propose_graduations(e.session, actor=e.actor, enterprise=e.enterprise, trigger="above_scale")


def on_honour(e: events.HonourRecorded) -> None:
    from app.pools import graduation

    graduation.propose_graduations(
        e.session, actor=e.actor, enterprise=e.enterprise, trigger="honour", honour=e.honour
    )


def subscribe() -> None:
    events.subscribe(events.BecameAboveScale, on_above_scale)
    events.subscribe(events.HonourRecorded, on_honour)
