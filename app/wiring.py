"""Connects domains through in-process events (app.events) once, at import of the model registry.

Each domain that reacts to another's events exposes `subscribe()` in a module named here.
"""

import importlib

_MODULES = ("app.awards.subscribers", "app.pools.subscribers", "app.integration.subscribers")
_done = False


def connect() -> None:
    global _done
    if _done:
        return
    _done = True
    for name in _MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.subscribe()
