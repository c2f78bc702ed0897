"""Panels that other domains add to the enterprise page. Each returns {"title", "template", "context"} or None."""

import importlib


def enterprise_panels(session, principal, ent) -> list[dict]:
    panels = []
    for module in ("app.web.pools", "app.web.awards"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        fn = getattr(mod, "enterprise_panel", None)
        if fn is not None:
            panel = fn(session, principal, ent)
            if panel:
                panels.append(panel)
    return panels
