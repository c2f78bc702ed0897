"""What every /api operation promises, applied in one place: rate limits, and an OpenAPI document
that says how each one authenticates (bearer API key, the scope it needs) and how it fails
(problem+json, 429 with Retry-After).

    contract.install(app)   # in create_app(), once
"""

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import deps
from app.api import ratelimit, reads
from app.api.problems import PROBLEM, Problem

SECURITY_SCHEME = "apiKey"


def _scope_of(route: APIRoute) -> str | None:
    """The scope a route's `scoped(...)` dependency checks, found in its dependency tree."""
    wanted = {
        d.dependency: scope for scope, d in [*deps._scoped_cache.items(), *reads._reading_cache.items()]
    }
    stack = list(route.dependant.dependencies)
    while stack:
        d = stack.pop()
        if d.call in wanted:
            return wanted[d.call]
        stack.extend(d.dependencies)
    return None


def _routes(routes):
    """Every APIRoute, looking inside included routers."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        elif isinstance(r, APIRoute):
            yield r


def api_routes(app: FastAPI):
    """Every route of the application, those of included routers too."""
    return list(_routes(app.routes))


def allowed_methods(app: FastAPI, path: str) -> str:
    """The `Allow` header for a 405: the methods of the most specific routes on this path.

    Starlette names only the first route it matched, so a path served by a GET route and a POST
    route would say just one; and a literal path (/pools/mu/import) is not also a {year}.
    """
    by_template: dict[str, set[str]] = {}
    for route in _routes(app.routes):
        if route.path_regex.match(path):
            by_template.setdefault(route.path_format, set()).update(route.methods)
    if not by_template:
        return ""
    best = min(by_template, key=lambda t: (t.count("{"), t))
    return ", ".join(sorted(by_template[best]))


def _problem_errors(schema: dict) -> None:
    """Every error is documented as what the handlers send: problem+json with the Problem schema
    (FastAPI's own 422 would say application/json HTTPValidationError)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in components:
        spec = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(spec.pop("$defs", {}))
        components["Problem"] = spec
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for op in _api_operations(schema):
        for code, response in op.get("responses", {}).items():
            if str(code).isdigit() and int(code) >= 400:
                response["content"] = {PROBLEM: {"schema": ref}}


_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _json_schema_bounds(node: object) -> None:
    """A bound on a number that pydantic could not fold into the number's schema (a field with a
    `before` validator, optional: `Whole | None = Field(ge=0)`) comes out as its Python keyword
    (`ge`); written as JSON Schema's `minimum` the document says what the API enforces."""
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for keyword, json_keyword in _BOUNDS.items():
                if isinstance(node.get(keyword), int | float) and json_keyword not in node:
                    node[json_keyword] = node.pop(keyword)
        for value in node.values():
            _json_schema_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _json_schema_bounds(value)


def _api_operations(schema: dict):
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/"):
            for op in operations.values():
                if isinstance(op, dict) and "responses" in op:
                    yield op


def finish(app: FastAPI, schema: dict) -> dict:
    ratelimit.document_429(schema)
    _problem_errors(schema)
    _json_schema_bounds(schema.get("components", {}))
    _json_schema_bounds(schema.get("paths", {}))
    schema["components"].setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "API 密钥：`Authorization: Bearer ym_…`（`yumiao create-api-key` 生成）。每个接口要求一个权限范围（scope）。",
    }
    scopes = {}
    for route in _routes(app.routes):
        if route.path.startswith("/api/"):
            scope = _scope_of(route)
            for method in route.methods:
                scopes[(route.path_format, method.lower())] = scope
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            scope = scopes.get((path, method))
            op["security"] = [{SECURITY_SCHEME: [scope] if scope else []}]
            if scope:
                op["x-required-scope"] = scope
                note = f"权限范围：`{scope}`"
                if note not in op.get("description", ""):
                    op["description"] = (op.get("description", "").rstrip() + f"\n\n{note}").lstrip()
    return schema


def install(app: FastAPI) -> None:
    app.add_middleware(ratelimit.RateLimitMiddleware)
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = finish(app, build())
        return app.openapi_schema

    app.openapi = openapi
