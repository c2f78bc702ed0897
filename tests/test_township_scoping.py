"""A township's staff get 404 for another township's enterprise through every route, page and export.

The test walks the application's route table, so a route added later is checked too.
"""

import re

import pytest
from fastapi.routing import APIRoute

from tests.conftest import login

# Path parameters that identify an enterprise, and how to fill the others.
ENTERPRISE_PARAMS = {"enterprise_id", "uscc"}
FILLERS = {"year": "2024", "honour_id": "1", "month": "2024-01"}


def flat_routes(routes):
    """Every APIRoute, looking inside included routers."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        elif isinstance(r, APIRoute):
            yield r


def _routes(app):
    for r in flat_routes(app.routes):
        params = set(re.findall(r"{(\w+)(?::\w+)?}", r.path))
        if params & ENTERPRISE_PARAMS:
            for m in r.methods - {"HEAD", "OPTIONS"}:
                yield m, r.path, params


def _fill(path, params, ent):
    out = path
    for p in params:
        value = str(ent.id) if p == "enterprise_id" else ent.uscc if p == "uscc" else FILLERS.get(p, "1")
        out = re.sub(r"{" + p + r"(?::\w+)?}", value, out)
    return out


def test_the_walk_covers_api_and_pages(app):
    paths = {p for _, p, _ in _routes(app)}
    assert any(p.startswith("/api/") for p in paths) and any(not p.startswith("/api/") for p in paths)
    assert len(paths) >= 10


@pytest.mark.parametrize("role", ["township_staff"])
def test_other_townships_enterprise_is_404_on_every_route(app, client, make, role):
    other = make.enterprise(township="kaifaqu", name="开发区某企业有限公司")
    mine = make.enterprise(township="qingquan", name="清泉某企业有限公司")
    token = login(client, make.user(role=role, township="qingquan"))
    headers = {"X-CSRF-Token": token, "If-Match": '"1"'}
    checked = 0
    for method, path, params in _routes(app):
        url = _fill(path, params, other)
        r = client.request(
            method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None
        )
        assert r.status_code == 404, f"{method} {url} gave {r.status_code}: {r.text[:200]}"
        checked += 1
        # The same route with the staff's own enterprise is not a 404 (so the 404 above means something).
        if method == "GET" and "{honour_id}" not in path:
            own = client.get(_fill(path, params, mine), headers=headers)
            assert own.status_code != 404, f"GET {path} is 404 even for the staff's own enterprise"
    assert checked >= 10


def test_lists_and_exports_hide_other_townships(client, make):
    make.enterprise(township="kaifaqu", name="开发区隐藏企业有限公司")
    make.enterprise(township="qingquan", name="清泉可见企业有限公司")
    login(client, make.user(role="township_staff", township="qingquan"))
    page = client.get("/enterprises").text
    assert "清泉可见企业有限公司" in page and "开发区隐藏企业有限公司" not in page
    api = client.get("/api/v1/enterprises", params={"township": "kaifaqu"}).json()
    assert api["items"] == []
    assert "开发区隐藏企业有限公司" not in client.get("/enterprises", params={"q": "隐藏"}).text


def test_county_viewer_reads_all_but_cannot_write(client, make):
    other = make.enterprise(township="kaifaqu")
    token = login(client, make.user(role="county_viewer"))
    assert client.get(f"/api/v1/enterprises/{other.id}").status_code == 200
    r = client.patch(
        f"/api/v1/enterprises/{other.id}",
        json={"name": "改名有限公司"},
        headers={"X-CSRF-Token": token, "If-Match": '"1"'},
    )
    assert r.status_code == 403


def test_township_staff_cannot_move_an_enterprise_out_or_create_elsewhere(client, make):
    mine = make.enterprise(township="qingquan")
    token = login(client, make.user(role="township_staff", township="qingquan"))
    h = {"X-CSRF-Token": token, "If-Match": '"1"'}
    assert (
        client.patch(f"/api/v1/enterprises/{mine.id}", json={"township": "kaifaqu"}, headers=h).status_code
        == 403
    )
    body = {"uscc": "91350100M000100Y43", "name": "新企业有限公司", "township": "kaifaqu", "size": "small"}
    assert client.post("/api/v1/enterprises", json=body, headers=h).status_code == 403
