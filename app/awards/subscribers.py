"""The awards domain listens to the registry: an honour or 升规 recorded proposes its awards (免申即享)."""

from app import events


def _honour_recorded(e: events.HonourRecorded) -> None:
    from app.awards import proposals

    proposals.on_honour_recorded(e.session, actor=e.actor, enterprise=e.enterprise, honour=e.honour)


def _became_above_scale(e: events.BecameAboveScale) -> None:
    from app.awards import proposals

    proposals.on_became_above_scale(e.session, actor=e.actor, enterprise=e.enterprise)


def subscribe() -> None:
    events.subscribe(events.HonourRecorded, _honour_recorded)
    events.subscribe(events.BecameAboveScale, _became_above_scale)
