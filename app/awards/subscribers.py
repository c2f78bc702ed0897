"""The awards domain listens to the registry: an honour or 升规 recorded proposes its awards (免申即享)."""

from app import events


def _honour_recorded(*, session, actor, enterprise, honour, **_):
    from app.awards import proposals

    proposals.on_honour_recorded(session, actor=actor, enterprise=enterprise, honour=honour)


def _became_above_scale(*, session, actor, enterprise, **_):
    from app.awards import proposals

    proposals.on_became_above_scale(session, actor=actor, enterprise=enterprise)


def subscribe() -> None:
    events.subscribe("honour_recorded", _honour_recorded)
    events.subscribe("became_above_scale", _became_above_scale)
