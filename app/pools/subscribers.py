"""Graduation (毕业): when a member reaches its pool's goal, record a proposal to move it on.

Connected by app.wiring; runs in the publisher's transaction, so a refused change proposes nothing.
"""

from app import events


def on_above_scale(session, actor, enterprise, **_) -> None:
    from app.pools import graduation

    graduation.propose_graduations(session, actor=actor, enterprise=enterprise, trigger="above_scale")


def on_honour(session, actor, enterprise, honour, **_) -> None:
    from app.pools import graduation

    graduation.propose_graduations(session, actor=actor, enterprise=enterprise, trigger="honour", honour=honour)


def subscribe() -> None:
    events.subscribe("became_above_scale", on_above_scale)
    events.subscribe("honour_recorded", on_honour)
