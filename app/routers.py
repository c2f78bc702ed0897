"""Every router of the application, in one place. Each domain adds its API and page routers here."""

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    from app.api import enterprises

    routers = [enterprises.router]
    for name in ("awards", "policies", "pools", "targets", "filings", "integration"):
        mod = _optional(f"app.api.{name}")
        if mod is not None:
            routers.append(mod.router)
    return routers


def web_routers() -> list[APIRouter]:
    from app.web import auth, enterprises, home

    routers = [auth.router, home.router, enterprises.router]
    for name in ("awards", "policies", "pools", "targets", "filings", "integration"):
        mod = _optional(f"app.web.{name}")
        if mod is not None:
            routers.append(mod.router)
    return routers


def _optional(module: str):
    import importlib.util

    if importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module)
