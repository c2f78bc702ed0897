"""The API contract, checked over the whole application so a route added later is checked too:
every operation documented (summary, description, errors), every route guarded by a key and a
scope, every list paginated the same way, every error problem+json."""

import re

import pytest
from fastapi.routing import APIRoute

from tests.conftest import bearer
from tests.integration.conftest import no_scope_key
from tests.test_township_scoping import flat_routes

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(app):
    for path, ops in app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            for method, op in ops.items():
                if method in METHODS:
                    yield method, path, op


def test_every_operation_has_a_summary_a_chinese_description_and_its_errors(app):
    problems = []
    for method, path, op in _operations(app):
        where = f"{method.upper()} {path}"
        codes = set(op.get("responses", {}))
        params = op.get("parameters", [])
        if not op.get("summary"):
            problems.append(f"{where}: no summary")
        desc = op.get("description") or ""
        if not re.search(r"[\u4e00-\u9fff]", desc):
            problems.append(f"{where}: no Chinese description")
        for code in ("401", "403", "422", "429"):
            if code not in codes:
                problems.append(f"{where}: {code} not documented")
        if "{" in path and "404" not in codes:
            problems.append(f"{where}: has a path id but 404 not documented")
        if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in params):
            for code in ("412", "428"):
                if code not in codes:
                    problems.append(f"{where}: uses If-Match but {code} not documented")
        for code, resp in op.get("responses", {}).items():
            if int(code) >= 400 and list(resp.get("content", {})) != ["application/problem+json"]:
                problems.append(f"{where}: {code} is not documented as application/problem+json")
    assert not problems, "\n".join(problems)


def test_every_list_paginates_with_cursor_limit_and_next_cursor(app):
    schema = app.openapi()
    components = schema["components"]["schemas"]
    problems = []
    for method, path, op in _operations(app):
        if method != "get":
            continue
        content = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        body = components.get(ref.rsplit("/", 1)[-1], {}) if ref else content.get("schema", {})
        props = body.get("properties", {})
        if "items" not in props:
            continue
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if not {"cursor", "limit"} <= names:
            problems.append(f"GET {path}: a list without cursor/limit query parameters")
        if "next_cursor" not in props:
            problems.append(f"GET {path}: a list without next_cursor")
    assert not problems, "\n".join(problems)


def test_every_success_response_has_a_schema_and_if_match_is_a_required_header(app):
    """A generated client types every answer: JSON by its model, a file as a string. If-Match is declared
    required where the operation checks it (a client that omits it still gets the 428 that says so)."""
    problems = []
    for method, path, op in _operations(app):
        where = f"{method.upper()} {path}"
        for code, resp in op.get("responses", {}).items():
            if code.startswith("2") and code != "204":
                content = resp.get("content") or {}
                if not content or any(not c.get("schema") for c in content.values()):
                    problems.append(f"{where}: {code} without a schema")
        for p in op.get("parameters", []):
            if p["in"] == "header" and p["name"].lower() == "if-match" and not p.get("required"):
                problems.append(f"{where}: If-Match is not declared required")
    assert not problems, "\n".join(problems)


def test_closed_sets_of_query_values_are_enums_in_the_document(app):
    """size, ownership, mu_class, status, candidacy …: a client sees the values, and an empty or unknown
    value is refused by the type, not by a check the document does not show."""
    paths = app.openapi()["paths"]

    def items(path, name):
        """The schema of one value of a query parameter (of each item, for a list)."""
        param = next(p for p in paths[path]["get"]["parameters"] if p["name"] == name)
        for schema in param["schema"].get("anyOf", [param["schema"]]):
            if schema.get("type") == "array":
                return schema["items"]
            if schema.get("type") != "null":
                return schema
        raise AssertionError(f"{path} {name}: no schema")

    assert items("/api/v1/enterprises", "size")["enum"] == ["micro", "small", "medium", "large"]
    assert items("/api/v1/enterprises", "ownership")["enum"] == ["private", "state", "foreign", "other"]
    assert items("/api/v1/enterprises", "mu_class")["enum"] == ["A", "B", "C", "D"]
    assert items("/api/v1/awards/lines", "status")["enum"] == ["proposed", "approved", "paid", "rejected"]
    assert items("/api/v1/pools/{pool_code}/members", "candidacy")["enum"] == [
        "met",
        "judgement",
        "missing",
        "failed",
    ]
    assert "open" in items("/api/v1/support/problems", "status")["enum"]
    assert items("/api/v1/changes", "entity_type")["pattern"]
    event = app.openapi()["components"]["schemas"]["PreviewIn"]["properties"]["event"]
    assert event["discriminator"]["propertyName"] == "type" and len(event["oneOf"]) == 11


def test_an_if_match_that_is_missing_is_still_428(client, make):
    ent = make.enterprise()
    key = make.api_key()
    r = client.patch(f"/api/v1/enterprises/{ent.id}", headers=bearer(key), json={"name": "改名有限公司"})
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    r = client.delete(f"/api/v1/enterprises/{ent.id}", headers=bearer(key))
    assert r.status_code == 428


# --- every route: no key is 401, a key with no scope is 403 ------------------------------------

FILLERS = {"year": "2024", "month": "2024-01", "pool_code": "yumiao_pool"}


def _api_routes(app):
    for r in flat_routes(app.routes):
        if isinstance(r, APIRoute) and r.path.startswith("/api/") and r.include_in_schema:
            for m in sorted(r.methods - {"HEAD", "OPTIONS"}):
                yield m, r.path


def _fill(path, ent):
    def value(m):
        name = m.group(1)
        if name == "enterprise_id":
            return str(ent.id)
        if name == "uscc":
            return ent.uscc
        return FILLERS.get(name, "1")

    return re.sub(r"{(\w+)(?::\w+)?}", value, path)


@pytest.fixture
def walk(app, client, make, db):
    ent = make.enterprise(township="qingquan")
    none = no_scope_key(db)
    routes = list(_api_routes(app))
    assert len(routes) >= 20

    def call(method, path, headers):
        body = {} if method in ("POST", "PUT", "PATCH") else None
        return client.request(method, _fill(path, ent), headers=headers, json=body)

    return routes, none, call


def test_without_a_key_every_api_route_is_401(walk):
    routes, _, call = walk
    wrong = []
    for method, path in routes:
        r = call(method, path, {})
        if r.status_code != 401 or r.headers.get("content-type") != "application/problem+json":
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
        elif "www-authenticate" not in r.headers:
            wrong.append(f"{method} {path}: 401 without WWW-Authenticate")
    assert not wrong, "\n".join(wrong)


def test_with_a_key_that_has_no_scope_every_api_route_is_403(walk):
    routes, none, call = walk
    wrong = []
    for method, path in routes:
        r = call(method, path, {**bearer(none), "If-Match": '"1"'})
        if r.status_code != 403 or r.headers.get("content-type") != "application/problem+json":
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_a_revoked_or_unknown_key_is_401_problem(client):
    r = client.get("/api/v1/enterprises", headers=bearer("ym_nope_nope"))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized" and r.json()["detail"]


def test_unknown_api_paths_are_404_problem(client, make):
    r = client.get("/api/v1/no-such-thing", headers=bearer(make.api_key()))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_a_key_revoked_behind_this_process_is_refused_at_its_next_request(client, make, db):
    """A key this process has already seen valid is refused at once when it is revoked elsewhere (another
    worker, another server, SQL): the request's own transaction checks it."""
    from sqlalchemy import text

    key = make.api_key()
    assert client.get("/api/v1/enterprises", headers=bearer(key)).status_code == 200
    assert (
        client.get("/api/v1/enterprises", headers=bearer(key)).status_code == 200
    )  # now known to this process
    db.execute(
        text("UPDATE api_key SET revoked_at = now() WHERE key_hash = encode(sha256(:k), 'hex')"),
        {"k": key.encode()},
    )
    r = client.get("/api/v1/enterprises", headers=bearer(key))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert client.get("/api/v1/enterprises", headers=bearer(key)).status_code == 401
