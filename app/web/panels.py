"""Panels that other domains add to the enterprise page. Each returns {"title", "template", "context"} or None."""


def enterprise_panels(session, principal, ent) -> list[dict]:
    from app.web import awards, pools, support

    panels = (
        pools.enterprise_panel(session, principal, ent),
        awards.enterprise_panel(session, principal, ent),
        support.enterprise_panel(session, principal, ent),
    )
    return [p for p in panels if p]
